//! `fedproof trainer run`: join a job (if not yet) and take part in every round until it ends.

use std::path::PathBuf;

use clap::Args;
use fedproof::roles::trainer::{self, Upload};
use fedproof::training::data::load_csv;
use fedproof::training::source::{Attack, MlpSource, LOCAL_SGD};

use super::DeliveryArgs;
use crate::commands::args::{JobArgs, OutputArgs};

/// Options of `trainer run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Private training data: CSV, 64 pixels (0..=16) and a label per line.
    #[arg(long)]
    data: PathBuf,
    /// Seed of local training and rounding.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Misbehave (for experiments).
    #[arg(long, value_enum)]
    attack: Option<Attack>,
    #[command(flatten)]
    delivery: DeliveryArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl RunArgs {
    /// Trains and submits every round; prints the submissions.
    pub async fn run(self) -> anyhow::Result<()> {
        // Read the data before touching the chain: a bad file changes nothing.
        let data = load_csv(&self.data)?;
        let intake = self.delivery.intake()?;
        let (job, storage) = self.job.open().await?;
        let slot = trainer::join(&job, &storage).await?;
        let mut source = MlpSource::new(data, LOCAL_SGD, self.seed, self.attack);
        let done = trainer::run(&job, &storage, intake.as_ref(), &mut source, Upload::Honest).await?;
        let summary = serde_json::json!({ "job_id": job.id, "slot": slot, "submissions": done });
        self.output.print(&summary, || format!("slot {slot}: submitted {} rounds", done.len()))
    }
}
