//! `fedproof bench prover`: count the round circuit's (or with `--chunk`, one chunk's)
//! constraints by step, then (unless `--count-only`) set up (cached), prove (here, or with
//! `--nats` on local prover workers) and verify one synthetic round.

use std::time::Instant;

use anyhow::Context;
use clap::Args;
use fedproof_prover::chunk;
use fedproof_prover::keys::KeyKind;
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::round::{RoundWitness, StepConstraints};
use fedproof_prover::shape::Shape;
use fedproof_prover::snark;
use rand::rngs::OsRng;
use rand::SeedableRng;
use serde::Serialize;

use fedproof::progress;

use super::chunk::{prove_chunked_on_workers, prove_final, prove_one_chunk, ChunkedRun, FinalFigures};
use super::peak_rss_bytes;
use super::workers::{prove_on_workers, WorkerFigures};
use crate::commands::args::{KeysArgs, OutputArgs, ReportArgs, ShapeArgs};
use fedproof::proving::{ProofTask, Task};

/// Options of `fedproof bench prover`.
#[derive(Args)]
pub struct ProverArgs {
    #[command(flatten)]
    shape: ShapeArgs,
    /// Planted malicious updates (sign-flip, noise, Sybil, zero in turn).
    #[arg(long, default_value_t = 0)]
    malicious: usize,
    /// Seed of the synthetic round.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only count the constraints and their breakdown by step (no keys, no proof): cheap at
    /// shapes too large to prove here.
    #[arg(long)]
    count_only: bool,
    /// Count (and unless --count-only, prove) the chunk circuit of a chunked round instead:
    /// `--params` split into chunks of this many parameters (prover/README.md, "Rounds of real
    /// size"), and the final proof that binds the chunks. Their keys are cached like a round's.
    /// With --nats, every chunk and the final proof go to the workers.
    #[arg(long, value_name = "D")]
    chunk: Option<usize>,
    /// With --chunk: the machines the projected wall time is for (each proves every K-th chunk,
    /// then one proves the final proof).
    #[arg(long, value_name = "K", default_value_t = 8, requires = "chunk")]
    machines: usize,
    /// Prove on local `prover worker` processes over this NATS JetStream server (a private queue,
    /// deleted afterwards) instead of in this process.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// With --nats: how many worker processes to start.
    #[arg(long, default_value_t = 1, requires = "nats")]
    workers: usize,
    #[command(flatten)]
    keys: KeysArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// The benchmark's JSON document.
#[derive(Serialize)]
struct ProverFigures {
    trainers: usize,
    params: usize,
    malicious: usize,
    /// With `--chunk`: the parameters per chunk and the chunk count; the figures below are then
    /// one chunk's.
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk: Option<ChunkSplit>,
    constraints: usize,
    constraints_per_update_param: f64,
    /// Constraints per step of the statement (`snark::constraint_breakdown`), in order.
    steps: Vec<StepFigures>,
    /// Setup, proof and verification; absent with `--count-only`.
    #[serde(flatten)]
    proving: Option<ProvingFigures>,
}

/// How `--chunk` splits the parameters, and the final proof that binds the chunks.
#[derive(Serialize)]
struct ChunkSplit {
    params: usize,
    chunks: usize,
    /// The final proof's constraints (`chunked::constraints::constraint_breakdown`).
    final_constraints: usize,
    final_steps: Vec<StepConstraints>,
    /// Without `--count-only`: proving the final proof of a whole synthetic round, and the
    /// projected wall time on `--machines` machines.
    #[serde(skip_serializing_if = "Option::is_none")]
    proving: Option<FinalFigures>,
}

/// One step's constraints, also per trainer×parameter.
#[derive(Serialize)]
struct StepFigures {
    step: &'static str,
    constraints: usize,
    per_update_param: f64,
}

/// What proving one synthetic round (or chunk) took.
#[derive(Serialize)]
pub(super) struct ProvingFigures {
    pub(super) setup_s: Option<f64>,
    pub(super) keys_cached: bool,
    pub(super) key_load_s: f64,
    pub(super) prove_s: f64,
    pub(super) verify_s: f64,
    pub(super) verified: bool,
    pub(super) proving_key_bytes: u64,
    pub(super) peak_rss_bytes: Option<u64>,
    /// With `--nats`: the workers' side of the proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) workers: Option<WorkerFigures>,
    pub(super) flagged: Vec<usize>,
    pub(super) planted: Vec<usize>,
}

impl ProverArgs {
    /// Runs the benchmark and prints (and writes) its figures; fails if a proof (the round's, a
    /// chunk's or the final one) did not verify.
    pub fn run(self) -> anyhow::Result<()> {
        let figures = measure(&self)?;
        self.output.print(&figures, || table(&figures))?;
        self.report.write(&figures)?;
        anyhow::ensure!(figures.proving.as_ref().is_none_or(|p| p.verified), "the proof did not verify");
        let final_proof = figures.chunk.as_ref().and_then(|c| c.proving.as_ref());
        anyhow::ensure!(final_proof.is_none_or(|f| f.verified), "the final proof did not verify");
        Ok(())
    }
}

/// Counts constraints and, unless `--count-only`, proves one synthetic round.
fn measure(args: &ProverArgs) -> anyhow::Result<ProverFigures> {
    let shape = args.shape.shape()?;
    anyhow::ensure!(args.malicious < shape.trainers, "--malicious must be below --trainers ({})", shape.trainers);
    let bar = progress::spinner(format!("{shape}: counting constraints"));
    let (breakdown, counted_params) = match args.chunk {
        Some(params) => {
            anyhow::ensure!(params >= 1, "--chunk must be at least 1");
            (chunk::constraints::constraint_breakdown(shape.trainers, params)?, params)
        }
        None => (snark::constraint_breakdown(shape)?, shape.params),
    };
    let per_update_param = |c: usize| c as f64 / (shape.trainers * counted_params) as f64;
    let steps: Vec<StepFigures> = breakdown
        .into_iter()
        .map(|s: StepConstraints| StepFigures {
            step: s.step,
            constraints: s.constraints,
            per_update_param: per_update_param(s.constraints),
        })
        .collect();
    let constraints = steps.iter().map(|s| s.constraints).sum();
    let (proving, final_proof) = match (args.count_only, args.chunk) {
        (true, _) => (None, None),
        (false, Some(chunk_params)) => {
            let (chunk, last) = prove_chunked(args, shape, chunk_params, &bar)?;
            (Some(chunk), Some(last))
        }
        (false, None) => (Some(prove(args, shape, constraints, &bar)?), None),
    };
    let chunk = match args.chunk {
        Some(params) => Some(chunk_split(shape, params, final_proof, &bar)?),
        None => None,
    };
    bar.finish_and_clear();
    Ok(ProverFigures {
        trainers: shape.trainers,
        params: shape.params,
        malicious: args.malicious,
        chunk,
        constraints,
        constraints_per_update_param: per_update_param(constraints),
        steps,
        proving,
    })
}

/// The chunk count and the final proof's count, with what proving it took (if it ran).
fn chunk_split(
    shape: Shape,
    params: usize,
    proving: Option<FinalFigures>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<ChunkSplit> {
    let chunks = shape.params.div_ceil(params);
    bar.set_message(format!("{shape}: counting the final proof of {chunks} chunks"));
    let final_steps = fedproof_prover::chunked::constraints::constraint_breakdown(shape, chunks)?;
    let final_constraints = final_steps.iter().map(|s| s.constraints).sum();
    Ok(ChunkSplit { params, chunks, final_constraints, final_steps, proving })
}

/// A chunked round: with `--nats`, every chunk and the final proof on the workers; without, one
/// chunk and the final proof here, the rest projected.
fn prove_chunked(
    args: &ProverArgs,
    shape: Shape,
    chunk_params: usize,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<(ProvingFigures, FinalFigures)> {
    anyhow::ensure!(chunk_params >= 1, "--chunk must be at least 1");
    let store = args.keys.store();
    let run = ChunkedRun {
        store: &store,
        shape,
        chunk_params,
        malicious: args.malicious,
        seed: args.seed,
        machines: args.machines,
    };
    match &args.nats {
        Some(url) => prove_chunked_on_workers(&run, url, args.workers, bar),
        None => {
            let chunk = prove_one_chunk(&store, shape.trainers, chunk_params, args.malicious, args.seed, bar)?;
            let last = prove_final(&run, chunk.prove_s, bar)?;
            Ok((chunk, last))
        }
    }
}

/// Sets up or loads the keys, proves and verifies one synthetic round.
fn prove(
    args: &ProverArgs,
    shape: Shape,
    constraints: usize,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<ProvingFigures> {
    let store = args.keys.store();
    bar.set_message(format!("{shape}: setup or load keys ({constraints} constraints)"));
    let keys = store.load_or_setup(shape, &mut OsRng).context("loading or generating keys")?;
    let proving_key_bytes = std::fs::metadata(store.path(shape, KeyKind::Proving))?.len();

    bar.set_message(format!("{shape}: proving"));
    let sample = synthetic(shape, args.malicious, args.seed);
    let witness = RoundWitness::new(sample.input.clone())?;
    let public = witness.public.clone();
    let inliers = witness.output.inliers.clone();
    let (proof, prove_s, workers) = match &args.nats {
        None => {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(args.seed);
            let start = Instant::now();
            let proof = snark::prove(&keys.pk, witness, &mut rng)?;
            (proof, start.elapsed().as_secs_f64(), None)
        }
        Some(url) => {
            bar.set_message(format!("{shape}: proving on {} worker(s) over NATS", args.workers));
            let task = Task::Round(ProofTask { input: sample.input.clone(), unavailable: Vec::new() });
            let (mut proofs, figures) =
                crate::commands::block_on(prove_on_workers(url, args.workers, &store, &[task]))?;
            (proofs.remove(0), figures.worker_prove_s, Some(figures))
        }
    };

    bar.set_message(format!("{shape}: verifying"));
    let start = Instant::now();
    let verified = snark::verify(&keys.vk, &public, &proof)?;
    let verify_s = start.elapsed().as_secs_f64();
    Ok(ProvingFigures {
        setup_s: keys.setup_seconds,
        keys_cached: !keys.generated,
        key_load_s: if keys.generated { 0.0 } else { keys.seconds },
        prove_s,
        verify_s,
        verified,
        proving_key_bytes,
        peak_rss_bytes: peak_rss_bytes(),
        workers,
        flagged: (0..shape.trainers).filter(|&i| !inliers[i]).collect(),
        planted: sample.attacks.iter().enumerate().filter(|(_, a)| a.is_some()).map(|(i, _)| i).collect(),
    })
}

/// The human-readable figures.
fn table(f: &ProverFigures) -> String {
    let mut t = String::new();
    let secs = |s: Option<f64>| s.map_or("unknown".to_string(), |s| format!("{s:.1} s"));
    t += &format!(
        "prover benchmark: {} trainers × {} params, {} planted outlier(s)\n",
        f.trainers, f.params, f.malicious
    );
    if let Some(c) = &f.chunk {
        t += &format!(
            "  final proof          {:>12}  (rule, Σ P_c = rᵀGr, digest of {} chunks)\n",
            c.final_constraints, c.chunks
        );
        if let Some(p) = &c.proving {
            t += &format!(
                "    proved             {:>10.2} s  (setup {}{}, verified {})\n",
                p.prove_s,
                secs(p.setup_s),
                if p.keys_cached { ", cached" } else { "" },
                p.verified
            );
            t += &format!(
                "  projected wall       {:>10.1} s  on {} machines: {} chunk(s) each, then the final proof\n",
                p.projected_wall_s, p.machines, p.chunks_per_machine
            );
        }
        t += &format!("  one chunk of {} params ({} chunks), chunk circuit:\n", c.params, c.chunks);
    }
    t += &format!(
        "  constraints          {:>12}  ({:.2} per trainer×param)\n",
        f.constraints, f.constraints_per_update_param
    );
    for step in &f.steps {
        t += &format!("    {:<20} {:>10}  ({:.2})\n", step.step, step.constraints, step.per_update_param);
    }
    let Some(p) = &f.proving else { return t };
    t += &format!(
        "  setup                {:>12}  ({})\n",
        secs(p.setup_s),
        if p.keys_cached { "cached" } else { "ran now" }
    );
    if p.keys_cached {
        t += &format!("  key load             {:>10.1} s\n", p.key_load_s);
    }
    t += &format!("  prove                {:>10.2} s\n", p.prove_s);
    t += &format!("  verify               {:>10.3} s\n", p.verify_s);
    t += &format!("  proving key          {:>9.1} MB\n", p.proving_key_bytes as f64 / 1e6);
    if let Some(rss) = p.peak_rss_bytes {
        t += &format!("  peak memory          {:>9.1} MB\n", rss as f64 / 1e6);
    }
    if let Some(w) = &p.workers {
        t += &format!(
            "  on {} worker(s)      {:>10.2} s wall, {:.2} s of it queue and blob store\n",
            w.workers, w.wall_s, w.overhead_s
        );
        let rss: Vec<String> = w
            .worker_peak_rss_bytes
            .iter()
            .map(|b| b.map_or("?".into(), |b| format!("{:.1} MB", b as f64 / 1e6)))
            .collect();
        t += &format!("  worker peak memory   {}\n", rss.join(", "));
    }
    t += &format!("  planted outliers     {:?}\n", p.planted);
    t += &format!("  flagged outliers     {:?}\n", p.flagged);
    t += &format!("  proof verified       {:>12}\n", p.verified);
    t
}
