//! The web API served in-process on loopback for the bench: SQLite and the blob store in a temp
//! dir, the aggregator's receipt and sealing keys, and the intake's limits.

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::Provider;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;
use fedproof_web_api::http::Limits;
use fedproof_web_api::indexer::IndexerConfig;
use fedproof_web_api::serve::{self, ServeConfig};

use super::chain::BenchChain;

/// The server and the aggregator's sealing recipient.
pub struct Service {
    /// The running server.
    pub server: serve::Server,
    /// The aggregator's age recipient (`age1…`) trainers seal to.
    pub recipient: String,
    /// The server's blob store, where the job specs go.
    pub storage: Storage,
    _dir: tempfile::TempDir,
}

impl Service {
    /// Starts serving `net`'s market with `limits`.
    pub async fn start(net: &BenchChain, limits: Limits) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let sealing_key = Arc::new(AggregatorKey::generate());
        let recipient = sealing_key.recipient();
        let blobs = dir.path().join("blobs").display().to_string();
        let server = serve::start(ServeConfig {
            db_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
            rpc_url: net.endpoint.clone(),
            public_rpc_url: None,
            market: *net.market.address(),
            listen: "127.0.0.1:0".parse()?,
            indexer: IndexerConfig { confirmations: 0, poll: Duration::from_millis(50), ..Default::default() },
            dashboard: None,
            aggregator: Some(net.aggregator().clone()),
            sealing_key: Some(sealing_key),
            blobs: Some(blobs.clone()),
            keys: Default::default(),
            limits,
        })
        .await?;
        let storage = Storage::open(&blobs)?;
        Ok(Service { server, recipient, storage, _dir: dir })
    }

    /// Waits until the indexer has caught up with the chain's head.
    pub async fn caught_up(&self, net: &BenchChain) -> anyhow::Result<()> {
        let head = net.provider.get_block_number().await? as i64;
        while self.server.db.cursor("chain").await?.unwrap_or(-1) < head {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}
