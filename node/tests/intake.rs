//! Trainers delivering through the aggregator's intake (`fedproof serve` in-process on a free
//! port over a real anvil): every update is receipted and reaches the aggregator, a trainer
//! answered 429 by a full intake waits its Retry-After and delivers, and a trainer whose
//! receipted update is then called unavailable wins the dispute with its kept receipt.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use common::{Harness, Synthetic, BOND, TRAINERS};
use fedproof::roles::aggregator::{self, RoundReport};
use fedproof::roles::intake::Intake;
use fedproof::roles::trainer::{self, Submission, Upload};
use fedproof::roles::{audit, JobView};
use fedproof_storage::Storage;
use fedproof_web_api::http::Limits;
use fedproof_web_api::indexer::IndexerConfig;
use fedproof_web_api::serve::{self, ServeConfig, Server};
use tokio::task::JoinHandle;

/// Starts the web API as job's aggregator: it signs receipts with the aggregator's chain key,
/// opens updates with its sealing key and stores them in `blobs`.
async fn start_intake(h: &Harness, blobs: String, db: &std::path::Path) -> Server {
    start_intake_with(h, blobs, db, Limits::default()).await
}

/// [`start_intake`] with other limits.
async fn start_intake_with(h: &Harness, blobs: String, db: &std::path::Path, limits: Limits) -> Server {
    let config = ServeConfig {
        db_url: format!("sqlite://{}", db.join("fedproof.db").display()),
        rpc_url: h.anvil.endpoint_url(),
        public_rpc_url: None,
        market: h.stack.market,
        listen: "127.0.0.1:0".parse().expect("addr"),
        indexer: IndexerConfig { confirmations: 0, start_block: 0, max_range: 1000, poll: Duration::from_millis(50) },
        dashboard: None,
        aggregator: Some(PrivateKeySigner::from(h.anvil.keys()[1].clone())),
        sealing_key: Some(h.sealing.clone()),
        blobs: Some(blobs),
        keys: HashMap::new(),
        limits,
    };
    serve::start(config).await.expect("server starts")
}

/// Runs one job of `rounds` rounds: trainer i delivers through `intakes[i]` (or into storage);
/// the aggregator waits up to `grace` for updates still being uploaded. The job's spec is also
/// put into `intake_store`, where the intake reads the job's parameter count.
async fn run_job(
    h: &Harness,
    rounds: u32,
    intakes: &[Option<Intake>],
    grace: Duration,
    intake_store: &Storage,
) -> (JobView, Vec<RoundReport>, Vec<Vec<Submission>>) {
    let job = h.create_job(rounds).await;
    let agg_view = h.view(&h.aggregator, job).await;
    intake_store.put_spec(&agg_view.spec).await.expect("spec in the intake's store");
    let aggregator = {
        let (view, storage, settings) = (agg_view.clone(), h.storage.clone(), h.aggregator_settings(grace));
        tokio::spawn(async move { aggregator::run(&view, &storage, &settings, |_| {}).await })
    };
    let mut handles: Vec<JoinHandle<anyhow::Result<Vec<Submission>>>> = Vec::new();
    for (i, chain) in h.trainers.iter().enumerate() {
        let view = h.view(chain, job).await;
        trainer::join(&view, &h.storage).await.expect("join");
        let (storage, intake) = (h.storage.clone(), intakes[i].clone());
        handles.push(tokio::spawn(async move {
            let mut source = Synthetic::new(i, false);
            trainer::run(&view, &storage, intake.as_ref(), &mut source, Upload::Honest).await
        }));
    }
    let reports = aggregator.await.expect("task").expect("aggregator");
    let mut submissions = Vec::new();
    for t in handles {
        submissions.push(t.await.expect("task").expect("trainer"));
    }
    (agg_view, reports, submissions)
}

/// A one-round job with its aggregator running (waiting up to 120 s for uploads) and every
/// trainer joined, so that round 0 opens with all slots taken.
async fn one_round_job(h: &Harness) -> (u64, JobView, JoinHandle<anyhow::Result<Vec<RoundReport>>>) {
    let job = h.create_job(1).await;
    let agg_view = h.view(&h.aggregator, job).await;
    let aggregator = {
        let (view, storage, settings) =
            (agg_view.clone(), h.storage.clone(), h.aggregator_settings(Duration::from_secs(120)));
        tokio::spawn(async move { aggregator::run(&view, &storage, &settings, |_| {}).await })
    };
    for chain in &h.trainers {
        trainer::join(&h.view(chain, job).await, &h.storage).await.expect("join");
    }
    (job, agg_view, aggregator)
}

/// Trainer i's `trainer submit` of its synthetic round-0 update through the intake at `api`,
/// keeping its receipts under `dir/receipts-i`.
fn submit(
    h: &Harness,
    api: &url::Url,
    dir: &std::path::Path,
    job: u64,
    i: usize,
) -> JoinHandle<anyhow::Result<Submission>> {
    use fedproof::roles::trainer::UpdateSource;
    let (storage, chain, market) = (h.storage.clone(), h.trainers[i].clone(), h.stack.market);
    let intake = Intake::new(api.clone(), dir.join(format!("receipts-{i}"))).expect("intake");
    let values = Synthetic::new(i, false).update(0, &[0; common::PARAMS]).expect("update");
    tokio::spawn(async move {
        let view = JobView::load(&chain, market, job, &storage).await?;
        trainer::submit(&view, &storage, Some(&intake), Some(0), values).await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainers_deliver_through_the_intake_and_keep_receipts() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The server stores into the aggregator's own blob store.
    let server = start_intake(&h, h.storage_dir(), dir.path()).await;
    let api: url::Url = format!("http://{}", server.addr).parse().expect("url");
    let receipts = dir.path().join("receipts");
    let intakes: Vec<_> =
        (0..TRAINERS).map(|i| Some(Intake::new(api.clone(), receipts.join(i.to_string())).expect("intake"))).collect();
    // Uploads follow their commitments: the aggregator waits for them (the wait ends when the
    // last one is stored; the bound is only there so that a lost upload cannot hang the test).
    let (agg_view, reports, submissions) = run_job(&h, 2, &intakes, Duration::from_secs(120), &h.storage).await;

    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert!(r.unavailable.is_empty(), "round {}: {:?}", r.round, r.unavailable);
        assert_eq!(r.submitted, vec![true; TRAINERS]);
    }
    for (i, subs) in submissions.iter().enumerate() {
        assert_eq!(subs.len(), 2, "trainer {i}");
        for s in subs {
            let kept = s.receipt.as_ref().unwrap_or_else(|| panic!("trainer {i} round {} has no receipt", s.round));
            assert_eq!((kept.round, kept.slot as usize, &kept.commitment), (s.round, i, &s.commitment));
            // The receipt is kept on disk, and is what a later run reads back.
            let view = h.view(&h.trainers[i], agg_view.id).await;
            assert_eq!(intakes[i].as_ref().and_then(|k| k.receipt(&view, s.round).expect("read")), Some(kept.clone()));
            // What the intake stored is the blob named on-chain.
            let cid = fedproof_storage::blobs::parse_cid(&kept.cid).expect("cid");
            assert!(h.storage.blobs().contains(&cid).await.expect("store"));
        }
    }
    let rows = audit::audit(&agg_view, &common::keys().vk, Some(h.recompute())).await.expect("audit");
    assert!(rows.iter().all(|r| r.ok()), "{rows:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipted_update_called_unavailable_wins_the_dispute() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The server stores into a store the aggregator never reads: trainer 3's receipted update is
    // lost to it, as if the aggregator withheld it.
    let elsewhere = dir.path().join("server-blobs").to_string_lossy().into_owned();
    let elsewhere_store = Storage::open(&elsewhere).expect("store");
    let server = start_intake(&h, elsewhere, dir.path()).await;
    let api: url::Url = format!("http://{}", server.addr).parse().expect("url");
    let intake = Intake::new(api, dir.path().join("receipts")).expect("intake");
    let intakes = [None, None, None, Some(intake.clone())];
    // Trainer 3's update never reaches the aggregator's store: after the grace it is unavailable.
    let (agg_view, reports, submissions) = run_job(&h, 1, &intakes, Duration::from_secs(2), &elsewhere_store).await;

    assert_eq!(reports[0].unavailable.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![3]);
    assert!(submissions[3][0].receipt.is_some(), "the intake receipted trainer 3's update");
    let view = h.view(&h.trainers[3], agg_view.id).await;
    let withdrawn = trainer::withdraw(&view, Some(&intake)).await.expect("withdraw");
    // Unavailable slots score nothing; the dispute slashes bond / n in the trainer's favour.
    assert_eq!(withdrawn, U256::from(BOND / TRAINERS as u128));
    let disputes = agg_view.market.Disputed_filter().from_block(0).query().await.expect("events");
    assert_eq!(disputes.len(), 1);
    assert_eq!((disputes[0].0.slot, disputes[0].0.trainer), (U256::from(3), h.trainers[3].address));
    // An honest trainer without receipts has nothing to dispute, and is paid its share.
    let honest = trainer::withdraw(&h.view(&h.trainers[0], agg_view.id).await, None).await.expect("withdraw");
    assert!(honest > U256::ZERO);
    assert_eq!(agg_view.market.Disputed_filter().from_block(0).query().await.expect("events").len(), 1);
    server.shutdown().await;
}

/// `trainer submit` (an update trained elsewhere) through the intake: each submission waits for
/// the commit phase to close and comes back receipted; a trainer stopped after committing and
/// run again delivers what it committed instead of committing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_submitted_one_by_one_are_delivered_and_receipted_also_after_a_stop() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_intake(&h, h.storage_dir(), dir.path()).await;
    let api: url::Url = format!("http://{}", server.addr).parse().expect("url");
    // Everyone joins before round 0 opens (else the commit phase would close with the first).
    let (job, agg_view, aggregator) = one_round_job(&h).await;
    let submit = |i: usize| submit(&h, &api, dir.path(), job, i);
    // Trainer 0 commits, then stops while it waits for the others.
    let first = submit(0);
    while !agg_view.market.submittedBits(U256::from(job), U256::ZERO).call().await.expect("bits").bit(0) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.abort();
    let handles: Vec<_> = (0..TRAINERS).map(submit).collect();
    let mut submissions = Vec::new();
    for t in handles {
        submissions.push(t.await.expect("task").expect("submit"));
    }
    let reports = aggregator.await.expect("task").expect("aggregator");
    assert!(reports[0].unavailable.is_empty(), "{:?}", reports[0].unavailable);
    assert_eq!(submissions[0].tx, None, "the rerun delivered the earlier commitment");
    assert!(submissions[1..].iter().all(|s| s.tx.is_some()));
    for (i, s) in submissions.iter().enumerate() {
        let kept = s.receipt.as_ref().unwrap_or_else(|| panic!("trainer {i} has no receipt"));
        assert_eq!((kept.round, kept.slot as usize, &kept.commitment), (0, i, &s.commitment));
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainers_wait_out_a_full_intake_and_deliver() {
    use tokio::io::AsyncWriteExt;
    let h = Harness::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = Limits { concurrent_uploads: 1, ..Limits::default() };
    let server = start_intake_with(&h, h.storage_dir(), dir.path(), limits).await;
    let api: url::Url = format!("http://{}", server.addr).parse().expect("url");
    let (job, agg_view, aggregator) = one_round_job(&h).await;
    // A client holds the intake's only permit by never finishing its upload's body.
    let mut stalled = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "POST /api/jobs/{job}/rounds/0/updates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 100000\r\n\r\n{{"
    );
    stalled.write_all(head.as_bytes()).await.expect("write");
    let handles: Vec<_> = (0..TRAINERS).map(|i| submit(&h, &api, dir.path(), job, i)).collect();
    // Once every slot committed, the trainers upload and are answered 429 with a Retry-After;
    // two seconds later the stalled client goes away.
    while agg_view.market.jobState(U256::from(job)).call().await.expect("state").submittedCount < TRAINERS as u16 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(stalled);
    for (i, t) in handles.into_iter().enumerate() {
        let s = t.await.expect("task").unwrap_or_else(|e| panic!("trainer {i} gave up on a full intake: {e:#}"));
        let kept = s.receipt.as_ref().unwrap_or_else(|| panic!("trainer {i} has no receipt"));
        assert_eq!((kept.round, kept.slot as usize), (0, i));
    }
    let reports = aggregator.await.expect("task").expect("aggregator");
    assert!(reports[0].unavailable.is_empty(), "{:?}", reports[0].unavailable);
    server.shutdown().await;
}
