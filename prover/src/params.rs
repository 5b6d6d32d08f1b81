//! The public round parameters and their packing into the context public input.

use ark_bn254::Fr;
use ark_ff::PrimeField;
use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fixed_point::Encoding;
use crate::shape::Shape;

/// Fixed-point fraction bits of the outlier threshold τ.
pub const TAU_FRAC_BITS: u32 = 16;
/// Bit width the circuit allows the learning rate: `lr < 2^16`, so one round moves a model
/// value by less than `lr · 2^(UPDATE_BITS−1) < 2^23`, which the model's two guard bits hold
/// (`commitment::MODEL_SLOT_BITS`). The context keeps a 32-bit field for it.
pub const LR_BITS: u32 = 16;

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
        for (name, lr) in [("lr", self.lr), ("next_lr", self.next_lr)] {
            if lr >= 1 << LR_BITS {
                return Err(Error::InvalidParameter {
                    name,
                    reason: format!(
                        "must be below 2^{LR_BITS} = {} (η < 16 at the default encodings), got {lr}",
                        1u32 << LR_BITS
                    ),
                });
            }
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

    /// The parameters packed in a context public input (the inverse of [`RoundParams::context`]),
    /// e.g. the one `JobMarket.context(job, round)` returns. Bits beyond the layout are an error.
    pub fn from_context(context: &Fr) -> Result<Self> {
        let packed: BigUint = (*context).into();
        let (_, last_offset, last_width) = CONTEXT_LAYOUT[CONTEXT_LAYOUT.len() - 1];
        if packed.bits() > u64::from(last_offset + last_width) {
            return Err(Error::InvalidParameter {
                name: "context",
                reason: format!("{packed} has bits beyond bit {}", last_offset + last_width),
            });
        }
        let field = |k: usize| {
            let (_, offset, width) = CONTEXT_LAYOUT[k];
            let value = (&packed >> offset) & ((BigUint::from(1u8) << width) - 1u8);
            value.iter_u64_digits().next().unwrap_or(0)
        };
        // Each field is masked to its width, so the narrowing casts are exact.
        Ok(RoundParams {
            job_id: field(0),
            round: field(1) as u32,
            max_malicious: field(2) as u8,
            tau: field(3) as u32,
            lr: field(4) as u32,
            next_lr: field(5) as u32,
            dup_tol: field(6) as u32,
        })
    }
}

/// A job's terms as `JobMarket` stores them (its `Config`): what every round's parameters
/// follow from, with the contract's learning-rate schedule `lr_r = lr − r · lr_decay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobTerms {
    /// Bound on malicious trainers `f`.
    pub max_malicious: u8,
    /// Outlier threshold τ in 16.16 fixed point ([`encode_tau`]).
    pub tau: u32,
    /// Learning rate of round 0 ([`encode_lr`]).
    pub lr: u32,
    /// Decrease of the learning rate per round.
    pub lr_decay: u32,
    /// Duplicate tolerance.
    pub dup_tol: u32,
}

impl JobTerms {
    /// The learning rate of `round`: `lr − round · lr_decay`; an error where it would be negative
    /// (the contract accepts only jobs whose schedule stays positive through the last round).
    pub fn lr_of(&self, round: u32) -> Result<u32> {
        u64::from(round)
            .checked_mul(u64::from(self.lr_decay))
            .and_then(|decay| u64::from(self.lr).checked_sub(decay))
            .map(|lr| lr as u32)
            .ok_or_else(|| Error::InvalidParameter {
                name: "lr",
                reason: format!("lr {} − round {round} × lr_decay {} is negative", self.lr, self.lr_decay),
            })
    }

    /// The public parameters of `round` of job `job_id`, as `JobMarket.context` packs them.
    pub fn round_params(&self, job_id: u64, round: u32) -> Result<RoundParams> {
        let next_round = round.checked_add(1).ok_or_else(|| Error::InvalidParameter {
            name: "round",
            reason: "no round may follow round 2^32-1".into(),
        })?;
        Ok(RoundParams {
            job_id,
            round,
            max_malicious: self.max_malicious,
            tau: self.tau,
            lr: self.lr_of(round)?,
            next_lr: self.lr_of(next_round)?,
            dup_tol: self.dup_tol,
        })
    }
}

/// Rounds `value` to the nearest integer and checks it fits a u32 (NaN and ±∞ rejected).
fn round_to_u32(name: &'static str, real: f64, value: f64, unit: &str) -> Result<u32> {
    let rounded = value.round();
    if !value.is_finite() || !(0.0..=f64::from(u32::MAX)).contains(&rounded) {
        return Err(Error::InvalidParameter {
            name,
            reason: format!("{real} is {rounded} {unit}, outside 0..=4294967295 (or not a number)"),
        });
    }
    Ok(rounded as u32)
}

/// τ as the 16.16 fixed-point integer of the context, rounded to nearest; τ must be ≥ 1 and
/// below 65 536.
pub fn encode_tau(tau: f64) -> Result<u32> {
    let encoded = round_to_u32("tau", tau, tau * f64::from(1u32 << TAU_FRAC_BITS), "in 16.16 fixed point")?;
    if encoded < 1 << TAU_FRAC_BITS {
        return Err(Error::InvalidParameter { name: "tau", reason: format!("must be ≥ 1.0, got {tau}") });
    }
    Ok(encoded)
}

/// The server learning rate η as the integer `lr` of the context, in model units per update unit:
/// `round(η · 2^(model_frac_bits − update_frac_bits))`, η ≥ 0 and finite.
pub fn encode_lr(lr: f64, update: &Encoding, model: &Encoding) -> Result<u32> {
    let shift = f64::from(model.frac_bits) - f64::from(update.frac_bits);
    if lr < 0.0 {
        return Err(Error::InvalidParameter { name: "lr", reason: format!("must not be negative, got {lr}") });
    }
    let encoded = round_to_u32("lr", lr, lr * shift.exp2(), "model units per update unit")?;
    if encoded >= 1 << LR_BITS {
        return Err(Error::InvalidParameter {
            name: "lr",
            reason: format!(
                "{lr} encodes to {encoded}, not below 2^{LR_BITS}: a round could move a weight past the model's range"
            ),
        });
    }
    Ok(encoded)
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
    fn context_unpacks_to_its_parameters() {
        let p = RoundParams {
            job_id: u64::MAX,
            round: 7,
            max_malicious: 255,
            tau: 1 << 17,
            lr: 4096,
            next_lr: 4000,
            dup_tol: u32::MAX,
        };
        assert_eq!(RoundParams::from_context(&p.context()).unwrap(), p);
        let too_wide = Fr::from(BigUint::from(1u8) << 232);
        assert!(RoundParams::from_context(&too_wide).unwrap_err().to_string().contains("context"));
    }

    #[test]
    fn job_terms_follow_the_contracts_schedule() {
        let terms = JobTerms { max_malicious: 1, tau: 1 << 17, lr: 100, lr_decay: 10, dup_tol: 3 };
        let p = terms.round_params(9, 2).unwrap();
        assert_eq!((p.job_id, p.round, p.lr, p.next_lr, p.dup_tol), (9, 2, 80, 70, 3));
        assert_eq!(terms.round_params(9, 9).unwrap().next_lr, 0);
        assert!(terms.round_params(9, 10).unwrap_err().to_string().contains("lr"));
    }

    #[test]
    fn tau_and_lr_round_to_nearest_and_reject_bad_values() {
        assert_eq!(encode_tau(1.0).unwrap(), 65536);
        assert_eq!(encode_tau(2.5).unwrap(), 163840);
        assert_eq!(encode_tau(1.0 + 0.6 / 65536.0).unwrap(), 65537);
        for bad in [0.5, f64::NAN, f64::INFINITY, 65536.0, -1.0] {
            assert!(encode_tau(bad).unwrap_err().to_string().contains("tau"), "{bad}");
        }
        let (update, model) = crate::round::default_encodings();
        assert_eq!(encode_lr(1.0, &update, &model).unwrap(), 4096);
        // 0.3 · 4096 = 1228.8: rounded, not truncated.
        assert_eq!(encode_lr(0.3, &update, &model).unwrap(), 1229);
        for bad in [-0.1, f64::NAN, f64::INFINITY, 1e7] {
            assert!(encode_lr(bad, &update, &model).unwrap_err().to_string().contains("lr"), "{bad}");
        }
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
