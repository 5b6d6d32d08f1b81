//! `fedproof trainer submit`: submit one update trained with any code, as a safetensors file of
//! the job's model tensors.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use fedproof::roles::trainer;
use fedproof::training::model_file::{job_layout, read_update};

use super::DeliveryArgs;
use crate::commands::args::{JobArgs, OutputArgs};

/// Options of `trainer submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    job: JobArgs,
    /// The update Δ = (locally trained model − global model), a safetensors file with one float
    /// tensor per tensor of the job's model (same names and shapes). Values beyond the update
    /// encoding's bound are clipped.
    #[arg(long)]
    update: PathBuf,
    /// The round the update was trained for (refused once that round has passed); default: the
    /// round open now.
    #[arg(long)]
    round: Option<u32>,
    /// Seed of the stochastic rounding to the update encoding.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    delivery: DeliveryArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl SubmitArgs {
    /// Joins if needed, commits to the update and delivers it; prints the submission.
    pub async fn run(self) -> anyhow::Result<()> {
        let bytes = std::fs::read(&self.update).with_context(|| format!("reading {}", self.update.display()))?;
        let intake = self.delivery.intake()?;
        let (job, storage) = self.job.open().await?;
        // Read and encode before touching the chain: a bad file changes nothing.
        let layout = job_layout(&job.spec)?;
        let (values, clipped) =
            read_update(&layout, &bytes, self.seed).with_context(|| format!("reading {}", self.update.display()))?;
        let submission = trainer::submit(&job, &storage, intake.as_ref(), self.round, values).await?;
        let summary = serde_json::json!({ "job_id": job.id, "clipped": clipped, "submission": submission });
        self.output.print(&summary, || {
            let delivered = if submission.receipt.is_some() { ", receipted by the aggregator" } else { "" };
            format!("submitted to round {} of job {} ({clipped} values clipped){delivered}", submission.round, job.id)
        })
    }
}
