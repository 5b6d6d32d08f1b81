//! The intake under load: every prepared upload sent at once, each from its own task. A refusal
//! (429, or 503) must carry `Retry-After`; the client waits that long (plus up to a second of
//! jitter, so refused clients do not all come back in the same millisecond) and sends again.
//! Afterwards each receipt is checked against the contract's `receiptDigest` and the aggregator's
//! address, and the stored rows are counted.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Signature, U256};
use fedproof_web_api::http::schema::UploadAnswer;
use futures::StreamExt;
use indicatif::ProgressBar;
use rand::Rng;
use reqwest::StatusCode;
use serde::Serialize;

use super::chain::{Market, PreparedUpload};
use super::reads::percentile_ms;
use super::service::Service;

/// Sends of one upload before the bench gives up on it (counted as an error).
const MAX_ATTEMPTS: u32 = 100;

/// What the intake did with the uploads.
#[derive(Serialize, Default)]
pub struct UploadFigures {
    /// Uploads sent at once (each a sealed update of the demo shape, 10 trainers × 2,410).
    pub uploads: usize,
    /// The intake's `concurrent_uploads` limit: uploads it handles at once, refusing the rest.
    pub concurrent_uploads_limit: usize,
    /// Uploads finally answered 201.
    pub accepted: usize,
    /// 201 answers whose receipt recovers to the aggregator over the contract's `receiptDigest`
    /// of the upload's (job, round, slot, commitment, blobRef).
    pub receipts_verified: usize,
    /// Rows in the server's database after the run.
    pub stored: usize,
    /// Uploads − stored: must be 0.
    pub lost: usize,
    /// Answers 429 (each with `Retry-After`).
    pub refused_429: usize,
    /// Answers 503 with `Retry-After` (retried).
    pub refused_503: usize,
    /// Sends after a refusal.
    pub retries: usize,
    /// 5xx answers other than a 503 with `Retry-After`: must be 0.
    pub server_errors_5xx: usize,
    /// Other failures: another status, a refusal without `Retry-After`, a transport error, an
    /// unreadable answer, or [`MAX_ATTEMPTS`] refusals.
    pub other_errors: usize,
    /// The other errors by kind: `<status> <error code>` of an answer, or what failed.
    pub other_error_kinds: BTreeMap<String, usize>,
    /// From the first send to the last final answer.
    pub seconds: f64,
    /// Accepted uploads per second over that time.
    pub accepted_per_second: f64,
    /// Median latency of an upload, from its first send to its final answer (waits included).
    pub p50_ms: f64,
    /// 99th percentile of that latency.
    pub p99_ms: f64,
}

/// How one upload ended.
#[derive(Default)]
pub struct Outcome {
    latency: Duration,
    answer: Option<UploadAnswer>,
    refused_429: usize,
    refused_503: usize,
    server_error: bool,
    /// What went wrong, for an upload that ended neither accepted nor with a 5xx.
    other_error: Option<String>,
}

/// Sends every upload at once and waits for each one's final answer; `bar` counts them.
pub async fn fire(addr: SocketAddr, uploads: &[PreparedUpload], bar: &ProgressBar) -> (Vec<(usize, Outcome)>, f64) {
    let client = reqwest::Client::new();
    let clock = Instant::now();
    let tasks: Vec<_> = uploads
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let (client, bar) = (client.clone(), bar.clone());
            let url = format!("http://{addr}/api/jobs/{}/rounds/0/updates", u.job);
            let body = Arc::new(serde_json::to_vec(&u.body).expect("an upload body serializes"));
            tokio::spawn(async move {
                let outcome = upload(&client, &url, body).await;
                bar.inc(1);
                (i, outcome)
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for t in tasks {
        outcomes.push(
            t.await
                .unwrap_or_else(|e| (usize::MAX, Outcome { other_error: Some(e.to_string()), ..Default::default() })),
        );
    }
    (outcomes, clock.elapsed().as_secs_f64())
}

/// One upload, resent after each refusal for as long as its `Retry-After` says.
async fn upload(client: &reqwest::Client, url: &str, body: Arc<Vec<u8>>) -> Outcome {
    let start = Instant::now();
    // Unless an answer ends it sooner, the upload ends refused too often.
    let mut outcome = Outcome { other_error: Some(format!("refused {MAX_ATTEMPTS} times")), ..Default::default() };
    for _ in 0..MAX_ATTEMPTS {
        let sent = client.post(url).header("content-type", "application/json").body(body.to_vec()).send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                outcome.other_error = Some(format!("transport: {}", e.without_url()));
                break;
            }
        };
        let status = response.status();
        let retry_after = retry_after(&response);
        match (status, retry_after) {
            (StatusCode::CREATED, _) => {
                outcome.answer = response.json::<UploadAnswer>().await.ok();
                outcome.other_error = outcome.answer.is_none().then(|| "201 unreadable answer".into());
                outcome.latency = start.elapsed();
                return outcome;
            }
            (StatusCode::TOO_MANY_REQUESTS, Some(wait)) | (StatusCode::SERVICE_UNAVAILABLE, Some(wait)) => {
                if status == StatusCode::TOO_MANY_REQUESTS {
                    outcome.refused_429 += 1;
                } else {
                    outcome.refused_503 += 1;
                }
                let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..1_000));
                tokio::time::sleep(wait + jitter).await;
            }
            (s, _) if s.is_server_error() => {
                (outcome.server_error, outcome.other_error) = (true, None);
                break;
            }
            (s, _) => {
                outcome.other_error = Some(error_kind(s, response).await);
                break;
            }
        }
    }
    outcome.latency = start.elapsed();
    outcome
}

/// `<status> <error code>` of a refused upload (the API's `{"error": {"code": …}}` body).
async fn error_kind(status: StatusCode, response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let code = body["error"]["code"].as_str().unwrap_or("no error code");
    let why = if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        " without Retry-After"
    } else {
        ""
    };
    format!("{} {code}{why}", status.as_u16())
}

/// The `Retry-After` of an answer, in seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    value.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The figures of a run: counts and latencies from the outcomes, receipts checked against the
/// contract, stored rows read from the server's database.
pub async fn figures(
    outcomes: Vec<(usize, Outcome)>,
    seconds: f64,
    uploads: &[PreparedUpload],
    market: &Market,
    aggregator: Address,
    service: &Service,
) -> anyhow::Result<UploadFigures> {
    let mut f = UploadFigures { uploads: uploads.len(), seconds, ..Default::default() };
    let mut latencies = Vec::with_capacity(outcomes.len());
    let mut answered = Vec::new();
    for (i, o) in outcomes {
        latencies.push(o.latency);
        f.refused_429 += o.refused_429;
        f.refused_503 += o.refused_503;
        f.server_errors_5xx += usize::from(o.server_error);
        if let Some(kind) = o.other_error {
            f.other_errors += 1;
            *f.other_error_kinds.entry(kind).or_default() += 1;
        }
        if let Some(answer) = o.answer {
            answered.push((&uploads[i], answer));
        }
    }
    f.retries = f.refused_429 + f.refused_503;
    f.accepted = answered.len();
    f.accepted_per_second = f.accepted as f64 / seconds;
    latencies.sort();
    (f.p50_ms, f.p99_ms) = (percentile_ms(&latencies, 0.50), percentile_ms(&latencies, 0.99));
    f.receipts_verified = futures::stream::iter(answered)
        .map(|(u, a)| async move { receipt_is_valid(market, aggregator, u, &a).await })
        .buffer_unordered(32)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    let jobs: std::collections::BTreeSet<u64> = uploads.iter().map(|u| u.job).collect();
    for job in jobs {
        f.stored += service.server.db.uploads(job as i64, 0).await?.len();
    }
    f.lost = f.uploads.saturating_sub(f.stored);
    Ok(f)
}

/// Whether the answer's receipt is the aggregator's signature over the contract's
/// `receiptDigest` of what the slot put on-chain.
async fn receipt_is_valid(
    market: &Market,
    aggregator: Address,
    upload: &PreparedUpload,
    answer: &UploadAnswer,
) -> bool {
    let r = &answer.receipt;
    let Ok(signature) = r.signature.parse::<Signature>() else { return false };
    let (job, slot) = (U256::from(upload.job), U256::from(upload.slot));
    let same = r.job_id == upload.job as i64 && r.round == 0 && r.slot == i64::from(upload.slot);
    let commitment: Option<U256> = r.commitment.parse().ok();
    if !same || commitment != Some(upload.commitment) {
        return false;
    }
    let digest = market.receiptDigest(job, U256::ZERO, slot, upload.commitment, upload.blob_ref).call().await;
    digest.ok().and_then(|d| signature.recover_address_from_prehash(&d).ok()) == Some(aggregator)
}
