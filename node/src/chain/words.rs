//! Field elements and bit sets as EVM words, both ways.

use alloy::primitives::U256;
use ark_bn254::Fr;
use ark_ff::PrimeField;
use fedproof_prover::export::calldata::Word;

/// A `uint256` as the prover's EVM word.
pub fn to_word(value: U256) -> Word {
    Word(value.to_be_bytes())
}

/// The prover's EVM word as a `uint256`.
pub fn from_word(word: &Word) -> U256 {
    U256::from_be_bytes(word.0)
}

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
