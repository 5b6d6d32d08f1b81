//! The commands of the `fedproof` binary, one file per command (`XxxArgs::run`), subcommand
//! groups as folders. Shared options live in [`args`] and are flattened in; every command prints
//! text, or one JSON document with `--json`.

pub mod aggregator;
pub mod args;
pub mod audit;
pub mod bench;
pub mod data;
pub mod demo;
pub mod deploy;
pub mod owner;
pub mod prover;
pub mod serve;
pub mod trainer;

use clap::Subcommand;

/// The top-level commands.
#[derive(Subcommand)]
pub enum Command {
    /// Measure the prover, the encoding and the API.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Groth16 keys for a shape, and verifier/proof exports.
    #[command(subcommand)]
    Prover(prover::ProverCommand),
    /// Serve the REST API, chain indexer, update intake and dashboard.
    Serve(serve::ServeArgs),
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
    Aggregator(aggregator::AggregatorCommand),
    /// Re-check every round of a job (exit status 1 on any mismatch).
    Audit(audit::AuditArgs),
    /// Run a whole marketplace on a local anvil: owner, aggregator and trainers.
    Demo(demo::DemoArgs),
}

impl Command {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Bench(cmd) => cmd.run(),
            Command::Prover(cmd) => cmd.run(),
            Command::Serve(args) => args.run(),
            Command::Data(cmd) => cmd.run(),
            Command::Deploy(args) => block_on(args.run()),
            Command::Owner(cmd) => block_on(cmd.run()),
            Command::Trainer(cmd) => block_on(cmd.run()),
            Command::Aggregator(cmd) => cmd.run(),
            Command::Audit(args) => block_on(args.run()),
            Command::Demo(args) => block_on(args.run()),
        }
    }
}

/// Runs an async command on a fresh runtime until it ends or SIGINT/SIGTERM stops it
/// ([`fedproof::shutdown`]). The runtime is then shut down without waiting for blocking work (a
/// proof in progress), so a stopped command exits at once.
pub fn block_on<T, F: std::future::Future<Output = anyhow::Result<T>>>(f: F) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let done = runtime.block_on(fedproof::shutdown::run_until_stopped(f));
    runtime.shutdown_background();
    done
}
