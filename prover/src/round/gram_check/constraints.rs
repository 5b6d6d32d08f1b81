//! The Gram matrix's steps as R1CS, beside their native reference ([`super`]): "gram matrix"
//! (the prover's entries, range-checked, absent rows zero) and "gram check" (the randomized
//! check `rᵀ G r = ‖Σ_i r_i Δ_i‖²`). They are steps of the round circuit
//! ([`crate::round::constraints`]), run under its namespaces, so their constraint counts show
//! up by name in `fedproof bench prover --count-only`.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::SynthesisError;

use crate::commitment::constraints::commit_packed;
use crate::fixed_point::UPDATE_BITS;
use crate::gadgets::{big, materialize, pack, pow2, sum};
use crate::poseidon::constraints::hash as poseidon_hash;
use crate::round::constraints::{Gram, InputVars, ParamVars, Synth, UpdateVars, Var};

impl Synth<'_> {
    /// Gram matrix: the prover's `G_ij = ⟨Δ_i, Δ_j⟩` (i ≤ j, mirrored), checked by the next
    /// step rather than computed (n(n+1)/2 products per parameter). An absent slot is the zero
    /// vector: its row is constrained to 0, as the reference has it.
    pub(crate) fn gram_matrix(&self, presence: &[Boolean<Fr>]) -> Result<Gram, SynthesisError> {
        let n = self.shape.trainers;
        let bits = super::entry_bits(self.shape);
        let offset = 1i128 << (bits - 1);
        let mut gram = vec![vec![FpVar::zero(); n]; n];
        for i in 0..n {
            for j in i..n {
                // Range-checked (offset to be non-negative) so that the gram check's packing
                // of the entries is injective; materialised so that no constraint inlines bits.
                let shifted = self.uint(bits, |w| big((w.output.trace.gram[i][j] + offset).max(0) as u128))?;
                let entry = materialize(&(shifted - FpVar::constant(pow2(bits - 1))))?;
                entry.mul_equals(&FpVar::from(!&presence[i]), &FpVar::zero())?;
                if j != i {
                    entry.mul_equals(&FpVar::from(!&presence[j]), &FpVar::zero())?;
                }
                gram[i][j] = entry.clone();
                gram[j][i] = entry;
            }
        }
        Ok(Gram(gram))
    }

    /// Gram check (Freivalds): `r_i = Poseidon(ρ, i)` with ρ hashed from the update commitments
    /// and G (both fixed before the challenge), weights `r_i` on present slots and 0 on absent
    /// ones, and `rᵀ G r = Σ_k (Σ_i r_i Δ_ik)²`: n + 1 products per parameter.
    pub(in crate::round) fn gram_check(
        &self,
        inputs: &InputVars,
        params: &ParamVars,
        updates: &UpdateVars,
        gram: &Gram,
    ) -> Result<(), SynthesisError> {
        let d = self.shape.params;
        let (_, weights) =
            self.challenge(&inputs.domain, &params.round, &inputs.update_commitments, &updates.presence, gram)?;
        // Σ_i r_i Δ_ik = Σ_i r_i x_ik − 2^(b−1) Σ_i r_i, with x the offset values.
        // One variable, not a linear combination inlined into each of the d squares.
        let offset_total = materialize(&(sum(weights.iter().cloned()) * Fr::from(1u64 << (UPDATE_BITS - 1))))?;
        let norm_sq = sum((0..d)
            .map(|k| {
                let y = sum(weights.iter().zip(&updates.offset_values).map(|(r, x)| r * &x[k])) - &offset_total;
                y.square()
            })
            .collect::<Result<Vec<_>, _>>()?);
        quadratic_form(&weights, gram)?.enforce_equal(&norm_sq)
    }

    /// The challenge: the seed ρ, hashed from the update commitments and the packed upper
    /// triangle of G, and the weights `r_i = Poseidon(ρ, i)` on present slots (0 on absent ones).
    pub(crate) fn challenge(
        &self,
        domain: &Var,
        round: &Var,
        commitments: &[Var],
        presence: &[Boolean<Fr>],
        gram: &Gram,
    ) -> Result<(Var, Vec<Var>), SynthesisError> {
        let n = self.shape.trainers;
        let header = [FpVar::constant(Fr::from(super::GRAM_TAG)), domain.clone(), round.clone()];
        let bits = super::entry_bits(self.shape);
        let offset = FpVar::constant(pow2(bits - 1));
        let offset = &offset;
        let entries: Vec<Var> = (0..n).flat_map(|i| (i..n).map(move |j| &gram.0[i][j] + offset)).collect();
        let mut elements = commitments.to_vec();
        elements.extend(pack(&entries, super::entries_per_element(bits), bits));
        let seed = commit_packed(&header, &elements)?;
        let weights = (0..n)
            .map(|i| {
                Ok(poseidon_hash(&[seed.clone(), FpVar::constant(Fr::from(i as u64))])?
                    * FpVar::from(presence[i].clone()))
            })
            .collect::<Result<Vec<_>, SynthesisError>>()?;
        Ok((seed, weights))
    }
}

/// `rᵀ G r`, with each row's weighted sum materialised (n + n² / 2 constraints, none per
/// parameter).
pub(crate) fn quadratic_form(weights: &[Var], gram: &Gram) -> Result<Var, SynthesisError> {
    let weighted_rows = gram
        .0
        .iter()
        .map(|row| materialize(&sum(weights.iter().zip(row).map(|(r, g)| r * g))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sum(weights.iter().zip(&weighted_rows).map(|(r, gr)| r * gr)))
}

#[cfg(test)]
mod tests {
    use ark_relations::r1cs::ConstraintSystem;

    use crate::round::constraints::{RoundCircuit, RoundWitness, StepConstraints};
    use crate::round::gram_check;
    use crate::round::reference::run_with_gram;
    use crate::round::sample::synthetic;
    use crate::shape::Shape;
    use ark_bn254::Fr;

    /// The constraint index range of each step, from the counts `synthesize` returns.
    fn step_ranges(steps: &[StepConstraints]) -> Vec<(&'static str, std::ops::Range<usize>)> {
        let mut start = 0;
        steps
            .iter()
            .map(|s| {
                let range = start..start + s.constraints;
                start = range.end;
                (s.step, range)
            })
            .collect()
    }

    /// An aggregator that wants its own (planted, outlying) update kept forges the Gram matrix:
    /// the attacker's row copies an honest slot's, so every later step, run consistently on
    /// the forgery, keeps the attacker as an inlier. The first constraint the forgery breaks is
    /// in "gram check", and the native check refuses it too.
    #[test]
    fn a_forged_gram_matrix_fails_the_gram_check() {
        let s = synthetic(Shape::new(6, 40).unwrap(), 1, 11);
        let honest = RoundWitness::new(s.input.clone()).unwrap();
        let attacker = (0..6).find(|&i| honest.input.updates[i].is_some() && !honest.output.inliers[i]).unwrap();
        let model = (0..6).find(|&i| honest.output.inliers[i]).unwrap();
        let mut gram = honest.output.trace.gram.clone();
        for j in (0..6).filter(|&j| j != attacker && j != model) {
            gram[attacker][j] = gram[model][j];
            gram[j][attacker] = gram[model][j];
        }
        gram[attacker][attacker] = gram[model][model];
        // Not a duplicate of the slot it copies: just beyond the duplicate tolerance.
        let gap = i128::from(honest.input.params.dup_tol) / 2 + 1;
        gram[attacker][model] = gram[model][model] - gap;
        gram[model][attacker] = gram[attacker][model];
        let output = run_with_gram(&s.input, gram.clone());
        assert!(output.inliers[attacker], "the forgery would keep the attacker");
        let forged = RoundWitness::with_output(s.input, output).unwrap();

        let r = gram_check::coefficients(
            forged.input.shape,
            forged.input.domain,
            forged.input.params.round,
            &forged.public.updates,
            &gram,
        );
        assert!(!gram_check::holds(&gram, &forged.input.updates, &r));
        let cs = ConstraintSystem::<Fr>::new_ref();
        let steps = RoundCircuit { shape: forged.input.shape, witness: Some(forged) }.synthesize(cs.clone()).unwrap();
        let first: usize = cs.which_is_unsatisfied().unwrap().expect("the forgery is refused").parse().unwrap();
        let (step, _) = step_ranges(&steps).into_iter().find(|(_, range)| range.contains(&first)).unwrap();
        assert_eq!(step, "gram check");
    }

    /// The circuit's challenge is the native one, and the honest round passes the check.
    #[test]
    fn the_honest_gram_matrix_passes_natively_and_in_circuit() {
        let w = RoundWitness::new(synthetic(Shape::new(5, 33).unwrap(), 1, 3).input).unwrap();
        let r = gram_check::coefficients(
            w.input.shape,
            w.input.domain,
            w.input.params.round,
            &w.public.updates,
            &w.output.trace.gram,
        );
        assert!(gram_check::holds(&w.output.trace.gram, &w.input.updates, &r));
        let cs = ConstraintSystem::<Fr>::new_ref();
        RoundCircuit { shape: w.input.shape, witness: Some(w) }.synthesize(cs.clone()).unwrap();
        assert!(cs.is_satisfied().unwrap());
    }
}
