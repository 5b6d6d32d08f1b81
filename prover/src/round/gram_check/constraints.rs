//! The Gram matrix's steps as R1CS, beside their native reference ([`super`]): "gram matrix"
//! (the prover's diagonal and pair offsets, range-checked) and "gram check" (the randomized
//! check `rᵀ G r = ‖Σ_i r_i Δ_i‖²`). They are steps of the round circuit
//! ([`crate::round::constraints`]), run under its namespaces, so their constraint counts show
//! up by name in `fedproof bench prover --count-only`.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::SynthesisError;

use crate::commitment::constraints::commit_packed;
use crate::fixed_point::UPDATE_BITS;
use crate::gadgets::{alloc_bits, big, half, is_le, materialize, pack, pow2, sum};
use crate::poseidon::constraints::hash as poseidon_hash;
use crate::round::constraints::{hint, Gram, InputVars, ParamVars, Synth, UpdateVars, Var};

impl Synth<'_> {
    /// Gram matrix: the prover's `G`, checked by the next step rather than computed (n(n+1)/2
    /// products per parameter). The witnesses are the diagonal `G_ii` (range-checked) and, per
    /// pair `i < j`, the offset `t_ij = tol + 2^B − D_ij` as B + 1 bits; `D_ij` and
    /// `G_ij = (G_ii + G_jj − D_ij)/2` are linear in them, and `D_ij ≤ tol` is the offset's top
    /// bit (the duplicate test's comparison, for free). Absent slots' entries are left free:
    /// they weigh 0 in the check and every later step masks them.
    pub(crate) fn gram_matrix(&self, dup_tol: &Var) -> Result<Gram, SynthesisError> {
        let shape = self.shape;
        let n = shape.trainers;
        let (b, offset_bits) = (shape.distance_bits(), super::offset_bits(shape));
        let tolerance = self.tolerance(dup_tol)?;
        let diagonal = (0..n)
            .map(|i| self.uint(super::diagonal_bits(shape), |w| big(w.output.trace.gram[i][i].max(0) as u128)))
            .collect::<Result<Vec<_>, _>>()?;
        let half = half();
        let mut gram = Gram {
            entries: vec![vec![FpVar::zero(); n]; n],
            distances: vec![vec![FpVar::zero(); n]; n],
            close: vec![Vec::new(); n],
            diagonal: Vec::new(),
            offsets: Vec::new(),
        };
        for i in 0..n {
            gram.entries[i][i] = diagonal[i].clone();
            for j in i + 1..n {
                let top = (1i128 << offset_bits) - 1;
                let value = hint(self.w, |w| {
                    big(super::pair_offset(shape, w.input.params.dup_tol, &w.output.trace.gram, i, j).clamp(0, top)
                        as u128)
                });
                let bits = alloc_bits(&self.cs, value, offset_bits)?;
                let offset = Boolean::le_bits_to_fp(&bits)?;
                let distance = &tolerance + pow2(b) - &offset;
                let entry = (&diagonal[i] + &diagonal[j] - &distance) * half;
                gram.close[i].push(bits[b as usize].clone());
                gram.offsets.push(offset);
                (gram.distances[i][j], gram.distances[j][i]) = (distance.clone(), distance);
                (gram.entries[i][j], gram.entries[j][i]) = (entry.clone(), entry);
            }
        }
        gram.diagonal = diagonal;
        Ok(gram)
    }

    /// `tol = min(dup_tol, 2^B − 1)` ([`super::tolerance`]); dup_tol has 32 bits.
    fn tolerance(&self, dup_tol: &Var) -> Result<Var, SynthesisError> {
        let b = self.shape.distance_bits();
        if b >= 32 {
            return Ok(dup_tol.clone());
        }
        let max = FpVar::constant(pow2(b) - Fr::from(1u8));
        is_le(dup_tol, &max, 32)?.select(dup_tol, &max)
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

    /// The challenge: the seed ρ, hashed from the update commitments and G's witnesses (the
    /// diagonal and the pair offsets, packed: [`super::packed_gram`]), and the weights
    /// `r_i = Poseidon(ρ, i)` on present slots (0 on absent ones).
    pub(crate) fn challenge(
        &self,
        domain: &Var,
        round: &Var,
        commitments: &[Var],
        presence: &[Boolean<Fr>],
        gram: &Gram,
    ) -> Result<(Var, Vec<Var>), SynthesisError> {
        let header = [FpVar::constant(Fr::from(super::GRAM_TAG)), domain.clone(), round.clone()];
        let (diagonal_bits, offset_bits) = (super::diagonal_bits(self.shape), super::offset_bits(self.shape));
        let mut elements = commitments.to_vec();
        elements.extend(pack(&gram.diagonal, super::entries_per_element(diagonal_bits), diagonal_bits));
        elements.extend(pack(&gram.offsets, super::entries_per_element(offset_bits), offset_bits));
        let seed = commit_packed(&header, &elements)?;
        let weights = presence
            .iter()
            .enumerate()
            .map(|(i, present)| {
                Ok(poseidon_hash(&[seed.clone(), FpVar::constant(Fr::from(i as u64))])? * FpVar::from(present.clone()))
            })
            .collect::<Result<Vec<_>, SynthesisError>>()?;
        Ok((seed, weights))
    }
}

/// `rᵀ G r = Σ_i r_i (r_i G_ii + 2 Σ_{j>i} r_j G_ij)`: G is symmetric, so one product per pair
/// and two per slot (n(n+1)/2 + 2n constraints, none per parameter).
pub(crate) fn quadratic_form(weights: &[Var], gram: &Gram) -> Result<Var, SynthesisError> {
    let n = weights.len();
    let mut terms = Vec::with_capacity(n);
    for (i, r_i) in weights.iter().enumerate() {
        let later = sum((i + 1..n).map(|j| &weights[j] * &gram.entries[i][j]));
        terms.push(r_i * (r_i * &gram.entries[i][i] + later.double()?));
    }
    Ok(sum(terms))
}

#[cfg(test)]
mod tests {
    use ark_relations::r1cs::ConstraintSystem;

    use crate::round::constraint_tests::first_unsatisfied_step;
    use crate::round::constraints::{RoundCircuit, RoundWitness};
    use crate::round::gram_check;
    use crate::round::reference::run_with_gram;
    use crate::round::sample::synthetic;
    use crate::shape::Shape;
    use ark_bn254::Fr;

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
            forged.input.params.dup_tol,
            forged.input.domain,
            forged.input.params.round,
            &forged.public.updates,
            &gram,
        );
        assert!(!gram_check::holds(&gram, &forged.input.updates, &r));
        assert_eq!(first_unsatisfied_step(forged), Some("gram check"));
    }

    /// The circuit's challenge is the native one, and the honest round passes the check.
    #[test]
    fn the_honest_gram_matrix_passes_natively_and_in_circuit() {
        let w = RoundWitness::new(synthetic(Shape::new(5, 33).unwrap(), 1, 3).input).unwrap();
        let r = gram_check::coefficients(
            w.input.shape,
            w.input.params.dup_tol,
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
