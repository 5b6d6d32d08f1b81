//! One round of robust aggregation: its inputs, the native reference that computes it, the
//! public inputs that state it, and the circuit that proves it.
//!
//! [`reference::run`] is the specification in plain integer arithmetic; [`constraints`] proves
//! the same computation and is tested against it: the circuit, its inputs and the steps around
//! the rule there, the Gram matrix's in [`gram_check`], the rule's in [`rule`].

#[cfg(test)]
pub(crate) mod constraint_tests;
pub mod constraints;
pub mod gram_check;
pub mod public_inputs;
pub mod reference;
mod rule;
pub mod sample;

use ark_bn254::Fr;
use serde::{Deserialize, Serialize};

use crate::commitment;
use crate::error::{Error, Result};
use crate::fixed_point::{Encoding, Rounding, MODEL_BITS, UPDATE_BITS};
use crate::params::RoundParams;
use crate::shape::Shape;

pub use constraints::{RoundCircuit, RoundWitness, StepConstraints};
pub use public_inputs::{InputWords, PublicInputs};
pub use reference::run;

/// Everything a round starts from: the previous model and each slot's update (if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundInput {
    /// The job's shape.
    pub shape: Shape,
    /// Public parameters of this round.
    pub params: RoundParams,
    /// The job's domain ([`crate::domain::JobDomain::value`]), in every update commitment.
    #[serde(with = "crate::export::field::decimal")]
    pub domain: Fr,
    /// Each slot's submission rank in the round on chain: 1 for the first commitment, 2 for the
    /// second, ...; 0 for a slot that did not submit. Duplicates keep the earliest submission.
    pub order: Vec<u16>,
    /// The global model `w` in the model encoding.
    pub model: Vec<i64>,
    /// Each slot's update `Δ_i` in the update encoding; `None` for an empty slot.
    pub updates: Vec<Option<Vec<i64>>>,
}

impl RoundInput {
    /// Encodes real-valued model and updates (f64 in, integers out) and validates the result.
    #[allow(clippy::too_many_arguments)] // the round's inputs, each named; a builder would add nothing
    pub fn from_real(
        shape: Shape,
        params: RoundParams,
        domain: Fr,
        order: Vec<u16>,
        model: &[f64],
        model_encoding: Encoding,
        updates: &[Option<Vec<f64>>],
        update_encoding: Encoding,
        rounding: Rounding,
    ) -> Result<Self> {
        let encode = |values: &[f64], enc: Encoding, what: String, rounding| {
            enc.encode(values, rounding).map_err(|source| Error::Encoding { what, source })
        };
        let model = encode(model, model_encoding, "model".into(), Rounding::Nearest)?;
        let updates = updates
            .iter()
            .enumerate()
            .map(|(slot, u)| {
                u.as_ref()
                    .map(|u| {
                        // Each slot gets its own rounding stream so that identical inputs stay identical.
                        encode(u, update_encoding, format!("update of slot {slot}"), rounding)
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let input = RoundInput { shape, params, domain, order, model, updates };
        input.validate()?;
        Ok(input)
    }

    /// Checks lengths, value ranges and parameters against the shape.
    pub fn validate(&self) -> Result<()> {
        let shape = Shape::new(self.shape.trainers, self.shape.params)?;
        self.params.validate(&shape)?;
        let len = |what: String, expected: usize, found: usize| {
            if expected == found {
                Ok(())
            } else {
                Err(Error::LengthMismatch { what, expected, found })
            }
        };
        len("model".into(), shape.params, self.model.len())?;
        len("update slots".into(), shape.trainers, self.updates.len())?;
        len("submission ranks".into(), shape.trainers, self.order.len())?;
        self.validate_order()?;
        commitment::check(&self.model, MODEL_BITS, "model")?;
        for (slot, u) in self.updates.iter().enumerate() {
            if let Some(u) = u {
                len(format!("update of slot {slot}"), shape.params, u.len())?;
                commitment::check(u, UPDATE_BITS, &format!("update of slot {slot}"))?;
            }
        }
        Ok(())
    }

    /// Submission ranks: every present slot has one, ranks are distinct, at most n and without gaps.
    fn validate_order(&self) -> Result<()> {
        let n = self.shape.trainers;
        let invalid = |reason: String| Err(Error::InvalidParameter { name: "order", reason });
        let mut seen = vec![false; n + 1];
        for (slot, &rank) in self.order.iter().enumerate() {
            let rank = rank as usize;
            if rank > n {
                return invalid(format!("slot {slot} has rank {rank}, above the {n} slots"));
            }
            if rank == 0 && self.updates[slot].is_some() {
                return invalid(format!("slot {slot} holds an update but has no submission rank"));
            }
            if rank != 0 && std::mem::replace(&mut seen[rank], true) {
                return invalid(format!("rank {rank} appears twice (slot {slot})"));
            }
        }
        // The contract ranks a round's submitters 1, 2, ..., m; the circuit relies on it.
        if let Some(gap) = (1..=n).find(|&r| !seen[r] && seen[r + 1..].contains(&true)) {
            return invalid(format!("rank {gap} is missing below a higher rank: submitters are ranked 1, 2, ..."));
        }
        Ok(())
    }

    /// Whether slot `a` submitted before slot `b`: by rank among the slots that submitted, which
    /// all come before those that did not, and those by slot (the circuit's "order" step reads
    /// one such bit per pair).
    pub fn submitted_before(&self, a: usize, b: usize) -> bool {
        let key = |slot: usize| (self.order[slot] == 0, self.order[slot], slot);
        key(a) < key(b)
    }

    /// Ranks for slots that submitted in slot order (1, 2, ... over the present slots), for
    /// tests and samples where the on-chain order is not at hand.
    pub fn slot_order(updates: &[Option<Vec<i64>>]) -> Vec<u16> {
        let mut next = 0u16;
        updates
            .iter()
            .map(|u| match u {
                Some(_) => {
                    next += 1;
                    next
                }
                None => 0,
            })
            .collect()
    }

    /// Which slots hold an update.
    pub fn presence(&self) -> Vec<bool> {
        self.updates.iter().map(Option::is_some).collect()
    }

    /// Sets the commitments of the slots the aggregator declared unavailable, `(slot, C_i)` as
    /// submitted on chain, in `commitments` (the round's `C_i`, 0 for an empty slot), and returns
    /// the unavailable bits. Such a slot must be empty in the round and its commitment non-zero
    /// (the contract refuses a zero commitment, and the circuit reads `C_i = 0` as "did not
    /// submit").
    pub fn declare_unavailable(&self, commitments: &mut [Fr], unavailable: &[(usize, Fr)]) -> Result<Vec<bool>> {
        let mut bits = vec![false; self.shape.trainers];
        for &(slot, commitment) in unavailable {
            let invalid = |reason: String| Err(Error::InvalidParameter { name: "unavailable", reason });
            if !matches!(self.updates.get(slot), Some(None)) {
                return invalid(format!("slot {slot} is declared unavailable but is not an empty slot of the round"));
            }
            if commitment == Fr::from(0u8) {
                return invalid(format!("slot {slot} is declared unavailable with a zero commitment"));
            }
            commitments[slot] = commitment;
            bits[slot] = true;
        }
        Ok(bits)
    }

    /// `C_i` per slot, zero for an empty slot.
    pub fn update_commitments(&self) -> Vec<Fr> {
        self.updates
            .iter()
            .enumerate()
            .map(|(slot, u)| match u {
                Some(u) => commitment::commit_checked_update(self.domain, self.params.round, slot, u),
                None => Fr::from(0u8),
            })
            .collect()
    }
}

/// The outcome of a round: the claims the proof makes, and the intermediate values behind them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundOutput {
    /// Slots whose update was averaged into the model.
    pub inliers: Vec<bool>,
    /// Contribution score per slot (0 for outliers and empty slots).
    pub scores: Vec<u64>,
    /// `‖S‖²`, S the sum of the inliers' updates: `score_i / ‖S‖²` is cos² of the angle between
    /// slot i's update and S, a reliability observation in [0, 1] whatever the trainer count.
    pub aggregate_norm_sq: u64,
    /// The new global model `w'`.
    pub new_model: Vec<i64>,
    /// Intermediate values: the reasons behind the outcome and the circuit's hints.
    pub trace: RoundTrace,
}

/// Intermediate values of a round, in the order the statement computes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTrace {
    /// Gram matrix `G_ij = ⟨Δ_i, Δ_j⟩` (empty slots count as zero vectors).
    pub gram: Vec<Vec<i128>>,
    /// Slots that copy an earlier present slot (squared distance ≤ `dup_tol`).
    pub duplicate: Vec<bool>,
    /// Present, non-duplicate slots: the candidates `U`.
    pub unique: Vec<bool>,
    /// Neighbours per Krum score, `k = max(1, |U| − f − 2)` (0 when |U| ≤ 1).
    pub k: usize,
    /// `selected[i][j]`: j is one of i's k nearest candidates.
    pub selected: Vec<Vec<bool>>,
    /// The k-th smallest distance from i (the selection threshold).
    pub threshold: Vec<i128>,
    /// Krum score: sum of squared distances to the k nearest candidates.
    pub krum: Vec<i128>,
    /// Lower median of the candidates' Krum scores.
    pub median: i128,
    /// Rank of the median, `⌊(|U| − 1)/2⌋`.
    pub median_rank: usize,
    /// Candidates whose Krum score is within τ × median.
    pub krum_inlier: Vec<bool>,
    /// `⟨Δ_i, Σ_{Krum inliers} Δ_j⟩`: alignment with the robust direction.
    pub alignment: Vec<i128>,
    /// `γ = ⌊lr / |I|⌋`, the per-update learning rate.
    pub gamma: u64,
    /// Parameters whose `w + γ·S` left the model's range and were clamped to its bound.
    pub clamped: usize,
    /// `lr − γ·|I|`.
    pub gamma_rem: u64,
    /// `⟨Δ_i, S⟩` with `S` the sum of inlier updates.
    pub contribution: Vec<i128>,
    /// `max(0, ⟨Δ_i,S⟩)² mod ‖Δ_i‖²` for inliers (the score division's remainder).
    pub score_rem: Vec<i128>,
}

/// The fixed-point default, measured by `fedproof bench quantization`: 8-bit updates with a
/// 2^-8 quantum (clip ±0.496) and a 24-bit model with a 2^-20 quantum (range ±8).
pub fn default_encodings() -> (Encoding, Encoding) {
    (Encoding::update(8), Encoding::model(20))
}
