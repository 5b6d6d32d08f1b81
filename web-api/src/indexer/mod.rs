//! Follows JobMarket and ReliabilityRegistry into the database with `eth_getLogs` over block
//! ranges. Each range is stored in one transaction together with the cursor (the last stored
//! block), so a killed indexer resumes exactly where it stopped; it only reads blocks that have
//! `confirmations` blocks on top of them; every write is idempotent. It keeps the hashes of the
//! blocks it indexed and, before each catch-up, checks them against the chain: a reorg below the
//! cursor is rolled back and re-indexed ([`reorg`]).

pub mod events;
pub mod reorg;
mod store;

use crate::db::{Db, DbError};
use crate::http::JobReads;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use std::time::Duration;
use tokio::sync::watch;

/// Name of the cursor row this indexer owns (also the index version job pages are cached at).
pub const CURSOR: &str = "chain";

/// Errors of the indexer.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// The RPC node failed or is unreachable.
    #[error("RPC error: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// A contract call failed.
    #[error("contract call failed: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A log without its block or transaction (pending): never stored.
    #[error("the node returned a pending log for a mined range")]
    Pending,
    /// The chain changed at `block` while a range was being read: nothing was stored, and the
    /// next catch-up checks the stored blocks against the chain (and rolls back if needed).
    #[error("the chain reorganized at block {block} while the indexer read it")]
    Reorged {
        /// The block whose hash changed.
        block: u64,
    },
}

impl From<sqlx::Error> for IndexerError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sqlx(e))
    }
}

/// The contracts the indexer follows and the provider it reads them through.
#[derive(Debug, Clone)]
pub struct Chain {
    /// JSON-RPC provider.
    pub provider: DynProvider,
    /// JobMarket address.
    pub market: Address,
    /// ReliabilityRegistry address.
    pub registry: Address,
}

/// Indexer settings.
#[derive(Debug, Clone)]
pub struct IndexerConfig {
    /// Blocks a block needs on top of it before it is indexed (0: index the head).
    pub confirmations: u64,
    /// First block to index when there is no cursor yet (the deployment block).
    pub start_block: u64,
    /// Largest block range of one `eth_getLogs` call (and one DB transaction).
    pub max_range: u64,
    /// Wait between polls of the chain head.
    pub poll: Duration,
}

impl Default for IndexerConfig {
    fn default() -> Self {
        Self { confirmations: 2, start_block: 0, max_range: 2_000, poll: Duration::from_secs(2) }
    }
}

/// The chain indexer.
#[derive(Debug, Clone)]
pub struct Indexer {
    chain: Chain,
    db: Db,
    config: IndexerConfig,
    /// Emptied after each rollback (the intake's cache of immutable job reads).
    job_reads: Option<JobReads>,
}

impl Indexer {
    /// An indexer of `chain` into `db`.
    pub fn new(chain: Chain, db: Db, config: IndexerConfig) -> Self {
        Self { chain, db, config, job_reads: None }
    }

    /// Empties `job_reads` right after each rollback commits, so nothing read of a job the
    /// rolled-back index held outlives it (see [`crate::http::job_reads`]).
    pub fn invalidating(self, job_reads: JobReads) -> Self {
        Self { job_reads: Some(job_reads), ..self }
    }

    /// Indexes every confirmed block not indexed yet; returns the cursor afterwards. First checks
    /// the indexed blocks against the chain and rolls back a reorg below the cursor
    /// ([`Indexer::check_reorg`]); a reorg racing a range is checked for again and retried.
    pub async fn catch_up(&self) -> Result<Option<u64>, IndexerError> {
        let mut attempts = 0;
        loop {
            self.check_reorg().await?;
            match self.index_confirmed().await {
                Err(IndexerError::Reorged { block }) if attempts < 3 => {
                    attempts += 1;
                    tracing::info!(block, "the chain moved while indexing; checking for a reorg");
                }
                done => return done,
            }
        }
    }

    /// Compares the stored hash of the cursor block with the chain; after a reorg below the
    /// cursor, rolls the index back (the next catch-up re-indexes) and returns what it found.
    pub async fn check_reorg(&self) -> Result<Option<reorg::Reorg>, IndexerError> {
        let found = reorg::check(&self.chain, &self.db, self.cursor().await?).await?;
        if let (Some(_), Some(job_reads)) = (&found, &self.job_reads) {
            job_reads.invalidate();
        }
        Ok(found)
    }

    /// Indexes the blocks from the cursor (or the start block) to the head less the confirmations.
    async fn index_confirmed(&self) -> Result<Option<u64>, IndexerError> {
        let head = self.chain.provider.get_block_number().await?;
        let Some(safe) = head.checked_sub(self.config.confirmations) else {
            return self.cursor().await;
        };
        let mut from = match self.cursor().await? {
            Some(c) => c + 1,
            None => self.config.start_block,
        };
        while from <= safe {
            let to = safe.min(from + self.config.max_range.max(1) - 1);
            self.index_range(from, to).await?;
            from = to + 1;
        }
        self.cursor().await
    }

    /// Indexes blocks `from..=to` in one transaction and moves the cursor to `to` if it is behind.
    /// Re-indexing a stored range is harmless: it changes no row. The range's block hashes are
    /// read first and stored with it; it fails with [`IndexerError::Reorged`], storing nothing,
    /// when the chain moved under it.
    pub async fn index_range(&self, from: u64, to: u64) -> Result<(), IndexerError> {
        let blocks = reorg::Blocks::read(&self.chain, &self.db, from, to).await?;
        let filter = Filter::new().address(vec![self.chain.market, self.chain.registry]).from_block(from).to_block(to);
        let mut logs = self.chain.provider.get_logs(&filter).await?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        // Decode (with its RPC look-ups) before opening the transaction, to keep it short.
        let mut decoded = Vec::with_capacity(logs.len());
        for log in &logs {
            if log.removed {
                continue;
            }
            if let Some(event) = events::decode(&self.chain, log).await? {
                decoded.push((events::position(log)?, event));
            }
        }
        // The logs and what was read with them are this chain's: its blocks did not change since.
        blocks.check(&self.chain, &logs).await?;
        events::attach_digests(&mut decoded);
        let mut tx = self.db.pool().begin().await?;
        for (at, event) in &decoded {
            store::apply(&mut tx, *at, event).await?;
        }
        sqlx::query(
            "INSERT INTO indexer_cursor (name, last_block) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE \
             SET last_block = excluded.last_block WHERE indexer_cursor.last_block < excluded.last_block",
        )
        .bind(CURSOR)
        .bind(to as i64)
        .execute(&mut *tx)
        .await?;
        blocks.store(&mut tx).await?;
        crate::pause::point("indexer: range written");
        tx.commit().await?;
        tracing::debug!(from, to, events = decoded.len(), "indexed");
        Ok(())
    }

    /// The last stored block.
    pub async fn cursor(&self) -> Result<Option<u64>, IndexerError> {
        Ok(self.db.cursor(CURSOR).await?.map(|b| b as u64))
    }

    /// Follows the chain until `shutdown` turns true. Errors are logged and retried at the next
    /// poll (the cursor only moves with committed rows).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures = 0u32;
        loop {
            let wait = match self.catch_up().await {
                Ok(_) => {
                    if failures > 0 {
                        tracing::info!(failures, "indexing recovered");
                    }
                    failures = 0;
                    self.config.poll
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = backoff(self.config.poll, failures);
                    tracing::warn!(error = %e, failures, retry_in = ?wait, "indexing failed; retrying");
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }
}

/// The longest wait between two attempts while the chain node or the database is failing: a
/// dependency that comes back is noticed within this long.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The wait after `failures` failed attempts in a row: the poll interval doubled per failure, at
/// most [`MAX_BACKOFF`], so a node that is down is not hammered and one that is back is found
/// soon.
pub fn backoff(poll: Duration, failures: u32) -> Duration {
    poll.saturating_mul(1u32 << failures.min(16)).min(MAX_BACKOFF).max(poll)
}
