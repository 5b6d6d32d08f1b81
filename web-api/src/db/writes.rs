//! Rows the HTTP service writes itself: accepted uploads and owner-published metrics (the indexer
//! writes chain data through `indexer::store`).

use super::{classify, Db, DbResult};

/// An update accepted by the intake, with the aggregator's receipt.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Job id.
    pub job_id: i64,
    /// Round.
    pub round: i64,
    /// Trainer slot.
    pub slot: i64,
    /// Trainer (lowercase 0x address).
    pub trainer: String,
    /// Commitment (0x 32-byte hex).
    pub commitment: String,
    /// CID of the stored blob.
    pub cid: String,
    /// The aggregator's EIP-712 receipt signature (0x hex).
    pub receipt_signature: String,
}

/// What storing an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    /// A new row.
    Stored,
    /// The same upload was already stored (a retry): the stored receipt is returned.
    AlreadyStored(String),
    /// Another upload is stored for that slot with a different blob.
    Conflict,
}

impl Db {
    /// Stores an upload once per (job, round, slot). A retry of the same upload is answered with
    /// the stored receipt; a different blob for a taken slot is a conflict.
    pub async fn store_upload(&self, u: &Upload) -> DbResult<UploadOutcome> {
        let inserted = sqlx::query(
            "INSERT INTO uploads (job_id, round, slot, trainer, commitment, cid, receipt_signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (job_id, round, slot) DO NOTHING",
        )
        .bind(u.job_id)
        .bind(u.round)
        .bind(u.slot)
        .bind(&u.trainer)
        .bind(&u.commitment)
        .bind(&u.cid)
        .bind(&u.receipt_signature)
        .execute(self.pool())
        .await
        .map_err(classify)?
        .rows_affected();
        if inserted == 1 {
            return Ok(UploadOutcome::Stored);
        }
        let existing: Option<(String, String)> =
            sqlx::query_as("SELECT cid, receipt_signature FROM uploads WHERE job_id = $1 AND round = $2 AND slot = $3")
                .bind(u.job_id)
                .bind(u.round)
                .bind(u.slot)
                .fetch_optional(self.pool())
                .await?;
        Ok(match existing {
            Some((cid, sig)) if cid == u.cid => UploadOutcome::AlreadyStored(sig),
            _ => UploadOutcome::Conflict,
        })
    }

    /// Records (or replaces) the owner's accuracy for a round.
    pub async fn store_metrics(&self, job_id: i64, round: i64, accuracy: f64, signature: &str) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO round_metrics (job_id, round, accuracy, signature) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (job_id, round) DO UPDATE SET accuracy = excluded.accuracy, signature = excluded.signature",
        )
        .bind(job_id)
        .bind(round)
        .bind(accuracy)
        .bind(signature)
        .execute(self.pool())
        .await
        .map_err(classify)?;
        Ok(())
    }
}
