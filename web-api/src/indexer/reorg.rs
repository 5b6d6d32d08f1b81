//! Reorg detection and rollback.
//!
//! The indexer keeps the hash of the blocks it indexed (`indexed_blocks`, the newest
//! [`WINDOW`] block numbers, written in the transaction that stores their range with the cursor).
//! Before each catch-up, [`check`] compares the cursor block's stored hash with the chain's
//! (`eth_getBlockByNumber`). On a mismatch it walks back through the stored hashes to the fork
//! point, the newest stored block whose hash still matches, logs the reorg (depth and fork point)
//! and rolls the index back; the catch-up then re-indexes. While a range is indexed, [`Blocks`]
//! checks that the range extends the stored cursor block and that the chain did not move under
//! the `eth_getLogs` call, so a reorg racing the indexer is caught before anything is stored.
//!
//! # The rollback: everything chain-derived, re-indexed from the start block
//!
//! Per-block undo is not possible with this schema: `store.rs` updates rows in place without
//! keeping what they were (a job's status, current round and bond flag, a trainer's slot and
//! `active` flag after a leave or a second join, a source's latest reliability record), and a
//! round's `round_slots` are derived from the submissions and the roster as they stood. So the
//! rollback deletes every chain-derived row ([`CHAIN_TABLES`]), the stored hashes and the cursor
//! in one transaction, and the catch-up re-indexes from `start_block`: what it then holds is what
//! a fresh indexer over a fresh database holds for the same chain (tested). The rows the service
//! writes itself, `uploads` (the intake's receipts) and `round_metrics` (the owner's metrics),
//! are never touched. Meanwhile the API serves a shorter, consistent prefix of the chain (each
//! range is committed with its cursor), as it does while a new indexer catches up.
//!
//! The same rollback is correct for a reorg deeper than the stored window: the fork point is then
//! unknown, which is logged as an error, but nothing indexed from the dropped blocks survives.
//! Reorgs shallower than the confirmation depth never reach the database: the indexer only reads
//! blocks with `confirmations` blocks on top.

use super::{Chain, IndexerError, CURSOR};
use crate::db::Db;
use crate::format::hash;
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::rpc::types::Log;
use sqlx::AnyConnection;

/// How many of the newest indexed block numbers keep their hash.
pub const WINDOW: u64 = 256;

/// How many of a range's last blocks get their hash stored (with the range's first block): every
/// block while the indexer follows the head, a few per range while it catches up on history.
const DENSE: u64 = 64;

/// The tables the indexer derives from the chain, children before parents (the order deletes
/// must take under `REFERENCES`). Not `uploads` nor `round_metrics`: the service writes those.
pub const CHAIN_TABLES: [&str; 10] = [
    "claims",
    "disputes",
    "reliability_events",
    "round_slots",
    "rounds",
    "submissions",
    "job_trainers",
    "withdrawals",
    "reliability",
    "jobs",
];

/// A reorg the indexer found below its cursor and rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reorg {
    /// The cursor when it was found (the last indexed block).
    pub cursor: u64,
    /// The newest stored block still on the chain; `None` when the reorg goes deeper than every
    /// stored hash.
    pub fork: Option<u64>,
}

impl Reorg {
    /// How many indexed blocks the chain replaced (`None` when deeper than the stored window).
    pub fn depth(&self) -> Option<u64> {
        self.fork.map(|fork| self.cursor - fork)
    }
}

/// The hash the chain has now at `number` (`None` past its head).
pub async fn chain_hash(chain: &Chain, number: u64) -> Result<Option<B256>, IndexerError> {
    let block = chain.provider.get_block_by_number(BlockNumberOrTag::Number(number)).await?;
    Ok(block.map(|b| b.header.hash))
}

/// The stored hash of block `number`.
async fn stored_hash(db: &Db, number: u64) -> Result<Option<String>, IndexerError> {
    Ok(sqlx::query_scalar("SELECT hash FROM indexed_blocks WHERE number = $1")
        .bind(number as i64)
        .fetch_optional(db.pool())
        .await?)
}

/// Compares the cursor block's stored hash with the chain's; on a mismatch finds the fork point,
/// logs the reorg and rolls the index back ([`rollback`]). `None` when the index is on the chain
/// (or has no hash to compare yet: no cursor, or one stored before hashes were kept).
pub async fn check(chain: &Chain, db: &Db, cursor: Option<u64>) -> Result<Option<Reorg>, IndexerError> {
    let Some(cursor) = cursor else { return Ok(None) };
    let Some(stored) = stored_hash(db, cursor).await? else { return Ok(None) };
    if chain_hash(chain, cursor).await?.map(|h| hash(&h)) == Some(stored) {
        return Ok(None);
    }
    let reorg = Reorg { cursor, fork: fork_point(chain, db, cursor).await? };
    match reorg.fork {
        Some(fork) => tracing::warn!(
            depth = cursor - fork,
            fork_point = fork,
            cursor,
            "chain reorganized below the indexer's cursor: rolling back and re-indexing"
        ),
        None => tracing::error!(
            window = WINDOW,
            cursor,
            "chain reorganized deeper than every stored block hash: fork point unknown; rolling back \
             and re-indexing from the start block"
        ),
    }
    rollback(db).await?;
    Ok(Some(reorg))
}

/// The newest stored block below `cursor` whose hash the chain still has.
async fn fork_point(chain: &Chain, db: &Db, cursor: u64) -> Result<Option<u64>, IndexerError> {
    let stored: Vec<(i64, String)> =
        sqlx::query_as("SELECT number, hash FROM indexed_blocks WHERE number < $1 ORDER BY number DESC")
            .bind(cursor as i64)
            .fetch_all(db.pool())
            .await?;
    for (number, stored) in stored {
        let number = number as u64;
        if chain_hash(chain, number).await?.map(|h| hash(&h)) == Some(stored) {
            return Ok(Some(number));
        }
    }
    Ok(None)
}

/// Deletes every chain-derived row, the stored hashes and the cursor, in one transaction (see the
/// module's documentation for why everything, and why that is correct).
pub async fn rollback(db: &Db) -> Result<(), IndexerError> {
    let mut tx = db.pool().begin().await?;
    for table in CHAIN_TABLES {
        sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM indexed_blocks").execute(&mut *tx).await?;
    sqlx::query("DELETE FROM indexer_cursor WHERE name = $1").bind(CURSOR).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The blocks of a range whose hashes the indexer stores: the first one and the last [`DENSE`],
/// read from the chain before the range's logs.
#[derive(Debug)]
pub struct Blocks {
    /// (number, hash), ascending.
    hashes: Vec<(u64, B256)>,
}

impl Blocks {
    /// Reads the hashes of `from..=to`'s blocks it keeps. Fails with [`IndexerError::Reorged`]
    /// when the range does not extend the stored block before it or its blocks do not link up
    /// (the chain moved while they were read).
    pub async fn read(chain: &Chain, db: &Db, from: u64, to: u64) -> Result<Self, IndexerError> {
        let tail = to.saturating_sub(DENSE - 1).max(from);
        let numbers = std::iter::once(from).filter(|&n| n < tail).chain(tail..=to);
        let mut hashes = Vec::new();
        let mut last: Option<(u64, B256)> = None;
        for number in numbers {
            let block = chain.provider.get_block_by_number(BlockNumberOrTag::Number(number)).await?;
            let header = block.ok_or(IndexerError::Reorged { block: number })?.header;
            let parent = match last {
                Some((n, h)) if n + 1 == number => Some(hash(&h)),
                _ if number == from && number > 0 => stored_hash(db, number - 1).await?,
                _ => None,
            };
            if parent.is_some_and(|p| p != hash(&header.parent_hash)) {
                return Err(IndexerError::Reorged { block: number - 1 });
            }
            last = Some((number, header.hash));
            hashes.push((number, header.hash));
        }
        Ok(Self { hashes })
    }

    /// Checks the logs read for the range against the block hashes read before them, and that
    /// the range's last block is still the one read: the logs are then those of this chain.
    pub async fn check(&self, chain: &Chain, logs: &[Log]) -> Result<(), IndexerError> {
        for log in logs {
            let known = self.hashes.iter().find(|(n, _)| Some(*n) == log.block_number);
            if let (Some((n, h)), Some(got)) = (known, log.block_hash) {
                if *h != got {
                    return Err(IndexerError::Reorged { block: *n });
                }
            }
        }
        if let Some(&(to, h)) = self.hashes.last() {
            if chain_hash(chain, to).await? != Some(h) {
                return Err(IndexerError::Reorged { block: to });
            }
        }
        Ok(())
    }

    /// Stores the hashes within the range's transaction and prunes those older than [`WINDOW`]
    /// block numbers below the range's end.
    pub async fn store(&self, conn: &mut AnyConnection) -> Result<(), IndexerError> {
        for (number, h) in &self.hashes {
            sqlx::query(
                "INSERT INTO indexed_blocks (number, hash) VALUES ($1, $2) \
                 ON CONFLICT (number) DO UPDATE SET hash = excluded.hash",
            )
            .bind(*number as i64)
            .bind(hash(h))
            .execute(&mut *conn)
            .await?;
        }
        if let Some(&(to, _)) = self.hashes.last() {
            sqlx::query("DELETE FROM indexed_blocks WHERE number < $1")
                .bind(to.saturating_sub(WINDOW - 1) as i64)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}
