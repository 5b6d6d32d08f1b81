//! How chain values are written in the database and in JSON: addresses and hashes as lowercase
//! 0x hex, field elements as 0x-prefixed 32-byte hex, amounts as decimal strings.

use alloy::primitives::{Address, B256, U256};

/// An address as lowercase 0x hex (the form stored and compared; not EIP-55).
pub fn address(a: &Address) -> String {
    format!("{a:#x}")
}

/// A field element or word as 0x + 64 hex digits.
pub fn word(v: &U256) -> String {
    B256::from(*v).to_string()
}

/// A 32-byte hash as 0x hex.
pub fn hash(h: &B256) -> String {
    h.to_string()
}

/// The reliability source id of an account: `bytes32(uint256(uint160(account)))`, as JobMarket
/// writes it.
pub fn source_of(a: &Address) -> B256 {
    a.into_word()
}

/// Parses a stored decimal amount (stored values are always valid; garbage reads as zero).
pub fn parse_amount(s: &str) -> U256 {
    s.parse().unwrap_or_default()
}

/// Parses a stored 0x word.
pub fn parse_word(s: &str) -> U256 {
    s.parse::<B256>().map(|b| U256::from_be_bytes(b.0)).unwrap_or_default()
}

/// Bit `i` of a flags word.
pub fn bit(bits: u64, i: usize) -> bool {
    i < 64 && (bits >> i) & 1 == 1
}
