//! `bench prover --nats URL --workers K`: a synthetic round's proof tasks proven by K local
//! `fedproof prover worker` processes over a private NATS JetStream queue, timed from the
//! aggregator's side.
//!
//! A whole round is one task, so one worker proves it and the others wait: what that measures is
//! the queue's overhead (publishing the key and the sealed task, the worker loading them) on top
//! of the proof. With `--chunk D` the round is one task per chunk plus the final proof, all
//! published at once, and the workers share them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use fedproof::proving::queue::Queue;
use fedproof::proving::{RemoteProver, Task};
use fedproof_prover::keys::KeyStore;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;
use serde::Serialize;

/// What proving on workers took.
#[derive(Serialize)]
pub struct WorkerFigures {
    /// Worker processes started.
    pub workers: usize,
    /// Proof tasks the round was split into.
    pub tasks: usize,
    /// From publishing the proving key to holding the proof, as the aggregator waits.
    pub wall_s: f64,
    /// The busiest worker's proving time (the sum over the tasks it proved).
    pub worker_prove_s: f64,
    /// Proving time summed over all tasks and workers.
    pub total_prove_s: f64,
    /// Each task's proving time on its worker, in task order.
    pub task_prove_s: Vec<f64>,
    /// `wall_s − worker_prove_s`: keys and tasks through the blob store and the queue, and
    /// waiting.
    pub overhead_s: f64,
    /// Projected wall time on `workers` machines: the slowest task plus the overhead (with one
    /// task, the wall time itself).
    pub projected_wall_s: f64,
    /// Peak resident memory of each worker process (Linux `VmHWM`), in start order.
    pub worker_peak_rss_bytes: Vec<Option<u64>>,
}

/// Worker processes, killed when dropped.
pub(super) struct Workers(pub(super) Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Proves `tasks` (all published at once) on `count` local workers through a queue of its own
/// on `url`; returns the proofs in task order and the figures. The queue is deleted afterwards.
pub async fn prove_on_workers(
    url: &str,
    count: usize,
    keys: &KeyStore,
    tasks: &[Task],
) -> anyhow::Result<(Vec<ark_groth16::Proof<ark_bn254::Bn254>>, WorkerFigures)> {
    anyhow::ensure!(count >= 1, "--workers must be at least 1");
    let dir = tempfile::tempdir()?;
    let storage = Storage::open(&dir.path().to_string_lossy())?;
    let sealing = AggregatorKey::generate();
    let key_file = dir.path().join("aggregator.age");
    sealing.save(&key_file)?;
    let queue = Queue::connect(url, &format!("bench-{}", std::process::id())).await?;
    let workers = Workers(
        (0..count)
            .map(|i| spawn_worker(url, &queue.names.stream, &storage, &key_file, i))
            .collect::<anyhow::Result<_>>()?,
    );
    let clock = Instant::now();
    let outcome = prove_all(&queue, &storage, keys, &sealing.recipient(), tasks).await;
    let wall_s = clock.elapsed().as_secs_f64();
    let worker_peak_rss_bytes = workers.0.iter().map(|c| peak_rss_of(c.id())).collect();
    drop(workers);
    queue.js.delete_stream(&queue.names.stream).await.context("deleting the bench queue")?;
    queue.js.delete_key_value(&queue.names.bucket).await.context("deleting the bench results")?;
    let proven = outcome?;
    let mut busy = std::collections::BTreeMap::<String, f64>::new();
    for (_, seconds, worker) in &proven {
        *busy.entry(worker.clone()).or_default() += seconds;
    }
    let worker_prove_s = busy.values().copied().fold(0.0, f64::max);
    let figures = WorkerFigures {
        workers: count,
        tasks: tasks.len(),
        wall_s,
        worker_prove_s,
        total_prove_s: proven.iter().map(|(_, s, _)| s).sum(),
        task_prove_s: proven.iter().map(|(_, s, _)| *s).collect(),
        overhead_s: wall_s - worker_prove_s,
        projected_wall_s: wall_s,
        worker_peak_rss_bytes,
    };
    Ok((proven.into_iter().map(|(proof, _, _)| proof).collect(), figures))
}

/// Publishes every task (one prover, and so one published key, per circuit) and collects the
/// proofs with their seconds and workers, in task order.
async fn prove_all(
    queue: &Queue,
    storage: &Storage,
    keys: &KeyStore,
    recipient: &str,
    tasks: &[Task],
) -> anyhow::Result<Vec<(ark_groth16::Proof<ark_bn254::Bn254>, f64, String)>> {
    let mut provers = Vec::<RemoteProver>::new();
    for task in tasks {
        if !provers.iter().any(|p| p.circuit() == task.circuit()) {
            let timeout = Duration::from_secs(24 * 3600);
            provers.push(
                RemoteProver::new(queue.clone(), storage, keys, task.circuit(), recipient.into(), timeout).await?,
            );
        }
    }
    let proving = tasks.iter().map(|task| {
        let prover = provers.iter().find(|p| p.circuit() == task.circuit()).expect("a prover per circuit");
        prover.prove_by(storage, task)
    });
    futures::future::try_join_all(proving).await
}

/// Starts `fedproof prover worker` (this binary) on the queue.
pub(super) fn spawn_worker(
    url: &str,
    queue: &str,
    storage: &Storage,
    key_file: &Path,
    i: usize,
) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("locating the fedproof binary")?;
    Command::new(exe)
        .args(["prover", "worker", "--nats", url, "--queue", queue, "--storage", storage.blobs().location()])
        .arg("--sealing-key")
        .arg(key_file)
        .args(["--name", &format!("bench-worker-{i}"), "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting a prover worker")
}

/// Peak resident memory of process `pid` (Linux `VmHWM`).
pub(super) fn peak_rss_of(pid: u32) -> Option<u64> {
    super::vm_hwm(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}
