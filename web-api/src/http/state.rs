//! The state every handler shares.

use crate::blobs::BlobStore;
use crate::db::Db;
use crate::sealed::AggregatorKey;
use crate::indexer::Chain;
use alloy::signers::local::PrivateKeySigner;
use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;
use std::collections::HashMap;
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
    /// Verifying keys by verifier address (lowercase 0x), for audits and `verifying-key`.
    pub keys: Arc<HashMap<String, VerifyingKey<Bn254>>>,
    /// The aggregator's key, which signs upload receipts (no intake without it).
    pub aggregator: Option<PrivateKeySigner>,
    /// The aggregator's age key, which opens sealed update blobs.
    pub sealing_key: Option<Arc<AggregatorKey>>,
    /// Where accepted blobs are stored.
    pub blobs: Option<BlobStore>,
}
