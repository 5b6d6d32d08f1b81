//! `fedproof bench …`: benchmarks that print a table and optionally write JSON figures.

mod api;
mod prover;
mod quantization;

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// The benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Setup, prove and verify one synthetic round of a shape.
    Prover(prover::ProverArgs),
    /// Accuracy cost of fixed-point aggregation versus float FedAvg on the digits data set.
    Quantization(quantization::QuantizationArgs),
    /// Requests per second and latency of the REST API on a job's page (in-process, loopback).
    Api(api::ApiArgs),
}

/// Runs one benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Prover(args) => prover::run(args),
        BenchCommand::Quantization(args) => quantization::run(&args),
        BenchCommand::Api(args) => api::run(args),
    }
}

/// A spinner on stderr for a long step.
fn progress(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}").expect("static template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar.set_message(message);
    bar
}

/// Writes figures as pretty JSON.
fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(value)?).with_context(|| format!("writing {}", path.display()))?;
    println!("figures written to {}", path.display());
    Ok(())
}

/// Peak resident memory of this process (Linux `VmHWM`).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}
