//! `fedproof prover …`: keys for a shape, and exports for third parties and the contracts.

pub mod export;
pub mod setup;

use clap::Subcommand;

/// Key and export commands.
#[derive(Subcommand)]
pub enum ProverCommand {
    /// Run (or load cached) Groth16 setup for a shape and print where the keys are.
    Setup(setup::SetupArgs),
    /// Write the verifier contract, the generic verifier's constructor arguments, snarkjs files and
    /// a proof fixture of a seeded synthetic round.
    Export(export::ExportArgs),
}

impl ProverCommand {
    /// Runs a prover command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            ProverCommand::Setup(args) => args.run(),
            ProverCommand::Export(args) => args.run(),
        }
    }
}
