//! `fedproof prover …`: keys for a shape, exports for third parties and the contracts, and the
//! prover worker.

mod chunked_fixture;
pub mod export;
pub mod setup;
pub mod worker;

use clap::Subcommand;

/// Key and export commands.
#[derive(Subcommand)]
pub enum ProverCommand {
    /// Run (or load cached) Groth16 setup for a shape and print where the keys are.
    Setup(setup::SetupArgs),
    /// Write the verifier contract, the generic verifier's constructor arguments, snarkjs files and
    /// a proof fixture of a seeded synthetic round.
    Export(export::ExportArgs),
    /// Prove round tasks from a NATS JetStream work queue (the aggregator's `--nats`).
    Worker(worker::WorkerArgs),
}

impl ProverCommand {
    /// Runs a prover command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            ProverCommand::Setup(args) => args.run(),
            ProverCommand::Export(args) => args.run(),
            ProverCommand::Worker(args) => super::block_on(args.run()),
        }
    }
}
