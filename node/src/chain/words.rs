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

/// A slot bit set (`bits[i]` at bit i, at most 256 slots) as the contract's uint256 bitmap.
pub fn bits_to_u256(bits: &[bool]) -> U256 {
    bits.iter().enumerate().filter(|(_, b)| **b).fold(U256::ZERO, |acc, (i, _)| acc | U256::from(1u8) << i)
}

/// Bit i of a uint256 slot bitmap, for `n` slots.
pub fn u256_to_bits(bits: U256, n: usize) -> Vec<bool> {
    (0..n).map(|i| bits.bit(i)).collect()
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
        assert_eq!(bits_to_u256(&bits), U256::from(0b1101));
        assert_eq!(u256_to_bits(U256::from(0b1101), 4), bits);
        let mut wide = vec![false; 256];
        wide[255] = true;
        wide[64] = true;
        assert_eq!(bits_to_u256(&wide), (U256::from(1u8) << 255) | (U256::from(1u8) << 64));
        assert_eq!(u256_to_bits(bits_to_u256(&wide), 256), wide);
    }
}
