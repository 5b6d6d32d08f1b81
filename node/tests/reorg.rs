//! Transactions of the roles dropped by a chain reorganization after their receipt (anvil's
//! `anvil_reorg`): the roles re-read the chain at each step, so a trainer whose commitment
//! vanished commits again while the round is open, and an aggregator whose `finalizeRound`
//! vanished proves and finalizes the round again; both send with the chain's nonce, not a cached
//! one that the dropped transaction left ahead of the chain.

mod common;

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use common::{finish, start_trainers, Harness, Synthetic, PARAMS, TRAINERS};
use fedproof::roles::aggregator;
use fedproof::roles::trainer::{self, UpdateSource, Upload};
use fedproof::roles::JobView;
use fedproof_contracts::JobStatus;
use std::time::Duration;

/// Replaces the chain's last `depth` blocks by as many empty ones: their transactions are gone
/// (anvil does not put them back in its pool).
async fn reorg(h: &Harness, depth: u64) {
    let _: serde_json::Value = h
        .owner
        .provider
        .raw_request("anvil_reorg".into(), (depth, Vec::<serde_json::Value>::new()))
        .await
        .expect("anvil_reorg");
}

async fn mined(h: &Harness, tx: &str) -> bool {
    let hash: B256 = tx.parse().expect("transaction hash");
    h.owner.provider.get_transaction_receipt(hash).await.expect("rpc").is_some()
}

async fn committed(view: &JobView, round: u32, slot: usize) -> bool {
    let bits = view.market.submittedBits(U256::from(view.id), U256::from(round)).call().await.expect("submittedBits");
    bits.bit(slot)
}

/// A job of the test shape whose trainers joined and whose aggregator posted its bond.
async fn joined_job(h: &Harness, rounds: u32) -> (u64, JobView) {
    let job = h.create_job(rounds).await;
    for chain in &h.trainers {
        trainer::join(&h.view(chain, job).await, &h.storage).await.expect("join");
    }
    let agg = h.view(&h.aggregator, job).await;
    aggregator::post_bond(&agg, &h.storage).await.expect("bond");
    (job, agg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainer_commit_dropped_by_a_reorg_is_sent_again_and_the_round_settles() {
    let h = Harness::start().await;
    let (job, agg) = joined_job(&h, 1).await;
    let view = h.view(&h.trainers[0], job).await;
    let values = Synthetic::new(0, false).update(0, &[0; PARAMS]).expect("update");
    let first = trainer::submit(&view, &h.storage, None, Some(0), values).await.expect("committed");
    let first_tx = first.tx.expect("sent");
    assert!(committed(&view, 0, 0).await && mined(&h, &first_tx).await);

    reorg(&h, 1).await;
    assert!(!mined(&h, &first_tx).await, "the commitment's block was replaced");
    assert!(!committed(&view, 0, 0).await, "the chain no longer has slot 0's commitment");
    // anvil stamps the replacing block with its parent's time, which sets its clock back before
    // the round opened: move it on again.
    h.advance(common::START_DELAY + 1).await;

    // The trainers' loops (trainer 0's included) and the aggregator: trainer 0 sees its slot
    // uncommitted in the open round and commits again.
    let trainers = start_trainers(&h, job, &[Upload::Honest; TRAINERS], &[3]).await;
    let settings = h.aggregator_settings(Duration::from_secs(1));
    let reports = aggregator::run(&agg, &h.storage, &settings, |_| {}).await.expect("aggregator");
    assert_eq!(finish(trainers).await, vec![1; TRAINERS], "every trainer committed round 0 once more");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].submitted, vec![true; TRAINERS], "slot 0's second commitment is in the round");
    assert_eq!(reports[0].inliers, vec![true, true, true, false]);
    let state = agg.state().await.expect("state");
    assert_eq!((state.status, state.round), (JobStatus::Completed as u8, 1), "the round settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalization_dropped_by_a_reorg_is_proven_and_sent_again() {
    let h = Harness::start().await;
    let (job, agg) = joined_job(&h, 1).await;
    let trainers = start_trainers(&h, job, &[Upload::Honest; TRAINERS], &[3]).await;
    let settings = h.aggregator_settings(Duration::from_secs(1));
    let first = aggregator::next_round(&agg, &h.storage, &settings).await.expect("aggregator").expect("a round");
    assert_eq!(finish(trainers).await, vec![1; TRAINERS]);
    assert!(mined(&h, &first.tx).await);
    assert_eq!(agg.state().await.expect("state").status, JobStatus::Completed as u8);

    reorg(&h, 1).await;
    assert!(!mined(&h, &first.tx).await, "finalizeRound's block was replaced");
    let state = agg.state().await.expect("state");
    assert_eq!((state.status, state.round), (JobStatus::Active as u8, 0), "round 0 is open again");

    // The aggregator's next step reads round 0 as unsettled, proves it again and finalizes it.
    let again = aggregator::next_round(&agg, &h.storage, &settings).await.expect("aggregator").expect("round 0");
    assert_eq!(again.round, 0);
    assert_eq!((again.scores.clone(), again.inliers.clone()), (first.scores, first.inliers), "the same round");
    assert!(mined(&h, &again.tx).await);
    let state = agg.state().await.expect("state");
    assert_eq!((state.status, state.round), (JobStatus::Completed as u8, 1), "the round settled");
    assert!(aggregator::next_round(&agg, &h.storage, &settings).await.expect("aggregator").is_none(), "job over");
}
