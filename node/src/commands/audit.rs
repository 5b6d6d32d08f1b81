//! `fedproof audit`: re-check every round of a job; exits non-zero on any mismatch.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use fedproof::roles::audit::{audit, Recompute};
use fedproof_prover::keys::KeyStore;
use fedproof_storage::sealed::AggregatorKey;

use super::{print, JobArgs};

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
    /// Key cache directory holding the job shape's verifying key.
    #[arg(long)]
    keys: Option<PathBuf>,
}

/// Audits a job and prints a per-round table.
pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let key =
        args.aggregator_key.as_deref().map(AggregatorKey::load).transpose().context("reading --aggregator-key")?;
    let (job, storage) = args.job.open().await?;
    let vk = KeyStore::at(args.keys).load_verifying_key(&job.shape)?;
    let recompute = match (&key, args.recompute) {
        (Some(key), true) => Some(Recompute { storage: &storage, key }),
        _ => None,
    };
    let rows = audit(&job, &vk, recompute).await?;
    let ok = rows.iter().all(|r| r.ok());
    print(args.job.chain.json, &serde_json::json!({ "job_id": job.id, "ok": ok, "rounds": rows }), || {
        let mut t = format!("{:>5}  {:>8}  {:>7}  {:<10}  tx\n", "round", "off-chain", "on-chain", "recompute");
        for r in &rows {
            let re = match &r.recompute {
                None => "-".to_string(),
                Some(Ok(())) => "ok".to_string(),
                Some(Err(e)) => format!("FAIL: {e}"),
            };
            t += &format!("{:>5}  {:>8}  {:>7}  {:<10}  {}\n", r.round, r.offchain, r.onchain, re, r.tx);
        }
        t
    })?;
    anyhow::ensure!(ok, "the audit of job {} found a mismatch", job.id);
    Ok(())
}
