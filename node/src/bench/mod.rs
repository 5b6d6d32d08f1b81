//! `fedproof bench …`: benchmarks that print a table and optionally write JSON figures.

mod quantization;

use clap::Subcommand;

/// The benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Accuracy cost of fixed-point aggregation versus float FedAvg on the digits data set.
    Quantization(quantization::QuantizationArgs),
}

/// Runs one benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Quantization(args) => quantization::run(&args),
    }
}
