//! `fedproof bench …`: benchmarks that print a table (or, with `--json`, one JSON document) and
//! can write that document to a file (`--report FILE`).

pub mod api;
pub mod blob;
pub mod chunk;
pub mod chunked_job;
pub mod prover;
pub mod quantization;
pub mod workers;

use clap::Subcommand;

/// The benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Setup, prove and verify one synthetic round of a shape.
    Prover(prover::ProverArgs),
    /// Accuracy cost of fixed-point aggregation versus float FedAvg on the digits data set.
    Quantization(quantization::QuantizationArgs),
    /// Requests per second and latency of the REST API on a job's page (in-process, loopback).
    Api(api::ApiArgs),
    /// Encoding, sealing, reading and committing one update blob of a big model, phase by phase.
    Blob(blob::BlobArgs),
    /// A whole one-round chunked job on a local anvil through the roles (default 32 × 100,000 in
    /// chunks of 2,500), on prover workers with --nats: accepted, gas, wall time, memory.
    ChunkedJob(chunked_job::ChunkedJobArgs),
}

impl BenchCommand {
    /// Runs one benchmark.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            BenchCommand::Prover(args) => args.run(),
            BenchCommand::Quantization(args) => args.run(),
            BenchCommand::Api(args) => args.run(),
            BenchCommand::Blob(args) => args.run(),
            BenchCommand::ChunkedJob(args) => args.run(),
        }
    }
}

/// Peak resident memory of this process (Linux `VmHWM`).
fn peak_rss_bytes() -> Option<u64> {
    vm_hwm(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The `VmHWM` (peak resident memory) line of a `/proc/PID/status` text, in bytes.
fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}
