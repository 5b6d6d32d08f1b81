//! `fedproof trainer …`: join a job, train and submit every round, claim and withdraw.

use std::path::PathBuf;

use clap::Subcommand;
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
    },
    /// Claim this trainer's share of every finalized round, then withdraw.
    Withdraw(JobArgs),
}

/// Local SGD settings of the digits MLP (those of `fedproof bench quantization`).
pub const LOCAL_SGD: TrainConfig = TrainConfig { lr: 0.1, epochs: 2, batch_size: 16 };

/// Runs a trainer command.
pub async fn run(cmd: TrainerCommand) -> anyhow::Result<()> {
    match cmd {
        TrainerCommand::Run { job: a, data, seed, attack } => {
            // Read the data before touching the chain: a bad file changes nothing.
            let data = load_csv(&data)?;
            let (job, storage) = a.open().await?;
            let slot = trainer::join(&job).await?;
            let mut source = MlpSource::new(data, LOCAL_SGD, seed, attack);
            let done = trainer::run(&job, &storage, &mut source, Upload::Honest).await?;
            let summary = serde_json::json!({ "job_id": job.id, "slot": slot, "submissions": done });
            print(a.chain.json, &summary, || format!("slot {slot}: submitted {} rounds", done.len()))
        }
        TrainerCommand::Withdraw(a) => {
            let (job, _) = a.open().await?;
            let amount = trainer::withdraw(&job).await?;
            let summary = serde_json::json!({ "job_id": job.id, "withdrawn_wei": amount.to_string() });
            print(a.chain.json, &summary, || format!("withdrew {amount} wei"))
        }
    }
}
