//! The aggregator's door: `POST /api/jobs/{id}/rounds/{r}/updates`. An update is stored only if
//! its signer is a staked trainer of the job, the round is the job's current one and the job is
//! active, the round's commit phase is over (every live slot committed, or the submission window
//! closed: earlier plaintext could be copied by a slot still free to commit), the commitment is
//! the one the trainer put on-chain, the blob is the one its on-chain `blobRef` names, and the
//! sealed blob opens to an update of that (job, round, slot) whose commitment is that commitment.
//! The answer carries the aggregator's EIP-712 `UploadReceipt` over the commitment *and* the
//! `blobRef`, which `JobMarket.dispute` accepts.

use super::chain_reads::read_two;
use super::error::ApiError;
use super::extract::SignedUpload;
use super::job_reads::{JobFacts, JobKey};
use super::schema::{Receipt, UploadAnswer};
use super::AppState;
use crate::db::{JobRow, Upload, UploadOutcome};
use crate::format::{address, word};
use alloy::primitives::{B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::Signer;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use fedproof_contracts::receipt::{receipt_digest, UploadReceipt};
use fedproof_contracts::{JobMarket, JobStatus};
use fedproof_storage::sealed::{self, AggregatorKey};
use fedproof_storage::{blob_ref_of, check_update, SlotCommitment, Storage, UpdateBlob};
use std::sync::Arc;

/// Accepts a trainer's sealed update and answers with the aggregator's signed receipt.
#[utoipa::path(post, path = "/api/jobs/{id}/rounds/{r}/updates", request_body = super::schema::UploadBody,
    params(("id" = i64, Path, minimum = 0, description = "job id"), ("r" = u32, Path, description = "round")),
    responses((status = 201, body = UploadAnswer), (status = 400, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody), (status = 408, description = "the body took longer than the request timeout"), (status = 409, body = super::error::ErrorBody),
        (status = 413, body = super::error::ErrorBody), (status = 429, body = super::error::ErrorBody, description = "the intake is full or the trainer over its rate: retry after Retry-After seconds"),
        (status = 503, body = super::error::ErrorBody)))]
pub async fn upload(
    State(s): State<AppState>,
    upload: SignedUpload,
) -> Result<(StatusCode, Json<UploadAnswer>), ApiError> {
    accept(&s, upload).await.map(|answer| (StatusCode::CREATED, Json(answer)))
}

/// The intake's parts; a server without them takes no updates.
struct Intake<'a> {
    aggregator: &'a PrivateKeySigner,
    storage: &'a Storage,
}

/// Checks an upload against the chain and the blob, stores it once and signs its receipt.
async fn accept(s: &AppState, upload: SignedUpload) -> Result<UploadAnswer, ApiError> {
    let (Some(aggregator), Some(key), Some(storage)) = (&s.aggregator, &s.sealing_key, &s.blobs) else {
        return Err(ApiError::NotFound("this server does not take updates (no aggregator key or blob store)".into()));
    };
    let intake = Intake { aggregator, storage };
    let (expected, blob_ref) = committed_slot(s, &intake, &upload).await?;
    let sent = blob_ref_of(&upload.sealed);
    if sent != blob_ref {
        return Err(ApiError::bad(
            "blob_ref_mismatch",
            format!("the blob's reference {sent} is not the blobRef slot {} put on-chain: {blob_ref}", expected.slot),
        ));
    }
    // Opening the blob and committing to its values is CPU work (age, then Poseidon over every
    // parameter): on the low-priority check pool, so reads wait for none of it.
    let opener = Arc::clone(key);
    let (sealed, checked) = s
        .checks
        .run(move || {
            let checked = check_blob(&opener, &upload.sealed, &expected);
            (upload.sealed, checked)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("checking the blob: {e}")))?;
    checked?;

    // The receipt is the contract's EIP-712 digest (`JobMarket.receiptDigest`, computed here: one
    // node round trip fewer per upload), signed by the aggregator.
    let commitment = U256::from_be_bytes(upload.commitment.0);
    let slot = u8::try_from(expected.slot)
        .map_err(|_| ApiError::Internal(format!("slot {} does not fit a receipt's uint8", expected.slot)))?;
    let terms = UploadReceipt::new(upload.job, upload.round, slot, commitment, blob_ref);
    let digest = receipt_digest(s.chain_id, s.chain.market, &terms);
    let signature = intake.aggregator.sign_hash(&digest).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    // Stored before its row: a blob store that fails leaves no row and no receipt, and the
    // trainer retries after the 503.
    let cid = intake.storage.put_sealed(sealed).await.map_err(|e| {
        tracing::warn!(error = %e, "the blob store refused an upload");
        ApiError::Unavailable("the blob store is failing; retry shortly".into())
    })?;
    crate::pause::point("upload: blob stored");
    let row = Upload {
        job_id: upload.job as i64,
        round: i64::from(upload.round),
        slot: i64::from(expected.slot),
        trainer: address(&upload.trainer),
        commitment: word(&commitment),
        cid: cid.to_string(),
        receipt_signature: signature.to_string(),
    };
    let stored = s.db.store_upload(&row).await?;
    crate::pause::point("upload: row stored");
    let signature = match stored {
        UploadOutcome::Stored => row.receipt_signature.clone(),
        UploadOutcome::AlreadyStored(sig) => sig,
        UploadOutcome::Conflict => {
            return Err(ApiError::Conflict(format!(
                "another update is already stored for slot {} of round {}",
                row.slot, row.round
            )))
        }
    };
    let receipt =
        Receipt { job_id: row.job_id, round: row.round, slot: row.slot, commitment: row.commitment, signature };
    Ok(UploadAnswer { cid: row.cid, slot: row.slot, receipt })
}

/// The slot the uploader holds, what it committed on-chain and the blobRef it named, read from
/// the contract itself (the index may lag behind the head); the job's parameter count comes from
/// its spec blob.
async fn committed_slot(
    s: &AppState,
    intake: &Intake<'_>,
    upload: &SignedUpload,
) -> Result<(SlotCommitment, B256), ApiError> {
    let (job, round) = (upload.job, upload.round);
    let market = JobMarket::new(s.chain.market, &s.chain.provider);
    let jid = U256::from(job);
    let (staked, state) = read_two(&s.chain.provider, market.slotOf(jid, upload.trainer), market.jobState(jid)).await?;
    if !staked.staked {
        return Err(ApiError::Forbidden {
            code: "not_a_trainer",
            message: format!("{} holds no stake in job {job}", upload.trainer),
        });
    }
    let slot: u32 = staked.slot.to();
    if JobStatus::from_u8(state.status) != Some(JobStatus::Active) {
        return Err(ApiError::bad("round_closed", format!("job {job} is not active")));
    }
    if state.round != round {
        return Err(ApiError::bad(
            "wrong_round",
            format!("round {round} is not job {job}'s current round {}", state.round),
        ));
    }
    check_commit_phase_closed(s, &market, jid, &state).await?;
    let (r, i) = (U256::from(round), U256::from(slot));
    let (on_chain, blob_ref) =
        read_two(&s.chain.provider, market.commitments(jid, r, i), market.blobRefs(jid, r, i)).await?;
    let on_chain = B256::from(on_chain);
    if on_chain.is_zero() {
        return Err(ApiError::bad(
            "not_submitted",
            format!("slot {slot} has no commitment on-chain for round {round}"),
        ));
    }
    if on_chain != upload.commitment {
        return Err(ApiError::bad(
            "commitment_mismatch",
            format!("commitment {} differs from the one on-chain for slot {slot}: {on_chain}", upload.commitment),
        ));
    }
    let (params, chunks, domain) = job_facts(s, intake, &market, job).await?;
    Ok((SlotCommitment { job_id: job, domain, round, slot, params, chunks, commitment: on_chain }, blob_ref))
}

/// The job's parameter count, chunk count and domain: from the cache of immutable reads
/// ([`super::job_reads`], which says why each cannot change and how reorgs are handled), or read
/// and cached. The domain is cached only once the index holds a submission of the job (its
/// roster is then final at a confirmed block); until then it is read live.
async fn job_facts(
    s: &AppState,
    intake: &Intake<'_>,
    market: &JobMarket::JobMarketInstance<&DynProvider>,
    job: u64,
) -> Result<(usize, usize, B256), ApiError> {
    let key = JobKey { chain_id: s.chain_id, market: s.chain.market, job };
    // Taken before the first read, the cache's included: a rollback after it drops this fill
    // (see job_reads), so facts of a rolled-back job are never stored again.
    let ticket = s.job_reads.ticket();
    let cached = s.job_reads.get(&key);
    if let Some(JobFacts { params, chunks, domain: Some(domain), .. }) = cached {
        return Ok((params, chunks, domain));
    }
    let jid = U256::from(job);
    let (facts, consistent) = match cached {
        Some(facts) => (facts, true),
        None => {
            let row = indexed_job(s, job).await?;
            let params = job_params(intake, job, &row).await?;
            let config = market.jobConfig(jid).call().await?;
            // The index and the chain disagree only in a reorg the indexer has yet to roll back:
            // serve this upload from what was read, but remember none of it.
            let consistent = row.aggregator == address(&config.aggregator)
                && row.verifier == address(&config.verifier)
                && row.start_time == config.startTime.to::<i64>()
                && row.submit_window == i64::from(config.submitWindow);
            let facts = JobFacts {
                params,
                chunks: usize::from(config.chunks),
                submit_window: config.submitWindow,
                domain: None,
            };
            (facts, consistent)
        }
    };
    let roster_final = indexed_submission(s, job).await?;
    let domain = B256::from(market.domain(jid).call().await?);
    if consistent {
        s.job_reads.insert(ticket, key, JobFacts { domain: roster_final.then_some(domain), ..facts });
    }
    Ok((facts.params, facts.chunks, domain))
}

/// Refuses plaintext while the round's commit phase is open: every trainer with a live stake
/// must have committed, or the submission window must have closed. An update revealed earlier
/// could be copied, or nearly copied, by a slot that has yet to commit (attack 2).
async fn check_commit_phase_closed(
    s: &AppState,
    market: &JobMarket::JobMarketInstance<&DynProvider>,
    job: U256,
    state: &JobMarket::State,
) -> Result<(), ApiError> {
    if state.submittedCount >= state.joinedCount {
        return Ok(());
    }
    let key = JobKey { chain_id: s.chain_id, market: s.chain.market, job: job.saturating_to() };
    let window = match s.job_reads.get(&key) {
        Some(facts) => facts.submit_window,
        None => market.jobConfig(job).call().await?.submitWindow,
    };
    let deadline = state.roundStart.to::<u64>() + u64::from(window);
    if chain_time(s).await? > deadline {
        return Ok(());
    }
    Err(ApiError::bad(
        "commit_phase_open",
        format!(
            "round {} of job {job} is still taking commitments ({} of {} in, window closes at {deadline}): upload after every slot committed or the window closed",
            state.round, state.submittedCount, state.joinedCount
        ),
    ))
}

/// Chain time for the deadline: the later of the latest block's timestamp and the wall clock (a
/// chain stamps its next block with the wall clock, or later), as the node's roles reckon it.
async fn chain_time(s: &AppState) -> Result<u64, ApiError> {
    let latest = s
        .chain
        .provider
        .get_block(alloy::eips::BlockId::latest())
        .await
        .map_err(|e| ApiError::Upstream(e.to_string()))?;
    let block = latest.map_or(0, |b| b.header.timestamp);
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Ok(block.max(wall))
}

/// The job's row in the index: it exists once `JobCreated` has the indexer's confirmations.
async fn indexed_job(s: &AppState, job: u64) -> Result<JobRow, ApiError> {
    s.db.job(job as i64).await?.ok_or_else(|| {
        ApiError::Unavailable(format!("job {job} is not indexed yet; retry once its JobCreated event is"))
    })
}

/// Whether the index holds a submission of the job (so one at a confirmed block).
async fn indexed_submission(s: &AppState, job: u64) -> Result<bool, ApiError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT job_id FROM submissions WHERE job_id = $1 LIMIT 1")
        .bind(job as i64)
        .fetch_optional(s.db.pool())
        .await
        .map_err(crate::db::DbError::from)?;
    Ok(found.is_some())
}

/// The job's parameter count, from the spec blob its `specHash` names.
async fn job_params(intake: &Intake<'_>, job: u64, row: &JobRow) -> Result<usize, ApiError> {
    let spec_hash: B256 =
        row.spec_hash.parse().map_err(|_| ApiError::Internal(format!("job {job} has a malformed spec hash")))?;
    let spec = intake.storage.spec(spec_hash).await.map_err(|e| {
        ApiError::Unavailable(format!("the spec of job {job} is not readable from this server's blob store: {e}"))
    })?;
    Ok(spec.params)
}

/// The sealed blob must open with the aggregator's key to the very update the slot committed to.
fn check_blob(key: &AggregatorKey, sealed: &[u8], expected: &SlotCommitment) -> Result<(), ApiError> {
    let plain = sealed::open(key, sealed)
        .map_err(|e| ApiError::bad("invalid_blob", format!("blob does not open with the aggregator's key: {e}")))?;
    let update =
        UpdateBlob::decode(&plain).map_err(|e| ApiError::bad("invalid_blob", format!("blob is not an update: {e}")))?;
    check_update(&update, expected).map_err(|e| ApiError::bad("commitment_mismatch", e.to_string()))
}
