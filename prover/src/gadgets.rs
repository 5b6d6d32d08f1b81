//! Small R1CS gadgets the round circuit is built from: range checks and comparisons.
//!
//! Every range check costs one constraint per bit (booleanity) plus one to tie the bits to the
//! value; comparisons are range checks of a shifted difference. Callers pass bit widths derived
//! from the shape (`Shape::*_bits`), so that no honest value ever wraps around the field.

use ark_bn254::Fr;
use ark_ff::Field;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::{ConstraintSystemRef, SynthesisError};
use num_bigint::BigUint;

/// `2^k` as a field element.
pub fn pow2(k: u32) -> Fr {
    Fr::from(2u8).pow([k as u64])
}

/// `1/2` in the field: halving an even integer embedded in it.
pub fn half() -> Fr {
    Fr::from(2u8).inverse().expect("2 is invertible")
}

/// Sum of variables; zero for none (arkworks' `Sum` panics on an empty iterator).
pub fn sum(vars: impl IntoIterator<Item = FpVar<Fr>>) -> FpVar<Fr> {
    let vars: Vec<_> = vars.into_iter().collect();
    if vars.is_empty() {
        FpVar::zero()
    } else {
        vars.into_iter().sum()
    }
}

/// Packs non-negative values `per` to a field element in `bits`-wide slots, little-endian (linear,
/// no constraints): the circuit's side of `commitment::pack`.
pub fn pack(values: &[FpVar<Fr>], per: usize, bits: u32) -> Vec<FpVar<Fr>> {
    values.chunks(per).map(|chunk| sum(chunk.iter().enumerate().map(|(t, v)| v * pow2(bits * t as u32)))).collect()
}

/// A fresh witness equal to `x`, tied to it by one constraint. Worth it for a long linear
/// combination used many times: arkworks inlines a combination into every constraint using it.
pub fn materialize(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    if let FpVar::Constant(_) = x {
        return Ok(x.clone());
    }
    let v = FpVar::new_witness(x.cs(), || x.value())?;
    v.enforce_equal(x)?;
    Ok(v)
}

/// Allocates a `bits`-wide unsigned witness as booleans, least significant first.
pub fn alloc_bits(
    cs: &ConstraintSystemRef<Fr>,
    value: Result<BigUint, SynthesisError>,
    bits: u32,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    (0..bits as u64)
        .map(|i| Boolean::new_witness(cs.clone(), || value.as_ref().map(|v| v.bit(i)).map_err(|e| *e)))
        .collect()
}

/// Allocates a `bits`-wide unsigned witness as booleans; returns their packed value.
pub fn alloc_uint(
    cs: &ConstraintSystemRef<Fr>,
    value: Result<BigUint, SynthesisError>,
    bits: u32,
) -> Result<FpVar<Fr>, SynthesisError> {
    Boolean::le_bits_to_fp(&alloc_bits(cs, value, bits)?)
}

/// Enforces `0 ≤ x < 2^bits`.
pub fn enforce_range(x: &FpVar<Fr>, bits: u32) -> Result<(), SynthesisError> {
    if let FpVar::Constant(c) = x {
        let v: BigUint = (*c).into();
        return if v.bits() <= bits as u64 { Ok(()) } else { Err(SynthesisError::Unsatisfiable) };
    }
    let packed = alloc_uint(&x.cs(), x.value().map(Into::into), bits)?;
    packed.enforce_equal(x)
}

/// Enforces `0 ≤ a·b < 2^bits` and returns `a·b` (the sum of its bits), with the product's own
/// constraint tying it to the bits: one constraint fewer than [`enforce_range`] on a product.
pub fn product_in_range(a: &FpVar<Fr>, b: &FpVar<Fr>, bits: u32) -> Result<FpVar<Fr>, SynthesisError> {
    let value = a.value().and_then(|a| Ok(a * b.value()?)).map(Into::into);
    let packed = alloc_uint(&a.cs().or(b.cs()), value, bits)?;
    a.mul_equals(b, &packed)?;
    Ok(packed)
}

/// `x ≤ y` for `x, y ∈ [0, 2^bits)`.
pub fn is_le(x: &FpVar<Fr>, y: &FpVar<Fr>, bits: u32) -> Result<Boolean<Fr>, SynthesisError> {
    // t = y − x + 2^bits lies in [1, 2^(bits+1)); its top bit says whether y ≥ x.
    top_bit(&(y - x + pow2(bits)), bits)
}

/// `x > 0` for `|x| < 2^bits` (x a signed integer embedded in the field).
pub fn is_positive(x: &FpVar<Fr>, bits: u32) -> Result<Boolean<Fr>, SynthesisError> {
    top_bit(&(x - Fr::from(1u8) + pow2(bits)), bits)
}

/// Decomposes `t ∈ [0, 2^(bits+1))` and returns bit `bits`.
fn top_bit(t: &FpVar<Fr>, bits: u32) -> Result<Boolean<Fr>, SynthesisError> {
    let cs = t.cs();
    let value: Result<BigUint, _> = t.value().map(Into::into);
    let booleans = (0..=bits as u64)
        .map(|i| Boolean::new_witness(cs.clone(), || value.as_ref().map(|v| v.bit(i)).map_err(|e| *e)))
        .collect::<Result<Vec<_>, _>>()?;
    Boolean::le_bits_to_fp(&booleans)?.enforce_equal(t)?;
    Ok(booleans[bits as usize].clone())
}

/// A field element from a signed integer.
pub fn fr(x: i128) -> Fr {
    if x >= 0 {
        Fr::from(x as u128)
    } else {
        -Fr::from(x.unsigned_abs())
    }
}

/// A non-negative integer as a big unsigned integer.
pub fn big(x: impl Into<u128>) -> BigUint {
    BigUint::from(x.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;

    fn var(cs: &ConstraintSystemRef<Fr>, x: i128) -> FpVar<Fr> {
        FpVar::new_witness(cs.clone(), || Ok(fr(x))).unwrap()
    }

    #[test]
    fn comparisons_are_exact_at_the_edges() {
        for (x, y) in [(0, 0), (0, 1), (1, 0), (255, 255), (254, 255), (255, 254)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let le = is_le(&var(&cs, x), &var(&cs, y), 8).unwrap();
            assert_eq!(le.value().unwrap(), x <= y, "{x} <= {y}");
            assert!(cs.is_satisfied().unwrap());
        }
        for x in [-255, -1, 0, 1, 255] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            assert_eq!(is_positive(&var(&cs, x), 8).unwrap().value().unwrap(), x > 0);
            assert!(cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn range_check_rejects_out_of_range_and_negative() {
        for (x, ok) in [(0, true), (255, true), (256, false), (-1, false)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            enforce_range(&var(&cs, x), 8).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok, "{x}");
        }
    }
}
