//! Queries behind the read endpoints: jobs, rounds, trainers and reliability.

use super::{Db, DbResult};
use crate::format::parse_bits;
use alloy::primitives::U256;
use sqlx::FromRow;

/// What a job page is made of, named: the index's state (the cursor block and its hash) and the
/// owner's metrics of the job's rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct PageVersion {
    /// The last indexed block.
    pub block: i64,
    /// Its hash (`0x…`).
    pub hash: String,
    /// (round, accuracy) of each round with metrics, by round.
    pub metrics: Vec<(i64, f64)>,
}

/// A job as indexed from `JobCreated` and the events that followed.
#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    /// Job id.
    pub id: i64,
    /// Owner address.
    pub owner: String,
    /// Aggregator address.
    pub aggregator: String,
    /// Payment token (zero address for ETH).
    pub token: String,
    /// Whole budget (wei, decimal).
    pub budget: String,
    /// Budget of one round.
    pub round_budget: String,
    /// Trainer stake.
    pub stake: String,
    /// Aggregator bond.
    pub bond: String,
    /// Round verifier contract.
    pub verifier: String,
    /// Hash of the model spec.
    pub spec_hash: String,
    /// Where the model spec lives.
    pub spec_uri: String,
    /// Initial model commitment.
    pub initial_model: String,
    /// Number of rounds.
    pub rounds: i64,
    /// Trainer slots (n).
    pub trainers: i64,
    /// Bound on malicious trainers.
    pub max_malicious: i64,
    /// Outlier threshold (16.16).
    pub tau: i64,
    /// Learning rate of round 0.
    pub lr: i64,
    /// Per-round learning-rate decay.
    pub lr_decay: i64,
    /// Duplicate tolerance.
    pub dup_tol: i64,
    /// Start time (unix seconds).
    pub start_time: i64,
    /// Submission window (s).
    pub submit_window: i64,
    /// Finalization window (s).
    pub finalize_window: i64,
    /// Dispute window (s).
    pub dispute_window: i64,
    /// Current round.
    pub current_round: i64,
    /// open | active | completed | expired | cancelled.
    pub status: String,
    /// Whether the aggregator posted its bond (0/1).
    pub bond_posted: i64,
    /// Block of `JobCreated`.
    pub created_block: i64,
    /// Transaction of `JobCreated`.
    pub created_tx: String,
}

/// Filter and page of the jobs list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only jobs in this status.
    pub status: Option<String>,
    /// Only jobs of this owner (lowercase 0x address).
    pub owner: Option<String>,
    /// 1-based page.
    pub page: i64,
    /// Page size.
    pub per_page: i64,
}

/// A settled round.
#[derive(Debug, Clone, FromRow)]
pub struct RoundRow {
    /// Job id.
    pub job_id: i64,
    /// Round.
    pub round: i64,
    /// finalized | expired.
    pub status: String,
    /// The job's model word before the round (`RoundFinalized.model`).
    pub model: Option<String>,
    /// C(S) (`RoundFinalized.newModel`).
    pub new_model: Option<String>,
    /// The domain public input (absent for a relayed finalization).
    pub domain: Option<String>,
    /// H, the chunk digest root of a chunked round (`ChunkedRoundFinalized.digest`); absent for a
    /// round proven whole.
    pub digest: Option<String>,
    /// Inlier slots, a 0x + 64 hex digit bitmap (bit i = slot i; see [`RoundRow::inliers`]).
    pub inlier_bits: Option<String>,
    /// Slots declared unavailable (bitmap).
    pub unavailable_bits: Option<String>,
    /// Present slots (bitmap): committed and not unavailable; for an expired round, the slots
    /// that committed.
    pub presence_bits: Option<String>,
    /// ‖S‖², the squared norm of the inliers' aggregate (decimal; finalized rounds).
    pub aggregate_norm_sq: Option<String>,
    /// Score words (JSON array of decimal strings).
    pub score_words: Option<String>,
    /// Sum of scores.
    pub total_score: Option<String>,
    /// Budget allocated to trainers.
    pub allocated: Option<String>,
    /// Proof (JSON array of 8 hex words).
    pub proof: Option<String>,
    /// Finalization time (unix s).
    pub finalized_at: Option<i64>,
    /// Budget refunded on expiry.
    pub refunded: Option<String>,
    /// Bond slashed on expiry.
    pub bond_slashed: Option<String>,
    /// Block of the settling event.
    pub block: i64,
    /// Its transaction.
    pub tx_hash: String,
    /// Owner-published accuracy.
    pub accuracy: Option<f64>,
}

/// One slot of a finalized round.
#[derive(Debug, Clone, FromRow)]
pub struct SubmissionRow {
    /// Slot.
    pub slot: i64,
    /// Trainer address.
    pub trainer: String,
    /// Update commitment.
    pub commitment: String,
    /// Submission rank in the round (1 = first on chain; absent in rows indexed before ranks).
    pub rank: Option<i64>,
}

/// A trainer of a job with its earnings.
#[derive(Debug, Clone, FromRow)]
pub struct TrainerRow {
    /// Slot.
    pub slot: i64,
    /// Address.
    pub trainer: String,
    /// Whether its stake is live (0/1).
    pub active: i64,
    /// Its reliability score (1e18 fixed point), if it has a record.
    pub reliability: Option<String>,
}

/// A `round_slots` row: one slot's outcome in a round (presence, inlier, score, payout), read
/// per round for a job and per trainer for its earnings.
#[derive(Debug, Clone, FromRow)]
pub struct RoundSlotRow {
    /// Job id.
    pub job_id: i64,
    /// Round.
    pub round: i64,
    /// Slot.
    pub slot: i64,
    /// Trainer.
    pub trainer: String,
    /// Present (0/1).
    pub present: i64,
    /// Inlier (0/1).
    pub inlier: i64,
    /// Score (decimal).
    pub score: String,
    /// Payout allocated (wei, decimal).
    pub payout: String,
}

/// A source's latest reliability record.
#[derive(Debug, Clone, FromRow)]
pub struct ReliabilityRow {
    /// Source id (bytes32 hex).
    pub source: String,
    /// Score, 1e18 fixed point (decimal).
    pub score: String,
    /// Observations folded in.
    pub observations: i64,
    /// Timestamp of the last observation.
    pub last_update: i64,
}

/// One reliability observation.
#[derive(Debug, Clone, FromRow)]
pub struct ReliabilityEventRow {
    /// Block.
    pub block: i64,
    /// Score after it (1e18).
    pub score: String,
    /// The observation (1e18).
    pub observation: String,
    /// Job whose finalization wrote it, if any.
    pub job_id: Option<i64>,
    /// Its round.
    pub round: Option<i64>,
}

/// An update accepted by the intake.
#[derive(Debug, Clone, FromRow)]
pub struct UploadRow {
    /// Slot.
    pub slot: i64,
    /// Trainer.
    pub trainer: String,
    /// Commitment.
    pub commitment: String,
    /// Blob CID.
    pub cid: String,
}

const ROUND_COLUMNS: &str = "r.job_id, r.round, r.status, r.model, r.new_model, r.domain, r.digest, r.inlier_bits, \
     r.unavailable_bits, r.presence_bits, r.aggregate_norm_sq, r.score_words, r.total_score, r.allocated, r.proof, \
     r.finalized_at, r.refunded, r.bond_slashed, r.block, r.tx_hash, m.accuracy";

impl RoundRow {
    /// The inlier slots (0 if not stored).
    pub fn inliers(&self) -> U256 {
        parse_bits(self.inlier_bits.as_deref())
    }

    /// The slots declared unavailable.
    pub fn unavailable(&self) -> U256 {
        parse_bits(self.unavailable_bits.as_deref())
    }

    /// The present slots.
    pub fn presence(&self) -> U256 {
        parse_bits(self.presence_bits.as_deref())
    }
}

impl Db {
    /// A page of jobs (newest first) and the number of jobs matching the filter.
    pub async fn jobs(&self, f: &JobFilter) -> DbResult<(Vec<JobRow>, i64)> {
        // Unset filters bind NULL so that one statement serves every combination.
        let cond = "($1 IS NULL OR status = $1) AND ($2 IS NULL OR owner = $2)";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM jobs WHERE {cond}"))
            .bind(f.status.clone())
            .bind(f.owner.clone())
            .fetch_one(self.pool())
            .await?;
        let rows = sqlx::query_as::<_, JobRow>(&format!(
            "SELECT * FROM jobs WHERE {cond} ORDER BY id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(f.status.clone())
        .bind(f.owner.clone())
        .bind(f.per_page)
        .bind((f.page - 1) * f.per_page)
        .fetch_all(self.pool())
        .await?;
        Ok((rows, total))
    }

    /// One job.
    pub async fn job(&self, id: i64) -> DbResult<Option<JobRow>> {
        Ok(sqlx::query_as::<_, JobRow>("SELECT * FROM jobs WHERE id = $1").bind(id).fetch_optional(self.pool()).await?)
    }

    /// The settled rounds of a job, in order.
    pub async fn rounds(&self, job_id: i64) -> DbResult<Vec<RoundRow>> {
        Ok(sqlx::query_as::<_, RoundRow>(&format!(
            "SELECT {ROUND_COLUMNS} FROM rounds r LEFT JOIN round_metrics m ON m.job_id = r.job_id AND m.round = r.round \
             WHERE r.job_id = $1 ORDER BY r.round"
        ))
        .bind(job_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// One settled round.
    pub async fn round(&self, job_id: i64, round: i64) -> DbResult<Option<RoundRow>> {
        Ok(sqlx::query_as::<_, RoundRow>(&format!(
            "SELECT {ROUND_COLUMNS} FROM rounds r LEFT JOIN round_metrics m ON m.job_id = r.job_id AND m.round = r.round \
             WHERE r.job_id = $1 AND r.round = $2"
        ))
        .bind(job_id)
        .bind(round)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Owner-published accuracy of a round that is not settled yet (or settled).
    pub async fn accuracy(&self, job_id: i64, round: i64) -> DbResult<Option<f64>> {
        Ok(sqlx::query_scalar("SELECT accuracy FROM round_metrics WHERE job_id = $1 AND round = $2")
            .bind(job_id)
            .bind(round)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The on-chain submissions of a round, by slot.
    pub async fn submissions(&self, job_id: i64, round: i64) -> DbResult<Vec<SubmissionRow>> {
        Ok(sqlx::query_as::<_, SubmissionRow>(
            "SELECT slot, trainer, commitment, rank FROM submissions WHERE job_id = $1 AND round = $2 ORDER BY slot",
        )
        .bind(job_id)
        .bind(round)
        .fetch_all(self.pool())
        .await?)
    }

    /// The trainers that joined a job, by slot.
    pub async fn trainers(&self, job_id: i64) -> DbResult<Vec<TrainerRow>> {
        Ok(sqlx::query_as::<_, TrainerRow>(
            // The source id of an address is the address left-padded to 32 bytes (see `format::source_of`);
            // joining on it answers a job page in one query instead of one per trainer.
            "SELECT t.slot, t.trainer, t.active, r.score AS reliability FROM job_trainers t \
             LEFT JOIN reliability r ON r.source = '0x000000000000000000000000' || substr(t.trainer, 3) \
             WHERE t.job_id = $1 ORDER BY t.slot, t.trainer",
        )
        .bind(job_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Per-slot outcomes of a job's finalized rounds (optionally one round).
    pub async fn round_slots(&self, job_id: i64, round: Option<i64>) -> DbResult<Vec<RoundSlotRow>> {
        Ok(sqlx::query_as::<_, RoundSlotRow>(
            "SELECT job_id, round, slot, trainer, present, inlier, score, payout FROM round_slots \
             WHERE job_id = $1 AND ($2 IS NULL OR round = $2) ORDER BY round, slot",
        )
        .bind(job_id)
        .bind(round)
        .fetch_all(self.pool())
        .await?)
    }

    /// Every slot outcome of a trainer (lowercase 0x address) across jobs.
    pub async fn earnings_of(&self, trainer: &str) -> DbResult<Vec<RoundSlotRow>> {
        Ok(sqlx::query_as::<_, RoundSlotRow>(
            "SELECT job_id, round, slot, trainer, present, inlier, score, payout FROM round_slots \
             WHERE trainer = $1 ORDER BY job_id, round",
        )
        .bind(trainer)
        .fetch_all(self.pool())
        .await?)
    }

    /// The jobs a trainer joined, as (job, slot).
    pub async fn jobs_of(&self, trainer: &str) -> DbResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as("SELECT job_id, slot FROM job_trainers WHERE trainer = $1 ORDER BY job_id")
            .bind(trainer)
            .fetch_all(self.pool())
            .await?)
    }

    /// A source's latest reliability record (source: bytes32 hex).
    pub async fn reliability(&self, source: &str) -> DbResult<Option<ReliabilityRow>> {
        Ok(sqlx::query_as::<_, ReliabilityRow>(
            "SELECT source, score, observations, last_update FROM reliability WHERE source = $1",
        )
        .bind(source)
        .fetch_optional(self.pool())
        .await?)
    }

    /// A source's observations, oldest first.
    pub async fn reliability_history(&self, source: &str) -> DbResult<Vec<ReliabilityEventRow>> {
        Ok(sqlx::query_as::<_, ReliabilityEventRow>(
            "SELECT block, score, observation, job_id, round FROM reliability_events WHERE source = $1 \
             ORDER BY block, log_index, position",
        )
        .bind(source)
        .fetch_all(self.pool())
        .await?)
    }

    /// Updates accepted by the intake for a round.
    pub async fn uploads(&self, job_id: i64, round: i64) -> DbResult<Vec<UploadRow>> {
        Ok(sqlx::query_as::<_, UploadRow>(
            "SELECT slot, trainer, commitment, cid FROM uploads WHERE job_id = $1 AND round = $2 ORDER BY slot",
        )
        .bind(job_id)
        .bind(round)
        .fetch_all(self.pool())
        .await?)
    }

    /// The indexer's cursor (last fully stored block), if it ever ran.
    pub async fn cursor(&self, name: &str) -> DbResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT last_block FROM indexer_cursor WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?)
    }

    /// What job `job`'s page is made from, named: cursor `name`'s block and that block's stored
    /// hash (the index's state), and the owner's metrics of the job's rounds (the one part of a
    /// page the service writes itself), in one query. None before the first range is indexed,
    /// or right after a rollback.
    pub async fn page_version(&self, name: &str, job: i64) -> DbResult<Option<PageVersion>> {
        let rows: Vec<(i64, String, Option<i64>, Option<f64>)> = sqlx::query_as(
            "SELECT c.last_block, b.hash, m.round, m.accuracy FROM indexer_cursor c \
             JOIN indexed_blocks b ON b.number = c.last_block \
             LEFT JOIN round_metrics m ON m.job_id = $2 WHERE c.name = $1 ORDER BY m.round",
        )
        .bind(name)
        .bind(job)
        .fetch_all(self.pool())
        .await?;
        let Some((block, hash, ..)) = rows.first().cloned() else { return Ok(None) };
        let metrics = rows.into_iter().filter_map(|(_, _, round, accuracy)| round.zip(accuracy)).collect();
        Ok(Some(PageVersion { block, hash, metrics }))
    }
}
