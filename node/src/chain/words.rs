//! Field elements and bit sets as EVM words, both ways.

use alloy::primitives::U256;
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use ark_groth16::Proof;
use fedproof_prover::export::calldata::Word;

/// A BN254 scalar as the `uint256` the contracts store.
pub fn to_u256(value: &Fr) -> U256 {
    U256::from_be_bytes(Word::from_field(value).0)
}

/// A `uint256` read from the chain as a scalar (reduced modulo r; the contracts only store
/// canonical elements, which they check on entry).
pub fn to_fr(value: U256) -> Fr {
    Fr::from_be_bytes_mod_order(&value.to_be_bytes::<32>())
}

/// A slot bit set (`bits[i]` at bit i) as the contract's uint64.
pub fn bits_to_u64(bits: &[bool]) -> u64 {
    bits.iter().enumerate().filter(|(_, b)| **b).fold(0, |acc, (i, _)| acc | 1 << i)
}

/// Bit i of a uint64 slot set, for `n` slots.
pub fn u64_to_bits(bits: u64, n: usize) -> Vec<bool> {
    (0..n).map(|i| bits >> i & 1 == 1).collect()
}

/// A proof from the verifier's `uint256[8]` (`[a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0, c.x, c.y]`,
/// the layout of `SolidityCalldata::proof_words`); `None` unless every point is on its curve and
/// in the prime-order subgroup (all-zero coordinates are the point at infinity, as in EIP-196).
pub fn proof_from_words(w: &[U256; 8]) -> Option<Proof<Bn254>> {
    let fq = |u: U256| {
        let x = Fq::from_be_bytes_mod_order(&u.to_be_bytes::<32>());
        // Reject non-canonical encodings rather than silently reducing them.
        (to_u256_fq(&x) == u).then_some(x)
    };
    let g1 = |x: U256, y: U256| -> Option<G1Affine> {
        let p = if x.is_zero() && y.is_zero() { G1Affine::zero() } else { G1Affine::new_unchecked(fq(x)?, fq(y)?) };
        (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()).then_some(p)
    };
    let b = {
        let (x, y) = (Fq2::new(fq(w[3])?, fq(w[2])?), Fq2::new(fq(w[5])?, fq(w[4])?));
        let p = if w[2..6].iter().all(|v| v.is_zero()) { G2Affine::zero() } else { G2Affine::new_unchecked(x, y) };
        (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()).then_some(p)?
    };
    Some(Proof { a: g1(w[0], w[1])?, b, c: g1(w[6], w[7])? })
}

fn to_u256_fq(value: &Fq) -> U256 {
    U256::from_be_bytes(Word::from_field(value).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        let x = Fr::from(123_456_789u64);
        assert_eq!(to_u256(&x), U256::from(123_456_789u64));
        assert_eq!(to_fr(to_u256(&x)), x);
        let bits = vec![true, false, true, true];
        assert_eq!(bits_to_u64(&bits), 0b1101);
        assert_eq!(u64_to_bits(0b1101, 4), bits);
    }
}
