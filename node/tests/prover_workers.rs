//! Prover workers on the real NATS JetStream server (`NATS_URL`), each a separate `fedproof
//! prover worker` process: a worker killed with SIGKILL mid-task has its task proven by another,
//! a task whose result is already written is not proven twice, a task that cannot be proven
//! comes back as an error, a worker that answers with a forged proof has it refused and the
//! task proven again, and an aggregator restarted mid-round settles the round with the proof a
//! worker made while it was down.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use bytes::Bytes;
use common::{fedproof, Harness, Running, TRAINERS};
use fedproof::proving::queue::{Queue, TaskMessage, TaskResult};
use fedproof::proving::task::task_id;
use fedproof::proving::{ProofTask, Prover, RemoteProver, Task};
use fedproof::roles::aggregator::{self, Settings};
use fedproof::roles::trainer::{self, Upload};
use fedproof_contracts::JobStatus;
use fedproof_prover::export::calldata::SolidityCalldata;
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::shape::Shape;
use fedproof_prover::snark;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Seconds a taken task may go unacknowledged: short, so a killed worker's task comes back soon.
const ACK_WAIT: &str = "3";

/// A queue of its own on the NATS server (deleted at the end), a blob store and the aggregator's
/// sealing key on disk, as the workers read them.
struct Fixture {
    queue: Queue,
    storage: Storage,
    sealing: Arc<AggregatorKey>,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn new(label: &str, storage: Storage, sealing: Arc<AggregatorKey>) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        sealing.save(&dir.path().join("aggregator.age")).expect("save the sealing key");
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
        let name = format!("test-{label}-{}-{nanos}", std::process::id());
        let queue = Queue::connect(&common::nats_url(), &name).await.expect("connect to NATS (is NATS_URL up?)");
        Fixture { queue, storage, sealing, dir }
    }

    /// Starts `fedproof prover worker --json` on this queue.
    fn worker(&self, what: &str, extra: &[&str]) -> Running {
        let (nats, key) = (common::nats_url(), self.dir.path().join("aggregator.age"));
        let key = key.to_string_lossy();
        let mut args = vec!["prover", "worker", "--nats", &nats, "--queue", &self.queue.names.stream];
        args.extend(["--storage", self.storage.blobs().location(), "--sealing-key", &key, "--ack-wait", ACK_WAIT]);
        args.extend(extra);
        args.extend(["--name", what, "--json"]);
        Running::spawn(fedproof(&args, ""), what, self.dir.path())
    }

    /// A prover for `shape` on this queue, as a (re)started aggregator makes it.
    async fn remote(&self, shape: Shape) -> RemoteProver {
        let queue = Queue::connect(&common::nats_url(), &self.queue.names.stream).await.expect("connect");
        let recipient = self.sealing.recipient();
        RemoteProver::new(queue, &self.storage, &common::key_store(), shape, recipient, Duration::from_secs(300))
            .await
            .expect("publish the proving key")
    }

    /// Tasks waiting in the stream (taken but unacknowledged ones included).
    async fn queued(&self) -> u64 {
        let mut stream = self.queue.js.get_stream(&self.queue.names.stream).await.expect("stream");
        stream.info().await.expect("stream info").state.messages
    }

    async fn delete(self) {
        common::delete_queue(&self.queue.names.stream).await;
    }
}

/// The events a worker has printed, by kind.
fn events(worker: &Running, kind: &str) -> Vec<serde_json::Value> {
    worker.json_lines().into_iter().filter(|e| e["event"] == kind).collect()
}

/// Waits (bounded) until `worker` has printed `count` events of `kind`.
async fn wait_for(worker: &Running, kind: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while events(worker, kind).len() < count {
        assert!(Instant::now() < deadline, "no {kind} event: {:?} {}", worker.json_lines(), worker.stderr());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A seeded synthetic round of `shape`, one attacker in the last slot.
fn round(shape: Shape) -> ProofTask {
    ProofTask { input: synthetic(shape, 1, 5).input, unavailable: vec![] }
}

fn task(shape: Shape) -> Task {
    Task::Round(round(shape))
}

/// The public inputs a task's proof is for.
fn inputs(task: &Task) -> Vec<ark_bn254::Fr> {
    task.statement().expect("statement").public_inputs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_task_has_its_task_proven_by_another() {
    // Big enough that loading the key and proving take most of a second: the kill lands mid-task.
    let shape = Shape::new(4, 1000).expect("shape");
    let keys = common::key_store().load_or_setup(shape, &mut ChaCha20Rng::seed_from_u64(3)).expect("setup");
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(&dir.path().to_string_lossy()).expect("storage");
    let fx = Fixture::new("kill", storage.clone(), Arc::new(AggregatorKey::generate())).await;
    let remote = fx.remote(shape).await;
    let task = task(shape);
    let proving = {
        let (storage, task) = (storage.clone(), task.clone());
        tokio::spawn(async move { remote.prove(&storage, &task).await })
    };

    let mut first = fx.worker("first", &[]);
    wait_for(&first, "taken", 1).await;
    first.kill();
    assert!(events(&first, "proved").is_empty(), "killed before it proved: {:?}", first.json_lines());

    let second = fx.worker("second", &[]);
    let (proof, _) = tokio::time::timeout(Duration::from_secs(300), proving)
        .await
        .expect("the task is proven in time")
        .expect("task")
        .expect("proof");
    let inputs = inputs(&task);
    assert!(snark::verify_inputs(&keys.vk, &inputs, &proof).expect("verify"), "the worker's proof verifies");
    let taken = events(&second, "taken");
    assert_eq!(taken.len(), 1, "{:?}", second.json_lines());
    assert_eq!(taken[0]["delivery"], 2, "the queue gave the killed worker's task to the second worker");
    assert_eq!(events(&second, "proved").len(), 1);
    assert_eq!(fx.queued().await, 0, "the acknowledged task has left the work queue");
    drop(second);
    fx.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_already_proven_is_not_proven_again() {
    let shape = Shape::new(TRAINERS, common::PARAMS).expect("shape");
    let keys = common::keys();
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(&dir.path().to_string_lossy()).expect("storage");
    let fx = Fixture::new("again", storage.clone(), Arc::new(AggregatorKey::generate())).await;
    let task = task(shape);
    let worker = fx.worker("worker", &[]);
    let (first, _) = fx.remote(shape).await.prove(&storage, &task).await.expect("proof");

    // A restarted aggregator asks again: the result is read back, nothing is published.
    let (again, _) = fx.remote(shape).await.prove(&storage, &task).await.expect("proof");
    assert_eq!(again, first, "the same proof, read from the results bucket");
    // A worker that died between writing the result and acknowledging leaves the task to be
    // delivered again: the next worker sees the result and skips it.
    let remote = fx.remote(shape).await;
    let id = task_id(remote.key(), &task.encode().expect("encode"));
    let message =
        TaskMessage { task: id, key: remote.key().to_string(), sealed_task: String::new(), circuit: shape.into() };
    let payload = Bytes::from(serde_json::to_vec(&message).expect("json"));
    fx.queue.js.publish(fx.queue.names.subject.clone(), payload).await.expect("publish").await.expect("stored");
    wait_for(&worker, "skipped", 1).await;
    assert_eq!(events(&worker, "taken").len(), 1, "proven once: {:?}", worker.json_lines());
    assert!(snark::verify_inputs(&keys.vk, &inputs(&task), &first).expect("verify"));
    drop(worker);
    fx.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_cannot_be_proven_comes_back_as_an_error() {
    let shape = Shape::new(TRAINERS, common::PARAMS).expect("shape");
    common::keys(); // the aggregator's side publishes the shape's proving key
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(&dir.path().to_string_lossy()).expect("storage");
    let fx = Fixture::new("invalid", storage.clone(), Arc::new(AggregatorKey::generate())).await;
    let mut bad = round(shape);
    bad.input.updates[0].as_mut().expect("slot 0 submitted").pop();
    let bad = Task::Round(bad);
    let worker = fx.worker("worker", &[]);
    let err = fx.remote(shape).await.prove(&storage, &bad).await.expect_err("a short update cannot be proven");
    let message = format!("{err:#}");
    assert!(message.contains("could not prove") && message.contains("update"), "{message}");
    let failed = events(&worker, "failed");
    assert_eq!(failed.len(), 1, "{:?}", worker.json_lines());
    // The worker acknowledges right after writing the result the aggregator's side just read.
    let deadline = Instant::now() + Duration::from_secs(30);
    while fx.queued().await != 0 {
        assert!(Instant::now() < deadline, "a failed task is settled, not retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(worker);
    fx.delete().await;
}

/// A lying worker answers a task with a real proof of another round (cheaper than proving, and
/// it would stall or corrupt the settlement). The aggregator's side checks every proof against
/// the task's public inputs: it removes the forgery from the results bucket, publishes the task
/// again, and what it returns is the honest worker's proof.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_returning_a_forged_proof_has_it_refused_and_the_task_proven_again() {
    let shape = Shape::new(TRAINERS, common::PARAMS).expect("shape");
    let keys = common::keys();
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(&dir.path().to_string_lossy()).expect("storage");
    let fx = Fixture::new("liar", storage.clone(), Arc::new(AggregatorKey::generate())).await;
    let task = task(shape);
    let remote = fx.remote(shape).await;
    let id = task_id(remote.key(), &task.encode().expect("encode"));
    let other = ProofTask { input: synthetic(shape, 1, 6).input, unavailable: vec![] };
    let forged = snark::prove(&keys.pk, other.witness().expect("witness"), &mut ChaCha20Rng::seed_from_u64(9))
        .expect("a proof of another round");
    let words = SolidityCalldata::new(&forged, &[]).proof_words().map(|w| U256::from_be_bytes(w.0));
    let lie = TaskResult::Proved { proof: Box::new(words), worker: "liar".into(), seconds: 0.1 };
    fx.queue.put_result(&id, &lie).await.expect("the liar's answer");

    let worker = fx.worker("honest", &[]);
    let (proof, _) = remote.prove(&storage, &task).await.expect("a proof");
    assert_ne!(proof, forged, "the forgery was not used");
    let inputs = inputs(&task);
    assert!(snark::verify_inputs(&keys.vk, &inputs, &proof).expect("verify"));
    match fx.queue.result(&id).await.expect("read").expect("a result") {
        TaskResult::Proved { worker, .. } => assert_eq!(worker, "honest", "the forgery was replaced"),
        failed => panic!("{failed:?}"),
    }
    assert_eq!(events(&worker, "proved").len(), 1, "{:?}", worker.json_lines());
    drop(worker);
    fx.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregator_restarted_mid_round_settles_with_the_workers_proof() {
    let h = Harness::start().await;
    let fx = Fixture::new("restart", h.storage.clone(), h.sealing.clone()).await;
    let shape = Shape::new(TRAINERS, common::PARAMS).expect("shape");
    // Publishing the proving key takes a while: done before the job's short join window opens.
    let first_prover = fx.remote(shape).await;
    let job = h.create_job(1).await;
    let view = h.view(&h.aggregator, job).await;
    let aggregator = |prover: RemoteProver| {
        let prover = Prover::Workers(Arc::new(prover));
        let settings = Settings { prover, ..h.aggregator_settings(Duration::from_secs(1)) };
        let (view, storage) = (view.clone(), h.storage.clone());
        tokio::spawn(async move { aggregator::run(&view, &storage, &settings, |_| {}).await })
    };
    let first = aggregator(first_prover);
    let mut trainers = Vec::new();
    for (i, chain) in h.trainers.iter().enumerate() {
        let trainer_view = h.view(chain, job).await;
        trainer::join(&trainer_view, &h.storage).await.expect("join");
        let storage = h.storage.clone();
        trainers.push(tokio::spawn(async move {
            let mut source = common::Synthetic::new(i, false);
            trainer::run(&trainer_view, &storage, None, &mut source, Upload::Honest).await.map(|s| s.len())
        }));
    }
    // Once round 0's task is on the queue (no worker runs yet), the aggregator dies.
    let deadline = Instant::now() + Duration::from_secs(120);
    while fx.queued().await == 0 {
        assert!(Instant::now() < deadline, "the aggregator published no task");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());

    // A worker proves the task while no aggregator runs, then the aggregator comes back.
    let worker = fx.worker("worker", &["--max-tasks", "1"]);
    wait_for(&worker, "proved", 1).await;
    aggregator(fx.remote(shape).await).await.expect("task").expect("aggregator");
    for t in trainers {
        assert_eq!(t.await.expect("trainer task").expect("trainer"), 1);
    }
    assert_eq!(view.state().await.expect("state").status, JobStatus::Completed as u8);
    let finalized =
        view.market.RoundFinalized_filter().topic1(U256::from(job)).from_block(0).query().await.expect("events");
    assert_eq!(finalized.len(), 1);
    // postBond and one finalizeRound: the restarted aggregator sent nothing twice.
    assert_eq!(h.nonce(&h.aggregator).await, 2);
    assert_eq!(events(&worker, "taken").len(), 1, "proven once: {:?}", worker.json_lines());
    fx.delete().await;
}

/// An aggregator whose runtime is starved past the server's idle heartbeats (workers proving on
/// the same cores, a long synchronous step) finds its watch of the results bucket broken: it
/// watches again and still gets the result, instead of failing the round.
#[tokio::test(flavor = "current_thread")]
async fn a_broken_results_watch_is_made_again() {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    let name = format!("test-rewatch-{}-{nanos}", std::process::id());
    let queue = Queue::connect(&common::nats_url(), &name).await.expect("connect to NATS (is NATS_URL up?)");
    let waiting = tokio::spawn({
        let queue = queue.clone();
        async move { queue.wait_result("task-1").await }
    });
    // The watch is on the server (its consumer exists) and being polled.
    let mut results = queue.js.get_stream(format!("KV_{}", queue.names.bucket)).await.expect("the results stream");
    let begun = Instant::now();
    while results.info().await.expect("stream info").state.consumer_count == 0 {
        assert!(begun.elapsed() < Duration::from_secs(30), "the watch was never made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // One thread, blocked for longer than twice the watch's 5 s idle heartbeat: when it runs
    // again, the watch reports the heartbeats it missed.
    std::thread::sleep(Duration::from_secs(11));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished(), "the wait ended with the broken watch: {:?}", waiting.await);

    let result = TaskResult::Failed { reason: "written after the watch broke".into() };
    queue.put_result("task-1", &result).await.expect("write the result");
    let got = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the result arrives through the new watch")
        .expect("task")
        .expect("no error");
    assert!(matches!(got, TaskResult::Failed { ref reason } if reason == "written after the watch broke"), "{got:?}");
    common::delete_queue(&name).await;
}
