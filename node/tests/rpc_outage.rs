//! The Ethereum node unreachable for 30 s in the middle of a round. The aggregator and the four
//! trainers talk to anvil through a TCP proxy (web-api's test proxy, shared: while down it drops
//! every open connection and closes each new one at once, as a node restarting or a cut network
//! looks to a client), taken down as soon as the first trainer has committed to round 0 of a
//! two-round job; the other trainers start their round during the outage, and the aggregator is
//! waiting for their commitments. Every role waits the outage out, logging each retry, with
//! backoff (not a hot loop), no process or task is restarted, and the job settles once the node is
//! back, each transaction sent once: every signer's nonce ends at exactly the transactions the
//! job needs.
//!
//! And the answer to a send lost after the node took the transaction (a gateway's 502): the
//! send is replayed and counted once.

mod common;
#[path = "../../web-api/tests/support/proxy.rs"]
mod proxy;

use std::io::Write;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use axum::http::StatusCode;
use common::{Harness, Synthetic, TRAINERS};
use fedproof::chain::Chain;
use fedproof::roles::aggregator;
use fedproof::roles::trainer::{self, Upload};
use fedproof_contracts::JobStatus;
use proxy::Proxy;

/// How long the node is unreachable.
const OUTAGE: Duration = Duration::from_secs(30);
/// Rounds of the job.
const ROUNDS: u32 = 2;

/// The log lines of the roles, kept for the assertions.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

/// The job's state as the test sees it (directly from anvil, not through the proxy).
async fn job_state(h: &Harness, job: u64) -> fedproof_contracts::JobMarket::State {
    h.owner.market(h.stack.market).jobState(U256::from(job)).call().await.expect("job state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_down_for_30_s_mid_round_is_waited_out_and_the_job_settles() {
    let logs = Logs::default();
    let filter = tracing_subscriber::EnvFilter::new("fedproof=info");
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(logs.clone()).init();

    let h = Harness::start().await;
    let anvil = h.anvil.endpoint_url().socket_addrs(|| None).expect("anvil's address")[0];
    let proxy = Proxy::start(anvil).await;
    let rpc = format!("http://{}", proxy.addr);
    let connect = |i: usize| {
        let signer = PrivateKeySigner::from(h.anvil.keys()[i].clone());
        Chain::connect(&rpc, Some(h.anvil.chain_id()), signer)
    };
    // The roles' connections go through the proxy; the harness's owner (the test's observer)
    // talks to anvil directly.
    let agg_chain = connect(1).await.expect("aggregator");
    let mut trainer_chains = Vec::new();
    for i in 0..TRAINERS {
        trainer_chains.push(connect(2 + i).await.expect("trainer"));
    }
    let job = h.create_job(ROUNDS).await;
    let agg = h.view(&agg_chain, job).await;
    let settings = h.aggregator_settings(Duration::from_secs(1));
    let aggregator = {
        let (agg, storage) = (agg.clone(), h.storage.clone());
        tokio::spawn(async move { aggregator::run(&agg, &storage, &settings, |_| {}).await })
    };
    let mut trainers = Vec::new();
    for (i, chain) in trainer_chains.iter().enumerate() {
        let view = h.view(chain, job).await;
        trainer::join(&view, &h.storage).await.expect("join");
        let storage = h.storage.clone();
        trainers.push(tokio::spawn(async move {
            // Trainer 0 starts at once; the others 3 s apart, so that they start their round
            // while the node is unreachable.
            tokio::time::sleep(Duration::from_secs(3) * i as u32).await;
            let mut source = Synthetic::new(i, i == 3);
            trainer::run(&view, &storage, None, &mut source, Upload::Honest).await
        }));
    }

    // The first commitment of round 0 is in: the node goes away.
    let begun = Instant::now();
    while job_state(&h, job).await.submittedCount == 0 {
        assert!(begun.elapsed() < Duration::from_secs(120), "no trainer committed to round 0");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.down();
    let down = Instant::now();
    let accepted_before = proxy.accepted();
    let retries_before: Vec<u64> = trainer_chains.iter().chain([&agg_chain]).map(Chain::rpc_retries).collect();
    let at_down = job_state(&h, job).await;
    tokio::time::sleep(OUTAGE).await;
    let during = job_state(&h, job).await;
    let attempts = proxy.accepted() - accepted_before;
    let retries: Vec<u64> = trainer_chains
        .iter()
        .chain([&agg_chain])
        .map(Chain::rpc_retries)
        .zip(&retries_before)
        .map(|(now, before)| now - before)
        .collect();

    // Nothing could reach the chain: round 0 has what it had when the node went away. No role
    // has given up.
    assert_eq!((during.round, during.submittedCount), (0, at_down.submittedCount), "the node was unreachable");
    assert!(usize::from(at_down.submittedCount) < TRAINERS, "some trainers had yet to commit when the node went away");
    assert!(!aggregator.is_finished(), "the aggregator gave up during the outage");
    for (i, t) in trainers.iter().enumerate() {
        assert!(!t.is_finished(), "trainer {i} gave up during the outage");
    }
    // Backoff, not a hot loop: a role polls every 200 ms, so five roles retrying at that pace
    // would have made ~750 connections in 30 s; doubling from 0.5 s to 10 s is at most 7
    // retries each.
    assert!(retries.iter().all(|&r| r <= 8), "retries per role during the outage: {retries:?}");
    assert!(retries[0] > 0 && retries[TRAINERS] > 0, "trainer 0 and the aggregator kept trying: {retries:?}");
    assert!(attempts < 100, "{attempts} connections to the proxy during the outage");

    // The node is back: the same tasks go on, round 0 settles, then round 1.
    proxy.up();
    let up = Instant::now();
    while job_state(&h, job).await.round == 0 {
        assert!(up.elapsed() < Duration::from_secs(60), "round 0 did not settle after the node came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let round0_after = up.elapsed();
    let reports = tokio::time::timeout(Duration::from_secs(120), aggregator)
        .await
        .expect("the aggregator finishes the job")
        .expect("aggregator task")
        .expect("aggregator");
    let mut submitted = Vec::new();
    for t in trainers {
        submitted.push(t.await.expect("trainer task").expect("trainer").len());
    }
    let settled = up.elapsed();

    assert_eq!(reports.len(), ROUNDS as usize);
    assert_eq!(reports.iter().map(|r| r.round).collect::<Vec<_>>(), [0, 1]);
    for report in &reports {
        assert_eq!(report.submitted, vec![true; TRAINERS], "round {}: every slot committed", report.round);
        assert!(report.unavailable.is_empty(), "round {}: {:?}", report.round, report.unavailable);
        assert_eq!(report.inliers, vec![true, true, true, false], "round {}: the attacker is flagged", report.round);
    }
    assert_eq!(submitted, vec![ROUNDS as usize; TRAINERS], "each trainer submitted each round once");
    let end = job_state(&h, job).await;
    assert_eq!((end.status, end.round), (JobStatus::Completed as u8, ROUNDS), "the job settled");
    // Sent once each: join + one submitUpdate a round; postBond + one finalizeRound a round.
    for chain in &trainer_chains {
        assert_eq!(h.nonce(chain).await, 1 + u64::from(ROUNDS), "trainer {} sent a transaction twice", chain.address);
    }
    assert_eq!(h.nonce(&agg_chain).await, 1 + u64::from(ROUNDS), "the aggregator sent a transaction twice");

    // The log says what happened, in words an operator can act on.
    let log = logs.text();
    let retry_lines = log.lines().filter(|l| l.contains("the Ethereum node does not answer")).count();
    assert!(retry_lines > 0, "no retry was logged:\n{log}");
    assert!(log.contains(&format!("node={rpc}")), "the log names the node:\n{log}");
    assert!(log.contains("the Ethereum node answers again"), "the recovery is logged:\n{log}");
    eprintln!(
        "node unreachable for {:.1} s (down after {} of {TRAINERS} commitments); retries per role during it \
         (trainers 0-3, aggregator) {retries:?}, {attempts} connections to the proxy, {retry_lines} retry lines logged; \
         round 0 settled {:.1} s after the node came back, the job {:.1} s after",
        down.elapsed().as_secs_f64() - up.elapsed().as_secs_f64(),
        at_down.submittedCount,
        round0_after.as_secs_f64(),
        settled.as_secs_f64()
    );
    if let Some(line) = log.lines().find(|l| l.contains("the Ethereum node does not answer")) {
        eprintln!("first retry logged: {line}");
    }
}

/// A JSON-RPC gateway in front of anvil that loses answers to sends on request: it forwards the
/// request, so the node takes the transaction, and answers the client 502 instead of the node's
/// answer (a gateway whose upstream connection dropped after the request went out).
struct LossyGateway {
    url: String,
    lose: Arc<AtomicUsize>,
    lost: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl LossyGateway {
    async fn start(node: url::Url) -> Self {
        let (lose, lost) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (lose_, lost_, client) = (lose.clone(), lost.clone(), reqwest::Client::new());
        let forward = move |body: String| {
            let (lose, lost, client, node) = (lose_.clone(), lost_.clone(), client.clone(), node.clone());
            async move {
                let answer = client.post(node).header("content-type", "application/json").body(body.clone()).send();
                let answer = answer.await.expect("anvil answers").text().await.expect("answer body");
                let is_send = body.contains("\"eth_sendRawTransaction\"");
                if is_send && lose.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok() {
                    lost.fetch_add(1, SeqCst);
                    return (StatusCode::BAD_GATEWAY, String::new());
                }
                (StatusCode::OK, answer)
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new().route("/", axum::routing::post(forward));
        let task = tokio::spawn(async move { axum::serve(listener, app).await.expect("gateway") });
        LossyGateway { url, lose, lost, task }
    }
}

impl Drop for LossyGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A trainer's `join` whose answer is lost after the node took it: the client sends the same
/// signed bytes again, the node refuses them (it has the transaction), and the client finds the
/// node has that very transaction, so the join is done, once: not an error, not a second
/// transaction, not a second stake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_answer_is_lost_is_sent_once() {
    let h = Harness::start().await;
    let gateway = LossyGateway::start(h.anvil.endpoint_url()).await;
    let signer = PrivateKeySigner::from(h.anvil.keys()[2].clone());
    let chain = Chain::connect(&gateway.url, Some(h.anvil.chain_id()), signer).await.expect("connect");
    let job = h.create_job(1).await;
    let view = h.view(&chain, job).await;
    let (nonce, balance) = (h.nonce(&chain).await, h.balance(&chain).await);

    gateway.lose.store(1, SeqCst);
    let slot = tokio::time::timeout(Duration::from_secs(60), trainer::join(&view, &h.storage))
        .await
        .expect("join returns")
        .expect("a join whose answer was lost is done, not an error");

    assert_eq!(gateway.lost.load(SeqCst), 1, "the gateway lost the answer to the join");
    assert!(chain.rpc_retries() >= 1, "the send was sent again");
    assert_eq!(h.nonce(&chain).await, nonce + 1, "one transaction, not two");
    let (staked, on_chain_slot) = {
        let r = h.owner.market(h.stack.market).slotOf(U256::from(job), chain.address).call().await.expect("slotOf");
        (r.staked, r.slot)
    };
    assert!(staked && on_chain_slot == U256::from(slot), "the trainer holds slot {slot}");
    let stake = U256::from(view.config.stake);
    let spent = balance - h.balance(&chain).await;
    assert!(spent >= stake && spent < stake * U256::from(2), "one stake paid: {spent} wei for a stake of {stake}");
}
