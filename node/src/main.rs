//! `fedproof`: the command-line face of the marketplace. Parses, runs the command, prints its
//! error on one line.
#![forbid(unsafe_code)]

mod commands;

use clap::Parser;

/// mimalloc, not glibc's malloc: a prover worker proves task after task on changing threads, and
/// glibc kept each proof's freed memory in that thread's arena, so a worker's footprint grew past
/// twice one proof's (measured in prover/README.md, "Rounds of real size").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// fedproof: verifiable federated learning with proof-of-contribution payouts.
#[derive(Parser)]
#[command(name = "fedproof", version, about)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command.run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => match err.downcast_ref::<fedproof::shutdown::Stopped>() {
            Some(stopped) => {
                eprintln!("{stopped}");
                std::process::ExitCode::from(stopped.exit_code)
            }
            None => {
                eprintln!("error: {err:#}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
