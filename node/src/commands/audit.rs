//! `fedproof audit`: re-check every round of a job; exits non-zero on any mismatch.

use std::path::PathBuf;

use clap::Args;
use fedproof::roles::audit::audit;
use fedproof_prover::keys::KeyStore;

use super::{print, JobArgs};

/// Options of `fedproof audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Also fetch the blobs and re-run each round natively.
    #[arg(long)]
    recompute: bool,
    /// Key cache directory holding the job shape's verifying key.
    #[arg(long)]
    keys: Option<PathBuf>,
}

/// Audits a job and prints a per-round table.
pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let (job, storage) = args.job.open().await?;
    let vk = KeyStore::at(args.keys).load_verifying_key(&job.shape)?;
    let rows = audit(&job, &vk, args.recompute.then_some(&storage)).await?;
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
