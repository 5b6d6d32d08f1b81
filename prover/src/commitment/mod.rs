//! Commitments to updates and models: fixed-point values packed into field elements and hashed
//! with a Poseidon chain.
//!
//! `C = Poseidon-chain(tag, job_id, round, packed values)`:
//! 1. each value `v` of a `b`-bit encoding is offset to `v + 2^(b-1)` (in `[0, 2^b)`), and
//!    `⌊252/b⌋` of them are packed little-endian into one field element
//!    (`e = Σ_t (v_t + 2^(b-1)) · 2^(b·t)`; the last element holds the remainder);
//! 2. `h₀ = Poseidon(tag, job_id, round)`, then `h ← Poseidon(h, e_1..e_11)` over the
//!    elements 11 at a time (the last block zero-padded); `C` is the final `h`.
//!
//! `tag` is 1 for updates and 2 for models, so an update can never pass for a model.

pub mod constraints;

use ark_bn254::Fr;
use ark_ff::PrimeField;
use num_bigint::BigUint;

use crate::error::{Error, Result};
use crate::fixed_point::{Encoding, MODEL_BITS, UPDATE_BITS};
use crate::poseidon;

/// Domain tag of update commitments.
pub const UPDATE_TAG: u64 = 1;
/// Domain tag of model commitments.
pub const MODEL_TAG: u64 = 2;
/// Update values per field element (8-bit slots).
pub const UPDATE_VALUES_PER_ELEMENT: usize = (252 / UPDATE_BITS) as usize;
/// Model values per field element (24-bit slots).
pub const MODEL_VALUES_PER_ELEMENT: usize = (252 / MODEL_BITS) as usize;
/// Packed elements absorbed per Poseidon call of the chain (width 13: chain value + 11).
pub const ELEMENTS_PER_BLOCK: usize = poseidon::MAX_INPUTS - 1;

/// Packs signed `bits`-wide values into field elements, offset by `2^(bits-1)`.
pub fn pack(values: &[i64], bits: u32) -> Vec<Fr> {
    let per = (252 / bits) as usize;
    let offset = 1i64 << (bits - 1);
    values
        .chunks(per)
        .map(|chunk| {
            let mut acc = BigUint::default();
            for (t, v) in chunk.iter().enumerate() {
                acc |= BigUint::from((v + offset) as u64) << (bits as usize * t);
            }
            Fr::from_le_bytes_mod_order(&acc.to_bytes_le())
        })
        .collect()
}

/// Unpacks `len` signed values from field elements produced by [`pack`].
pub fn unpack(elements: &[Fr], bits: u32, len: usize) -> Vec<i64> {
    let per = (252 / bits) as usize;
    let offset = 1i64 << (bits - 1);
    let mask = (1u64 << bits) - 1;
    let mut out = Vec::with_capacity(len);
    for e in elements {
        let big: BigUint = (*e).into();
        for t in 0..per {
            if out.len() == len {
                break;
            }
            let slot = (&big >> (bits as usize * t)).iter_u64_digits().next().unwrap_or(0) & mask;
            out.push(slot as i64 - offset);
        }
    }
    out
}

/// The Poseidon chain over already-packed elements.
pub fn commit_packed(tag: u64, job_id: u64, round: u32, elements: &[Fr]) -> Fr {
    let mut h = poseidon::hash(&[Fr::from(tag), Fr::from(job_id), Fr::from(round)]);
    for block in elements.chunks(ELEMENTS_PER_BLOCK) {
        let mut inputs = vec![h];
        inputs.extend_from_slice(block);
        inputs.resize(ELEMENTS_PER_BLOCK + 1, Fr::from(0u8));
        h = poseidon::hash(&inputs);
    }
    h
}

/// Commitment to a trainer's encoded update for `(job_id, round)`.
pub fn commit_update(job_id: u64, round: u32, update: &[i64]) -> Result<Fr> {
    check(update, UPDATE_BITS, "update")?;
    Ok(commit_checked_update(job_id, round, update))
}

/// [`commit_update`] for values already range-checked.
pub(crate) fn commit_checked_update(job_id: u64, round: u32, update: &[i64]) -> Fr {
    commit_packed(UPDATE_TAG, job_id, round, &pack(update, UPDATE_BITS))
}

/// Commitment to an encoded global model, the model trainers start `round` from.
pub fn commit_model(job_id: u64, round: u32, model: &[i64]) -> Result<Fr> {
    check(model, MODEL_BITS, "model")?;
    Ok(commit_packed(MODEL_TAG, job_id, round, &pack(model, MODEL_BITS)))
}

/// Checks that every value fits the two's-complement range of `bits`.
pub(crate) fn check(values: &[i64], bits: u32, what: &str) -> Result<()> {
    let half = 1i64 << (bits - 1);
    match values.iter().position(|v| *v < -half || *v >= half) {
        None => Ok(()),
        Some(index) => Err(Error::Encoding {
            what: what.to_string(),
            source: crate::fixed_point::EncodingError::IntegerOutOfRange {
                index,
                value: values[index],
                max: Encoding { bits, frac_bits: 0 }.max_int(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_unpack_round_trip() {
        let vals: Vec<i64> = (0..100).map(|i| (i * 37 % 256) - 128).collect();
        let packed = pack(&vals, UPDATE_BITS);
        assert_eq!(packed.len(), 4);
        assert_eq!(unpack(&packed, UPDATE_BITS, vals.len()), vals);
        let model: Vec<i64> = (0..25).map(|i| (i * 999_331 % (1 << 24)) - (1 << 23)).collect();
        assert_eq!(unpack(&pack(&model, MODEL_BITS), MODEL_BITS, 25), model);
    }

    #[test]
    fn commitments_bind_job_round_tag_and_values() {
        let u = vec![1, -2, 3];
        let c = commit_update(7, 1, &u).unwrap();
        assert_ne!(c, commit_update(8, 1, &u).unwrap());
        assert_ne!(c, commit_update(7, 2, &u).unwrap());
        assert_ne!(c, commit_update(7, 1, &[1, -2, 4]).unwrap());
        assert_ne!(c, commit_packed(MODEL_TAG, 7, 1, &pack(&u, UPDATE_BITS)));
    }

    #[test]
    fn out_of_range_values_are_rejected_with_index() {
        let err = commit_update(1, 0, &[0, 128]).unwrap_err().to_string();
        assert!(err.contains("index 1"), "{err}");
        assert!(commit_update(1, 0, &[-128, 127]).is_ok());
    }
}
