//! `bench prover --chunk D` (without `--count-only`): setup, prove and verify one chunk of a
//! chunked round, the unit of work a prover worker would take; then the final proof of a whole
//! synthetic round of that shape, and the wall time projected on K machines.
//!
//! The chunk is a seeded synthetic round of `D` parameters (statistically the same as any
//! D-parameter slice of a larger one), with the inlier bits its own round reference finds. Chunk
//! and final keys are cached in the key store like a round's, each under its own circuit.

use std::time::Instant;

use ark_ff::UniformRand;
use fedproof_prover::chunk::constraints::ChunkWitness;
use fedproof_prover::chunk::ChunkInput;
use fedproof_prover::chunked;
use fedproof_prover::keys::{Circuit, KeyKind, KeyStore};
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::shape::Shape;
use fedproof_prover::snark;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use super::peak_rss_bytes;
use super::prover::ProvingFigures;
use super::workers::prove_on_workers;
use fedproof::proving::task::FinalTask;
use fedproof::proving::Task;

/// Proves one synthetic chunk of `trainers` × `params` with `malicious` planted attackers.
pub(super) fn prove_one_chunk(
    store: &KeyStore,
    trainers: usize,
    params: usize,
    malicious: usize,
    seed: u64,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<ProvingFigures> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    bar.set_message(format!("chunk of {trainers} trainers × {params} params: setup or load keys"));
    let circuit = Circuit::Chunk { trainers, params };
    let keys = store.load_or_setup(circuit, &mut rng)?;
    let (pk, vk) = (&keys.pk, &keys.vk);

    bar.set_message(format!("chunk of {trainers} trainers × {params} params: proving"));
    let sample = synthetic(Shape::new(trainers, params)?, malicious, seed);
    let inliers = fedproof_prover::round::run(&sample.input)?.inliers;
    let input = ChunkInput {
        domain: sample.input.domain,
        round: sample.input.params.round,
        chunk: 0,
        seed: ark_bn254::Fr::rand(&mut rng),
        inliers: inliers.clone(),
        updates: sample.input.updates.clone(),
    };
    let witness = ChunkWitness::new(input)?;
    let public = witness.public.to_vec();
    let start = Instant::now();
    let proof = snark::prove_chunk(pk, witness, &mut rng)?;
    let prove_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let verified = snark::verify_inputs(vk, &public, &proof)?;
    let verify_s = start.elapsed().as_secs_f64();
    Ok(ProvingFigures {
        setup_s: keys.setup_seconds,
        keys_cached: !keys.generated,
        key_load_s: if keys.generated { 0.0 } else { keys.seconds },
        prove_s,
        verify_s,
        verified,
        proving_key_bytes: std::fs::metadata(store.path(circuit, KeyKind::Proving))?.len(),
        peak_rss_bytes: peak_rss_bytes(),
        workers: None,
        flagged: (0..trainers).filter(|&i| !inliers[i]).collect(),
        planted: sample.attacks.iter().enumerate().filter(|(_, a)| a.is_some()).map(|(i, _)| i).collect(),
    })
}

/// The final proof of a whole synthetic round, and the projection it completes.
#[derive(Serialize)]
pub(super) struct FinalFigures {
    /// Splitting the round natively: every chunk's public inputs and the final proof's.
    pub(super) split_s: f64,
    /// When the setup ran (now or when the cached keys were made).
    pub(super) setup_s: Option<f64>,
    pub(super) keys_cached: bool,
    pub(super) prove_s: f64,
    pub(super) verified: bool,
    pub(super) machines: usize,
    pub(super) chunks_per_machine: usize,
    /// `⌈K_chunks / machines⌉` chunk proofs, then the final proof (it needs only the chunks'
    /// public inputs, known natively, so it could also run alongside).
    pub(super) projected_wall_s: f64,
}

/// The options of a chunked run.
pub(super) struct ChunkedRun<'a> {
    pub(super) store: &'a KeyStore,
    pub(super) shape: Shape,
    pub(super) chunk_params: usize,
    pub(super) malicious: usize,
    pub(super) seed: u64,
    /// The machines the wall time is projected on.
    pub(super) machines: usize,
}

/// Splits the run's synthetic round into chunks, proves and verifies its final proof here, and
/// projects the round's wall time on `machines` from one chunk's prove time.
pub(super) fn prove_final(
    run: &ChunkedRun<'_>,
    chunk_prove_s: f64,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<FinalFigures> {
    let (round, split_s) = split(run, bar)?;
    let chunks = round.chunks.len();
    let shape = run.shape;
    let mut rng = ChaCha20Rng::seed_from_u64(run.seed);
    bar.set_message(format!("{shape}: final proof of {chunks} chunks: setup or load keys"));
    let keys = run.store.load_or_setup(Circuit::Final { shape, chunks }, &mut rng)?;
    bar.set_message(format!("{shape}: final proof of {chunks} chunks: proving"));
    let public = round.witness.public.to_vec();
    let start = Instant::now();
    let proof = snark::prove_final(&keys.pk, round.witness, &mut rng)?;
    let prove_s = start.elapsed().as_secs_f64();
    let verified = snark::verify_inputs(&keys.vk, &public, &proof)?;
    let chunks_per_machine = chunks.div_ceil(run.machines.max(1));
    Ok(FinalFigures {
        split_s,
        setup_s: keys.setup_seconds,
        keys_cached: !keys.generated,
        prove_s,
        verified,
        machines: run.machines,
        chunks_per_machine,
        projected_wall_s: chunks_per_machine as f64 * chunk_prove_s + prove_s,
    })
}

/// The run's synthetic round, split, and the seconds splitting took.
fn split(run: &ChunkedRun<'_>, bar: &indicatif::ProgressBar) -> anyhow::Result<(chunked::ChunkedRound, f64)> {
    anyhow::ensure!(run.machines >= 1, "--machines must be at least 1");
    bar.set_message(format!("{}: splitting the round into chunks of {}", run.shape, run.chunk_params));
    let start = Instant::now();
    let round = chunked::split(synthetic(run.shape, run.malicious, run.seed).input, run.chunk_params)?;
    Ok((round, start.elapsed().as_secs_f64()))
}

/// Proves every chunk of the run's round and its final proof on `workers` local prover workers
/// over NATS, verifies each proof here, and projects the wall time on `machines` from the
/// slowest chunk and the final proof as the workers timed them.
pub(super) fn prove_chunked_on_workers(
    run: &ChunkedRun<'_>,
    url: &str,
    workers: usize,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<(ProvingFigures, FinalFigures)> {
    let (round, split_s) = split(run, bar)?;
    let (shape, k) = (run.shape, round.chunks.len());
    let mut rng = ChaCha20Rng::seed_from_u64(run.seed);
    bar.set_message(format!("{shape}: keys for chunks of {} and the final proof", run.chunk_params));
    let chunk_keys = run.store.load_or_setup(chunk_keys_circuit(run), &mut rng)?;
    let final_keys = run.store.load_or_setup(Circuit::Final { shape, chunks: k }, &mut rng)?;
    let mut tasks: Vec<Task> = round.chunks.iter().cloned().map(Task::Chunk).collect();
    let input = synthetic(shape, run.malicious, run.seed).input;
    tasks.push(Task::Final(FinalTask { input, chunk_params: run.chunk_params, unavailable: Vec::new() }));

    bar.set_message(format!("{shape}: {} tasks on {workers} worker(s) over NATS", tasks.len()));
    let (proofs, figures) = crate::commands::block_on(prove_on_workers(url, workers, run.store, &tasks))?;
    let start = Instant::now();
    let mut verified = true;
    for (c, proof) in proofs[..k].iter().enumerate() {
        verified &= snark::verify_inputs(&chunk_keys.vk, &round.witness.chunks[c].to_vec(), proof)?;
    }
    let final_verified = snark::verify_inputs(&final_keys.vk, &round.witness.public.to_vec(), &proofs[k])?;
    let verify_s = start.elapsed().as_secs_f64();
    let slowest_chunk = figures.task_prove_s[..k].iter().copied().fold(0.0, f64::max);
    let final_prove_s = figures.task_prove_s[k];
    let chunks_per_machine = k.div_ceil(run.machines.max(1));
    let inliers = &round.witness.output.inliers;
    let sample = synthetic(shape, run.malicious, run.seed);
    let chunk = ProvingFigures {
        setup_s: chunk_keys.setup_seconds,
        keys_cached: !chunk_keys.generated,
        key_load_s: if chunk_keys.generated { 0.0 } else { chunk_keys.seconds },
        prove_s: slowest_chunk,
        verify_s,
        verified,
        proving_key_bytes: std::fs::metadata(run.store.path(chunk_keys_circuit(run), KeyKind::Proving))?.len(),
        peak_rss_bytes: peak_rss_bytes(),
        workers: Some(figures),
        flagged: (0..shape.trainers).filter(|&i| !inliers[i]).collect(),
        planted: sample.attacks.iter().enumerate().filter(|(_, a)| a.is_some()).map(|(i, _)| i).collect(),
    };
    let last = FinalFigures {
        split_s,
        setup_s: final_keys.setup_seconds,
        keys_cached: !final_keys.generated,
        prove_s: final_prove_s,
        verified: final_verified,
        machines: run.machines,
        chunks_per_machine,
        projected_wall_s: chunks_per_machine as f64 * slowest_chunk + final_prove_s,
    };
    Ok((chunk, last))
}

fn chunk_keys_circuit(run: &ChunkedRun<'_>) -> Circuit {
    Circuit::Chunk { trainers: run.shape.trainers, params: run.chunk_params }
}
