//! `fedproof owner recover`: take back an ended job's unallocated budget.

use clap::Args;
use fedproof::roles::owner::recover;

use crate::commands::args::{JobArgs, OutputArgs};

/// Options of `owner recover`.
#[derive(Args, Debug)]
pub struct RecoverArgs {
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl RecoverArgs {
    /// Records the rounds nobody recorded, recovers and withdraws; prints what it did.
    pub async fn run(self) -> anyhow::Result<()> {
        let (job, _) = self.job.open().await?;
        let r = recover(&job).await?;
        self.output.print(&r, || {
            format!(
                "job {}: recorded rounds {:?}, recovered {} and withdrew {} (wei or token units)",
                r.job_id, r.recorded_rounds, r.recovered, r.withdrawn
            )
        })
    }
}
