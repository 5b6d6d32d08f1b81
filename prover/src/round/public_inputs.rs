//! The Groth16 public inputs of a round, in their fixed order:
//!
//! | index            | value                                                        |
//! |------------------|--------------------------------------------------------------|
//! | 0                | context: job, round and hyper-parameters (`params::CONTEXT_LAYOUT`) |
//! | 1                | `C(w)`, commitment to the model the round starts from        |
//! | 2                | `C(w')`, commitment to the new model (tagged with round + 1) |
//! | 3 .. 3+n         | `C_1..C_n`, update commitments (0 for an empty slot)         |
//! | 3+n              | flags: presence bit i at bit i, inlier bit i at bit 64+i      |
//! | 4+n ..           | scores, 5 per input, score i at bits 48·(i mod 5) of input ⌊i/5⌋ |

use ark_bn254::Fr;
use ark_ff::PrimeField;
use num_bigint::BigUint;

use crate::error::{Error, Result};
use crate::params::RoundParams;
use crate::shape::{Shape, SCORES_PER_WORD, SCORE_BITS};

/// Bit offset of the inlier bits in the flags input.
pub const INLIER_FLAG_OFFSET: usize = 64;

/// The public inputs of a round, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicInputs {
    /// Packed round parameters.
    pub context: Fr,
    /// `C(w)`.
    pub model: Fr,
    /// `C(w')`.
    pub new_model: Fr,
    /// `C_1..C_n`.
    pub updates: Vec<Fr>,
    /// Presence and inlier bits.
    pub flags: Fr,
    /// Packed contribution scores.
    pub scores: Vec<Fr>,
}

impl PublicInputs {
    /// Assembles the public inputs from the round's values.
    pub fn new(
        params: &RoundParams,
        model: Fr,
        new_model: Fr,
        updates: Vec<Fr>,
        presence: &[bool],
        inliers: &[bool],
        scores: &[u64],
    ) -> Self {
        PublicInputs {
            context: params.context(),
            model,
            new_model,
            updates,
            flags: pack_flags(presence, inliers),
            scores: pack_scores(scores),
        }
    }

    /// The inputs in verifier order.
    pub fn to_vec(&self) -> Vec<Fr> {
        let mut v = vec![self.context, self.model, self.new_model];
        v.extend_from_slice(&self.updates);
        v.push(self.flags);
        v.extend_from_slice(&self.scores);
        v
    }

    /// Splits a verifier-ordered input vector by name, checking its length.
    pub fn from_vec(shape: &Shape, inputs: &[Fr]) -> Result<Self> {
        let n = shape.trainers;
        if inputs.len() != shape.num_public_inputs() {
            return Err(Error::LengthMismatch {
                what: "public inputs".into(),
                expected: shape.num_public_inputs(),
                found: inputs.len(),
            });
        }
        Ok(PublicInputs {
            context: inputs[0],
            model: inputs[1],
            new_model: inputs[2],
            updates: inputs[3..3 + n].to_vec(),
            flags: inputs[3 + n],
            scores: inputs[4 + n..].to_vec(),
        })
    }

    /// Reads back (presence, inliers) for `n` slots.
    pub fn flags(&self, n: usize) -> (Vec<bool>, Vec<bool>) {
        let big: BigUint = self.flags.into();
        let bit = |i: usize| big.bit(i as u64);
        ((0..n).map(bit).collect(), (0..n).map(|i| bit(INLIER_FLAG_OFFSET + i)).collect())
    }

    /// Reads back the scores of `n` slots.
    pub fn scores(&self, n: usize) -> Vec<u64> {
        (0..n)
            .map(|i| {
                let big: BigUint = self.scores[i / SCORES_PER_WORD].into();
                let slot = big >> (SCORE_BITS as usize * (i % SCORES_PER_WORD));
                slot.iter_u64_digits().next().unwrap_or(0) & ((1u64 << SCORE_BITS) - 1)
            })
            .collect()
    }
}

/// Packs presence and inlier bits into one field element.
pub fn pack_flags(presence: &[bool], inliers: &[bool]) -> Fr {
    let mut big = BigUint::default();
    for (i, (&p, &l)) in presence.iter().zip(inliers).enumerate() {
        big.set_bit(i as u64, p);
        big.set_bit((INLIER_FLAG_OFFSET + i) as u64, l);
    }
    Fr::from_le_bytes_mod_order(&big.to_bytes_le())
}

/// Packs scores 5 per field element, 48 bits each.
pub fn pack_scores(scores: &[u64]) -> Vec<Fr> {
    scores
        .chunks(SCORES_PER_WORD)
        .map(|chunk| {
            let mut big = BigUint::default();
            for (t, s) in chunk.iter().enumerate() {
                big |= BigUint::from(*s) << (SCORE_BITS as usize * t);
            }
            Fr::from_le_bytes_mod_order(&big.to_bytes_le())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips() {
        let shape = Shape::new(7, 3).unwrap();
        let params =
            RoundParams { job_id: 9, round: 1, max_malicious: 1, tau: 1 << 17, lr: 10, next_lr: 9, dup_tol: 0 };
        let presence = [true, false, true, true, true, false, true];
        let inliers = [true, false, false, true, true, false, true];
        let scores = [5, 0, 0, (1 << 48) - 1, 7, 0, 123];
        let updates: Vec<Fr> = (0..7u64).map(Fr::from).collect();
        let pi = PublicInputs::new(&params, Fr::from(1u8), Fr::from(2u8), updates, &presence, &inliers, &scores);
        let v = pi.to_vec();
        assert_eq!(v.len(), shape.num_public_inputs());
        let back = PublicInputs::from_vec(&shape, &v).unwrap();
        assert_eq!(back, pi);
        assert_eq!(back.flags(7), (presence.to_vec(), inliers.to_vec()));
        assert_eq!(back.scores(7), scores.to_vec());
        assert!(PublicInputs::from_vec(&shape, &v[1..]).is_err());
    }
}
