//! The service while its dependencies go away: PostgreSQL restarted (a private server the test
//! really stops and starts), the chain node down for 30 s (behind a TCP proxy the test takes
//! down), and the blob store failing. Each shows a clear 503 with a Retry-After, the indexer
//! retries with backoff, and the same server process recovers without a restart.

mod support;

use alloy::primitives::U256;
use fedproof_storage::Storage;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::chain::{field_to_u256, Stack, SubmittedRound};
use support::postgres::PrivatePostgres;
use support::proxy::Proxy;
use support::server::{start_server, wait_indexed};
use support::upload::{body, get, post, Answer};
use support::{Engine, TestDb};

/// Calls `probe` until it gives `status` (bounded: the recovery must happen, not be fast).
async fn eventually<F, Fut>(what: &str, status: u16, mut probe: F) -> Answer
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let mut last = Answer::default();
    for _ in 0..600 {
        last = probe().await;
        if last.status == status {
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
async fn postgres_restarted_is_a_503_and_the_same_server_recovers() {
    // A private PostgreSQL that this test stops and starts (the shared one is never touched).
    let pg = match tokio::task::block_in_place(PrivatePostgres::start) {
        Ok(pg) => pg,
        Err(reason) => {
            eprintln!("SKIPPED postgres_restarted_is_a_503_and_the_same_server_recovers: {reason}");
            return;
        }
    };
    let stack = Stack::start().await;
    let SubmittedRound { verifier, input, sealed, .. } = stack.submitted_round().await;
    let commitments: Vec<U256> = input.update_commitments().iter().map(field_to_u256).collect();
    let blobs = tempfile::tempdir().expect("dir");
    let store = blobs.path().display().to_string();
    Storage::open(&store).expect("store").put_spec(&stack.spec(&input)).await.expect("spec");
    let server = start_server(&stack, &pg.url(), HashMap::new(), Some((stack.sealing.clone(), store))).await;
    wait_indexed(&stack, &server).await;
    let base = format!("http://{}", server.addr);
    let (job, round) = (format!("{base}/api/jobs/1"), format!("{base}/api/jobs/1/rounds/0"));
    let uploads = format!("{base}/api/jobs/1/rounds/0/updates");
    assert_eq!(get(&job).await.status, 200);
    let t0 = &stack.signers[2];
    let valid = body(t0, t0.address(), 0, commitments[0], &sealed[0].clone().expect("sealed"));

    // PostgreSQL stops (fast: every session is ended). Reads are a 503 with a Retry-After and a
    // body that says what is wrong, not a 500 or a hang; an upload is a 503 that stores nothing.
    let outage = Instant::now();
    tokio::task::block_in_place(|| pg.stop());
    let down = eventually("reads while PostgreSQL is stopped", 503, || get(&job)).await;
    assert_eq!(down.code, "unavailable", "{down:?}");
    assert!(down.message.contains("database is unavailable"), "a clear message: {down:?}");
    assert!(down.retry_after.is_some(), "a 503 says when to retry");
    let refused = post(&uploads, &valid).await;
    assert_eq!((refused.status, refused.code.as_str()), (503, "unavailable"), "{refused:?}");
    assert!(refused.retry_after.is_some());
    // The chain moves on meanwhile: the indexer fails to store the new blocks and backs off.
    stack.mine(3).await;
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(outage.elapsed())).await;

    // PostgreSQL starts again: the same server process answers reads, takes the upload and its
    // indexer goes on from where it stopped (the blocks mined during the outage, then the
    // settlement sent after it).
    tokio::task::block_in_place(|| pg.start_again());
    let stopped_for = outage.elapsed();
    let back = Instant::now();
    eventually("reads after PostgreSQL is back", 200, || get(&job)).await;
    let reads_back = back.elapsed();
    let taken = eventually("the upload after PostgreSQL is back", 201, || post(&uploads, &valid)).await;
    assert!(taken.retry_after.is_none());
    assert_eq!(server.db.uploads(1, 0).await.expect("uploads").len(), 1, "the upload is stored once");
    wait_indexed(&stack, &server).await;
    stack.finalize(&verifier, &input).await;
    eventually("the round settled after PostgreSQL is back", 200, || get(&round)).await;
    eprintln!(
        "PostgreSQL stopped for {:.1} s; reads 200 again {:.2} s after it started; round indexed {:.2} s after",
        stopped_for.as_secs_f64(),
        reads_back.as_secs_f64(),
        back.elapsed().as_secs_f64()
    );
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
    let refused = post(&url, &valid).await;
    assert_eq!((refused.status, refused.code.as_str()), (503, "chain_unavailable"), "{refused:?}");
    assert!(refused.retry_after.is_some());
    assert_eq!(get(&format!("{base}/api/jobs/1")).await.status, 200);
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
    let refused = post(&url, &valid).await;
    assert_eq!((refused.status, refused.code.as_str()), (503, "unavailable"), "{refused:?}");
    assert!(refused.retry_after.is_some());
    assert!(server.db.uploads(1, 0).await.expect("uploads").is_empty(), "nothing is recorded for a failed store");

    std::fs::remove_file(&store).expect("file removed");
    std::fs::rename(&aside, &store).expect("moved back");
    assert_eq!(post(&url, &valid).await.status, 201, "the same upload is taken once the store works again");
    assert_eq!(server.db.uploads(1, 0).await.expect("uploads").len(), 1);
    server.shutdown().await;
}
