//! `fedproof owner status`: a job's state.

use clap::Args;
use fedproof::roles::owner::status;

use crate::commands::args::{JobArgs, OutputArgs};

/// Options of `owner status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl StatusArgs {
    /// Prints the job's state.
    pub async fn run(self) -> anyhow::Result<()> {
        let (job, _) = self.job.open().await?;
        let s = status(&job).await?;
        self.output.print(&s, || {
            format!(
                "job {}: {} round {}/{}, {}/{} joined, {} submitted, escrow {} wei",
                s.job_id, s.status, s.round, s.rounds, s.joined, s.trainers, s.submitted, s.escrow
            )
        })
    }
}
