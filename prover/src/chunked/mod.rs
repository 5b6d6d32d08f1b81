//! A chunked round, natively: the round split into chunk proofs ([`crate::chunk`]) that carry
//! the per-parameter work, and the final proof that carries the rule and binds the chunks
//! (prover/README.md, "Rounds of real size").
//!
//! The parameters are cut into K chunks `[c·D, (c+1)·D)`, the last one padded with zeros. The final statement, step by step
//! (the circuit, [`constraints`], runs the same steps under the same names):
//! 1. **context** and **order**: as the round's;
//! 2. **chunk commitments**: each present slot's round commitment is
//!    `C_i = commit((6, domain, round, slot), C_i^1, …, C_i^K)` over its chunk commitments (what a
//!    trainer posts: still one word per round); an absent slot's chunk commitments are 0;
//! 3. **gram matrix** and **gram check**: ρ hashed from the `C_i` and `G` as in the round, and
//!    `Σ_c P_c = rᵀ G r`. Chunk c proves `P_c = ‖Σ_i r_i Δ_i[chunk c]‖²`, so the sum is the
//!    round's `‖Σ_i r_i Δ_i‖²` and the Schwartz–Zippel argument is unchanged;
//! 4. **duplicates**, **krum**, **median**, **alignment**, **scores**, **outputs**: the round's
//!    steps on `G`, unchanged;
//! 5. **aggregate**: `C(S) = commit((7, domain, round), C(S^1), …, C(S^K))`. The new model
//!    `w' = clamp(w + γ·S)` with `γ = ⌊lr/|I|⌋` is then a public function of the previous model,
//!    the flags and `S`, which anyone checks against `C(S)`;
//! 6. **chunk digest**: each chunk's digest `d_c` ([`ChunkPublic::digest`], over its domain,
//!    round, index, ρ, mask, `P_c`, `C(S^c)` and `C_i^c`; the chunk proof's one public input),
//!    and `H`, the root of the digest tree over them ([`tree`]): one public word that fixes every
//!    chunk proof's public input, so that a contract checks a challenged chunk against it.

pub mod aggregate;
pub mod constraints;
pub mod tree;

use std::ops::Range;

use ark_bn254::Fr;
use ark_ff::Zero;

use crate::chunk::{self, ChunkInput, ChunkPublic};
use crate::commitment::commit_packed;
use crate::error::{Error, Result};
use crate::round::public_inputs::{pack_flags, pack_order, pack_scores, Flags};
use crate::round::{gram_check, PublicInputs, RoundInput, RoundOutput};

/// Domain tag of a slot's round commitment over its chunk commitments.
pub const ROUND_UPDATE_TAG: u64 = 6;
/// Domain tag of the aggregate's commitment over its chunks.
pub const AGGREGATE_TAG: u64 = 7;

/// How a round's `params` parameters are cut: chunks of `chunk_params`, the last one shorter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunking {
    /// Parameters in the round, d.
    pub params: usize,
    /// Parameters per chunk, D.
    pub chunk_params: usize,
}

impl Chunking {
    /// A round proven whole: one chunk of all `params` parameters (its `C(S)` is the chunked
    /// one's for K = 1, [`aggregate::commit`]).
    pub fn whole(params: usize) -> Self {
        Chunking { params, chunk_params: params }
    }

    /// Checks that both sizes are positive.
    pub fn new(params: usize, chunk_params: usize) -> Result<Self> {
        if params == 0 || chunk_params == 0 {
            return Err(Error::InvalidParameter {
                name: "chunk",
                reason: format!("{params} parameters in chunks of {chunk_params}: both must be positive"),
            });
        }
        Ok(Chunking { params, chunk_params })
    }

    /// The chunking of a chunked job: `params` parameters in `chunks` chunks of `⌈params / chunks⌉`
    /// (the contract stores K, the job spec d, so every role derives the same D from them).
    /// An error when no chunk size gives exactly `chunks` chunks of that many parameters.
    pub fn for_count(params: usize, chunks: usize) -> Result<Self> {
        let chunking = Chunking::new(params, params.div_ceil(chunks.max(1)))?;
        if chunks == 0 || chunking.count() != chunks {
            return Err(Error::InvalidParameter {
                name: "chunk",
                reason: format!(
                    "{params} parameters cannot be cut into {chunks} chunks of ⌈{params} / {chunks}⌉ (the job's verifier has {chunks})"
                ),
            });
        }
        Ok(chunking)
    }

    /// The number of chunks K.
    pub fn count(&self) -> usize {
        self.params.div_ceil(self.chunk_params)
    }

    /// The parameters of chunk `c`.
    pub fn range(&self, c: usize) -> Range<usize> {
        c * self.chunk_params..((c + 1) * self.chunk_params).min(self.params)
    }

    /// Chunk `c`'s slice of `values`, the last one padded with zeros to `chunk_params`, so that
    /// every chunk has the same circuit and one key proves them all. A zero adds nothing to a
    /// partial norm, and the padded lanes of `S` are `2^7·|I|`, which anyone recomputes.
    pub fn slice(&self, values: &[i64], c: usize) -> Vec<i64> {
        let mut slice = values[self.range(c)].to_vec();
        slice.resize(self.chunk_params, 0);
        slice
    }
}

/// The final proof's public inputs: a round's ([`PublicInputs`]), whose `C(S)` is this
/// commitment over the chunks and whose `H` is the root of their digests, so the update
/// commitments, flags and scores keep their positions whichever way a round is proven.
pub type FinalPublic = PublicInputs;

/// What the final proof is proven from: the round, its reference outcome, and every chunk's
/// public inputs.
#[derive(Debug, Clone)]
pub struct FinalWitness {
    /// The round's input (all of every update: the aggregator holds them).
    pub input: RoundInput,
    /// The round reference's outcome.
    pub output: RoundOutput,
    /// The seed ρ every chunk weighs its slice with.
    pub seed: Fr,
    /// Each chunk's public inputs, in chunk order.
    pub chunks: Vec<ChunkPublic>,
    /// The public inputs the final proof is for.
    pub public: FinalPublic,
}

/// A round split into chunks: what each chunk proof and the final proof are proven from.
#[derive(Debug, Clone)]
pub struct ChunkedRound {
    /// How the parameters are cut.
    pub chunking: Chunking,
    /// Each chunk's input, in chunk order.
    pub chunks: Vec<ChunkInput>,
    /// The final proof's assignment (it holds each chunk's public inputs).
    pub witness: FinalWitness,
}

/// `C_i`: a slot's round commitment over its chunk commitments.
pub fn round_commitment(domain: Fr, round: u32, slot: usize, chunk_commitments: &[Fr]) -> Fr {
    let header = [Fr::from(ROUND_UPDATE_TAG), domain, Fr::from(round), Fr::from(slot as u64)];
    commit_packed(&header, chunk_commitments)
}

/// A trainer's round commitment to its whole update, cut as `chunking` says.
pub fn commit_update(domain: Fr, round: u32, slot: usize, update: &[i64], chunking: Chunking) -> Result<Fr> {
    if update.len() != chunking.params {
        return Err(Error::InvalidParameter {
            name: "update",
            reason: format!("slot {slot}'s update has {} values, not {}", update.len(), chunking.params),
        });
    }
    crate::commitment::check(update, crate::fixed_point::UPDATE_BITS, &format!("slot {slot}'s update"))?;
    let chunks: Vec<Fr> = (0..chunking.count())
        .map(|c| chunk::commit_slice(domain, round, slot, c as u32, &chunking.slice(update, c)))
        .collect();
    Ok(round_commitment(domain, round, slot, &chunks))
}

/// `C(S)`: the aggregate's commitment over its chunks' `C(S^c)`.
pub fn aggregate_commitment(domain: Fr, round: u32, chunk_aggregates: &[Fr]) -> Fr {
    commit_packed(&[Fr::from(AGGREGATE_TAG), domain, Fr::from(round)], chunk_aggregates)
}

/// `H`: the root of the digest tree over every chunk's digest, in chunk order.
pub fn digest(chunks: &[ChunkPublic]) -> Fr {
    tree::root(&chunks.iter().map(ChunkPublic::digest).collect::<Vec<_>>())
}

/// What a contract needs to check chunk `index` against `H`: its digest and its path (`None`
/// past the last chunk).
pub fn opening(chunks: &[ChunkPublic], index: usize) -> Option<(Fr, Vec<Fr>)> {
    let leaves: Vec<Fr> = chunks.iter().map(ChunkPublic::digest).collect();
    Some((*leaves.get(index)?, tree::path(&leaves, index)))
}

/// Splits `input` into chunks of `chunk_params` parameters and computes, step by step, every
/// chunk's public inputs and the final proof's.
pub fn split(input: RoundInput, chunk_params: usize) -> Result<ChunkedRound> {
    split_with_unavailable(input, chunk_params, &[])
}

/// [`split`] of a round where the slots of `unavailable` committed `(slot, C_i)` on chain but
/// their update is missing (its slot in `input` is empty). Their commitments stay in the public
/// inputs (the contract folded them in at submission) and so in the seed ρ, while their
/// presence bit is 0 and the final proof does not open them.
pub fn split_with_unavailable(
    input: RoundInput,
    chunk_params: usize,
    unavailable: &[(usize, Fr)],
) -> Result<ChunkedRound> {
    let chunking = Chunking::new(input.shape.params, chunk_params)?;
    let output = crate::round::run(&input)?;
    let (domain, round) = (input.domain, input.params.round);
    let slices = |c: usize| -> Vec<Option<Vec<i64>>> {
        input.updates.iter().map(|u| u.as_ref().map(|u| chunking.slice(u, c))).collect()
    };
    // 2. Chunk commitments, then each slot's round commitment over them.
    let chunk_commitments: Vec<Vec<Option<Fr>>> = (0..chunking.count())
        .map(|c| {
            let slices = slices(c);
            slices
                .iter()
                .enumerate()
                .map(|(i, s)| s.as_ref().map(|s| chunk::commit_slice(domain, round, i, c as u32, s)))
                .collect()
        })
        .collect();
    let updates: Vec<Fr> = (0..input.shape.trainers)
        .map(|i| match input.updates[i] {
            Some(_) => round_commitment(
                domain,
                round,
                i,
                &chunk_commitments.iter().map(|c| c[i].unwrap_or_default()).collect::<Vec<_>>(),
            ),
            None => Fr::zero(),
        })
        .collect();
    let mut updates = updates;
    let unavailable = input.declare_unavailable(&mut updates, unavailable)?;
    // 3. The challenge seed over the round commitments and G; each chunk's own inputs.
    let seed = gram_check::seed(input.shape, input.params.dup_tol, domain, round, &updates, &output.trace.gram);
    let chunk_inputs: Vec<ChunkInput> = (0..chunking.count())
        .map(|c| ChunkInput {
            domain,
            round,
            chunk: c as u32,
            seed,
            inliers: output.inliers.clone(),
            updates: slices(c),
        })
        .collect();
    let chunks = chunk_inputs.iter().map(chunk::run).collect::<Result<Vec<_>>>()?;
    // 5. The aggregate; 6. the digest.
    let aggregate = aggregate_commitment(domain, round, &chunks.iter().map(|c| c.aggregate).collect::<Vec<_>>());
    let digest = digest(&chunks);
    let flags = Flags { unavailable, inliers: output.inliers.clone(), aggregate_norm_sq: output.aggregate_norm_sq };
    let public = FinalPublic {
        context: input.params.context(),
        domain,
        aggregate,
        digest,
        updates,
        order: pack_order(&input.order),
        flags: pack_flags(&flags),
        scores: pack_scores(&output.scores),
    };
    let witness = FinalWitness { input, output, seed, chunks, public };
    Ok(ChunkedRound { chunking, chunks: chunk_inputs, witness })
}
