//! BN254 field elements as the strings third-party tools use: decimal (snarkjs JSON, Foundry
//! fixtures) and 32-byte big-endian words (EVM calldata).

use ark_ff::{BigInteger, PrimeField};
use num_bigint::BigUint;

/// Why a string is not a canonical field element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldParseError {
    /// The string is not an unsigned decimal integer (digits only, no sign, spaces or `_`).
    #[error("{value:?} is not an unsigned decimal integer")]
    NotDecimal {
        /// The offending string.
        value: String,
    },
    /// The integer is not below the field's modulus, so it is not a canonical element.
    #[error("{value} is not less than the {field} modulus")]
    NotInField {
        /// The offending integer, in decimal.
        value: String,
        /// Which field was expected: "base field q" or "scalar field r".
        field: &'static str,
    },
}

/// Human name of a BN254 field, for error messages.
fn field_name<F: PrimeField>() -> &'static str {
    let modulus: BigUint = F::MODULUS.into();
    if modulus == BigUint::from(ark_bn254::Fr::MODULUS) {
        "scalar field r"
    } else {
        "base field q"
    }
}

/// The canonical decimal form of a field element.
pub fn to_decimal<F: PrimeField>(value: &F) -> String {
    let integer: BigUint = value.into_bigint().into();
    integer.to_string()
}

/// Parses a decimal string into a field element, rejecting anything that is not canonical.
///
/// Non-canonical values (≥ modulus) are rejected rather than reduced: two different strings for
/// the same element would make proofs and inputs malleable.
pub fn from_decimal<F: PrimeField>(value: &str) -> Result<F, FieldParseError> {
    // BigUint's own parser accepts `+` and `_`; snarkjs never writes them, so neither do we accept.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldParseError::NotDecimal { value: value.to_owned() });
    }
    let integer = BigUint::parse_bytes(value.as_bytes(), 10)
        .ok_or_else(|| FieldParseError::NotDecimal { value: value.to_owned() })?;
    let modulus: BigUint = F::MODULUS.into();
    if integer >= modulus {
        return Err(FieldParseError::NotInField { value: integer.to_string(), field: field_name::<F>() });
    }
    Ok(F::from(integer))
}

/// The 32-byte big-endian EVM word (`uint256`) holding a field element of at most 256 bits, as
/// both BN254 fields are (a wider field's element would be cut to its low 32 bytes).
pub fn to_word<F: PrimeField>(value: &F) -> [u8; 32] {
    let bytes = value.into_bigint().to_bytes_be();
    let mut word = [0u8; 32];
    // BN254 elements take exactly 32 bytes; right-align so that a narrower field also fits.
    let start = 32usize.saturating_sub(bytes.len());
    word[start..].copy_from_slice(&bytes[bytes.len().saturating_sub(32)..]);
    word
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq, Fr};

    #[test]
    fn decimal_round_trip_at_the_edges() {
        for value in [Fr::from(0u64), Fr::from(1u64), -Fr::from(1u64)] {
            assert_eq!(from_decimal::<Fr>(&to_decimal(&value)), Ok(value));
        }
        assert_eq!(to_decimal(&Fq::from(0u64)), "0");
    }

    #[test]
    fn rejects_non_canonical_and_non_decimal() {
        let r = BigUint::from(Fr::MODULUS).to_string();
        assert!(matches!(from_decimal::<Fr>(&r), Err(FieldParseError::NotInField { field: "scalar field r", .. })));
        // r is below q, so it is a fine base field element.
        assert!(from_decimal::<Fq>(&r).is_ok());
        for bad in ["", "-1", "+1", "1_000", " 1", "0x10", "1.0"] {
            assert!(
                matches!(from_decimal::<Fr>(bad), Err(FieldParseError::NotDecimal { .. })),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn word_is_big_endian() {
        let word = to_word(&Fr::from(0x0102u64));
        assert_eq!(word[30..], [1, 2]);
        assert!(word[..30].iter().all(|b| *b == 0));
    }
}

/// `#[serde(with = "decimal")]` for a scalar field element: its canonical decimal string, the
/// form snarkjs JSON and the test vectors use (non-canonical strings are refused on reading).
pub mod decimal {
    use ark_bn254::Fr;
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    /// Writes the element as a decimal string.
    pub fn serialize<S: Serializer>(value: &Fr, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::to_decimal(value))
    }

    /// Reads a canonical decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Fr, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::from_decimal(&text).map_err(D::Error::custom)
    }
}
