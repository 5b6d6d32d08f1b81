//! The public round parameters and their packing into the context public input.

use ark_bn254::Fr;
use ark_ff::PrimeField;
use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::shape::Shape;

/// Fixed-point fraction bits of the outlier threshold τ.
pub const TAU_FRAC_BITS: u32 = 16;

/// Public parameters of one round, all bound into the context public input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundParams {
    /// The job's on-chain id.
    pub job_id: u64,
    /// The round number, from 0.
    pub round: u32,
    /// Bound on malicious trainers `f` used by the Krum score.
    pub max_malicious: u8,
    /// Outlier threshold τ in 16.16 fixed point: an update is an outlier when its Krum score
    /// exceeds τ × the median Krum score. Must be ≥ 1.0 (65 536).
    pub tau: u32,
    /// Server learning rate as an integer: η · 2^(model_frac_bits − update_frac_bits).
    pub lr: u32,
    /// The learning rate the aggregator sets for the next round.
    pub next_lr: u32,
    /// Squared distance at or below which an update is a copy of an earlier slot's update.
    pub dup_tol: u32,
}

/// Bit layout of the context field: (name, offset, width).
pub const CONTEXT_LAYOUT: [(&str, u32, u32); 7] = [
    ("job_id", 0, 64),
    ("round", 64, 32),
    ("max_malicious", 96, 8),
    ("tau", 104, 32),
    ("lr", 136, 32),
    ("next_lr", 168, 32),
    ("dup_tol", 200, 32),
];

impl RoundParams {
    /// Checks the parameters against the shape.
    pub fn validate(&self, shape: &Shape) -> Result<()> {
        if self.tau < 1 << TAU_FRAC_BITS {
            return Err(Error::InvalidParameter {
                name: "tau",
                reason: format!("must be ≥ 1.0 (65536 in 16.16 fixed point), got {}", self.tau),
            });
        }
        if self.max_malicious as usize >= shape.trainers {
            return Err(Error::InvalidParameter {
                name: "max_malicious",
                reason: format!("must be below the {} trainer slots, got {}", shape.trainers, self.max_malicious),
            });
        }
        if self.round == u32::MAX {
            return Err(Error::InvalidParameter { name: "round", reason: "no round may follow round 2^32-1".into() });
        }
        Ok(())
    }

    /// The parameter values in `CONTEXT_LAYOUT` order.
    pub fn fields(&self) -> [u64; 7] {
        [
            self.job_id,
            self.round as u64,
            self.max_malicious as u64,
            self.tau as u64,
            self.lr as u64,
            self.next_lr as u64,
            self.dup_tol as u64,
        ]
    }

    /// The context public input: the fields packed little-endian by `CONTEXT_LAYOUT`.
    pub fn context(&self) -> Fr {
        let mut packed = BigUint::default();
        for ((_, offset, _), value) in CONTEXT_LAYOUT.iter().zip(self.fields()) {
            packed |= BigUint::from(value) << *offset;
        }
        Fr::from_le_bytes_mod_order(&packed.to_bytes_le())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_packs_fields_at_their_offsets() {
        let p = RoundParams { job_id: 1, round: 2, max_malicious: 3, tau: 4, lr: 5, next_lr: 6, dup_tol: 7 };
        let got: BigUint = p.context().into();
        let want = BigUint::from(1u8)
            + (BigUint::from(2u8) << 64)
            + (BigUint::from(3u8) << 96)
            + (BigUint::from(4u8) << 104)
            + (BigUint::from(5u8) << 136)
            + (BigUint::from(6u8) << 168)
            + (BigUint::from(7u8) << 200);
        assert_eq!(got, want);
    }

    #[test]
    fn validation_names_the_parameter() {
        let shape = Shape::new(4, 8).unwrap();
        let p = RoundParams { job_id: 1, round: 0, max_malicious: 1, tau: 1000, lr: 1, next_lr: 1, dup_tol: 0 };
        assert!(p.validate(&shape).unwrap_err().to_string().contains("tau"));
        let p = RoundParams { tau: 1 << 17, max_malicious: 4, ..p };
        assert!(p.validate(&shape).unwrap_err().to_string().contains("max_malicious"));
    }
}
