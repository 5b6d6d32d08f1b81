//! The state every handler shares.

use super::check_pool::CheckPool;
use super::job_pages::JobPages;
use super::job_reads::JobReads;
use super::limits::UploadGate;
use super::verifying_keys::VerifyingKeys;
use crate::db::Db;
use crate::indexer::Chain;
use alloy::signers::local::PrivateKeySigner;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;
use std::sync::Arc;

/// Shared handler state (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The chain (for intake checks).
    pub chain: Chain,
    /// Chain id.
    pub chain_id: u64,
    /// The RPC URL the browser should use.
    pub public_rpc: String,
    /// Verifying keys by verifier address, for audits and `verifying-key`.
    pub keys: Arc<VerifyingKeys>,
    /// The aggregator's key, which signs upload receipts (no intake without it).
    pub aggregator: Option<PrivateKeySigner>,
    /// The aggregator's age key, which opens sealed update blobs.
    pub sealing_key: Option<Arc<AggregatorKey>>,
    /// Where accepted blobs are stored.
    pub blobs: Option<Storage>,
    /// The intake's concurrency and per-address limits.
    pub uploads: UploadGate,
    /// What the chain says of a job that cannot change (the intake's cache; the indexer empties
    /// it when it rolls back a reorg).
    pub job_reads: JobReads,
    /// Job pages kept at the index version they were made at.
    pub job_pages: JobPages,
    /// Low-priority threads for the intake's blob checks.
    pub checks: CheckPool,
}
