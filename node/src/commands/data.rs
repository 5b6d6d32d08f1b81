//! `fedproof data split`: the UCI digits as CSV files, the owner's held-out test set and one
//! non-IID (Dirichlet) shard per trainer, as the demo splits them.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use fedproof::training::data::{dirichlet_partition, load_digits, train_test_split, write_csv};

use super::print;

/// Data commands.
#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Write `test.csv` and `trainer-<i>.csv` (64 pixels in 0..=16 and a label per line).
    Split(SplitArgs),
}

/// Options of `data split`.
#[derive(Args, Debug)]
pub struct SplitArgs {
    /// Trainers (one shard each).
    #[arg(long, default_value_t = 10)]
    trainers: usize,
    /// Dirichlet concentration of the label skew (small: few classes per trainer).
    #[arg(long, default_value_t = 0.5)]
    alpha: f64,
    /// Share of the samples kept as the owner's test set.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Seed of the split.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs a data command.
pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    let DataCommand::Split(a) = cmd;
    anyhow::ensure!(a.trainers > 0, "--trainers must be at least 1");
    anyhow::ensure!(a.alpha > 0.0, "--alpha must be positive, got {}", a.alpha);
    let data = load_digits()?;
    let (train, test) = train_test_split(&data, a.test_fraction, a.seed)?;
    let shards = dirichlet_partition(&train.labels, a.trainers, a.alpha, 20, a.seed)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    write_csv(&a.out.join("test.csv"), &test)?;
    let mut sizes = Vec::with_capacity(shards.len());
    for (i, rows) in shards.iter().enumerate() {
        write_csv(&a.out.join(format!("trainer-{i}.csv")), &train.select(rows))?;
        sizes.push(rows.len());
    }
    let summary = serde_json::json!({ "out": a.out, "test_samples": test.len(), "trainer_samples": sizes });
    print(a.json, &summary, || {
        format!(
            "{}: test.csv ({} samples), trainer-0..{}.csv ({sizes:?} samples)",
            a.out.display(),
            test.len(),
            a.trainers - 1
        )
    })
}
