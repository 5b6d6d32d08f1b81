//! `bench chunked-job`: a whole one-round chunked job on a local anvil, through the roles: a
//! chunked verifier deployed and approved, the owner's job, every trainer joining and committing
//! its synthetic update, the aggregator proving every chunk (in this process, or on `--workers`
//! local prover workers over NATS) and the final proof, publishing the record and settling; then
//! the audit of every chunk proof. It measures what the issue asks of 32 × 100,000: the round
//! accepted by JobMarket on anvil, its gas, the wall time and every worker's peak memory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::node_bindings::AnvilInstance;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Args;
use fedproof::chain::deploy::{approve_verifier, deploy_chunked_verifier, deploy_market};
use fedproof::chain::Chain;
use fedproof::progress;
use fedproof::proving::queue::Queue;
use fedproof::proving::{Prover, RemoteProver};
use fedproof::roles::aggregator::{self, RoundReport, Settings};
use fedproof::roles::chunked::audit::{self as chunked_audit, ChunkedKeys};
use fedproof::roles::chunked::settle::ChunkProving;
use fedproof::roles::owner::{create_job, JobSpec};
use fedproof::roles::trainer::{self, UpdateSource, Upload};
use fedproof::roles::JobView;
use fedproof_contracts::JobStatus;
use fedproof_prover::chunked::Chunking;
use fedproof_prover::keys::Circuit;
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::shape::Shape;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;
use serde::Serialize;

use super::workers::{peak_rss_of, spawn_worker, Workers};
use crate::commands::args::{KeysArgs, OutputArgs, ReportArgs};

/// Options of `bench chunked-job`.
#[derive(Args)]
pub struct ChunkedJobArgs {
    /// Trainer slots n.
    #[arg(long, default_value_t = 32)]
    trainers: usize,
    /// Model parameters d.
    #[arg(long, default_value_t = 100_000)]
    params: usize,
    /// Parameters per chunk D (K = ⌈d / D⌉ chunks).
    #[arg(long, default_value_t = 2_500)]
    chunk: usize,
    /// Trainers sending an attack instead of the shared direction.
    #[arg(long, default_value_t = 3)]
    malicious: usize,
    /// Seed of the synthetic updates.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Prove on prover workers over this NATS server (without it, in this process).
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// Local `fedproof prover worker` processes to start with --nats.
    #[arg(long, default_value_t = 2, requires = "nats")]
    workers: usize,
    /// The anvil binary.
    #[arg(long, default_value = "contracts/node_modules/.bin/anvil")]
    anvil: PathBuf,
    #[command(flatten)]
    keys: KeysArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// What one chunked job measured.
#[derive(Serialize)]
pub struct ChunkedJobReport {
    trainers: usize,
    params: usize,
    chunk_params: usize,
    chunks: usize,
    workers: Option<usize>,
    /// The round is settled: JobMarket accepted its final proof and the job completed.
    accepted: bool,
    /// Gas of `finalizeRound`.
    finalize_gas: u64,
    /// Slots flagged as outliers, and the planted attackers.
    flagged: Vec<usize>,
    planted: Vec<usize>,
    /// Every chunk proof the aggregator published verifies for its digest, a leaf of H.
    audit_ok: bool,
    /// From the trainers' first transaction to the finalization.
    round_wall_s: f64,
    /// Proving time summed over the chunks and the final proof (on the workers, their time).
    prove_s: f64,
    /// The auditor checking every chunk proof.
    audit_s: f64,
    /// Peak resident memory of each worker, and of this process (aggregator, trainers, chain
    /// client; with no workers, the proofs too).
    worker_peak_rss_bytes: Vec<Option<u64>>,
    peak_rss_bytes: Option<u64>,
}

impl ChunkedJobArgs {
    /// Runs the job and prints the report.
    pub fn run(self) -> anyhow::Result<()> {
        let report = crate::commands::block_on(self.measure())?;
        self.output.print(&report, || table(&report))?;
        self.report.write(&report)
    }

    async fn measure(&self) -> anyhow::Result<ChunkedJobReport> {
        let shape = Shape::new(self.trainers, self.params)?;
        let chunking = Chunking::for_count(self.params, self.params.div_ceil(self.chunk.max(1)))?;
        anyhow::ensure!(
            chunking.chunk_params == self.chunk,
            "use --chunk {} for {} parameters",
            chunking.chunk_params,
            self.params
        );
        let store = self.keys.store();
        let bar = progress::spinner(format!("{shape} in {} chunks: keys (setup runs once)", chunking.count()));
        let (final_circuit, chunk_circuit) = (
            Circuit::Final { shape, chunks: chunking.count() },
            Circuit::Chunk { trainers: self.trainers, params: chunking.chunk_params },
        );
        let final_keys = Arc::new(store.load_or_setup(final_circuit, &mut rand::rngs::OsRng)?);
        let chunk_keys = Arc::new(store.load_or_setup(chunk_circuit, &mut rand::rngs::OsRng)?);

        bar.set_message("anvil: market, chunked verifier, job");
        let net = Net::start(&self.anvil, self.trainers).await?;
        let verifier = deploy_chunked_verifier(&net.owner, &final_keys.vk, &chunk_keys.vk, chunking.count()).await?;
        approve_verifier(&net.owner, net.market, verifier).await?;
        let sample = synthetic(shape, self.malicious, self.seed);
        let sealing = Arc::new(AggregatorKey::generate());
        let spec = job_spec(&net, verifier, &sample.input, &sealing);
        let job = create_job(&net.owner, net.market, &net.storage, &spec).await?;

        let (workers, queue) = match &self.nats {
            Some(url) => {
                let queue = Queue::connect(url, &format!("bench-job-{}", std::process::id())).await?;
                let key_file = net.dir.path().join("aggregator.age");
                sealing.save(&key_file)?;
                let children = (0..self.workers)
                    .map(|i| spawn_worker(url, &queue.names.stream, &net.storage, &key_file, i))
                    .collect::<anyhow::Result<_>>()?;
                (Some(Workers(children)), Some(queue))
            }
            None => (None, None),
        };
        let prover = |circuit: Circuit| {
            let (queue, storage, store, recipient) = (queue.clone(), &net.storage, &store, sealing.recipient());
            async move {
                Ok::<_, anyhow::Error>(match queue {
                    Some(queue) => Prover::Workers(Arc::new(
                        RemoteProver::new(queue, storage, store, circuit, recipient, Duration::from_secs(24 * 3600))
                            .await?,
                    )),
                    None => Prover::InProcess,
                })
            }
        };
        let settings = Settings {
            keys: Arc::clone(&final_keys),
            sealing: Arc::clone(&sealing),
            prover: prover(final_circuit).await?,
            upload_grace: Duration::from_secs(5),
            chunks: Some(ChunkProving { keys: Arc::clone(&chunk_keys), prover: prover(chunk_circuit).await? }),
        };
        bar.set_message(format!("{shape}: trainers commit, {} chunks proven, settled", chunking.count()));
        let (report, settled) = run_roles(&net, job, &sample.input.updates, settings).await?;
        let view = JobView::load(&net.owner, net.market, job, &net.storage).await?;
        // From round 0's opening (a chain timestamp: anvil stamps blocks with the wall clock) to
        // its finalization; the joins before it are not the round's.
        let opened = view.config.startTime.to::<u64>() as f64;
        let round_wall_s = settled.duration_since(std::time::UNIX_EPOCH)?.as_secs_f64() - opened;
        let worker_peak_rss_bytes =
            workers.as_ref().map_or(Vec::new(), |w| w.0.iter().map(|c| peak_rss_of(c.id())).collect());
        drop(workers);
        if let Some(queue) = &queue {
            queue.js.delete_stream(&queue.names.stream).await.context("deleting the bench queue")?;
            queue.js.delete_key_value(&queue.names.bucket).await.context("deleting the bench results")?;
        }

        bar.set_message("auditing every chunk proof");
        let accepted = view.state().await?.status == JobStatus::Completed as u8;
        let clock = Instant::now();
        let keys = ChunkedKeys { final_vk: &final_keys.vk, chunk_vk: &chunk_keys.vk };
        let rows = chunked_audit::audit(&view, &net.storage, keys, None).await?;
        let audit_s = clock.elapsed().as_secs_f64();
        bar.finish_and_clear();
        Ok(ChunkedJobReport {
            trainers: self.trainers,
            params: self.params,
            chunk_params: chunking.chunk_params,
            chunks: chunking.count(),
            workers: self.nats.as_ref().map(|_| self.workers),
            accepted,
            finalize_gas: report.finalize_gas,
            flagged: (0..self.trainers).filter(|&i| !report.inliers[i]).collect(),
            planted: sample.attacks.iter().enumerate().filter(|(_, a)| a.is_some()).map(|(i, _)| i).collect(),
            audit_ok: rows.iter().all(|r| r.ok()),
            round_wall_s,
            prove_s: report.prove_seconds,
            audit_s,
            worker_peak_rss_bytes,
            peak_rss_bytes: super::peak_rss_bytes(),
        })
    }
}

/// A local anvil with the market deployed: account 0 owns, 1 aggregates, 2.. train.
struct Net {
    _anvil: AnvilInstance,
    owner: Chain,
    aggregator: Chain,
    trainers: Vec<Chain>,
    market: alloy::primitives::Address,
    storage: Storage,
    dir: tempfile::TempDir,
}

impl Net {
    async fn start(anvil: &std::path::Path, trainers: usize) -> anyhow::Result<Self> {
        let anvil = fedproof::chain::anvil::spawn(anvil, trainers + 2)?;
        let endpoint = anvil.endpoint();
        let connect = |i: usize| {
            let signer = PrivateKeySigner::from(anvil.keys()[i].clone());
            Chain::connect(&endpoint, Some(anvil.chain_id()), signer)
        };
        let owner = connect(0).await?;
        let aggregator = connect(1).await?;
        let mut chains = Vec::with_capacity(trainers);
        for i in 0..trainers {
            chains.push(connect(2 + i).await?);
        }
        let (market, _) = deploy_market(&owner).await?;
        let dir = tempfile::tempdir()?;
        let storage = Storage::open(&dir.path().join("blobs").to_string_lossy())?;
        Ok(Net { _anvil: anvil, owner, aggregator, trainers: chains, market, storage, dir })
    }
}

/// A one-round job over the synthetic round's model and parameters.
fn job_spec(
    net: &Net,
    verifier: alloy::primitives::Address,
    input: &fedproof_prover::round::RoundInput,
    sealing: &AggregatorKey,
) -> JobSpec {
    const ETH: u128 = 1_000_000_000_000_000_000;
    JobSpec {
        trainers: input.shape.trainers as u16, // at most MAX_TRAINERS = 256 (Shape::new)
        rounds: 1,
        budget: ETH,
        stake: ETH / 100,
        bond: ETH,
        aggregator: net.aggregator.address,
        verifier,
        max_malicious: input.params.max_malicious,
        tau: input.params.tau,
        lr: input.params.lr,
        lr_decay: 0,
        dup_tol: input.params.dup_tol,
        // Every trainer joins before round 0 opens (each checks the job's terms first).
        start_delay: 30 + 3 * input.shape.trainers as u64,
        submit_window: 3600,
        finalize_window: 24 * 3600,
        dispute_window: 60,
        initial_model: input.model.clone(),
        architecture: "synthetic".into(),
        aggregator_recipient: sealing.recipient(),
        layout: None,
        recipe: None,
    }
}

/// A trainer whose update is its slot's synthetic one.
struct Fixed(Vec<i64>);

impl UpdateSource for Fixed {
    fn update(&mut self, _round: u32, _model: &[i64]) -> anyhow::Result<Vec<i64>> {
        Ok(self.0.clone())
    }
}

/// Joins every trainer, runs them and the aggregator until the job ends; the round's report and
/// when the aggregator finalized it (it then waits out the challenge window, 60 s).
async fn run_roles(
    net: &Net,
    job: u64,
    updates: &[Option<Vec<i64>>],
    settings: Settings,
) -> anyhow::Result<(RoundReport, std::time::SystemTime)> {
    let mut trainers = Vec::new();
    for (chain, update) in net.trainers.iter().zip(updates) {
        let view = JobView::load(chain, net.market, job, &net.storage).await?;
        trainer::join(&view, &net.storage).await?;
        let (storage, mut source) = (net.storage.clone(), Fixed(update.clone().context("every slot submits")?));
        trainers
            .push(tokio::spawn(async move { trainer::run(&view, &storage, None, &mut source, Upload::Honest).await }));
    }
    let view = JobView::load(&net.aggregator, net.market, job, &net.storage).await?;
    let storage = net.storage.clone();
    let (tx, settled) = std::sync::mpsc::channel();
    let on_round = move |_: &RoundReport| {
        let _ = tx.send(std::time::SystemTime::now());
    };
    let mut reports =
        tokio::spawn(async move { aggregator::run(&view, &storage, &settings, on_round).await }).await??;
    for t in trainers {
        t.await??;
    }
    let report = reports.pop().context("the job ended without a settled round")?;
    Ok((report, settled.try_recv().context("no round was reported")?))
}

fn table(r: &ChunkedJobReport) -> String {
    let gb = |b: &Option<u64>| b.map_or("?".into(), |b| format!("{:.2} GB", b as f64 / 1e9));
    let peaks: Vec<String> = r.worker_peak_rss_bytes.iter().map(gb).collect();
    format!(
        "chunked job {} × {} in {} chunks of {} ({}):\n  accepted by JobMarket on anvil: {}\n  finalizeRound gas: {}\n  flagged {:?} (planted {:?})\n  round wall (commit to settle): {:.1} s; proving {:.1} s\n  audit of every chunk proof: {} in {:.1} s\n  worker peaks: [{}]; this process {}",
        r.trainers,
        r.params,
        r.chunks,
        r.chunk_params,
        r.workers.map_or("in-process".to_string(), |w| format!("{w} workers over NATS")),
        r.accepted,
        r.finalize_gas,
        r.flagged,
        r.planted,
        r.round_wall_s,
        r.prove_s,
        if r.audit_ok { "ok" } else { "FAILED" },
        r.audit_s,
        peaks.join(", "),
        gb(&r.peak_rss_bytes),
    )
}
