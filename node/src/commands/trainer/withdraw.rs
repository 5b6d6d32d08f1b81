//! `fedproof trainer withdraw`: dispute receipted rounds that called this trainer's update
//! unavailable, claim its share of every finalized round, then withdraw.

use clap::Args;
use fedproof::roles::trainer;

use super::DeliveryArgs;
use crate::commands::args::{JobArgs, OutputArgs};

/// Options of `trainer withdraw`.
#[derive(Args, Debug)]
pub struct WithdrawArgs {
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    delivery: DeliveryArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl WithdrawArgs {
    /// Disputes, claims and withdraws; prints the amount.
    pub async fn run(self) -> anyhow::Result<()> {
        let intake = self.delivery.intake()?;
        let (job, _) = self.job.open().await?;
        let amount = trainer::withdraw(&job, intake.as_ref()).await?;
        let summary = serde_json::json!({ "job_id": job.id, "withdrawn_wei": amount.to_string() });
        self.output.print(&summary, || format!("withdrew {amount} wei"))
    }
}
