//! `bench prover --chunk D` (without `--count-only`): setup, prove and verify one chunk of a
//! chunked round, the unit of work a prover worker would take.
//!
//! The chunk is a seeded synthetic round of `D` parameters (statistically the same as any
//! D-parameter slice of a larger one), with the inlier bits its own round reference finds. Chunk
//! keys are not cached: the chunk statement is not yet part of a settled round.

use std::time::Instant;

use ark_ff::UniformRand;
use ark_serialize::{CanonicalSerialize, Compress};
use fedproof_prover::chunk::constraints::ChunkWitness;
use fedproof_prover::chunk::ChunkInput;
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::shape::Shape;
use fedproof_prover::snark;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::peak_rss_bytes;
use super::prover::ProvingFigures;

/// Proves one synthetic chunk of `trainers` × `params` with `malicious` planted attackers.
pub(super) fn prove_one_chunk(
    trainers: usize,
    params: usize,
    malicious: usize,
    seed: u64,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<ProvingFigures> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    bar.set_message(format!("chunk of {trainers} trainers × {params} params: setup"));
    let start = Instant::now();
    let (pk, vk) = snark::setup_chunk(trainers, params, &mut rng)?;
    let setup_s = start.elapsed().as_secs_f64();

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
    let proof = snark::prove_chunk(&pk, witness, &mut rng)?;
    let prove_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let verified = snark::verify_inputs(&vk, &public, &proof)?;
    let verify_s = start.elapsed().as_secs_f64();
    Ok(ProvingFigures {
        setup_s: Some(setup_s),
        keys_cached: false,
        key_load_s: 0.0,
        prove_s,
        verify_s,
        verified,
        proving_key_bytes: pk.serialized_size(Compress::No) as u64,
        peak_rss_bytes: peak_rss_bytes(),
        workers: None,
        flagged: (0..trainers).filter(|&i| !inliers[i]).collect(),
        planted: sample.attacks.iter().enumerate().filter(|(_, a)| a.is_some()).map(|(i, _)| i).collect(),
    })
}
