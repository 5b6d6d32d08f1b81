//! `fedproof`: the command-line face of the marketplace.
#![forbid(unsafe_code)]

mod bench;
mod commands;
mod prover_cmd;
mod serve_cmd;

// The bench commands reach the training code as `crate::training`.
use fedproof::training;

use clap::{Parser, Subcommand};
use commands::{aggregator, audit, block_on, data, deploy, owner, trainer};

/// fedproof: verifiable federated learning with proof-of-contribution payouts.
#[derive(Parser)]
#[command(name = "fedproof", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure the prover and the encoding.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Groth16 keys for a shape, and verifier/proof exports.
    #[command(subcommand)]
    Prover(prover_cmd::ProverCommand),
    /// Serve the REST API, chain indexer, update intake and dashboard.
    Serve(serve_cmd::ServeArgs),
    /// The digits data set as CSV: the owner's test set and one non-IID shard per trainer.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Deploy the contracts with a verifier for one shape.
    Deploy(deploy::DeployArgs),
    /// Post jobs, follow them, download models.
    #[command(subcommand)]
    Owner(owner::OwnerCommand),
    /// Take part in a job with private data.
    #[command(subcommand)]
    Trainer(trainer::TrainerCommand),
    /// Prove and settle a job's rounds.
    #[command(subcommand)]
    Aggregator(AggregatorCommand),
    /// Re-check every round of a job (exit status 1 on any mismatch).
    Audit(audit::AuditArgs),
    /// Run a whole marketplace on a local anvil: owner, aggregator and trainers.
    Demo(fedproof::demo::DemoArgs),
}

#[derive(Subcommand)]
enum AggregatorCommand {
    /// Make the age key trainers seal their updates to; prints its public half.
    Keygen(aggregator::KeygenArgs),
    /// Watch the chain and settle every round until the job ends.
    Run(aggregator::AggregatorArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(cmd) => bench::run(cmd),
        Command::Prover(cmd) => prover_cmd::run(cmd),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Data(cmd) => data::run(cmd),
        Command::Deploy(args) => block_on(deploy::run(args)),
        Command::Owner(cmd) => block_on(owner::run(cmd)),
        Command::Trainer(cmd) => block_on(trainer::run(cmd)),
        Command::Aggregator(AggregatorCommand::Keygen(args)) => aggregator::keygen(args),
        Command::Aggregator(AggregatorCommand::Run(args)) => block_on(aggregator::run(args)),
        Command::Audit(args) => block_on(audit::run(args)),
        Command::Demo(args) => block_on(fedproof::demo::run(args)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
