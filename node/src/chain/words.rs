//! Field elements as EVM words, both ways. (Slot bitmaps: `fedproof_web_api::format::{bitmap, slots}`.)

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        let x = Fr::from(123_456_789u64);
        assert_eq!(to_u256(&x), U256::from(123_456_789u64));
        assert_eq!(to_fr(to_u256(&x)), x);
    }
}
