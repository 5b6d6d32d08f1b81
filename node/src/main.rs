//! `fedproof`: the command-line face of the marketplace.
#![forbid(unsafe_code)]

mod bench;
mod prover_cmd;
mod serve_cmd;
mod training;

use clap::{Parser, Subcommand};

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
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
