//! Job pages kept in memory (`http::job_pages`) on a real anvil: a page read twice is the same,
//! and it follows the index when the index moves: through a reorg that replaces job 1 (the page
//! shows the new job, not the kept one), and when another indexer writes the database while the
//! server's own one sleeps (a page kept by version, not told of writes, sees them).
//! (`tests/api.rs` reads a job's page, posts the owner's metrics and finds them on the page.)

mod support;

use alloy::primitives::U256;
use alloy::providers::Provider;
use fedproof_prover::shape::Shape;
use fedproof_web_api::indexer::{Chain, Indexer, IndexerConfig};
use fedproof_web_api::serve::{self, Server};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use support::chain::{round_input, send, Stack, STAKE};
use support::server::{config, start_server, wait_indexed};
use support::{Engine, TestDb};

fn shape() -> Shape {
    Shape::new(3, 8).expect("shape")
}

/// Job `job`'s page as the server answers it.
async fn page(server: &Server, job: u64) -> Value {
    let res = reqwest::get(format!("http://{}/api/jobs/{job}", server.addr)).await.expect("get");
    assert_eq!(res.status().as_u16(), 200, "GET /api/jobs/{job}");
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.expect("json")
}

fn trainers(page: &Value) -> usize {
    page["trainers"].as_array().expect("trainers").len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_job_page_follows_a_reorg_that_replaces_the_job() {
    let mut stack = Stack::start().await;
    let verifier = stack.verifier(shape()).await;
    let input = round_input(shape(), 1, 5);
    let db = TestDb::new(Engine::Sqlite).await;
    let snap = stack.snapshot().await;

    // History A: job 1 of one round, three trainers joined; its page read twice.
    stack.open_job(verifier.address, &input).await;
    let server = start_server(&stack, &db.url, HashMap::new(), None).await;
    wait_indexed(&stack, &server).await;
    let a = page(&server, 1).await;
    assert_eq!((a["rounds"].as_i64(), trainers(&a)), (Some(1), 3), "history A");
    assert_eq!(page(&server, 1).await, a, "unchanged while the index is");
    let cursor = server.db.cursor("chain").await.expect("cursor").expect("indexed") as u64;

    // History B from before A: job 1 of two rounds, one trainer; the chain grows past the old
    // cursor, so the index is current only once the indexer has rolled back and re-indexed.
    stack.revert(snap).await;
    let job = stack.create_job_with(verifier.address, &input, 3, 2).await;
    send(stack.market().join(job).value(U256::from(STAKE)).from(stack.trainer(0))).await;
    let head = stack.provider.get_block_number().await.expect("head");
    stack.mine((cursor + 2).saturating_sub(head)).await;
    wait_indexed(&stack, &server).await;
    let b = page(&server, 1).await;
    assert_eq!((b["rounds"].as_i64(), trainers(&b)), (Some(2), 1), "history B, not the page kept for A");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_job_page_sees_rows_another_indexer_wrote() {
    let stack = Stack::start().await;
    let verifier = stack.verifier(shape()).await;
    let input = round_input(shape(), 1, 5);
    let db = TestDb::new(Engine::Sqlite).await;
    let job = stack.create_job_with(verifier.address, &input, 3, 1).await;
    send(stack.market().join(job).value(U256::from(STAKE)).from(stack.trainer(0))).await;

    // The server's indexer catches up once, then sleeps for an hour.
    let mut sleepy = config(&stack, &db.url, HashMap::new(), None);
    sleepy.indexer.poll = Duration::from_secs(3600);
    let server = serve::start(sleepy).await.expect("server starts");
    wait_indexed(&stack, &server).await;
    assert_eq!(trainers(&page(&server, 1).await), 1);
    assert_eq!(trainers(&page(&server, 1).await), 1, "kept");

    // A second trainer joins and another indexer (another process, say) writes the database.
    send(stack.market().join(job).value(U256::from(STAKE)).from(stack.trainer(1))).await;
    let chain = Chain { provider: stack.provider.clone(), market: stack.market, registry: stack.registry };
    let config = IndexerConfig { confirmations: 0, start_block: 0, max_range: 1000, poll: Duration::from_millis(20) };
    Indexer::new(chain, server.db.clone(), config).catch_up().await.expect("the other indexer");
    assert_eq!(trainers(&page(&server, 1).await), 2, "the page follows the database, not its own indexer");
    server.shutdown().await;
}
