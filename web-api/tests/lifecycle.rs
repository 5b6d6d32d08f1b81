//! The indexer on the other ends of a job's life: a trainer leaving before the start, a cancelled
//! job, an expired round (with its refund and slashed bond), on SQLite and PostgreSQL.

mod support;

use alloy::primitives::U256;
use fedproof_prover::shape::Shape;
use fedproof_web_api::indexer::{Chain, Indexer, IndexerConfig};
use std::time::Duration;
use support::chain::{round_input, send, Stack, BOND, STAKE, WINDOW};
use support::{Engine, TestDb, ENGINES};

#[tokio::test(flavor = "multi_thread")]
async fn indexer_records_leaving_cancellation_and_expiry() {
    for engine in ENGINES {
        lifecycle(engine).await;
    }
}

async fn lifecycle(engine: Engine) {
    let stack = Stack::start().await;
    let shape = Shape::new(3, 8).expect("shape");
    let verifier = stack.verifier(shape).await;
    let market = stack.market();

    // Job 1: a trainer joins and leaves before the start, then the owner cancels.
    let job1 = stack.create_job(verifier.address, &round_input(shape, 1, 5)).await;
    send(market.join(job1).value(U256::from(STAKE)).from(stack.trainer(0))).await;
    send(market.leave(job1).from(stack.trainer(0))).await;
    send(market.cancel(job1).from(stack.owner())).await;

    // Job 2: bonded and joined, one trainer submits, nobody finalizes: the round expires.
    let input = round_input(shape, 2, 6);
    let job2 = stack.create_job(verifier.address, &input).await;
    send(market.postBond(job2).value(U256::from(BOND)).from(stack.aggregator())).await;
    for slot in 0..3 {
        send(market.join(job2).value(U256::from(STAKE)).from(stack.trainer(slot))).await;
    }
    stack.warp(100).await;
    let c = support::chain::field_to_u256(&input.update_commitments()[1]);
    let blob_ref = alloy::primitives::B256::repeat_byte(1); // never uploaded: nobody finalizes
    send(market.submitUpdate(job2, 0, c, blob_ref).from(stack.trainer(1))).await;
    stack.warp(2 * u64::from(WINDOW) + 10).await;
    send(market.expireRound(job2).from(stack.trainer(2))).await;

    let t = TestDb::new(engine).await;
    let chain = Chain { provider: stack.provider.clone(), market: stack.market, registry: stack.registry };
    let config = IndexerConfig { confirmations: 0, start_block: 0, max_range: 7, poll: Duration::from_millis(20) };
    Indexer::new(chain, t.db.clone(), config).catch_up().await.expect("indexed");

    let j1 = t.db.job(1).await.expect("job").expect("job 1");
    assert_eq!(j1.status, "cancelled");
    let trainers = t.db.trainers(1).await.expect("trainers");
    assert_eq!(trainers.len(), 1);
    assert_eq!(trainers[0].active, 0, "the trainer left");

    let j2 = t.db.job(2).await.expect("job").expect("job 2");
    assert_eq!(j2.status, "expired");
    let rounds = t.db.rounds(2).await.expect("rounds");
    assert_eq!(rounds.len(), 1);
    assert_eq!(rounds[0].status, "expired");
    assert_eq!(rounds[0].presence(), U256::from(0b010), "only slot 1 submitted");
    assert_eq!(rounds[0].presence_bits.as_deref(), Some(format!("0x{:064x}", 0b010).as_str()));
    assert_eq!((rounds[0].aggregate_norm_sq.as_deref(), rounds[0].digest.as_deref()), (None, None));
    support::assert_round_bitmaps(&rounds[0], 3);
    assert_eq!(rounds[0].bond_slashed.as_deref(), Some(BOND.to_string().as_str()));
    assert_eq!(
        rounds[0].refunded.as_deref(),
        Some((support::chain::BUDGET).to_string().as_str()),
        "a one-round job refunds its whole budget"
    );
}
