//! Two bits per slot packed into field elements, 64 slots per element: bit `t` of word `k` is
//! the first set's bit of slot `64k + t`, bit `64 + t` the second set's. A round's flags
//! (unavailable and inlier bits) and a chunk's mask (presence and inlier bits) use this packing,
//! so that a 256-slot round needs four words where one 512-bit word would not fit the field,
//! and the contract builds word k from its uint256 bitmaps with two shifts and a mask.
//!
//! Natively ([`words`], [`read`]) and in R1CS ([`pack`], linear, no constraints).

use ark_bn254::Fr;
use ark_ff::PrimeField;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use num_bigint::BigUint;

use crate::gadgets::{pow2, sum};

/// Slots per word.
pub const SLOTS_PER_WORD: usize = 64;
/// Bit offset of the second set in a word.
pub const SECOND_OFFSET: usize = 64;

/// Number of words for `n` slots, `⌈n/64⌉`.
pub fn word_count(n: usize) -> usize {
    n.div_ceil(SLOTS_PER_WORD)
}

/// The words of two slot bit sets of equal length, as integers (the flags add ‖S‖² to word 0).
pub fn words(first: &[bool], second: &[bool]) -> Vec<BigUint> {
    debug_assert_eq!(first.len(), second.len());
    (0..word_count(first.len()))
        .map(|k| {
            let mut word = BigUint::default();
            for t in 0..SLOTS_PER_WORD.min(first.len() - k * SLOTS_PER_WORD) {
                let slot = k * SLOTS_PER_WORD + t;
                word.set_bit(t as u64, first[slot]);
                word.set_bit((SECOND_OFFSET + t) as u64, second[slot]);
            }
            word
        })
        .collect()
}

/// The words as field elements.
pub fn field_words(first: &[bool], second: &[bool]) -> Vec<Fr> {
    words(first, second).iter().map(|w| Fr::from_le_bytes_mod_order(&w.to_bytes_le())).collect()
}

/// Reads the two sets of `n` slots back from their words (a missing word reads as 0).
pub fn read(words: &[BigUint], n: usize) -> (Vec<bool>, Vec<bool>) {
    let bit = |slot: usize, offset: usize| {
        words.get(slot / SLOTS_PER_WORD).is_some_and(|w| w.bit((offset + slot % SLOTS_PER_WORD) as u64))
    };
    ((0..n).map(|i| bit(i, 0)).collect(), (0..n).map(|i| bit(i, SECOND_OFFSET)).collect())
}

/// The circuit's side of [`field_words`]: linear combinations of the bits.
pub fn pack(first: &[Boolean<Fr>], second: &[Boolean<Fr>]) -> Vec<FpVar<Fr>> {
    first
        .chunks(SLOTS_PER_WORD)
        .zip(second.chunks(SLOTS_PER_WORD))
        .map(|(a, b)| {
            sum(a.iter().zip(b).enumerate().flat_map(|(t, (x, y))| {
                [FpVar::from(x.clone()) * pow2(t as u32), FpVar::from(y.clone()) * pow2((SECOND_OFFSET + t) as u32)]
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;

    fn sets(n: usize) -> (Vec<bool>, Vec<bool>) {
        ((0..n).map(|i| i % 3 == 0 || i == n - 1).collect(), (0..n).map(|i| i % 5 == 1).collect())
    }

    #[test]
    fn words_round_trip_at_every_boundary() {
        for n in [1, 63, 64, 65, 128, 200, 256] {
            let (a, b) = sets(n);
            let w = words(&a, &b);
            assert_eq!(w.len(), word_count(n));
            assert!(w.iter().all(|w| w.bits() <= 128), "{n}");
            assert_eq!(read(&w, n), (a, b), "{n}");
        }
        // Slot 255's first bit is bit 63 of word 3; its second bit is bit 127.
        let mut a = vec![false; 256];
        a[255] = true;
        assert_eq!(words(&a, &a)[3], (BigUint::from(1u8) << 63) | (BigUint::from(1u8) << 127));
    }

    #[test]
    fn the_gadget_packs_as_the_native_words() {
        for n in [5, 64, 130] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (a, b) = sets(n);
            let alloc = |bits: &[bool]| {
                bits.iter().map(|x| Boolean::new_witness(cs.clone(), || Ok(*x)).unwrap()).collect::<Vec<_>>()
            };
            let packed: Vec<Fr> = pack(&alloc(&a), &alloc(&b)).iter().map(|v| v.value().unwrap()).collect();
            assert_eq!(packed, field_words(&a, &b), "{n}");
        }
    }
}
