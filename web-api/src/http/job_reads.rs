//! The intake's cache of what the chain says about a job that cannot change once the job exists,
//! so an upload does not ask the node again for each of them (the node is the intake's bottleneck
//! under load: anvil answers every `eth_call` on the cores the server shares).
//!
//! # What is cached, and why it cannot change
//!
//! Per (chain id, market, job):
//! - from `jobConfig`: `chunks` and `submitWindow`. `JobEscrow.createJob` writes the whole
//!   `Config` and no other function of `JobMarket` writes it;
//! - the parameter count of the job's spec blob, named by the `specHash` of `JobCreated` (part of
//!   the config's creation; the blob is checked against that hash when read);
//! - `domain(job)`, only once the index holds a submission of the job. The domain hashes the
//!   chain, the market, the job and its `rosterHash`, which `join` and `leave` rewrite, but only
//!   while `block.timestamp < startTime`; `submitUpdate` needs `block.timestamp >= roundStart >=
//!   startTime`, and timestamps only grow along a chain, so after a block with a submission the
//!   roster is final. A job without an indexed submission has its domain read live every time.
//!
//! Not cached: `slotOf`, `jobState`, `commitments`, `blobRefs` (they change every round).
//!
//! # Reorgs: filled only from the confirmed index, emptied on every rollback
//!
//! An entry is filled only for a job the index holds, i.e. whose `JobCreated` (and, for the
//! domain, one of whose submissions) is at least the indexer's confirmation depth deep: a reorg
//! shallower than that cannot remove or change what the entry says. A deeper reorg can replace
//! job N by another job N with other terms; the indexer then rolls the index back
//! (`indexer::reorg`) and, right after the rollback commits, calls [`JobReads::invalidate`], which
//! empties the cache and bumps a generation. A fill takes a [`Ticket`] (the generation) *before*
//! its first read and is dropped if the generation moved meanwhile, so a fill that read the old
//! index or chain cannot land after the invalidation. Until the indexer notices a deep reorg the
//! index itself is stale and the service serves it, entries included; the live reads above still
//! refuse uploads to a job that no longer exists (`jobState` not active, no stake, no commitment),
//! and a fill whose live `jobConfig` disagrees with the indexed row is not stored.
//!
//! # The bound
//!
//! At most [`CAPACITY`] jobs, least recently used evicted first: `lru` (already in the build
//! through alloy's provider, a small and maintained crate) under a `std` mutex held only for a
//! map operation. moka's concurrent cache would bring its own dependency tree for features (TTL,
//! async loaders, weighers) this needs none of.

use alloy::primitives::{Address, B256};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

/// Jobs the cache remembers at most (an entry is a few dozen bytes).
pub const CAPACITY: usize = 4096;

/// Which job of which market on which chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobKey {
    /// Chain id.
    pub chain_id: u64,
    /// JobMarket address.
    pub market: Address,
    /// Job id.
    pub job: u64,
}

/// What the intake needs of a job that cannot change once it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobFacts {
    /// Parameters of an update (the spec blob's count).
    pub params: usize,
    /// `jobConfig.chunks` (0: unchunked).
    pub chunks: usize,
    /// `jobConfig.submitWindow` (s).
    pub submit_window: u32,
    /// `domain(job)`, once the roster is final at a confirmed block (see the module).
    pub domain: Option<B256>,
}

/// The generation a fill started in; [`JobReads::insert`] drops the fill if it moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

struct Inner {
    generation: u64,
    entries: LruCache<JobKey, JobFacts>,
}

/// The cache, shared by the intake (reads and fills) and the indexer (invalidates on a
/// rollback); cheap to clone.
#[derive(Clone)]
pub struct JobReads(Arc<Mutex<Inner>>);

impl std::fmt::Debug for JobReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("JobReads").field("generation", &inner.generation).field("jobs", &inner.entries.len()).finish()
    }
}

impl Default for JobReads {
    fn default() -> Self {
        Self::new(CAPACITY)
    }
}

impl JobReads {
    /// An empty cache of at most `capacity` jobs (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self(Arc::new(Mutex::new(Inner { generation: 0, entries: LruCache::new(capacity) })))
    }

    /// The map; a panic while it was held left it consistent (every operation is one call).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What is known of `key`'s job.
    pub fn get(&self, key: &JobKey) -> Option<JobFacts> {
        self.lock().entries.get(key).copied()
    }

    /// Take before the first read of a fill.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().generation)
    }

    /// Stores what a fill read, unless the cache was invalidated since `ticket`; returns whether
    /// it was stored.
    pub fn insert(&self, ticket: Ticket, key: JobKey, facts: JobFacts) -> bool {
        let mut inner = self.lock();
        if inner.generation != ticket.0 {
            return false;
        }
        inner.entries.put(key, facts);
        true
    }

    /// Forgets everything (the index was rolled back), and every fill in flight.
    pub fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }

    /// Jobs remembered.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(job: u64) -> JobKey {
        JobKey { chain_id: 31337, market: Address::repeat_byte(1), job }
    }

    fn facts(params: usize) -> JobFacts {
        JobFacts { params, chunks: 0, submit_window: 3600, domain: None }
    }

    #[test]
    fn entries_are_per_chain_market_and_job() {
        let reads = JobReads::default();
        assert!(reads.insert(reads.ticket(), key(1), facts(8)));
        assert!(reads.insert(reads.ticket(), key(2), facts(16)));
        assert_eq!(reads.get(&key(1)).map(|f| f.params), Some(8));
        assert_eq!(reads.get(&key(2)).map(|f| f.params), Some(16));
        assert_eq!(reads.get(&JobKey { market: Address::repeat_byte(2), ..key(1) }), None);
        assert_eq!(reads.get(&JobKey { chain_id: 1, ..key(1) }), None);
    }

    #[test]
    fn a_fill_that_started_before_an_invalidation_is_dropped() {
        let reads = JobReads::default();
        assert!(reads.insert(reads.ticket(), key(1), facts(8)));
        let in_flight = reads.ticket();
        reads.invalidate();
        assert!(reads.is_empty(), "a rollback forgets every job");
        assert!(!reads.insert(in_flight, key(1), facts(8)), "read before the rollback: not stored");
        assert_eq!(reads.get(&key(1)), None);
        assert!(reads.insert(reads.ticket(), key(1), facts(16)), "a fill after the rollback is stored");
        assert_eq!(reads.get(&key(1)).map(|f| f.params), Some(16));
    }

    #[test]
    fn the_least_recently_used_job_goes_first_past_the_bound() {
        let reads = JobReads::new(2);
        for job in 1..=2 {
            reads.insert(reads.ticket(), key(job), facts(8));
        }
        assert!(reads.get(&key(1)).is_some());
        reads.insert(reads.ticket(), key(3), facts(8));
        assert_eq!(reads.len(), 2);
        assert!(reads.get(&key(2)).is_none(), "job 2 was used least recently");
        assert!(reads.get(&key(1)).is_some() && reads.get(&key(3)).is_some());
    }
}
