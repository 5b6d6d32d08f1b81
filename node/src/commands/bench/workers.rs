//! `bench prover --nats URL --workers K`: the same synthetic round proven by K local `fedproof
//! prover worker` processes over a private NATS JetStream queue, timed from the aggregator's side.
//!
//! A round is one proof task until chunked proofs land, so one worker proves it and the others
//! wait: what this measures is the queue's overhead (publishing the key and the sealed task,
//! the worker loading them) on top of the proof.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use fedproof::proving::queue::Queue;
use fedproof::proving::{ProofTask, RemoteProver};
use fedproof_prover::keys::KeyStore;
use fedproof_prover::shape::Shape;
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
    /// The worker's own proving time.
    pub worker_prove_s: f64,
    /// `wall_s − worker_prove_s`: key and task through the blob store and the queue.
    pub overhead_s: f64,
    /// Projected wall time on `workers` machines: the slowest task plus the overhead (with one
    /// task, the wall time itself).
    pub projected_wall_s: f64,
    /// Peak resident memory of each worker process (Linux `VmHWM`), in start order.
    pub worker_peak_rss_bytes: Vec<Option<u64>>,
}

/// Worker processes, killed when dropped.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Proves `task` on `count` local workers through a queue of its own on `url`; returns the proof
/// and the figures. The queue is deleted afterwards.
pub async fn prove_on_workers(
    url: &str,
    count: usize,
    keys: &KeyStore,
    shape: Shape,
    task: &ProofTask,
) -> anyhow::Result<(ark_groth16::Proof<ark_bn254::Bn254>, WorkerFigures)> {
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
    let remote =
        RemoteProver::new(queue.clone(), &storage, keys, shape, sealing.recipient(), Duration::from_secs(24 * 3600));
    let outcome = match remote.await {
        Ok(remote) => remote.prove(&storage, task).await,
        Err(e) => Err(e),
    };
    let wall_s = clock.elapsed().as_secs_f64();
    let worker_peak_rss_bytes = workers.0.iter().map(|c| peak_rss_of(c.id())).collect();
    drop(workers);
    queue.js.delete_stream(&queue.names.stream).await.context("deleting the bench queue")?;
    queue.js.delete_key_value(&queue.names.bucket).await.context("deleting the bench results")?;
    let (proof, worker_prove_s) = outcome?;
    let figures = WorkerFigures {
        workers: count,
        tasks: 1,
        wall_s,
        worker_prove_s,
        overhead_s: wall_s - worker_prove_s,
        projected_wall_s: wall_s,
        worker_peak_rss_bytes,
    };
    Ok((proof, figures))
}

/// Starts `fedproof prover worker` (this binary) on the queue.
fn spawn_worker(url: &str, queue: &str, storage: &Storage, key_file: &Path, i: usize) -> anyhow::Result<Child> {
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
fn peak_rss_of(pid: u32) -> Option<u64> {
    super::vm_hwm(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}
