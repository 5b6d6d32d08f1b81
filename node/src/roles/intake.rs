//! A trainer's side of the aggregator's intake (`POST /api/jobs/{id}/rounds/{r}/updates`): it
//! uploads the sealed update it committed to, checks the aggregator's EIP-712 receipt and keeps
//! it, so the trainer can dispute if the aggregator later calls its update unavailable.
//!
//! The sealed bytes are kept beside the receipts before the commitment goes on-chain, so a
//! trainer stopped between committing and uploading uploads them when it starts again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use anyhow::Context;
use base64::Engine as _;
use fedproof_storage::upload::receipt_signer;
use fedproof_web_api::format::word;
use fedproof_web_api::http::schema::{upload_digest, UploadAnswer, UploadBody};
use rand::Rng;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::chain::client::call_error;
use crate::roles::job::JobView;

/// Attempts per upload when the server cannot be reached or answers 5xx.
const ATTEMPTS: u32 = 5;

/// The longest `Retry-After` a trainer honours (a server asking for more is retried sooner).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How long in all a trainer waits out 429 answers for one upload: a full intake frees a slot
/// within milliseconds, so this only ends a wait on an intake that never takes the update.
const BUSY_BUDGET: Duration = Duration::from_secs(300);

/// A receipt as the trainer keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptReceipt {
    /// The job.
    pub job_id: u64,
    /// The round.
    pub round: u32,
    /// The trainer's slot.
    pub slot: u32,
    /// The update's commitment.
    pub commitment: String,
    /// CID of the sealed blob the aggregator stored.
    pub cid: String,
    /// The aggregator's EIP-712 `UploadReceipt` signature (what `JobMarket.dispute` takes).
    pub signature: String,
}

/// The body of an upload: the sealed blob and the trainer's EIP-191 signature over
/// `keccak256(abi.encode(jobId, round, commitment))`.
pub fn upload_body(
    signer: &PrivateKeySigner,
    job_id: u64,
    round: u32,
    commitment: U256,
    sealed: &[u8],
) -> anyhow::Result<UploadBody> {
    let digest = upload_digest(job_id, round, commitment);
    let signature = signer.sign_message_sync(digest.as_slice())?;
    Ok(UploadBody {
        trainer: format!("{:#x}", signer.address()),
        commitment: word(&commitment),
        blob: base64::engine::general_purpose::STANDARD.encode(sealed),
        signature: signature.to_string(),
    })
}

/// The aggregator's intake, and the directory where this trainer keeps its receipts.
#[derive(Debug, Clone)]
pub struct Intake {
    http: reqwest::Client,
    api: url::Url,
    receipts: PathBuf,
}

impl Intake {
    /// An intake at `api` (the web API's base URL), keeping receipts under `receipts`.
    pub fn new(api: url::Url, receipts: PathBuf) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Intake { http, api, receipts })
    }

    fn dir(&self, job: &JobView) -> PathBuf {
        // One directory per (market, job, trainer): trainers may share a receipts directory.
        self.receipts
            .join(format!("{:#x}", job.market.address()))
            .join(job.id.to_string())
            .join(format!("{:#x}", job.chain.address))
    }

    fn pending_path(&self, job: &JobView, round: u32) -> PathBuf {
        self.dir(job).join(format!("round-{round}.sealed"))
    }

    fn receipt_path(&self, job: &JobView, round: u32) -> PathBuf {
        self.dir(job).join(format!("round-{round}.receipt.json"))
    }

    /// Whether an update for `round` of `job` waits here to be delivered.
    pub fn has_pending(&self, job: &JobView, round: u32) -> bool {
        self.pending_path(job, round).exists()
    }

    /// Keeps the sealed update of `round` until it is uploaded (call before committing).
    pub fn keep_pending(&self, job: &JobView, round: u32, sealed: &[u8]) -> anyhow::Result<()> {
        let path = self.pending_path(job, round);
        write_whole(&path, sealed)
    }

    /// The receipt kept for `round`, if any.
    pub fn receipt(&self, job: &JobView, round: u32) -> anyhow::Result<Option<KeptReceipt>> {
        let path = self.receipt_path(job, round);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("receipt file {} is damaged", path.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
        }
    }

    /// Uploads the pending update of `round` (committed on-chain by `slot`) unless its receipt is
    /// already kept; returns the receipt, or `None` when nothing is pending.
    pub async fn deliver(&self, job: &JobView, round: u32, slot: u32) -> anyhow::Result<Option<KeptReceipt>> {
        if let Some(kept) = self.receipt(job, round)? {
            return Ok(Some(kept));
        }
        let pending = self.pending_path(job, round);
        let sealed = match std::fs::read(&pending) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", pending.display()))),
        };
        if !commit_phase_closed(job, round).await? {
            // Revealed now, the update could be copied (or nearly copied) by a slot still free to
            // commit; it stays pending until every slot committed or the window closed.
            return Ok(None);
        }
        let id = U256::from(job.id);
        let commitment = job
            .market
            .commitments(id, U256::from(round), U256::from(slot))
            .call()
            .await
            .map_err(|e| call_error("reading the commitment", e))?;
        let body = upload_body(&job.chain.signer, job.id, round, commitment, &sealed)?;
        let answer = self.post(job.id, round, &body).await?;
        let receipt = answer.receipt;
        // The receipt covers the blob the slot named on-chain: a receipt for any other blob
        // would not win a dispute, so it is checked here, not trusted.
        let blob_ref = job
            .market
            .blobRefs(id, U256::from(round), U256::from(slot))
            .call()
            .await
            .map_err(|e| call_error("reading the blobRef", e))?;
        let digest = job
            .market
            .receiptDigest(id, U256::from(round), U256::from(slot), commitment, blob_ref)
            .call()
            .await
            .map_err(|e| call_error("reading the receipt digest", e))?;
        let signer = receipt_signer(&receipt.signature, &digest).context("the intake's receipt")?;
        anyhow::ensure!(
            signer == job.config.aggregator,
            "the intake at {} answered with a receipt signed by {signer}, not by job {}'s aggregator {}",
            self.api,
            job.id,
            job.config.aggregator
        );
        let kept = KeptReceipt {
            job_id: job.id,
            round,
            slot,
            commitment: word(&commitment),
            cid: answer.cid,
            signature: receipt.signature,
        };
        write_whole(&self.receipt_path(job, round), &serde_json::to_vec_pretty(&kept)?)?;
        // The receipt is what matters now; a leftover pending file would only be re-read.
        let _ = std::fs::remove_file(&pending);
        tracing::info!(job = job.id, round, slot, cid = %kept.cid, "update delivered, receipt kept");
        Ok(Some(kept))
    }

    /// Posts an upload. A 429 (a full intake, this trainer over its rate) is waited out as its
    /// `Retry-After` asks, plus up to half a second of jitter so refused trainers do not return
    /// together, for up to [`BUSY_BUDGET`] in all; an unreachable server or a 5xx is retried
    /// [`ATTEMPTS`] times with a doubling delay (at least what a `Retry-After` asks); another 4xx
    /// is the server's reason, returned as the error.
    async fn post(&self, job_id: u64, round: u32, body: &UploadBody) -> anyhow::Result<UploadAnswer> {
        let url = self.api.join(&format!("api/jobs/{job_id}/rounds/{round}/updates"))?;
        let mut delay = Duration::from_millis(200);
        let (mut attempt, mut busy) = (0, Duration::ZERO);
        loop {
            let (failure, wait) = match self.http.post(url.clone()).json(body).send().await {
                Ok(res) if res.status().is_success() => {
                    return res.json().await.with_context(|| format!("the intake at {url} answered with no receipt"))
                }
                Ok(res) if res.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..500));
                    let wait = retry_after(&res).unwrap_or(Duration::from_secs(1)) + jitter;
                    busy += wait;
                    anyhow::ensure!(
                        busy <= BUSY_BUDGET,
                        "the intake at {url} stayed too busy for the update of round {round} ({} s of 429s)",
                        BUSY_BUDGET.as_secs()
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Ok(res) if res.status().is_client_error() => {
                    let status = res.status();
                    let text = res.text().await.unwrap_or_default();
                    anyhow::bail!("the intake at {url} refused the update of round {round} ({status}): {text}");
                }
                Ok(res) => (res.status().to_string(), retry_after(&res).map_or(delay, |asked| asked.max(delay))),
                Err(e) => (e.to_string(), delay),
            };
            attempt += 1;
            anyhow::ensure!(
                attempt < ATTEMPTS,
                "cannot deliver the update of round {round} to the intake at {url} after {ATTEMPTS} attempts ({failure}; is `fedproof serve` running? check --api)"
            );
            tracing::warn!(attempt, %url, %failure, retry_in = ?wait, "upload failed, retrying");
            tokio::time::sleep(wait).await;
            delay *= 2;
        }
    }
}

/// The wait a `Retry-After` header asks for (seconds; at most [`MAX_RETRY_AFTER`]).
fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = res.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// Whether `round`'s commit phase is over: every trainer with a live stake committed, or the
/// submission window closed (or the round is already past). Only then may plaintext updates
/// reach the aggregator (`web-api`'s intake refuses them before too).
pub async fn commit_phase_closed(job: &JobView, round: u32) -> anyhow::Result<bool> {
    let s = job.state().await?;
    if s.round != round {
        return Ok(s.round > round);
    }
    let deadline = s.roundStart.to::<u64>() + u64::from(job.config.submitWindow);
    Ok(s.submittedCount >= s.joinedCount || job.chain_time().await? > deadline)
}

/// Writes a file whole or not at all, creating its directory.
fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .with_context(|| format!("writing {}", path.display()))
}
