//! The indexer across chain reorganizations on a real anvil, on SQLite and PostgreSQL: a reorg
//! within the confirmation depth never reaches the database; one below the indexer's cursor is
//! found, rolled back and re-indexed, leaving exactly what a fresh indexer over a fresh database
//! gives for the new chain, and never touching the service's own rows (uploads, metrics); one
//! deeper than the stored block hashes is rolled back the same way.

mod support;

use alloy::primitives::U256;
use alloy::providers::Provider;
use fedproof_contracts::JobMarket;
use fedproof_prover::shape::Shape;
use fedproof_web_api::db::{Db, Upload};
use fedproof_web_api::indexer::reorg::{Reorg, WINDOW};
use fedproof_web_api::indexer::{Chain, Indexer, IndexerConfig};
use std::time::Duration;
use support::chain::{round_input, send, Stack, STAKE};
use support::migrations::snapshot_of;
use support::{Engine, TestDb};

/// Every chain-derived table with its columns, and the cursor: what a fresh index must equal.
const CHAIN_TABLES: &[(&str, &str)] = &[
    ("indexer_cursor", "name, last_block"),
    (
        "jobs",
        "id, owner, aggregator, token, budget, round_budget, stake, bond, verifier, spec_hash, spec_uri, \
         initial_model, rounds, trainers, max_malicious, tau, lr, lr_decay, dup_tol, start_time, submit_window, \
         finalize_window, dispute_window, current_round, status, bond_posted, created_block, created_tx",
    ),
    ("job_trainers", "job_id, trainer, slot, stake, active, joined_block"),
    ("submissions", "job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash, rank"),
    (
        "rounds",
        "job_id, round, status, model, new_model, domain, digest, inlier_bits, unavailable_bits, presence_bits, \
         aggregate_norm_sq, score_words, total_score, allocated, proof, finalized_at, refunded, bond_slashed, block, \
         tx_hash",
    ),
    ("round_slots", "job_id, round, slot, trainer, present, inlier, score, payout"),
    ("claims", "job_id, round, slot, trainer, amount, block, tx_hash"),
    ("disputes", "job_id, round, slot, trainer, slashed, block, tx_hash"),
    ("withdrawals", "tx_hash, log_index, token, account, amount, block"),
    (
        "reliability_events",
        "tx_hash, log_index, position, source, observation, score, observations, block, job_id, round",
    ),
    ("reliability", "source, score, observations, last_update, block"),
];

/// The rows the service writes itself.
const OWN_TABLES: &[(&str, &str)] = &[
    ("uploads", "job_id, round, slot, trainer, commitment, cid, receipt_signature"),
    ("round_metrics", "job_id, round, accuracy, signature"),
];

fn shape() -> Shape {
    Shape::new(3, 8).expect("shape")
}

fn indexer(stack: &Stack, db: &Db, confirmations: u64) -> Indexer {
    let chain = Chain { provider: stack.provider.clone(), market: stack.market, registry: stack.registry };
    let config = IndexerConfig { confirmations, start_block: 0, max_range: 4, poll: Duration::from_millis(20) };
    Indexer::new(chain, db.clone(), config)
}

async fn head(stack: &Stack) -> u64 {
    stack.provider.get_block_number().await.expect("head")
}

/// `anvil_reorg`: replaces the last `depth` blocks by as many empty ones.
async fn reorg(stack: &Stack, depth: u64) {
    let _: serde_json::Value = stack
        .provider
        .raw_request("anvil_reorg".into(), (depth, Vec::<serde_json::Value>::new()))
        .await
        .expect("anvil_reorg");
}

/// Mines `blocks` empty blocks at once.
async fn mine_many(stack: &Stack, blocks: u64) {
    let _: serde_json::Value = stack.provider.raw_request("anvil_mine".into(), (blocks,)).await.expect("anvil_mine");
}

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(db.pool()).await.expect("count")
}

/// Asserts that `db` holds exactly what a fresh indexer over a fresh database holds for the chain
/// as it is now, with the same confirmations.
async fn assert_equals_fresh_index(stack: &Stack, engine: Engine, db: &Db, confirmations: u64) {
    let fresh = TestDb::new(engine).await;
    indexer(stack, &fresh.db, confirmations).catch_up().await.expect("fresh index");
    assert_eq!(
        snapshot_of(db.pool(), CHAIN_TABLES).await,
        snapshot_of(fresh.db.pool(), CHAIN_TABLES).await,
        "the index after the reorg equals a fresh index of the new chain"
    );
}

/// An upload and the owner's metrics for job 1, written by the service (not by the indexer).
async fn own_rows(db: &Db) {
    let upload = Upload {
        job_id: 1,
        round: 0,
        slot: 0,
        trainer: format!("{:#x}", alloy::primitives::Address::repeat_byte(0xaa)),
        commitment: format!("0x{:064x}", 7),
        cid: "bafkreiupload".into(),
        receipt_signature: format!("0x{}", "ab".repeat(65)),
    };
    db.store_upload(&upload).await.expect("upload stored");
    db.store_metrics(1, 0, 0.875, "0xsig").await.expect("metrics stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reorg_within_the_confirmation_depth_never_reaches_the_database_on_sqlite() {
    reorg_within_confirmations(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reorg_within_the_confirmation_depth_never_reaches_the_database_on_postgres() {
    reorg_within_confirmations(Engine::Postgres).await;
}

/// Job 1 is created in a block that a reorg of depth 2 drops while the indexer waits for its 3
/// confirmations: the job never appears in the database, and nothing needs rolling back.
async fn reorg_within_confirmations(engine: Engine) {
    let stack = Stack::start().await;
    let verifier = stack.verifier(shape()).await;
    let t = TestDb::new(engine).await;
    let indexer = indexer(&stack, &t.db, 3);
    indexer.catch_up().await.expect("indexed");

    stack.create_job(verifier.address, &round_input(shape(), 1, 5)).await;
    let created = head(&stack).await;
    stack.mine(1).await;
    assert_eq!(indexer.catch_up().await.expect("indexed"), Some(created + 1 - 3));
    assert_eq!(count(&t.db, "jobs").await, 0, "the job's block has 1 confirmation of 3");

    reorg(&stack, 2).await;
    assert_eq!(head(&stack).await, created + 1, "the reorg keeps the height");
    assert!(stack.events::<JobMarket::JobCreated>().await.is_empty(), "the job's block was dropped");
    assert_eq!(indexer.check_reorg().await.expect("checked"), None, "no indexed block was dropped");

    stack.mine(5).await;
    let cursor = indexer.catch_up().await.expect("indexed").expect("cursor");
    assert!(cursor >= created + 3, "the cursor passed the replaced blocks: {cursor}");
    assert_eq!(count(&t.db, "jobs").await, 0, "no row from the dropped block");
    assert_equals_fresh_index(&stack, engine, &t.db, 3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reorg_below_the_cursor_is_rolled_back_to_what_a_fresh_index_holds_on_sqlite() {
    reorg_below_cursor(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reorg_below_the_cursor_is_rolled_back_to_what_a_fresh_index_holds_on_postgres() {
    reorg_below_cursor(Engine::Postgres).await;
}

/// History A (job 1 with 3 slots, bonded, three trainers joined) is indexed with 2 confirmations;
/// then the chain goes back to before it and takes history B (job 1 with 2 rounds, one trainer). The indexer finds the fork point, rolls back and re-indexes: the database equals
/// a fresh index of history B, and the upload and metrics the service stored are kept.
async fn reorg_below_cursor(engine: Engine) {
    let mut stack = Stack::start().await;
    let verifier = stack.verifier(shape()).await;
    let input = round_input(shape(), 1, 5);
    let t = TestDb::new(engine).await;
    let fork = head(&stack).await;
    let snap = stack.snapshot().await;

    stack.open_job(verifier.address, &input).await;
    stack.mine(2).await;
    let cursor = indexer(&stack, &t.db, 2).catch_up().await.expect("indexed").expect("cursor");
    assert_eq!(count(&t.db, "job_trainers").await, 3, "history A indexed");
    own_rows(&t.db).await;
    let own = snapshot_of(t.db.pool(), OWN_TABLES).await;

    stack.revert(snap).await;
    let job = stack.create_job_with(verifier.address, &input, 3, 2).await;
    send(stack.market().join(job).value(U256::from(STAKE)).from(stack.trainer(0))).await;
    stack.mine(cursor + 4 - head(&stack).await).await;

    let indexer = indexer(&stack, &t.db, 2);
    let found = indexer.check_reorg().await.expect("checked");
    assert_eq!(found, Some(Reorg { cursor, fork: Some(fork) }), "found at the cursor, forked after block {fork}");
    assert_eq!(found.and_then(|r| r.depth()), Some(cursor - fork));
    assert_eq!(count(&t.db, "jobs").await, 0, "rolled back");
    assert_eq!(indexer.cursor().await.expect("cursor"), None, "the cursor went with the rows");
    assert_eq!(indexer.catch_up().await.expect("re-indexed"), Some(head(&stack).await - 2));

    let job = t.db.job(1).await.expect("job").expect("job 1 of history B");
    assert_eq!(job.rounds, 2, "job 1 as history B created it");
    assert_eq!(count(&t.db, "job_trainers").await, 1, "history B's one trainer");
    assert_equals_fresh_index(&stack, engine, &t.db, 2).await;
    assert_eq!(snapshot_of(t.db.pool(), OWN_TABLES).await, own, "uploads and metrics are never rolled back");
    assert_eq!(indexer.check_reorg().await.expect("checked"), None, "on the chain again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reorg_deeper_than_the_stored_hashes_is_rolled_back_too_on_sqlite() {
    reorg_deeper_than_window(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reorg_deeper_than_the_stored_hashes_is_rolled_back_too_on_postgres() {
    reorg_deeper_than_window(Engine::Postgres).await;
}

/// History A (job 1 of one round) followed by more blocks than the stored window, indexed; then
/// history B (job 1 of 2 rounds) from before A: no stored hash matches, the fork point is unknown
/// (logged as an error), and the same rollback still leaves what a fresh index holds.
async fn reorg_deeper_than_window(engine: Engine) {
    let mut stack = Stack::start().await;
    let verifier = stack.verifier(shape()).await;
    let input = round_input(shape(), 1, 5);
    let t = TestDb::new(engine).await;
    let snap = stack.snapshot().await;

    stack.create_job(verifier.address, &input).await;
    mine_many(&stack, WINDOW + 10).await;
    let wide = |stack: &Stack, db: &Db| {
        let chain = Chain { provider: stack.provider.clone(), market: stack.market, registry: stack.registry };
        let config =
            IndexerConfig { confirmations: 2, start_block: 0, max_range: 100, poll: Duration::from_millis(20) };
        Indexer::new(chain, db.clone(), config)
    };
    let cursor = wide(&stack, &t.db).catch_up().await.expect("indexed").expect("cursor");
    assert_eq!(t.db.job(1).await.expect("job").expect("history A's job").rounds, 1);

    stack.revert(snap).await;
    stack.create_job_with(verifier.address, &input, 3, 2).await;
    mine_many(&stack, WINDOW + 20).await;

    let indexer = wide(&stack, &t.db);
    assert_eq!(indexer.check_reorg().await.expect("checked"), Some(Reorg { cursor, fork: None }));
    indexer.catch_up().await.expect("re-indexed");
    assert_eq!(t.db.job(1).await.expect("job").expect("history B's job").rounds, 2);
    let fresh = TestDb::new(engine).await;
    wide(&stack, &fresh.db).catch_up().await.expect("fresh index");
    assert_eq!(snapshot_of(t.db.pool(), CHAIN_TABLES).await, snapshot_of(fresh.db.pool(), CHAIN_TABLES).await);
}
