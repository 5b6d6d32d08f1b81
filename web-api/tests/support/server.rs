//! The service started in-process over a test stack.

use super::chain::Stack;
use alloy::primitives::Address;
use alloy::providers::Provider;
use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_web_api::indexer::IndexerConfig;
use fedproof_web_api::serve::{self, ServeConfig, Server};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Starts the service on a free loopback port, indexing from block 0 with no confirmations; with
/// `intake` (sealing key, blob directory) it takes updates as the aggregator (account 1).
pub async fn start_server(
    stack: &Stack,
    db_url: &str,
    keys: HashMap<Address, VerifyingKey<Bn254>>,
    intake: Option<(Arc<AggregatorKey>, String)>,
) -> Server {
    serve::start(config(stack, db_url, keys, intake)).await.expect("server starts")
}

/// The configuration `start_server` uses, for tests that change a part of it (e.g. the dashboard).
pub fn config(
    stack: &Stack,
    db_url: &str,
    keys: HashMap<Address, VerifyingKey<Bn254>>,
    intake: Option<(Arc<AggregatorKey>, String)>,
) -> ServeConfig {
    let (sealing_key, blobs) = match intake {
        Some((k, dir)) => (Some(k), Some(dir)),
        None => (None, None),
    };
    ServeConfig {
        db_url: db_url.to_owned(),
        rpc_url: stack.anvil.endpoint_url(),
        public_rpc_url: None,
        market: stack.market,
        listen: "127.0.0.1:0".parse().expect("addr"),
        indexer: IndexerConfig { confirmations: 0, start_block: 0, max_range: 1000, poll: Duration::from_millis(20) },
        dashboard: None,
        aggregator: Some(stack.signers[1].clone()),
        sealing_key,
        blobs,
        keys,
        limits: Default::default(),
    }
}

/// Waits until the server's indexer has stored the chain head (bounded; not a timing assertion).
pub async fn wait_indexed(stack: &Stack, server: &Server) {
    let head = stack.provider.get_block_number().await.expect("head") as i64;
    for _ in 0..1000 {
        if server.db.cursor("chain").await.expect("cursor").unwrap_or(-1) >= head {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the indexer never reached block {head}");
}
