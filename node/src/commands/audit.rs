//! `fedproof audit`: re-check every round of a job; exits non-zero on any mismatch.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use fedproof::roles::audit::{audit, AuditRow, Recompute};
use fedproof::roles::chunked::audit::{self as chunked_audit, Action, ChunkedAuditRow, ChunkedKeys};
use fedproof::roles::JobView;
use fedproof_prover::chunked::Chunking;
use fedproof_prover::keys::Circuit;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;

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
    /// For a chunked job: challenge the first chunk of a round whose published proof is missing
    /// or wrong (or, with --recompute, whose digest the updates refute) while its window is open,
    /// posting ceil(bond / n); and refute every round whose challenge by this signer went
    /// unanswered past its deadline, which pays back the challenge bond and the aggregator's bond.
    #[arg(long)]
    challenge: bool,
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
        let recompute = match (&key, self.recompute) {
            (Some(key), true) => Some(Recompute { storage: &storage, key }),
            _ => None,
        };
        if let Some(chunking) = job.layout()?.chunking() {
            return self.run_chunked(&job, &storage, chunking, recompute).await;
        }
        let vk = self.keys.store().load_verifying_key(job.shape)?;
        let rows = audit(&job, &vk, recompute).await?;
        let ok = rows.iter().all(|r| r.ok());
        let summary = serde_json::json!({ "job_id": job.id, "ok": ok, "rounds": rows });
        self.output.print(&summary, || table(&rows))?;
        anyhow::ensure!(ok, "the audit of job {} found a mismatch", job.id);
        Ok(())
    }

    /// The audit of a chunked job, and with `--challenge` the challenges and refutations due.
    async fn run_chunked(
        &self,
        job: &JobView,
        storage: &Storage,
        chunking: Chunking,
        recompute: Option<Recompute<'_>>,
    ) -> anyhow::Result<()> {
        let store = self.keys.store();
        let final_vk = store.load_verifying_key(Circuit::Final { shape: job.shape, chunks: chunking.count() })?;
        let chunk_vk =
            store.load_verifying_key(Circuit::Chunk { trainers: job.shape.trainers, params: chunking.chunk_params })?;
        let keys = ChunkedKeys { final_vk: &final_vk, chunk_vk: &chunk_vk };
        let rows = chunked_audit::audit(job, storage, keys, recompute).await?;
        let actions = if self.challenge { chunked_audit::act(job, &rows).await? } else { Vec::new() };
        let ok = rows.iter().all(|r| r.ok());
        let summary = serde_json::json!({ "job_id": job.id, "ok": ok, "rounds": rows, "actions": actions });
        self.output.print(&summary, || chunked_table(&rows, &actions))?;
        anyhow::ensure!(ok, "the audit of job {} found a mismatch", job.id);
        Ok(())
    }
}

fn chunked_table(rows: &[ChunkedAuditRow], actions: &[Action]) -> String {
    let mut t = format!(
        "{:>5}  {:>8}  {:>7}  {:<24}  {:<10}  tx\n",
        "round", "off-chain", "on-chain", "chunk proofs", "recompute"
    );
    for r in rows {
        let chunks = match &r.unproven {
            Ok(None) => "all verify".to_string(),
            Ok(Some(c)) => format!("chunk {c} FAILS"),
            Err(e) => format!("FAIL: {e}"),
        };
        let re = match &r.recompute {
            None => "-".to_string(),
            Some(Ok(())) => "ok".to_string(),
            Some(Err(e)) => format!("FAIL: {e}"),
        };
        t += &format!("{:>5}  {:>8}  {:>7}  {:<24}  {:<10}  {}\n", r.round, r.offchain, r.onchain, chunks, re, r.tx);
    }
    for a in actions {
        t += &format!("{} chunk {} of round {}: tx {}\n", a.what, a.chunk, a.round, a.tx);
    }
    t
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
