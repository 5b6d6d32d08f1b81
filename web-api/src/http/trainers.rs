//! Trainer and reliability endpoints.

use super::error::ApiError;
use super::schema::{ReliabilityPoint, SourceReliability, Trainer, TrainerJob, TrainerReliability};
use super::{parse_address, reliability_fraction, AppState};
use crate::format::{address, hash, parse_amount, source_of};
use alloy::primitives::{B256, U256};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;

/// A trainer's earnings per job and its reliability history.
#[utoipa::path(get, path = "/api/trainers/{address}",
    params(("address" = String, Path, pattern = "^0x[0-9a-fA-F]{40}$", description = "0x address")),
    responses((status = 200, body = Trainer), (status = 400, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)))]
pub async fn trainer(
    State(s): State<AppState>,
    a: Result<Path<String>, PathRejection>,
) -> Result<Json<Trainer>, ApiError> {
    let Path(a) = a?;
    let trainer = parse_address("address", &a)?;
    let key = address(&trainer);
    let earnings = s.db.earnings_of(&key).await?;
    let mut total = U256::ZERO;
    let mut jobs = Vec::new();
    for (job_id, slot) in s.db.jobs_of(&key).await? {
        let earned: U256 = earnings.iter().filter(|e| e.job_id == job_id).map(|e| parse_amount(&e.payout)).sum();
        total += earned;
        jobs.push(TrainerJob { job_id, slot, earned: earned.to_string() });
    }
    let source = hash(&source_of(&trainer));
    let record = s.db.reliability(&source).await?;
    let history =
        s.db.reliability_history(&source)
            .await?
            .into_iter()
            .map(|h| ReliabilityPoint {
                block: h.block,
                score: reliability_fraction(&h.score),
                observation: reliability_fraction(&h.observation),
                job_id: h.job_id,
                round: h.round,
            })
            .collect();
    Ok(Json(Trainer {
        address: key,
        earned_total: total.to_string(),
        jobs,
        reliability: TrainerReliability {
            score: record.as_ref().map_or(0.0, |r| reliability_fraction(&r.score)),
            observations: record.as_ref().map_or(0, |r| r.observations),
            history,
        },
    }))
}

/// A source's latest reliability record (id: bytes32, or an address for a trainer).
#[utoipa::path(get, path = "/api/sources/{id}/reliability",
    params(("id" = String, Path, pattern = "^0x([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$", description = "bytes32 id or address")),
    responses((status = 200, body = SourceReliability), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 503, body = super::error::ErrorBody)))]
pub async fn source(
    State(s): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<SourceReliability>, ApiError> {
    let Path(id) = id?;
    let source: B256 = match id.len() {
        42 => source_of(&parse_address("id", &id)?),
        _ => id
            .parse()
            .map_err(|_| ApiError::bad("invalid_id", format!("{id:?} is neither a bytes32 nor an address")))?,
    };
    let key = hash(&source);
    let r = s.db.reliability(&key).await?.ok_or_else(|| ApiError::NotFound(format!("source {key} has no record")))?;
    Ok(Json(SourceReliability {
        id: key,
        score: reliability_fraction(&r.score),
        observations: r.observations,
        last_update: r.last_update,
    }))
}
