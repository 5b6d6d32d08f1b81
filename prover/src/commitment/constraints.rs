//! The commitment chain in R1CS; packing itself is linear in the value bits and free.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::SynthesisError;

use super::ELEMENTS_PER_BLOCK;
use crate::poseidon::constraints::hash;

/// `commit_packed` over field variables (the header's fields as variables or constants).
pub fn commit_packed(header: &[FpVar<Fr>], elements: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut h = hash(header)?;
    for block in elements.chunks(ELEMENTS_PER_BLOCK) {
        let mut inputs = vec![h];
        inputs.extend_from_slice(block);
        inputs.resize(ELEMENTS_PER_BLOCK + 1, FpVar::zero());
        h = hash(&inputs)?;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commitment::{pack, UPDATE_TAG};
    use crate::fixed_point::UPDATE_BITS;
    use ark_relations::r1cs::ConstraintSystem;

    #[test]
    fn gadget_agrees_with_native() {
        let vals: Vec<i64> = (0..400).map(|i| (i * 13 % 255) - 127).collect();
        let packed = pack(&vals, UPDATE_BITS);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let vars: Vec<_> = packed.iter().map(|e| FpVar::new_witness(cs.clone(), || Ok(*e)).unwrap()).collect();
        let domain = FpVar::new_witness(cs.clone(), || Ok(Fr::from(5u8))).unwrap();
        let round = FpVar::new_witness(cs.clone(), || Ok(Fr::from(3u8))).unwrap();
        let header = [FpVar::constant(Fr::from(UPDATE_TAG)), domain, round, FpVar::constant(Fr::from(2u8))];
        let c = commit_packed(&header, &vars).unwrap();
        let native = super::super::update_header(Fr::from(5u8), 3, 2);
        assert_eq!(c.value().unwrap(), super::super::commit_packed(&native, &packed));
        assert!(cs.is_satisfied().unwrap());
    }
}
