//! `fedproof aggregator …`: make the key trainers seal updates to; prove and settle every round.

pub mod keygen;
pub mod run;

use clap::Subcommand;

use super::block_on;

/// Aggregator commands.
#[derive(Subcommand)]
pub enum AggregatorCommand {
    /// Make the age key trainers seal their updates to; prints its public half.
    Keygen(keygen::KeygenArgs),
    /// Watch the chain and settle every round until the job ends.
    Run(Box<run::RunArgs>),
}

impl AggregatorCommand {
    /// Runs an aggregator command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            AggregatorCommand::Keygen(args) => args.run(),
            AggregatorCommand::Run(args) => block_on(args.run()),
        }
    }
}
