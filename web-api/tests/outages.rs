//! The service while its dependencies go away, each behind a TCP proxy the test takes down and
//! brings back: PostgreSQL (as in a restart), the chain node for 30 s, and the blob store failing.
//! Each shows a clear 503 with a Retry-After, the indexer retries with backoff, and the service
//! recovers without a restart.

mod support;

use alloy::primitives::U256;
use fedproof_storage::Storage;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::chain::{field_to_u256, Stack, SubmittedRound};
use support::proxy::Proxy;
use support::server::{start_server, wait_indexed};
use support::upload::body;
use support::{Engine, TestDb};

/// (status, Retry-After, error code) of a GET.
async fn get(url: &str) -> (u16, Option<String>, String) {
    answer(reqwest::get(url).await.expect("get")).await
}

/// (status, Retry-After, error code) of an upload.
async fn upload(url: &str, body: &Value) -> (u16, Option<String>, String) {
    answer(reqwest::Client::new().post(url).json(body).send().await.expect("post")).await
}

async fn answer(res: reqwest::Response) -> (u16, Option<String>, String) {
    let status = res.status().as_u16();
    let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap_or_default().to_owned());
    let body: Value = res.json().await.unwrap_or_default();
    (status, retry, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

/// Calls `probe` until it gives `status` (bounded: the recovery must happen, not be fast).
async fn eventually<F, Fut>(what: &str, status: u16, mut probe: F) -> (u16, Option<String>, String)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (u16, Option<String>, String)>,
{
    let mut last = (0, None, String::new());
    for _ in 0..600 {
        last = probe().await;
        if last.0 == status {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: never answered {status}, last {last:?}");
}

/// The socket address of an http URL.
fn socket(url: &url::Url) -> SocketAddr {
    url.socket_addrs(|| None).expect("resolves")[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_going_away_is_a_503_and_the_service_recovers() {
    let stack = Stack::start().await;
    let SubmittedRound { verifier, input, .. } = stack.submitted_round().await;
    let test_db = TestDb::new(Engine::Postgres).await;
    let mut url = url::Url::parse(&test_db.url).expect("url");
    let proxy = Proxy::start(socket(&url)).await;
    url.set_port(Some(proxy.addr.port())).expect("port");
    let server = start_server(&stack, url.as_str(), HashMap::new(), None).await;
    wait_indexed(&stack, &server).await;
    let base = format!("http://{}", server.addr);
    assert_eq!(get(&format!("{base}/api/jobs/1")).await.0, 200);

    // PostgreSQL goes away: reads are answered 503 with a Retry-After, not 500 or a hang.
    proxy.down();
    let job = format!("{base}/api/jobs/1");
    let (_, retry_after, code) = eventually("reads while the database is down", 503, || get(&job)).await;
    assert_eq!(code, "unavailable");
    assert!(retry_after.is_some(), "a 503 says when to retry");
    // Meanwhile the round settles on-chain.
    stack.finalize(&verifier, &input).await;

    // It comes back: the same server answers and its indexer stores the settlement it missed.
    proxy.up();
    let round = format!("{base}/api/jobs/1/rounds/0");
    eventually("the settled round after the database is back", 200, || get(&round)).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chain_node_down_for_30_s_is_a_503_the_indexer_backs_off_and_recovers() {
    let stack = Stack::start().await;
    let SubmittedRound { verifier, input, sealed, .. } = stack.submitted_round().await;
    let commitments: Vec<U256> = input.update_commitments().iter().map(field_to_u256).collect();
    let proxy = Proxy::start(socket(&stack.anvil.endpoint_url())).await;
    let test_db = TestDb::new(Engine::Sqlite).await;
    let blobs = tempfile::tempdir().expect("dir");
    let store = blobs.path().display().to_string();
    Storage::open(&store).expect("store").put_spec(&stack.spec(&input)).await.expect("spec");
    let mut config =
        support::server::config(&stack, &test_db.url, HashMap::new(), Some((stack.sealing.clone(), store)));
    config.rpc_url = format!("http://{}", proxy.addr).parse().expect("url");
    let server = fedproof_web_api::serve::start(config).await.expect("server starts");
    wait_indexed(&stack, &server).await;
    let base = format!("http://{}", server.addr);
    let url = format!("{base}/api/jobs/1/rounds/0/updates");
    let t0 = &stack.signers[2];
    let valid = body(t0, t0.address(), 0, commitments[0], &sealed[0].clone().expect("sealed"));

    proxy.down();
    let before = proxy.accepted();
    let outage = Instant::now();
    // Uploads need the chain: 503 with a Retry-After. Reads come from the database: 200.
    let (status, retry_after, code) = upload(&url, &valid).await;
    assert_eq!((status, code.as_str()), (503, "chain_unavailable"));
    assert!(retry_after.is_some());
    assert_eq!(get(&format!("{base}/api/jobs/1")).await.0, 200);
    // The round settles while the server cannot see the chain.
    stack.finalize(&verifier, &input).await;
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(outage.elapsed())).await;
    // The indexer polls every 20 ms here: without backoff it would have tried ~1,500 times.
    let attempts = proxy.accepted() - before;
    assert!(attempts < 100, "the indexer retried {attempts} times in 30 s: no backoff");

    proxy.up();
    let round = format!("{base}/api/jobs/1/rounds/0");
    eventually("the settled round after the node is back", 200, || get(&round)).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_blob_store_is_a_503_that_stores_nothing_and_recovers() {
    let stack = Stack::start().await;
    let SubmittedRound { input, sealed, .. } = stack.submitted_round().await;
    let commitments: Vec<U256> = input.update_commitments().iter().map(field_to_u256).collect();
    let test_db = TestDb::new(Engine::Sqlite).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("blobs");
    Storage::open(&store.display().to_string()).expect("store").put_spec(&stack.spec(&input)).await.expect("spec");
    let intake = Some((stack.sealing.clone(), store.display().to_string()));
    let server = start_server(&stack, &test_db.url, HashMap::new(), intake).await;
    wait_indexed(&stack, &server).await;
    let url = format!("http://{}/api/jobs/1/rounds/0/updates", server.addr);
    let t0 = &stack.signers[2];
    let valid = body(t0, t0.address(), 0, commitments[0], &sealed[0].clone().expect("sealed"));

    // The store's directory is replaced by a file: every read and write fails.
    let aside = dir.path().join("blobs.aside");
    std::fs::rename(&store, &aside).expect("moved aside");
    std::fs::write(&store, b"not a directory").expect("file");
    let (status, retry_after, code) = upload(&url, &valid).await;
    assert_eq!((status, code.as_str()), (503, "unavailable"));
    assert!(retry_after.is_some());
    assert!(server.db.uploads(1, 0).await.expect("uploads").is_empty(), "nothing is recorded for a failed store");

    std::fs::remove_file(&store).expect("file removed");
    std::fs::rename(&aside, &store).expect("moved back");
    assert_eq!(upload(&url, &valid).await.0, 201, "the same upload is taken once the store works again");
    assert_eq!(server.db.uploads(1, 0).await.expect("uploads").len(), 1);
    server.shutdown().await;
}
