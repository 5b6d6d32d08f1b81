//! Commitments to updates and models: fixed-point values packed into field elements and hashed
//! with a Poseidon chain.
//!
//! `C = Poseidon-chain(header, packed values)`:
//! 1. each value `v` of a `b`-bit encoding is offset to `v + 2^(b-1)` (in `[0, 2^b)`), and
//!    `⌊252/s⌋` of them are packed little-endian into one field element in `s`-bit slots
//!    (`e = Σ_t (v_t + 2^(b-1)) · 2^(s·t)`; the last element holds the remainder). Updates use
//!    `s = b = 8`; models use 24-bit values in 26-bit slots, so that the aggregate step's
//!    per-slot sums never carry into the next slot (see `round::constraints::aggregate`);
//! 2. `h₀ = Poseidon(header)`, then `h ← Poseidon(h, e_1..e_11)` over the elements 11 at a time
//!    (the last block zero-padded); `C` is the final `h`.
//!
//! The header of an update is `(1, domain, round, slot)`: the job's domain (chain, market, job
//! and roster, [`crate::domain`]) and the slot, so a commitment copied to another slot, job or
//! deployment opens nowhere. The header of a model is `(2, job_id, round)`: the owner commits to
//! round 0's model before the roster exists. The tags keep an update from passing for a model.

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
/// Width of a model value's slot in a packed element: MODEL_BITS plus two guard bits, room for
/// the aggregate step's unclamped sum (see `round::constraints::aggregate`).
pub const MODEL_SLOT_BITS: u32 = MODEL_BITS + 2;
/// Model values per field element (26-bit slots).
pub const MODEL_VALUES_PER_ELEMENT: usize = (252 / MODEL_SLOT_BITS) as usize;
/// Packed elements absorbed per Poseidon call of the chain (width 13: chain value + 11).
pub const ELEMENTS_PER_BLOCK: usize = poseidon::MAX_INPUTS - 1;

/// The slot width `bits`-wide values are packed in: updates fill their slots, models have guard
/// bits ([`MODEL_SLOT_BITS`]).
pub fn slot_bits(bits: u32) -> u32 {
    if bits == MODEL_BITS {
        MODEL_SLOT_BITS
    } else {
        bits
    }
}

/// Packs signed `bits`-wide values into field elements, offset by `2^(bits-1)`, in
/// [`slot_bits`]-wide slots.
pub fn pack(values: &[i64], bits: u32) -> Vec<Fr> {
    let offset = 1i64 << (bits - 1);
    let offset_values: Vec<u64> = values.iter().map(|v| (v + offset) as u64).collect();
    pack_unsigned(&offset_values, slot_bits(bits))
}

/// Packs non-negative values, each below `2^slot`, `⌊252/slot⌋` to a field element in
/// `slot`-bit slots, little-endian.
pub fn pack_unsigned(values: &[u64], slot: u32) -> Vec<Fr> {
    let slot = slot as usize;
    values
        .chunks(252 / slot)
        .map(|chunk| {
            let mut acc = BigUint::default();
            for (t, v) in chunk.iter().enumerate() {
                acc |= BigUint::from(*v) << (slot * t);
            }
            Fr::from_le_bytes_mod_order(&acc.to_bytes_le())
        })
        .collect()
}

/// Unpacks `len` signed values from field elements produced by [`pack`].
pub fn unpack(elements: &[Fr], bits: u32, len: usize) -> Vec<i64> {
    let slot_width = slot_bits(bits) as usize;
    let per = 252 / slot_width;
    let offset = 1i64 << (bits - 1);
    let mask = (1u64 << bits) - 1;
    let mut out = Vec::with_capacity(len);
    for e in elements {
        let big: BigUint = (*e).into();
        for t in 0..per {
            if out.len() == len {
                break;
            }
            let slot = (&big >> (slot_width * t)).iter_u64_digits().next().unwrap_or(0) & mask;
            out.push(slot as i64 - offset);
        }
    }
    out
}

/// The header of slot `slot`'s update commitment in `round` of the job with `domain`.
pub fn update_header(domain: Fr, round: u32, slot: usize) -> Vec<Fr> {
    vec![Fr::from(UPDATE_TAG), domain, Fr::from(round), Fr::from(slot as u64)]
}

/// The header of the commitment to the model round `round` of job `job_id` starts from.
pub fn model_header(job_id: u64, round: u32) -> Vec<Fr> {
    vec![Fr::from(MODEL_TAG), Fr::from(job_id), Fr::from(round)]
}

/// The Poseidon chain over a header and already-packed elements.
pub fn commit_packed(header: &[Fr], elements: &[Fr]) -> Fr {
    let mut h = poseidon::hash(header);
    for block in elements.chunks(ELEMENTS_PER_BLOCK) {
        let mut inputs = vec![h];
        inputs.extend_from_slice(block);
        inputs.resize(ELEMENTS_PER_BLOCK + 1, Fr::from(0u8));
        h = poseidon::hash(&inputs);
    }
    h
}

/// Commitment to the encoded update of slot `slot` in `round` of the job with `domain`
/// ([`crate::domain::JobDomain::value`]).
pub fn commit_update(domain: Fr, round: u32, slot: usize, update: &[i64]) -> Result<Fr> {
    check(update, UPDATE_BITS, "update")?;
    Ok(commit_checked_update(domain, round, slot, update))
}

/// [`commit_update`] for values already range-checked.
pub(crate) fn commit_checked_update(domain: Fr, round: u32, slot: usize, update: &[i64]) -> Fr {
    commit_packed(&update_header(domain, round, slot), &pack(update, UPDATE_BITS))
}

/// Commitment to an encoded global model, the model trainers start `round` from.
pub fn commit_model(job_id: u64, round: u32, model: &[i64]) -> Result<Fr> {
    check(model, MODEL_BITS, "model")?;
    Ok(commit_packed(&model_header(job_id, round), &pack(model, MODEL_BITS)))
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
    fn commitments_bind_domain_round_slot_tag_and_values() {
        let u = vec![1, -2, 3];
        let d = Fr::from(7u8);
        let c = commit_update(d, 1, 0, &u).unwrap();
        assert_ne!(c, commit_update(Fr::from(8u8), 1, 0, &u).unwrap());
        assert_ne!(c, commit_update(d, 2, 0, &u).unwrap());
        assert_ne!(c, commit_update(d, 1, 1, &u).unwrap(), "a copy in another slot is another commitment");
        assert_ne!(c, commit_update(d, 1, 0, &[1, -2, 4]).unwrap());
        assert_ne!(c, commit_packed(&[Fr::from(MODEL_TAG), d, Fr::from(1u8), Fr::from(0u8)], &pack(&u, UPDATE_BITS)));
    }

    #[test]
    fn model_values_keep_two_guard_bits() {
        assert_eq!(MODEL_VALUES_PER_ELEMENT, 9);
        let packed = pack(&[(1 << 23) - 1, -(1 << 23)], MODEL_BITS);
        let big: BigUint = packed[0].into();
        assert_eq!(big, BigUint::from((1u64 << 24) - 1));
    }

    #[test]
    fn out_of_range_values_are_rejected_with_index() {
        let err = commit_update(Fr::from(1u8), 0, 0, &[0, 128]).unwrap_err().to_string();
        assert!(err.contains("index 1"), "{err}");
        assert!(commit_update(Fr::from(1u8), 0, 0, &[-128, 127]).is_ok());
    }
}
