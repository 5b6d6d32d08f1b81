//! `fedproof audit`: re-check every round of a job; exits non-zero on any mismatch.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use fedproof::roles::audit::{audit, AuditRow, Recompute};
use fedproof_storage::sealed::AggregatorKey;

use super::args::{JobArgs, KeysArgs, OutputArgs};

/// Options of `fedproof audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Also fetch the blobs and re-run each round natively (needs --aggregator-key: updates are
    /// sealed to the aggregator).
    #[arg(long, requires = "aggregator_key")]
    recompute: bool,
    /// The aggregator's age identity file, to open the sealed updates for --recompute.
    #[arg(long)]
    aggregator_key: Option<PathBuf>,
    // Holds the job shape's verifying key.
    #[command(flatten)]
    keys: KeysArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl AuditArgs {
    /// Audits a job and prints a per-round table.
    pub async fn run(self) -> anyhow::Result<()> {
        let key =
            self.aggregator_key.as_deref().map(AggregatorKey::load).transpose().context("reading --aggregator-key")?;
        let (job, storage) = self.job.open().await?;
        let vk = self.keys.store().load_verifying_key(job.shape)?;
        let recompute = match (&key, self.recompute) {
            (Some(key), true) => Some(Recompute { storage: &storage, key }),
            _ => None,
        };
        let rows = audit(&job, &vk, recompute).await?;
        let ok = rows.iter().all(|r| r.ok());
        let summary = serde_json::json!({ "job_id": job.id, "ok": ok, "rounds": rows });
        self.output.print(&summary, || table(&rows))?;
        anyhow::ensure!(ok, "the audit of job {} found a mismatch", job.id);
        Ok(())
    }
}

fn table(rows: &[AuditRow]) -> String {
    let mut t = format!("{:>5}  {:>8}  {:>7}  {:<10}  tx\n", "round", "off-chain", "on-chain", "recompute");
    for r in rows {
        let re = match &r.recompute {
            None => "-".to_string(),
            Some(Ok(())) => "ok".to_string(),
            Some(Err(e)) => format!("FAIL: {e}"),
        };
        t += &format!("{:>5}  {:>8}  {:>7}  {:<10}  {}\n", r.round, r.offchain, r.onchain, re, r.tx);
    }
    t
}
