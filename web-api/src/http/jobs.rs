//! Job endpoints: the list and a job's page.

use super::error::ApiError;
use super::schema::{JobDetail, JobPage, JobSummary, JobTrainer, JobsQuery, ModelSpec, RoundSummary, MAX_PAGE};
use super::{parse_address, reliability_fraction, AppState};
use crate::db::{JobFilter, JobRow};
use crate::format::parse_amount;
use alloy::primitives::U256;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use std::collections::BTreeMap;

const STATUSES: [&str; 5] = ["open", "active", "completed", "expired", "cancelled"];

/// Lists jobs, newest first, filtered by status and owner.
#[utoipa::path(get, path = "/api/jobs", params(JobsQuery),
    responses((status = 200, body = JobPage), (status = 400, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    q: Result<Query<JobsQuery>, QueryRejection>,
) -> Result<Json<JobPage>, ApiError> {
    let Query(q) = q?;
    if let Some(status) = &q.status {
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiError::bad("invalid_status", format!("status {status:?} is not one of {STATUSES:?}")));
        }
    }
    let owner = q.owner.as_deref().map(|o| parse_address("owner", o)).transpose()?;
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(20);
    if !(1..=MAX_PAGE).contains(&page) || !(1..=100).contains(&per_page) {
        return Err(ApiError::bad("invalid_page", format!("page must be in 1..={MAX_PAGE} and per_page in 1..=100")));
    }
    let filter =
        JobFilter { status: q.status.clone(), owner: owner.map(|a| crate::format::address(&a)), page, per_page };
    let (rows, total) = s.db.jobs(&filter).await?;
    Ok(Json(JobPage { items: rows.iter().map(summary).collect(), page, per_page, total }))
}

/// A job with its rounds and trainers.
#[utoipa::path(get, path = "/api/jobs/{id}", params(("id" = i64, Path, minimum = 0, description = "job id")),
    responses((status = 200, body = JobDetail), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 503, body = super::error::ErrorBody)))]
pub async fn detail(State(s): State<AppState>, id: Result<Path<i64>, PathRejection>) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let page = cached_page(&s, id).await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], page).into_response())
}

/// Job `id`'s page from [`super::job_pages`] if it was made at its current version (index state
/// and metrics), else made and kept.
async fn cached_page(s: &AppState, id: i64) -> Result<Bytes, ApiError> {
    // Read before the rows, so a kept page is never older than its version.
    let version = s.db.page_version(crate::indexer::CURSOR, id).await?;
    if let Some(page) = version.as_ref().and_then(|v| s.job_pages.get(id, v)) {
        return Ok(page);
    }
    let page = serde_json::to_vec(&job_detail(s, id).await?)
        .map_err(|e| ApiError::Internal(format!("serialising job {id}'s page: {e}")))?;
    let page = Bytes::from(page);
    if let Some(version) = version {
        s.job_pages.insert(id, version, page.clone());
    }
    Ok(page)
}

/// Job `id` with its rounds and trainers, from the index.
async fn job_detail(s: &AppState, id: i64) -> Result<JobDetail, ApiError> {
    let job = find(s, id).await?;
    let rounds = s.db.rounds(id).await?;
    let slots = s.db.round_slots(id, None).await?;
    let mut earned: BTreeMap<i64, U256> = BTreeMap::new();
    for slot in &slots {
        *earned.entry(slot.slot).or_default() += parse_amount(&slot.payout);
    }
    let rounds_detail = rounds
        .iter()
        .map(|r| {
            let (inliers, present) = (r.inliers(), r.presence());
            RoundSummary {
                round: r.round,
                status: r.status.clone(),
                accuracy: r.accuracy,
                inliers: inliers.count_ones() as u32,
                outliers: (present & !inliers).count_ones() as u32,
                total_score: r.total_score.clone().unwrap_or_else(|| "0".into()),
                allocated: r.allocated.clone().unwrap_or_else(|| "0".into()),
                tx_hash: r.tx_hash.clone(),
            }
        })
        .collect();
    let mut trainers = Vec::new();
    for t in s.db.trainers(id).await? {
        trainers.push(JobTrainer {
            slot: t.slot,
            earned: earned.get(&t.slot).copied().unwrap_or_default().to_string(),
            reliability: t.reliability.as_deref().map(reliability_fraction),
            address: t.trainer,
        });
    }
    Ok(JobDetail {
        id: job.id,
        owner: job.owner.clone(),
        aggregator: job.aggregator.clone(),
        token: job.token.clone(),
        budget: job.budget.clone(),
        rounds: job.rounds,
        current_round: job.current_round,
        slots: job.trainers,
        status: job.status.clone(),
        verifier: job.verifier.clone(),
        created_block: job.created_block,
        created_tx: job.created_tx.clone(),
        stake: job.stake.clone(),
        bond: job.bond.clone(),
        model_spec: ModelSpec { hash: job.spec_hash.clone(), uri: job.spec_uri.clone() },
        rounds_detail,
        trainers,
    })
}

/// The job or a 404.
pub(super) async fn find(s: &AppState, id: i64) -> Result<JobRow, ApiError> {
    s.db.job(id).await?.ok_or_else(|| ApiError::NotFound(format!("job {id} does not exist (or is not indexed yet)")))
}

fn summary(j: &JobRow) -> JobSummary {
    JobSummary {
        id: j.id,
        owner: j.owner.clone(),
        aggregator: j.aggregator.clone(),
        token: j.token.clone(),
        budget: j.budget.clone(),
        rounds: j.rounds,
        current_round: j.current_round,
        trainers: j.trainers,
        status: j.status.clone(),
        verifier: j.verifier.clone(),
        created_block: j.created_block,
        created_tx: j.created_tx.clone(),
    }
}
