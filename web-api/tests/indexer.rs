//! The indexer against a real anvil chain and a really proven round, on SQLite and PostgreSQL:
//! confirmations, kill and restart without gaps or duplicates, re-indexing changes nothing.

mod support;

use alloy::primitives::U256;
use alloy::providers::Provider;
use fedproof_contracts::JobMarket;
use fedproof_web_api::db::{Db, JobFilter};
use fedproof_web_api::indexer::{Chain, Indexer, IndexerConfig};
use std::time::Duration;
use support::chain::{Stack, SubmittedRound};
use support::{Engine, TestDb};

#[tokio::test(flavor = "multi_thread")]
async fn indexer_follows_restarts_and_reindexes_on_sqlite() {
    follows_restarts_and_reindexes(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn indexer_follows_restarts_and_reindexes_on_postgres() {
    follows_restarts_and_reindexes(Engine::Postgres).await;
}

/// Everything the index holds, in a comparable form.
async fn snapshot(db: &Db, job: i64) -> String {
    let (jobs, total) = db.jobs(&JobFilter { page: 1, per_page: 100, ..Default::default() }).await.expect("jobs");
    let rounds = db.rounds(job).await.expect("rounds");
    let slots = db.round_slots(job, None).await.expect("slots");
    let subs = db.submissions(job, 0).await.expect("submissions");
    let trainers = db.trainers(job).await.expect("trainers");
    let mut history = Vec::new();
    for t in &trainers {
        let source = format!("0x{:0>64}", t.trainer.trim_start_matches("0x"));
        history.push(format!("{:?}", db.reliability_history(&source).await.expect("history")));
        history.push(format!("{:?}", db.reliability(&source).await.expect("record")));
    }
    let counts = count_rows(db).await;
    format!("{jobs:?}{total}{rounds:?}{slots:?}{subs:?}{trainers:?}{history:?}{counts:?}")
}

async fn count_rows(db: &Db) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "jobs",
        "job_trainers",
        "submissions",
        "rounds",
        "round_slots",
        "claims",
        "withdrawals",
        "reliability_events",
        "reliability",
    ] {
        counts.push(
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(db.pool()).await.expect("count"),
        );
    }
    counts
}

async fn follows_restarts_and_reindexes(engine: Engine) {
    let stack = Stack::start().await;
    let SubmittedRound { verifier, input, job, .. } = stack.submitted_round().await;

    let test_db = TestDb::new(engine).await;
    let db = test_db.db.clone();
    let chain = Chain { provider: stack.provider.clone(), market: stack.market, registry: stack.registry };
    let config = IndexerConfig { confirmations: 2, start_block: 0, max_range: 4, poll: Duration::from_millis(20) };

    // Blocks within the confirmation depth are not read yet.
    let head = stack.provider.get_block_number().await.expect("head");
    let cursor = Indexer::new(chain.clone(), db.clone(), config.clone()).catch_up().await.expect("indexed");
    assert_eq!(cursor, Some(head - 2));
    let stored = db.submissions(1, 0).await.expect("submissions").len();
    assert!(stored < 3, "the last two blocks hold submissions and must wait for confirmations, got {stored}");
    stack.mine(2).await;
    Indexer::new(chain.clone(), db.clone(), config.clone()).catch_up().await.expect("indexed");
    assert_eq!(db.submissions(1, 0).await.expect("submissions").len(), 3);
    assert_eq!(db.job(1).await.expect("job").expect("indexed job").status, "active");

    // A running indexer is killed while the round is settled, then a new one takes over.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(Indexer::new(chain.clone(), db.clone(), config.clone()).run(stop_rx));
    let (out, fin) = stack.finalize(&verifier, &input).await;
    let event = stack.finalized_event().await;
    stack.claim_all(job, input.shape.trainers, &fin, event.finalizedAt).await;
    running.abort();
    let _ = running.await;
    drop(stop_tx);
    stack.mine(2).await;
    let head = stack.provider.get_block_number().await.expect("head");
    let indexer = Indexer::new(chain.clone(), db.clone(), config.clone());
    assert_eq!(indexer.catch_up().await.expect("indexed"), Some(head - 2));

    // No gaps: every event on chain is in the index, with the values the contract computed.
    let claimed = stack.events::<JobMarket::Claimed>().await;
    let job_row = db.job(1).await.expect("job").expect("job row");
    assert_eq!(job_row.status, "completed");
    assert_eq!(job_row.current_round, 1);
    let rounds = db.rounds(1).await.expect("rounds");
    assert_eq!(rounds.len(), 1);
    let r = &rounds[0];
    assert_eq!(r.status, "finalized");
    assert_eq!(r.total_score.as_deref(), Some(out.scores.iter().sum::<u64>().to_string().as_str()));
    assert_eq!(r.inliers(), fin.inlierBits);
    assert_eq!(r.inlier_bits.as_deref(), Some(fedproof_web_api::format::bits(&fin.inlierBits).as_str()));
    assert_eq!(r.presence(), U256::from(0b111), "every slot committed, none unavailable");
    assert_eq!(r.unavailable(), U256::ZERO);
    assert_eq!(r.aggregate_norm_sq.as_deref(), Some(fin.aggregateNormSq.to_string().as_str()));
    assert_eq!(r.digest, None, "a round proven whole has no H");
    support::assert_round_bitmaps(r, 3);
    let proof: Vec<String> = serde_json::from_str(r.proof.as_deref().expect("proof stored")).expect("json");
    assert_eq!(proof, fin.proof.iter().map(fedproof_web_api::format::word).collect::<Vec<_>>());
    let slots = db.round_slots(1, Some(0)).await.expect("slots");
    assert_eq!(slots.iter().map(|s| s.score.parse::<u64>().expect("score")).collect::<Vec<_>>(), out.scores);
    let paid: U256 = slots.iter().map(|s| s.payout.parse::<U256>().expect("payout")).sum();
    // The round's first claim recorded it: the allocation the indexer derived from the scores
    // is the one the contract moved out of escrow.
    let allocated = stack.events::<JobMarket::RoundAllocated>().await;
    assert_eq!(allocated.len(), 1, "one round recorded");
    let allocated = &allocated[0];
    assert_eq!(paid, allocated.allocated);
    assert_eq!(r.allocated.as_deref(), Some(allocated.allocated.to_string().as_str()));
    let claims: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM claims").fetch_one(db.pool()).await.expect("count");
    assert_eq!(claims as usize, claimed.len());
    assert!(claims >= 1);
    for e in &claimed {
        let slot = i64::try_from(e.slot).expect("slot");
        assert_eq!(slots[slot as usize].payout, e.amount.to_string(), "claim of slot {slot} equals its allocation");
    }
    let withdrawals: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM withdrawals").fetch_one(db.pool()).await.expect("count");
    assert_eq!(withdrawals, 1);
    // Reliability: every present trainer got one observation from this round's finalization.
    let source = format!("0x{:0>64}", format!("{:x}", stack.trainer(0)));
    let history = db.reliability_history(&source).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].job_id, history[0].round), (Some(1), Some(0)));
    let record = db.reliability(&source).await.expect("record").expect("trainer 0 has a record");
    assert_eq!(record.observations, 1);

    // Re-indexing everything, or any range, changes nothing.
    let before = snapshot(&db, 1).await;
    indexer.index_range(0, head - 2).await.expect("re-indexed");
    indexer.index_range(stack.deploy_block, stack.deploy_block + 5).await.expect("re-indexed");
    assert_eq!(snapshot(&db, 1).await, before);
    assert_eq!(indexer.cursor().await.expect("cursor"), Some(head - 2), "re-indexing never moves the cursor back");
}
