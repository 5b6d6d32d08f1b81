//! `fedproof trainer …`: join a job, train and submit every round, claim and withdraw.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use fedproof::roles::intake::Intake;
use fedproof::roles::trainer::{self, Upload};
use fedproof::training::data::load_csv;
use fedproof::training::mlp::TrainConfig;
use fedproof::training::source::{Attack, MlpSource};

use super::{print, JobArgs};

/// Trainer commands.
#[derive(Subcommand, Debug)]
pub enum TrainerCommand {
    /// Join (if not yet) and take part in every round until the job ends.
    Run {
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
    },
    /// Dispute receipted rounds that called this trainer's update unavailable, claim its share
    /// of every finalized round, then withdraw.
    Withdraw {
        #[command(flatten)]
        job: JobArgs,
        #[command(flatten)]
        delivery: DeliveryArgs,
    },
}

/// How updates reach the aggregator.
#[derive(Args, Debug)]
pub struct DeliveryArgs {
    /// The aggregator's web API (e.g. http://127.0.0.1:8080): upload updates through its intake
    /// and keep its receipts. Without it, updates go straight into --storage.
    #[arg(long)]
    api: Option<url::Url>,
    /// Where the aggregator's upload receipts (and not yet uploaded updates) are kept.
    #[arg(long, default_value = ".fedproof/receipts")]
    receipts: PathBuf,
}

impl DeliveryArgs {
    fn intake(&self) -> anyhow::Result<Option<Intake>> {
        self.api.clone().map(|api| Intake::new(api, self.receipts.clone())).transpose()
    }
}

/// Local SGD settings of the digits MLP (those of `fedproof bench quantization`).
pub const LOCAL_SGD: TrainConfig = TrainConfig { lr: 0.1, epochs: 2, batch_size: 16 };

/// Runs a trainer command.
pub async fn run(cmd: TrainerCommand) -> anyhow::Result<()> {
    match cmd {
        TrainerCommand::Run { job: a, data, seed, attack, delivery } => {
            // Read the data before touching the chain: a bad file changes nothing.
            let data = load_csv(&data)?;
            let intake = delivery.intake()?;
            let (job, storage) = a.open().await?;
            let slot = trainer::join(&job).await?;
            let mut source = MlpSource::new(data, LOCAL_SGD, seed, attack);
            let done = trainer::run(&job, &storage, intake.as_ref(), &mut source, Upload::Honest).await?;
            let summary = serde_json::json!({ "job_id": job.id, "slot": slot, "submissions": done });
            print(a.chain.json, &summary, || format!("slot {slot}: submitted {} rounds", done.len()))
        }
        TrainerCommand::Withdraw { job: a, delivery } => {
            let intake = delivery.intake()?;
            let (job, _) = a.open().await?;
            let amount = trainer::withdraw(&job, intake.as_ref()).await?;
            let summary = serde_json::json!({ "job_id": job.id, "withdrawn_wei": amount.to_string() });
            print(a.chain.json, &summary, || format!("withdrew {amount} wei"))
        }
    }
}
