//! One chunk of a round's parameters, natively: the per-parameter work of a chunked round
//! (prover/README.md, "Rounds of real size"), which a chunk proof carries so that no single
//! proof grows with the model.
//!
//! For the slice `[a, b)` of every slot's update, chunk c states (its proof's one public input
//! is the **digest** of the stated values, [`ChunkPublic::digest`]):
//! 1. **mask**: the presence and inlier bits, packed in `⌈n/64⌉` words
//!    ([`crate::slot_bits`]; inliers are present);
//! 2. **update commitments**: `C_i^c`, each present slot's slice committed under the header
//!    `(4, domain, round, slot, c)`, every value in the update range;
//! 3. **partial norm**: `P_c = Σ_{k∈[a,b)} (Σ_i r_i Δ_ik)²` with `r_i = Poseidon(ρ, i)` on present
//!    slots (0 on absent ones). Over all chunks, `Σ_c P_c = ‖Σ_i r_i Δ_i‖²`, the right side of
//!    the round's Gram check, so the final proof checks `Σ_c P_c = rᵀ G r`;
//! 4. **aggregate**: `C(S^c)`, the commitment under `(5, domain, round, c)` to the inliers'
//!    offset sums `Σ_{i∈I} (Δ_ik + 2^7)`, packed in lanes of `8 + bit_len(n)` bits (no sum
//!    reaches `2^8·n`, so the packing is injective without range checks of its own).
//!
//! The rule, γ and the scores depend on `G` only and stay in the final proof, which takes ρ and
//! the mask and binds each slot's round commitment to its chunk commitments.

pub mod constraints;

use ark_bn254::Fr;
use ark_ff::{Field, Zero};
use serde::{Deserialize, Serialize};

use crate::commitment::{self, commit_packed, pack, pack_unsigned};
use crate::error::{Error, Result};
use crate::fixed_point::UPDATE_BITS;
use crate::gadgets::fr;
use crate::round::gram_check::coefficient;
use crate::shape::{bit_len, MAX_TRAINERS};

/// Domain tag of a chunk's update commitments (1–3 are updates, models and the Gram challenge).
pub const CHUNK_UPDATE_TAG: u64 = 4;
/// Domain tag of a chunk's aggregate commitment.
pub const CHUNK_AGGREGATE_TAG: u64 = 5;
/// Domain tag of a chunk's digest, its proof's one public input (6 and 7 are the chunked round's
/// update and aggregate commitments, [`crate::chunked`]).
pub const CHUNK_DIGEST_TAG: u64 = 8;

/// What one chunk is proven from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkInput {
    /// The job's domain ([`crate::domain::JobDomain::value`]).
    #[serde(with = "crate::export::field::decimal")]
    pub domain: Fr,
    /// The round.
    pub round: u32,
    /// The chunk's index in the round.
    pub chunk: u32,
    /// The round's challenge seed ρ (the final proof derives it from the commitments and G).
    #[serde(with = "crate::export::field::decimal")]
    pub seed: Fr,
    /// Slots whose update is averaged into the model.
    pub inliers: Vec<bool>,
    /// Each slot's slice of its update (`None` for an empty slot), all of one length.
    pub updates: Vec<Option<Vec<i64>>>,
}

/// What a chunk states. Its proof has one public input, the digest of these values
/// ([`ChunkPublic::digest`]), so that a contract checks a challenged chunk's proof with one
/// input and finds the digest in the round's digest tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPublic {
    /// The job's domain.
    pub domain: Fr,
    /// The round.
    pub round: Fr,
    /// The chunk's index.
    pub chunk: Fr,
    /// The challenge seed ρ.
    pub seed: Fr,
    /// Presence and inlier bits, [`crate::slot_bits::field_words`].
    pub mask: Vec<Fr>,
    /// Each slot's chunk commitment `C_i^c` (0 for an empty slot).
    pub commitments: Vec<Fr>,
    /// `P_c`.
    pub partial_norm: Fr,
    /// `C(S^c)`.
    pub aggregate: Fr,
}

impl ChunkPublic {
    /// The proof's public inputs: the digest alone.
    pub fn to_vec(&self) -> Vec<Fr> {
        vec![self.digest()]
    }

    /// `d_c = commit((8, domain, round, c), ρ, mask words, P_c, C(S^c), C_1^c, …, C_n^c)`.
    pub fn digest(&self) -> Fr {
        commit_packed(&self.digest_header(), &self.digest_elements())
    }

    fn digest_header(&self) -> [Fr; 4] {
        [Fr::from(CHUNK_DIGEST_TAG), self.domain, self.round, self.chunk]
    }

    fn digest_elements(&self) -> Vec<Fr> {
        let mut v = vec![self.seed];
        v.extend(&self.mask);
        v.extend([self.partial_norm, self.aggregate]);
        v.extend(&self.commitments);
        v
    }
}

impl ChunkInput {
    /// Slots n.
    pub fn trainers(&self) -> usize {
        self.updates.len()
    }

    /// Parameters in the chunk (0 when no slot is present).
    pub fn params(&self) -> usize {
        self.updates.iter().flatten().map(Vec::len).next().unwrap_or(0)
    }

    /// Checks the slot count, the slices' lengths and range, and that inliers are present.
    fn validate(&self, params: usize) -> Result<()> {
        let n = self.trainers();
        let invalid = |reason: String| Error::InvalidParameter { name: "chunk", reason };
        if n == 0 || n > MAX_TRAINERS || self.inliers.len() != n {
            return Err(invalid(format!(
                "{n} slots and {} inlier bits (1..={MAX_TRAINERS} slots)",
                self.inliers.len()
            )));
        }
        for (slot, update) in self.updates.iter().enumerate() {
            match update {
                Some(values) if values.len() != params => {
                    return Err(invalid(format!("slot {slot}'s slice has {} values, not {params}", values.len())))
                }
                Some(values) => commitment::check(values, UPDATE_BITS, &format!("slot {slot}'s slice"))?,
                None if self.inliers[slot] => return Err(invalid(format!("slot {slot} is an inlier but empty"))),
                None => {}
            }
        }
        Ok(())
    }
}

/// The header of slot `slot`'s commitment to chunk `chunk` of its update.
pub fn update_header(domain: Fr, round: u32, slot: usize, chunk: u32) -> Vec<Fr> {
    vec![Fr::from(CHUNK_UPDATE_TAG), domain, Fr::from(round), Fr::from(slot as u64), Fr::from(chunk)]
}

/// `C_i^c`: slot `slot`'s commitment to `values`, its slice of chunk `chunk`.
pub fn commit_slice(domain: Fr, round: u32, slot: usize, chunk: u32, values: &[i64]) -> Fr {
    commit_packed(&update_header(domain, round, slot, chunk), &pack(values, UPDATE_BITS))
}

/// The header of the commitment to chunk `chunk` of the inliers' aggregate.
pub fn aggregate_header(domain: Fr, round: u32, chunk: u32) -> Vec<Fr> {
    vec![Fr::from(CHUNK_AGGREGATE_TAG), domain, Fr::from(round), Fr::from(chunk)]
}

/// Lane width of the aggregate's offset sums for n slots: each is below `2^8 · n`.
pub fn aggregate_lane_bits(trainers: usize) -> u32 {
    UPDATE_BITS + bit_len(trainers as u128)
}

/// `C(S^c)`: the commitment to chunk `chunk`'s lanes `Σ_{i∈I} (Δ_ik + 2^7)` in a round of
/// `trainers` slots.
pub fn commit_aggregate(domain: Fr, round: u32, chunk: u32, trainers: usize, lanes: &[u64]) -> Fr {
    commit_packed(&aggregate_header(domain, round, chunk), &pack_unsigned(lanes, aggregate_lane_bits(trainers)))
}

/// The chunk's public inputs, step by step as the circuit computes them.
pub fn run(input: &ChunkInput) -> Result<ChunkPublic> {
    let d = input.params();
    input.validate(d)?;
    let presence: Vec<bool> = input.updates.iter().map(Option::is_some).collect();
    // 2. Update commitments.
    let commitments = input
        .updates
        .iter()
        .enumerate()
        .map(|(slot, u)| match u {
            Some(u) => commit_slice(input.domain, input.round, slot, input.chunk, u),
            None => Fr::zero(),
        })
        .collect();
    // 3. Partial norm.
    let weights: Vec<Fr> =
        presence.iter().enumerate().map(|(i, p)| if *p { coefficient(input.seed, i) } else { Fr::zero() }).collect();
    let partial_norm = (0..d)
        .map(|k| {
            let y: Fr =
                input.updates.iter().zip(&weights).filter_map(|(u, r)| u.as_ref().map(|u| *r * fr(u[k].into()))).sum();
            y.square()
        })
        .sum();
    // 4. Aggregate.
    let offset = 1i64 << (UPDATE_BITS - 1);
    let lanes: Vec<u64> = (0..d)
        .map(|k| {
            let inlier_values = input.updates.iter().zip(&input.inliers).filter(|(_, inlier)| **inlier);
            inlier_values.map(|(u, _)| u.as_ref().map_or(0, |u| (u[k] + offset) as u64)).sum()
        })
        .collect();
    let aggregate = commit_aggregate(input.domain, input.round, input.chunk, input.trainers(), &lanes);
    Ok(ChunkPublic {
        domain: input.domain,
        round: Fr::from(input.round),
        chunk: Fr::from(input.chunk),
        seed: input.seed,
        mask: crate::slot_bits::field_words(&presence, &input.inliers),
        commitments,
        partial_norm,
        aggregate,
    })
}
