//! Round endpoints: a round's outcome and proof, its off-chain audit, the owner's metrics, and the
//! verifying key of a job's shape.

use super::error::ApiError;
use super::extract::recover;
use super::jobs::find;
use super::schema::{metrics_message, Audit, MetricsBody, RoundDetail, RoundSlot};
use super::AppState;
use crate::db::{JobRow, RoundRow};
use crate::format::{bit, bits, parse_word, slots, word};
use alloy::primitives::U256;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use fedproof_prover::export::calldata::{proof_from_words, Word};
use fedproof_prover::export::snarkjs;
use fedproof_prover::params::JobTerms;
use fedproof_prover::round::{public_inputs, InputWords, PublicInputs};

/// A settled round: presence, outliers, scores, payouts, public inputs, proof.
#[utoipa::path(get, path = "/api/jobs/{id}/rounds/{r}",
    params(("id" = i64, Path, minimum = 0, description = "job id"), ("r" = u32, Path, description = "round")),
    responses((status = 200, body = RoundDetail), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 503, body = super::error::ErrorBody)))]
pub async fn detail(
    State(s): State<AppState>,
    p: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<Json<RoundDetail>, ApiError> {
    let Path((id, r)) = p?;
    let (job, round) = settled(&s, id, r).await?;
    let subs = s.db.submissions(id, r).await?;
    let outcome = s.db.round_slots(id, Some(r)).await?;
    let (presence, inliers, unavailable) = (round.presence(), round.inliers(), round.unavailable());
    let mut commitments = vec![U256::ZERO; job.trainers as usize];
    let mut order = vec![0u16; job.trainers as usize];
    for sub in &subs {
        if let Some(c) = commitments.get_mut(sub.slot as usize) {
            *c = parse_word(&sub.commitment);
            order[sub.slot as usize] = sub.rank.and_then(|r| u16::try_from(r).ok()).unwrap_or(0);
        }
    }
    let slots = (0..job.trainers)
        .map(|slot| {
            let o = outcome.iter().find(|o| o.slot == slot);
            let sub = subs.iter().find(|x| x.slot == slot);
            RoundSlot {
                slot,
                trainer: o.map(|o| o.trainer.clone()).or_else(|| sub.map(|x| x.trainer.clone())).unwrap_or_default(),
                commitment: word(&commitments[slot as usize]),
                present: bit(&presence, slot as usize),
                inlier: bit(&inliers, slot as usize),
                score: o.map_or_else(|| "0".into(), |o| o.score.clone()),
                payout: o.map_or_else(|| "0".into(), |o| o.payout.clone()),
            }
        })
        .collect();
    let outliers = (0..job.trainers).filter(|&i| bit(&presence, i as usize) && !bit(&inliers, i as usize)).collect();
    Ok(Json(RoundDetail {
        job_id: id,
        round: r,
        status: round.status.clone(),
        presence_bits: bits(&presence),
        inlier_bits: bits(&inliers),
        unavailable_bits: bits(&unavailable),
        aggregate_norm_sq: round.aggregate_norm_sq.clone(),
        digest: round.digest.clone(),
        outliers,
        slots,
        old_model: round.model.clone(),
        new_model: round.new_model.clone(),
        public_inputs: public_inputs(&job, &round, &commitments, &order).iter().map(word).collect(),
        proof: proof_words(&round),
        verifier: job.verifier.clone(),
        tx_hash: round.tx_hash.clone(),
        block: round.block,
        finalized_at: round.finalized_at,
        accuracy: round.accuracy,
    }))
}

/// Verifies the round's proof on the server with arkworks against the job's verifying key.
#[utoipa::path(get, path = "/api/jobs/{id}/rounds/{r}/audit",
    params(("id" = i64, Path, minimum = 0, description = "job id"), ("r" = u32, Path, description = "round")),
    responses((status = 200, body = Audit), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 503, body = super::error::ErrorBody)))]
pub async fn audit(
    State(s): State<AppState>,
    p: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<Json<Audit>, ApiError> {
    let Json(round) = detail(State(s.clone()), p).await?;
    let mut audit = Audit {
        ok: false,
        verified_offchain: false,
        public_inputs: round.public_inputs.clone(),
        proof: round.proof.clone(),
        reason: None,
    };
    if round.status != "finalized" || round.proof.len() != 8 {
        audit.reason = Some("the round has no proof (expired, or finalized through a relaying contract)".into());
        return Ok(Json(audit));
    }
    let vk = match s.keys.get(&s.chain.provider, &round.verifier).await {
        Ok(vk) => vk,
        Err(reason) => {
            audit.reason = Some(reason);
            return Ok(Json(audit));
        }
    };
    let as_word = |w: &String| Word(parse_word(w).to_be_bytes());
    let words: Vec<Word> = round.proof.iter().map(as_word).collect();
    let inputs: Vec<Word> = round.public_inputs.iter().map(as_word).collect();
    // Pairings take milliseconds: keep them off the async workers.
    let result = tokio::task::spawn_blocking(move || -> Result<bool, String> {
        let words: [Word; 8] = words.try_into().map_err(|_| "the stored proof is not eight words".to_string())?;
        let proof =
            proof_from_words(&words).map_err(|e| format!("the stored proof is not a valid Groth16 proof: {e}"))?;
        let inputs = inputs
            .iter()
            .map(Word::to_field::<ark_bn254::Fr>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("a public input is not a field element: {e}"))?;
        fedproof_prover::snark::verify_inputs(&vk, &inputs, &proof).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    audit.verified_offchain = true;
    match result {
        Ok(true) => audit.ok = true,
        Ok(false) => audit.reason = Some("the proof does not verify against these public inputs".into()),
        Err(reason) => audit.reason = Some(reason),
    }
    Ok(Json(audit))
}

/// The job owner publishes its held-out accuracy for a round (EIP-191 signed).
#[utoipa::path(post, path = "/api/jobs/{id}/rounds/{r}/metrics", request_body = MetricsBody,
    params(("id" = i64, Path, minimum = 0, description = "job id"), ("r" = u32, Path, description = "round")),
    responses((status = 204), (status = 400, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 503, body = super::error::ErrorBody)))]
pub async fn metrics(
    State(s): State<AppState>,
    p: Result<Path<(i64, i64)>, PathRejection>,
    body: Result<Json<MetricsBody>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((id, r)) = p?;
    let Json(body) = body?;
    let job = find(&s, id).await?;
    if !(0.0..=1.0).contains(&body.accuracy) {
        return Err(ApiError::bad("invalid_accuracy", format!("accuracy {} is not in [0, 1]", body.accuracy)));
    }
    if r < 0 || r >= job.rounds {
        return Err(ApiError::NotFound(format!("job {id} has no round {r}: its rounds are 0..{}", job.rounds)));
    }
    let message = metrics_message(id, r, body.accuracy);
    let signer = recover(&body.signature, message.as_bytes())?;
    if crate::format::address(&signer) != job.owner {
        return Err(ApiError::Forbidden {
            code: "not_owner",
            message: format!("the signature is by {signer}, not by the job owner {}", job.owner),
        });
    }
    s.db.store_metrics(id, r, body.accuracy, &body.signature).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The verifying key of the job's shape, in snarkjs's `verification_key.json` format.
#[utoipa::path(get, path = "/api/jobs/{id}/verifying-key", params(("id" = i64, Path, minimum = 0, description = "job id")),
    responses((status = 200, description = "snarkjs verification_key.json"), (status = 400, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)))]
pub async fn verifying_key(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let job = find(&s, id).await?;
    let vk = s.keys.get(&s.chain.provider, &job.verifier).await.map_err(ApiError::NotFound)?;
    let json = snarkjs::verifying_key_to_json(&vk).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response())
}

async fn settled(s: &AppState, id: i64, r: i64) -> Result<(JobRow, RoundRow), ApiError> {
    let job = find(s, id).await?;
    let round =
        s.db.round(id, r)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("round {r} of job {id} is not settled (or not indexed yet)")))?;
    Ok((job, round))
}

fn proof_words(round: &RoundRow) -> Vec<String> {
    round.proof.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default()
}

/// The public inputs of a finalized round in verifier order, as JobMarket assembles them: the
/// context of the job's terms, the domain, C(S), H (`ChunkedRoundFinalized.digest`, 0 for a round
/// proven whole), the submitted commitments, the submission order, the flags words (built from
/// the unavailable and inlier bitmaps and ‖S‖²), the score words (the prover fixes the packing and
/// the order). Empty unless finalized, or if a stored value is not a field element.
fn public_inputs(job: &JobRow, round: &RoundRow, commitments: &[U256], order: &[u16]) -> Vec<U256> {
    if round.status != "finalized" {
        return Vec::new();
    }
    let terms = JobTerms {
        max_malicious: job.max_malicious as u8,
        tau: job.tau as u32,
        lr: job.lr as u32,
        lr_decay: job.lr_decay as u32,
        dup_tol: job.dup_tol as u32,
    };
    let Ok(params) = terms.round_params(job.id as u64, round.round as u32) else {
        return Vec::new();
    };
    // ‖S‖² sits above the slot bits of flags word 0; a proven round's fits 48 bits (SCORE_BITS).
    let Some(Ok(norm)) = round.aggregate_norm_sq.as_deref().map(str::parse::<u64>) else {
        return Vec::new();
    };
    let word = |v: U256| Word(v.to_be_bytes());
    let stored = |w: &Option<String>| word(w.as_deref().map(parse_word).unwrap_or_default());
    // Every submitted commitment, as the contract folded it at submission (an unavailable slot's
    // too: the circuit derives presence as committed and not unavailable); 0 for a slot that
    // never submitted.
    let updates: Vec<Word> = commitments.iter().copied().map(word).collect();
    let score_words: Vec<String> =
        round.score_words.as_deref().and_then(|w| serde_json::from_str(w).ok()).unwrap_or_default();
    let scores: Vec<Word> = score_words.iter().map(|w| word(crate::format::parse_amount(w))).collect();
    let order: Vec<Word> = public_inputs::pack_order(order).iter().map(Word::from_field).collect();
    let n = commitments.len();
    let flags: Vec<Word> =
        public_inputs::flags_words(&slots(&round.unavailable(), n), &slots(&round.inliers(), n), norm)
            .iter()
            .map(Word::from_field)
            .collect();
    let inputs = PublicInputs::from_words(InputWords {
        context: Word::from_field(&params.context()),
        domain: stored(&round.domain),
        aggregate: stored(&round.new_model),
        digest: stored(&round.digest),
        updates: &updates,
        order: &order,
        flags: &flags,
        scores: &scores,
    });
    inputs.map(|p| p.to_words().iter().map(|w| U256::from_be_bytes(w.0)).collect()).unwrap_or_default()
}
