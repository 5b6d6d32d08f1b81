//! `fedproof trainer …`: join a job, train and submit every round (or submit an update trained
//! elsewhere), claim and withdraw.

pub mod run;
pub mod submit;
pub mod withdraw;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use fedproof::roles::intake::Intake;

/// Trainer commands.
#[derive(Subcommand, Debug)]
pub enum TrainerCommand {
    /// Join (if not yet) and take part in every round until the job ends.
    Run(run::RunArgs),
    /// Submit one update trained with any code (a safetensors file of the job's tensors):
    /// join if needed, commit, deliver, keep the receipt.
    Submit(submit::SubmitArgs),
    /// Dispute receipted rounds that called this trainer's update unavailable, claim its share
    /// of every finalized round, then withdraw.
    Withdraw(withdraw::WithdrawArgs),
}

impl TrainerCommand {
    /// Runs a trainer command.
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            TrainerCommand::Run(args) => args.run().await,
            TrainerCommand::Submit(args) => args.run().await,
            TrainerCommand::Withdraw(args) => args.run().await,
        }
    }
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
    /// The intake client, when `--api` is given.
    pub fn intake(&self) -> anyhow::Result<Option<Intake>> {
        self.api.clone().map(|api| Intake::new(api, self.receipts.clone())).transpose()
    }
}
