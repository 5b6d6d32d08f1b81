//! The aggregator's door: `POST /api/jobs/{id}/rounds/{r}/updates`. An update is stored only if
//! its signer is a staked trainer of the job, the round is the job's current one and the job is
//! active, the commitment is the one the trainer put on-chain, and the sealed blob opens to an
//! update of that (job, round, slot) whose commitment is that commitment. The answer carries the
//! aggregator's EIP-712 `UploadReceipt`, which `JobMarket.dispute` accepts.

use super::error::ApiError;
use super::rounds::recover;
use super::schema::{upload_digest, Receipt, UploadAnswer, UploadBody};
use super::{parse_address, AppState};
use crate::codec::UpdateBlob;
use crate::db::{Upload, UploadOutcome};
use crate::format::{address, word};
use alloy::primitives::{B256, U256};
use alloy::signers::Signer;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::Engine as _;
use fedproof_contracts::JobMarket;

/// `JobMarket.Status.Active`.
const ACTIVE: u8 = 1;

/// Accepts a trainer's sealed update and answers with the aggregator's signed receipt.
#[utoipa::path(post, path = "/api/jobs/{id}/rounds/{r}/updates", request_body = UploadBody,
    params(("id" = i64, Path, description = "job id"), ("r" = i64, Path, description = "round")),
    responses((status = 201, body = UploadAnswer), (status = 400, body = super::error::ErrorBody),
        (status = 403, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
        (status = 413, body = super::error::ErrorBody)))]
pub async fn upload(
    State(s): State<AppState>,
    p: Result<Path<(u64, u32)>, PathRejection>,
    body: Result<Json<UploadBody>, JsonRejection>,
) -> Result<(StatusCode, Json<UploadAnswer>), ApiError> {
    let Path((job, round)) = p?;
    let Json(body) = body?;
    let (Some(aggregator), Some(key), Some(blobs)) = (&s.aggregator, &s.sealing_key, &s.blobs) else {
        return Err(ApiError::NotFound("this server does not take updates (no aggregator key or blob store)".into()));
    };
    let trainer = parse_address("trainer", &body.trainer)?;
    let commitment: U256 = body
        .commitment
        .parse::<B256>()
        .map(|b| U256::from_be_bytes(b.0))
        .map_err(|_| ApiError::bad("invalid_commitment", "commitment is not a 0x-prefixed 32-byte hex word"))?;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(body.blob.as_bytes())
        .map_err(|e| ApiError::bad("invalid_blob", format!("blob is not base64: {e}")))?;

    let digest = upload_digest(job, round, commitment);
    let signer = recover(&body.signature, digest.as_slice())?;
    if signer != trainer {
        return Err(ApiError::Forbidden {
            code: "bad_signature",
            message: format!(
                "the signature over (job {job}, round {round}, commitment) is by {signer}, not by {trainer}"
            ),
        });
    }

    // Chain checks read the contract itself (the index may lag behind the head).
    let market = JobMarket::new(s.chain.market, &s.chain.provider);
    let jid = U256::from(job);
    let staked = market.slotOf(jid, trainer).call().await?;
    if !staked.staked {
        return Err(ApiError::Forbidden {
            code: "not_a_trainer",
            message: format!("{trainer} holds no stake in job {job}"),
        });
    }
    let slot: u32 = staked.slot.to();
    let state = market.jobState(jid).call().await?;
    if state.status as u8 != ACTIVE {
        return Err(ApiError::bad("round_closed", format!("job {job} is not active")));
    }
    if state.round != round {
        return Err(ApiError::bad(
            "wrong_round",
            format!("round {round} is not job {job}'s current round {}", state.round),
        ));
    }
    let on_chain = market.commitments(jid, U256::from(round), U256::from(slot)).call().await?;
    if on_chain.is_zero() {
        return Err(ApiError::bad(
            "not_submitted",
            format!("slot {slot} has no commitment on-chain for round {round}"),
        ));
    }
    if on_chain != commitment {
        return Err(ApiError::bad(
            "commitment_mismatch",
            format!(
                "commitment {} differs from the one on-chain for slot {slot}: {}",
                word(&commitment),
                word(&on_chain)
            ),
        ));
    }

    // The blob must open to this very update.
    let plain = crate::sealed::open(key, &sealed)
        .map_err(|e| ApiError::bad("invalid_blob", format!("blob does not open with the aggregator's key: {e}")))?;
    let update =
        UpdateBlob::decode(&plain).map_err(|e| ApiError::bad("invalid_blob", format!("blob is not an update: {e}")))?;
    if (update.job_id, update.round, update.slot) != (job, round, slot) {
        return Err(ApiError::bad(
            "commitment_mismatch",
            format!(
                "blob is for job {} round {} slot {}, not job {job} round {round} slot {slot}",
                update.job_id, update.round, update.slot
            ),
        ));
    }
    let computed = fedproof_prover::commitment::commit_update(job, round, &update.values)
        .map_err(|e| ApiError::bad("invalid_blob", format!("update values are out of range: {e}")))?;
    let computed = U256::from_be_bytes(fedproof_prover::export::field::to_word(&computed));
    if computed != commitment {
        return Err(ApiError::bad(
            "commitment_mismatch",
            format!("the blob's update commits to {}, not to {}", word(&computed), word(&commitment)),
        ));
    }

    // The receipt is the contract's own EIP-712 digest, signed by the aggregator.
    let digest = market.receiptDigest(jid, U256::from(round), U256::from(slot), commitment).call().await?;
    let signature = aggregator.sign_hash(&digest).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let cid = blobs.put(bytes::Bytes::from(sealed)).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let row = Upload {
        job_id: job as i64,
        round: i64::from(round),
        slot: i64::from(slot),
        trainer: address(&trainer),
        commitment: word(&commitment),
        cid: cid.to_string(),
        receipt_signature: signature.to_string(),
    };
    let receipt_signature = match s.db.store_upload(&row).await? {
        UploadOutcome::Stored => row.receipt_signature.clone(),
        UploadOutcome::AlreadyStored(sig) => sig,
        UploadOutcome::Conflict => {
            return Err(ApiError::Conflict(format!(
                "another update is already stored for slot {slot} of round {round}"
            )))
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(UploadAnswer {
            cid: row.cid,
            slot: row.slot,
            receipt: Receipt {
                job_id: row.job_id,
                round: row.round,
                slot: row.slot,
                commitment: row.commitment,
                signature: receipt_signature,
            },
        }),
    ))
}
