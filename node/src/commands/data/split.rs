//! `fedproof data split`: the UCI digits as CSV files, the owner's held-out test set and one
//! non-IID (Dirichlet) shard per trainer, as the demo splits them.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use fedproof::training::data::{dirichlet_partition, load_digits, train_test_split, write_csv};

use crate::commands::args::OutputArgs;

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
    #[command(flatten)]
    output: OutputArgs,
}

impl SplitArgs {
    /// Writes the split and prints the sizes.
    pub fn run(self) -> anyhow::Result<()> {
        anyhow::ensure!(self.trainers > 0, "--trainers must be at least 1");
        anyhow::ensure!(self.alpha > 0.0, "--alpha must be positive, got {}", self.alpha);
        let data = load_digits()?;
        let (train, test) = train_test_split(&data, self.test_fraction, self.seed)?;
        let shards = dirichlet_partition(&train.labels, self.trainers, self.alpha, 20, self.seed)?;
        std::fs::create_dir_all(&self.out).with_context(|| format!("creating {}", self.out.display()))?;
        write_csv(&self.out.join("test.csv"), &test)?;
        let mut sizes = Vec::with_capacity(shards.len());
        for (i, rows) in shards.iter().enumerate() {
            write_csv(&self.out.join(format!("trainer-{i}.csv")), &train.select(rows))?;
            sizes.push(rows.len());
        }
        let summary = serde_json::json!({ "out": self.out, "test_samples": test.len(), "trainer_samples": sizes });
        self.output.print(&summary, || {
            format!(
                "{}: test.csv ({} samples), trainer-0..{}.csv ({sizes:?} samples)",
                self.out.display(),
                test.len(),
                self.trainers - 1
            )
        })
    }
}
