//! How chain values are written in the database and in JSON: addresses and hashes as lowercase
//! 0x hex, field elements and slot bitmaps as 0x-prefixed 32-byte hex, amounts as decimal strings.

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

/// A slot bitmap (bit i for slot i, up to 256 slots: JobMarket's uint256 bitmaps) as 0x + 64 hex
/// digits, the form stored and served (a JSON number cannot hold 256 bits).
pub fn bits(v: &U256) -> String {
    word(v)
}

/// Parses a stored slot bitmap (0 when absent).
pub fn parse_bits(s: Option<&str>) -> U256 {
    s.map(parse_word).unwrap_or_default()
}

/// Bit `i` of a slot bitmap.
pub fn bit(bits: &U256, i: usize) -> bool {
    i < 256 && bits.bit(i)
}

/// The first `n` bits of a slot bitmap, slot by slot.
pub fn slots(bits: &U256, n: usize) -> Vec<bool> {
    (0..n).map(|i| bit(bits, i)).collect()
}

/// The bitmap with bit i set for each true `slots[i]` (slots beyond 255 are dropped: JobMarket has
/// at most 256).
pub fn bitmap(slots: impl IntoIterator<Item = bool>) -> U256 {
    slots
        .into_iter()
        .take(256)
        .enumerate()
        .filter(|(_, b)| *b)
        .fold(U256::ZERO, |acc, (i, _)| acc | (U256::from(1) << i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmaps_keep_all_256_slots() {
        let v = (U256::from(1) << 255) | (U256::from(1) << 200) | (U256::from(1) << 63) | U256::from(1);
        let text = bits(&v);
        assert_eq!(text.len(), 66);
        // Digit d (from the left) holds bits 4·(63 - d)..: 255 in digit 0, 200 in 13, 63 in 48, 0 in 63.
        assert_eq!(text, format!("0x8{}1{}8{}1", "0".repeat(12), "0".repeat(34), "0".repeat(14)));
        assert_eq!(parse_bits(Some(&text)), v);
        let s = slots(&v, 256);
        assert!(s[0] && s[63] && s[200] && s[255] && !s[64] && !s[199]);
        assert_eq!(bitmap(s), v);
        assert!(!bit(&v, 256));
        assert_eq!(parse_bits(None), U256::ZERO);
    }

    #[test]
    fn slots_and_bitmaps_round_trip() {
        let few = vec![true, false, true, true];
        assert_eq!(bitmap(few.iter().copied()), U256::from(0b1101));
        assert_eq!(slots(&U256::from(0b1101), 4), few);
        let mut wide = vec![false; 256];
        wide[255] = true;
        wide[64] = true;
        assert_eq!(bitmap(wide.iter().copied()), (U256::from(1) << 255) | (U256::from(1) << 64));
        assert_eq!(slots(&bitmap(wide.iter().copied()), 256), wide);
    }
}
