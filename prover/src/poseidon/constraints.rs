//! The Poseidon permutation as R1CS, step for step the same as the native [`super::hash`].

use ark_bn254::Fr;
use ark_ff::Zero;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::SynthesisError;

use super::{params, MAX_INPUTS};

/// Poseidon of 1..=12 field variables: 3 constraints per S-box.
pub fn hash(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    assert!((1..=MAX_INPUTS).contains(&inputs.len()), "internal: Poseidon takes 1..=12 inputs");
    let p = params(inputs.len() + 1);
    // circomlib's state starts with a zero domain tag, then the inputs.
    let mut state: Vec<FpVar<Fr>> = std::iter::once(FpVar::zero()).chain(inputs.iter().cloned()).collect();
    let half = p.full_rounds / 2;
    for round in 0..half {
        state = full_round(p, round, state)?;
    }
    // Partial rounds: affine maps precomputed over a basis of the entering state and each S-box.
    let plan = p.partial.as_ref().expect("plans are built with the parameters");
    let mut basis = state;
    for input in &plan.sbox_inputs {
        let x = affine(&basis, input);
        basis.push(sbox(&x)?);
    }
    state = plan.outputs.iter().map(|row| affine(&basis, row)).collect();
    for round in half + p.partial_rounds..p.full_rounds + p.partial_rounds {
        state = full_round(p, round, state)?;
    }
    Ok(state.swap_remove(0))
}

/// Round constants, S-box on every element, MDS mix.
fn full_round(p: &super::Params, round: usize, mut state: Vec<FpVar<Fr>>) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
    for (i, s) in state.iter_mut().enumerate() {
        *s = sbox(&(&*s + p.ark[round * p.width + i]))?;
    }
    Ok(p.mds.iter().map(|row| row.iter().zip(&state).map(|(m, s)| s * *m).sum::<FpVar<Fr>>()).collect())
}

/// `Σ coeffs[b]·basis[b] + constant`, skipping zero coefficients.
fn affine(basis: &[FpVar<Fr>], (coeffs, constant): &super::Affine) -> FpVar<Fr> {
    crate::gadgets::sum(basis.iter().zip(coeffs).filter(|(_, c)| !c.is_zero()).map(|(b, c)| b * *c)) + *constant
}

/// x ↦ x^5 in three multiplications.
fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;

    #[test]
    fn gadget_agrees_with_native_for_every_width() {
        for n in 1..=MAX_INPUTS {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let xs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 7 + 3)).collect();
            let vars: Vec<_> = xs.iter().map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap()).collect();
            let h = hash(&vars).unwrap();
            assert_eq!(h.value().unwrap(), super::super::hash(&xs), "width {}", n + 1);
            assert!(cs.is_satisfied().unwrap());
        }
    }
}
