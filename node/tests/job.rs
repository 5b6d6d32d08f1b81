//! Whole jobs on a real anvil with the small test shape: a clean job, unavailable updates, a
//! restarted aggregator, a missed deadline, and an auditor catching a tampered round.

mod common;

use alloy::primitives::{Address, U256};
use common::{finish, start_trainers, Harness, BOND, BUDGET, FINALIZE_WINDOW, SUBMIT_WINDOW, TRAINERS};
use fedproof::roles::aggregator::{self, RoundReport};
use fedproof::roles::trainer::{self, Upload};
use fedproof::roles::{audit, JobView};
use fedproof_contracts::JobStatus;
use std::time::Duration;
use tokio::task::JoinHandle;

fn spawn_aggregator(h: &Harness, view: JobView) -> JoinHandle<anyhow::Result<Vec<RoundReport>>> {
    // Updates are stored before they are committed here; the grace only delays a missing one.
    let (storage, settings) = (h.storage.clone(), h.aggregator_settings(Duration::from_secs(1)));
    tokio::spawn(async move { aggregator::run(&view, &storage, &settings, |_| {}).await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_job_pays_honest_trainers_and_passes_the_audit() {
    let h = Harness::start().await;
    let job = h.create_job(2).await;
    let agg_view = h.view(&h.aggregator, job).await;
    let aggregator = spawn_aggregator(&h, agg_view.clone());
    let trainers = start_trainers(&h, job, &[Upload::Honest; TRAINERS], &[3]).await;
    let reports = aggregator.await.expect("task").expect("aggregator");
    assert_eq!(finish(trainers).await, vec![2; TRAINERS]);

    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert_eq!(r.inliers, vec![true, true, true, false], "round {}", r.round);
        assert!(r.unavailable.is_empty());
        assert_eq!(r.scores[3], 0);
        assert!(r.scores[..3].iter().all(|s| *s > 0));
    }
    let state = agg_view.state().await.expect("state");
    assert_eq!(state.status, JobStatus::Completed as u8);
    assert_eq!(state.round, 2);
    // The model after the last round is published and matches the chain.
    let last = agg_view.checked_model(&h.storage, 2, state.model).await.expect("model").expect("published");
    assert_eq!(last.values, reports[1].new_model);

    // Honest trainers are paid the whole budget (up to rounding dust); the attacker nothing.
    let mut paid = U256::ZERO;
    for (i, chain) in h.trainers.iter().enumerate() {
        let got = trainer::withdraw(&h.view(chain, job).await, None).await.expect("withdraw");
        if i == 3 {
            assert!(got.is_zero());
        } else {
            assert!(!got.is_zero());
        }
        paid += got;
    }
    assert!(paid <= U256::from(BUDGET) && paid >= U256::from(BUDGET - 10));

    // Updates are stored sealed to the aggregator: the stored bytes are no update, and only the
    // aggregator's key opens them.
    for ev in agg_view.submitted_events(0).await.expect("events") {
        let cid = fedproof_storage::blobs::cid_from_ref(ev.blobRef.0);
        let stored = h.storage.blobs().get(&cid).await.expect("stored");
        assert!(fedproof_storage::codec::UpdateBlob::decode(&stored).is_err(), "slot {} is plaintext", ev.slot);
        assert!(h.storage.update(&h.sealing, ev.blobRef).await.is_ok());
        let stranger = fedproof_storage::sealed::AggregatorKey::generate();
        assert!(h.storage.update(&stranger, ev.blobRef).await.is_err());
    }

    let rows = audit::audit(&agg_view, &common::keys().vk, Some(h.recompute())).await.expect("audit");
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.ok()), "{rows:?}");

    // Tamper with storage: the published model of round 1 is replaced by another one. Round 1
    // is replayed from round 0's aggregate, so the forged model is refused, not trained on.
    let market = h.stack.market;
    let honest = h.storage.model(market, job, 1).await.expect("read").expect("model 1");
    let mut forged = honest.clone();
    forged.values[0] += 1;
    h.storage.publish_model(market, &forged).await.expect("forge");
    let rows = audit::audit(&agg_view, &common::keys().vk, Some(h.recompute())).await.expect("audit");
    assert!(rows.iter().all(|r| r.offchain && r.onchain), "the proofs themselves still verify");
    let failures: Vec<_> = rows.iter().filter_map(|r| r.recompute.clone().and_then(Result::err)).collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("round 1 is not clamp(w + γ·S)"), "{failures:?}");
    assert!(
        agg_view.checked_model(&h.storage, 1, model_word(&agg_view, 0).await).await.is_err(),
        "a trainer refuses it"
    );
    h.storage.publish_model(market, &honest).await.expect("restore");

    // The published aggregate of round 0 replaced: round 0's is not the proven S, and round 1's
    // model cannot be replayed from an S that is not round 0's C(S).
    // A fresh view, as a trainer or auditor starting now (a view that replayed round 1 already
    // continues from the model it checked then).
    let mut sums = h.storage.published_aggregate(market, job, 0).await.expect("read").expect("aggregate 0");
    sums.values[0] += 1;
    h.storage.publish_aggregate(market, &sums).await.expect("forge");
    let fresh = h.view(&h.aggregator, job).await;
    let rows = audit::audit(&fresh, &common::keys().vk, Some(h.recompute())).await.expect("audit");
    let failures: Vec<_> = rows.iter().filter_map(|r| r.recompute.clone().and_then(Result::err)).collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].contains("published aggregate of round 0 is not the proven one"), "{failures:?}");
    assert!(failures[1].contains("is not the C(S) its round finalized"), "{failures:?}");
    let fresh = h.view(&h.aggregator, job).await;
    assert!(fresh.checked_model(&h.storage, 2, state.model).await.is_err(), "no model from a forged aggregate");
    let cached = agg_view.checked_model(&h.storage, 2, state.model).await.expect("replayed before the forgery");
    assert_eq!(cached.expect("model").values, reports[1].new_model);
}

/// Round `round`'s `newModel` word, what round `round + 1` starts from.
async fn model_word(view: &fedproof::roles::JobView, round: u32) -> U256 {
    let events = view.finalized_events().await.expect("events");
    events.iter().find(|(ev, _)| ev.round == U256::from(round)).expect("finalized").0.newModel
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_mismatching_blobs_make_slots_unavailable() {
    let h = Harness::start().await;
    let job = h.create_job(1).await;
    let agg_view = h.view(&h.aggregator, job).await;
    let aggregator = spawn_aggregator(&h, agg_view.clone());
    let uploads = [Upload::Honest, Upload::Honest, Upload::Never, Upload::Mismatched];
    let trainers = start_trainers(&h, job, &uploads, &[]).await;
    let reports = aggregator.await.expect("task").expect("aggregator");
    finish(trainers).await;

    let r = &reports[0];
    assert_eq!(r.submitted, vec![true; TRAINERS]);
    let reasons: Vec<_> = r.unavailable.iter().map(|(slot, why)| (*slot, why.as_str())).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0].0, 2);
    assert!(reasons[0].1.contains("is not in the store"), "{reasons:?}");
    assert_eq!(reasons[1].0, 3);
    assert!(reasons[1].1.contains("not to the on-chain"), "{reasons:?}");
    assert_eq!(r.inliers, vec![true, true, false, false]);
    let events =
        agg_view.market.RoundFinalized_filter().topic1(U256::from(job)).from_block(0).query().await.expect("events");
    assert_eq!(events[0].0.unavailableBits, U256::from(0b1100));
    let rows = audit::audit(&agg_view, &common::keys().vk, Some(h.recompute())).await.expect("audit");
    assert!(rows[0].ok(), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_aggregator_resumes_without_double_submission() {
    let h = Harness::start().await;
    let job = h.create_job(2).await;
    let agg_view = h.view(&h.aggregator, job).await;
    let first = spawn_aggregator(&h, agg_view.clone());
    let trainers = start_trainers(&h, job, &[Upload::Honest; TRAINERS], &[]).await;
    // Kill the aggregator once round 0's submissions are all in: it is then fetching or proving.
    loop {
        let s = agg_view.state().await.expect("state");
        if s.round == 0 && s.submittedCount as usize == TRAINERS {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());
    spawn_aggregator(&h, agg_view.clone()).await.expect("task").expect("aggregator");
    finish(trainers).await;

    assert_eq!(agg_view.state().await.expect("state").status, JobStatus::Completed as u8);
    let events =
        agg_view.market.RoundFinalized_filter().topic1(U256::from(job)).from_block(0).query().await.expect("events");
    assert_eq!(events.iter().map(|(e, _)| e.round.to::<u64>()).collect::<Vec<_>>(), vec![0, 1]);
    // postBond plus one finalizeRound per round: nothing was sent twice.
    assert_eq!(h.nonce(&h.aggregator).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregator_missing_its_deadline_lets_anyone_expire_the_round() {
    let h = Harness::start().await;
    let job = h.create_job(2).await;
    let agg_view = h.view(&h.aggregator, job).await;
    let market = h.owner.market(h.stack.market);
    // The aggregator accepts the job (posts its bond) but never finalizes.
    h.aggregator
        .send("postBond", agg_view.market.postBond(U256::from(job)).value(U256::from(BOND)))
        .await
        .expect("bond");
    let trainers = start_trainers(&h, job, &[Upload::Honest; TRAINERS], &[]).await;
    loop {
        if agg_view.state().await.expect("state").submittedCount as usize == TRAINERS {
            break;
        }
        if let Some(t) = trainers.iter().position(|t| t.is_finished()) {
            let result = trainers.into_iter().nth(t).expect("task").await.expect("join");
            panic!("trainer {t} stopped early: {result:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let early = h.owner.send("expireRound", market.expireRound(U256::from(job))).await;
    assert!(early.expect_err("too early").to_string().contains("DeadlineNotPassed"));
    h.advance(common::START_DELAY + SUBMIT_WINDOW as u64 + FINALIZE_WINDOW as u64 + 1).await;

    // A late aggregator refuses to work on an expired round, with the reason.
    let late = aggregator::run(&agg_view, &h.storage, &h.aggregator_settings(Duration::ZERO), |_| {}).await;
    assert!(late.expect_err("late").to_string().contains("missed its finalization deadline"));
    h.owner.send("expireRound", market.expireRound(U256::from(job))).await.expect("expire");
    assert_eq!(agg_view.state().await.expect("state").status, JobStatus::Expired as u8);
    assert_eq!(finish(trainers).await, vec![1; TRAINERS], "trainers stop once the job ends");

    // The round's budget goes back to the owner; the bond is split among the submitters.
    let owed = |a: Address| market.owed(Address::ZERO, a);
    assert_eq!(owed(h.owner.address).call().await.expect("owed"), U256::from(BUDGET / 2));
    for t in &h.trainers {
        assert_eq!(owed(t.address).call().await.expect("owed"), U256::from(BOND / TRAINERS as u128));
    }
}

/// Attack 12: an owner commits to a round-0 model that is not its spec's model (here, not the
/// commitment of any model it published), so that no round is provable and the first round
/// expires with the bond split among the submitters. The aggregator refuses to post its bond and
/// every trainer refuses to stake; the honest job next to it passes the same check.
#[tokio::test(flavor = "multi_thread")]
async fn attack12_a_job_whose_initial_model_is_not_the_committed_one_gets_no_bond_and_no_stake() {
    let h = Harness::start().await;
    let honest = h.create_job(1).await;
    let market = h.owner.market(h.stack.market);
    let created =
        market.JobCreated_filter().topic1(U256::from(honest)).from_block(0).query().await.expect("JobCreated");
    let forged = honest + 1;
    // Its own spec (the honest job's terms and initial model, for job `forged`), but a C(w₀) that
    // is the commitment of no model.
    let honest_view = h.view(&h.owner, honest).await;
    let values = honest_view.checked_model(&h.storage, 0, created[0].0.params.initialModel).await;
    let values = values.expect("model").expect("published").values;
    let model = fedproof_storage::ModelBlob { job_id: forged, round: 0, values };
    let mut spec = honest_view.spec.clone();
    spec.job_id = forged;
    spec.initial_model = h.storage.put_model(&model).await.expect("model stored").to_string();
    h.storage.put_spec(&spec).await.expect("spec stored");
    let mut params = created[0].0.params.clone();
    params.specHash = fedproof_storage::blob_ref_of(&spec.encode());
    params.initialModel = U256::from(12_345u64);
    params.startTime = alloy::primitives::aliases::U40::from(h.owner.now().await.expect("chain time") + 600);
    let call = market.createJob(params.clone()).value(U256::from(params.budget));
    h.owner.send("createJob", call).await.expect("the contract cannot tell");

    let aggregator = h.view(&h.aggregator, forged).await;
    let err = aggregator.check_terms(&h.storage).await.expect_err("the aggregator checks round 0's model");
    assert!(format!("{err:#}").contains("does not match its on-chain commitment"), "{err:#}");
    let trainer = h.view(&h.trainers[0], forged).await;
    let err = trainer::join(&trainer, &h.storage).await.expect_err("the trainer checks it too");
    assert!(format!("{err:#}").starts_with("not joining"), "{err:#}");
    let slot = trainer.market.slotOf(U256::from(forged), trainer.chain.address).call().await.expect("slotOf");
    assert!(!slot.staked, "no stake was sent");

    h.view(&h.aggregator, honest).await.check_terms(&h.storage).await.expect("the honest job passes");
}
