//! The round as an R1CS circuit, step for step the same as [`super::reference::run`].
//!
//! The native reference supplies only *hints* the circuit cannot compute cheaply (Krum
//! selections and thresholds, the median, quotients and remainders, the new model's bits);
//! everything else — distances, duplicates, scores, outlier and inlier bits, the aggregate —
//! is computed by constraints and checked against the public inputs.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use num_bigint::BigUint;

use super::{PublicInputs, RoundInput, RoundOutput};
use crate::commitment::UPDATE_VALUES_PER_ELEMENT;
use crate::commitment::{self, constraints::commit_packed, MODEL_TAG, MODEL_VALUES_PER_ELEMENT, UPDATE_TAG};
use crate::error::Result;
use crate::fixed_point::{MODEL_BITS, UPDATE_BITS};
use crate::gadgets::{alloc_uint, big, enforce_range, fr, is_le, is_positive, materialize, pow2, sum};
use crate::params::{CONTEXT_LAYOUT, TAU_FRAC_BITS};
use crate::shape::{Shape, SCORES_PER_INPUT, SCORE_BITS};

use super::public_inputs::INLIER_FLAG_OFFSET;

/// A round's full assignment: inputs, the reference outcome, and the public inputs it claims.
#[derive(Debug, Clone)]
pub struct RoundWitness {
    /// What the round starts from.
    pub input: RoundInput,
    /// What the native reference computed.
    pub output: RoundOutput,
    /// The public inputs the proof is for.
    pub public: PublicInputs,
}

impl RoundWitness {
    /// Runs the reference and assembles the public inputs.
    pub fn new(input: RoundInput) -> Result<Self> {
        let output = super::run(&input)?;
        let public = PublicInputs::new(
            &input.params,
            commitment::commit_model(input.params.job_id, input.params.round, &input.model)?,
            commitment::commit_model(input.params.job_id, input.params.round + 1, &output.new_model)?,
            input.update_commitments(),
            &input.presence(),
            &output.inliers,
            &output.scores,
        );
        Ok(RoundWitness { input, output, public })
    }
}

/// The circuit for one shape; `witness` is `None` during key generation.
#[derive(Debug, Clone)]
pub struct RoundCircuit {
    /// The shape the circuit is built for.
    pub shape: Shape,
    /// The assignment, when proving.
    pub witness: Option<RoundWitness>,
}

impl RoundCircuit {
    /// A circuit without assignment, for setup.
    pub fn blank(shape: Shape) -> Self {
        RoundCircuit { shape, witness: None }
    }
}

type Var = FpVar<Fr>;

impl ConstraintSynthesizer<Fr> for RoundCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let shape = self.shape;
        let w = self.witness.as_ref();
        if let Some(w) = w {
            if w.input.shape != shape {
                return Err(SynthesisError::Unsatisfiable);
            }
        }
        Synth { cs, shape, w }.run()
    }
}

/// Reads a hint from the witness; `AssignmentMissing` during setup.
fn hint<T>(w: Option<&RoundWitness>, f: impl FnOnce(&RoundWitness) -> T) -> Result<T, SynthesisError> {
    w.map(f).ok_or(SynthesisError::AssignmentMissing)
}

struct Synth<'a> {
    cs: ConstraintSystemRef<Fr>,
    shape: Shape,
    w: Option<&'a RoundWitness>,
}

impl Synth<'_> {
    fn witness(&self, f: impl FnOnce(&RoundWitness) -> Fr) -> Result<Var, SynthesisError> {
        FpVar::new_witness(self.cs.clone(), || hint(self.w, f))
    }

    fn boolean(&self, f: impl FnOnce(&RoundWitness) -> bool) -> Result<Boolean<Fr>, SynthesisError> {
        Boolean::new_witness(self.cs.clone(), || hint(self.w, f))
    }

    fn uint(&self, bits: u32, f: impl FnOnce(&RoundWitness) -> BigUint) -> Result<Var, SynthesisError> {
        alloc_uint(&self.cs, hint(self.w, f), bits)
    }

    fn input(&self, f: impl FnOnce(&PublicInputs) -> Fr) -> Result<Var, SynthesisError> {
        FpVar::new_input(self.cs.clone(), || hint(self.w, |w| f(&w.public)))
    }

    fn run(self) -> Result<(), SynthesisError> {
        let Shape { trainers: n, params: d } = self.shape;
        let shape = self.shape;

        // Public inputs, in verifier order.
        let context = self.input(|p| p.context)?;
        let model_commitment = self.input(|p| p.model)?;
        let new_model_commitment = self.input(|p| p.new_model)?;
        let update_commitments = (0..n).map(|i| self.input(|p| p.updates[i])).collect::<Result<Vec<_>, _>>()?;
        let flags = self.input(|p| p.flags)?;
        let score_inputs =
            (0..shape.score_inputs()).map(|c| self.input(|p| p.scores[c])).collect::<Result<Vec<_>, _>>()?;

        // Context: the parameters, each range-checked, packed back into the public input.
        let fields = CONTEXT_LAYOUT
            .iter()
            .enumerate()
            .map(|(k, (_, _, width))| self.uint(*width, |w| big(w.input.params.fields()[k])))
            .collect::<Result<Vec<_>, _>>()?;
        sum(CONTEXT_LAYOUT.iter().zip(&fields).map(|((_, off, _), v)| v * pow2(*off))).enforce_equal(&context)?;
        let [job_id, round, max_malicious, tau, lr, _next_lr, dup_tol] =
            <[Var; 7]>::try_from(fields).map_err(|_| SynthesisError::Unsatisfiable)?;

        // Updates: every value range-checked as UPDATE_BITS bits of `Δ + 2^(b-1)` (the offset
        // value, which is also what packing uses); each present slot matches its commitment.
        let offset = 1i64 << (UPDATE_BITS - 1);
        let presence = (0..n).map(|i| self.boolean(|w| w.input.updates[i].is_some())).collect::<Result<Vec<_>, _>>()?;
        let mut values: Vec<Vec<Var>> = Vec::with_capacity(n);
        for i in 0..n {
            let xs = (0..d)
                .map(|k| {
                    self.uint(UPDATE_BITS, |w| {
                        big(w.input.updates[i].as_ref().map_or(0, |u| u[k]).wrapping_add(offset) as u64)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let packed = pack(&xs, UPDATE_VALUES_PER_ELEMENT, UPDATE_BITS);
            let c = commit_packed(UPDATE_TAG, &job_id, &round, &packed)?;
            FpVar::from(presence[i].clone()).mul_equals(&(&update_commitments[i] - c), &FpVar::zero())?;
            values.push(xs);
        }

        // The old model enters only packed, as the preimage of C(w).
        let old_model = (0..shape.model_elements())
            .map(|c| self.witness(|w| commitment::pack(&w.input.model, MODEL_BITS)[c]))
            .collect::<Result<Vec<_>, _>>()?;
        commit_packed(MODEL_TAG, &job_id, &round, &old_model)?.enforce_equal(&model_commitment)?;

        // Gram matrix on offset values x = Δ + 128 (products stay small and non-negative):
        // ⟨Δ_i,Δ_j⟩ = ⟨x_i,x_j⟩ − 128(Σx_i + Σx_j) + 128²·d.
        let sums = values.iter().map(|xs| materialize(&sum(xs.iter().cloned()))).collect::<Result<Vec<_>, _>>()?;
        let mut gram = vec![vec![FpVar::zero(); n]; n];
        for i in 0..n {
            for j in i..n {
                let dot = sum(values[i].iter().zip(&values[j]).map(|(a, b)| a * b));
                let g = materialize(
                    &(dot - (&sums[i] + &sums[j]) * Fr::from(offset as u64)
                        + Fr::from((offset * offset) as u64 * d as u64)),
                )?;
                gram[i][j] = g.clone();
                gram[j][i] = g;
            }
        }
        let dist = |i: usize, j: usize| &gram[i][i] + &gram[j][j] - gram[i][j].double().expect("doubling is linear");

        // 1. Duplicates: a present slot within dup_tol of an earlier present slot.
        let dup_bits = shape.distance_bits().max(32);
        let mut unique = Vec::with_capacity(n);
        for i in 0..n {
            let copies = (0..i)
                .map(|j| Ok(&presence[j] & &is_le(&dist(i, j), &dup_tol, dup_bits)?))
                .collect::<Result<Vec<_>, SynthesisError>>()?;
            let duplicate = if copies.is_empty() { Boolean::FALSE } else { &presence[i] & &Boolean::kary_or(&copies)? };
            unique.push(&presence[i] & &!duplicate);
        }
        let ubool = |i: usize| FpVar::from(unique[i].clone());
        let u = sum((0..n).map(ubool));

        // k = max(1, u − f − 2) for u ≥ 2, else 0.
        let small = shape.count_bits().max(8) + 2;
        let ge2 = is_le(&FpVar::constant(Fr::from(2u8)), &u, small)?;
        let f3 = &max_malicious + Fr::from(3u8);
        let tpos = is_le(&f3, &u, small)?;
        let k = FpVar::from(tpos) * (&u - &f3) + FpVar::from(ge2);

        // 2. Krum: selections of k nearest candidates, below/above a per-slot threshold.
        let dbits = shape.distance_bits();
        let both: Vec<Vec<Boolean<Fr>>> = (0..n)
            .map(|i| (0..n).map(|j| if i == j { Boolean::FALSE } else { &unique[i] & &unique[j] }).collect())
            .collect();
        let mut krum = Vec::with_capacity(n);
        for (i, candidates) in both.iter().enumerate() {
            let threshold = self.witness(|w| fr(w.output.trace.threshold[i]))?;
            let mut selected_sum = Vec::new();
            let mut score = Vec::new();
            for j in (0..n).filter(|&j| j != i) {
                let sel = self.boolean(|w| w.output.trace.selected[i][j])?;
                let sel_f = FpVar::from(sel.clone());
                sel_f.mul_equals(&(FpVar::one() - FpVar::from(candidates[j].clone())), &FpVar::zero())?;
                let dij = dist(i, j);
                // Selected: threshold − d ≥ 0; not selected (but a candidate): d − threshold ≥ 0.
                let signed = (&threshold - &dij) * (sel_f.double()? - FpVar::one());
                enforce_range(&(FpVar::from(candidates[j].clone()) * signed), dbits)?;
                score.push(&sel_f * &dij);
                selected_sum.push(sel_f);
            }
            ubool(i).mul_equals(&k, &sum(selected_sum))?;
            krum.push(sum(score));
        }

        // 3. Median (lower) of candidates' Krum scores, and the τ × median outlier rule.
        let kbits = shape.krum_bits();
        let cbits = shape.count_bits() + 1;
        let median = self.witness(|w| fr(w.output.trace.median))?;
        enforce_range(&median, kbits)?;
        let nonempty = !u.is_zero()?;
        let nonempty_f = FpVar::from(nonempty.clone());
        (FpVar::one() - &nonempty_f).mul_equals(&median, &FpVar::zero())?;
        let rank = self.uint(cbits, |w| big(w.output.trace.median_rank as u64))?;
        // u − 1 = 2·rank + parity, so parity is 1 exactly when u is even (and non-zero).
        let parity = self.boolean(|w| unique_count(w) >= 2 && unique_count(w) % 2 == 0)?;
        nonempty_f.mul_equals(&(&u - FpVar::one() - rank.double()? - FpVar::from(parity)), &FpVar::zero())?;
        let mut below = Vec::with_capacity(n);
        let mut at_most = Vec::with_capacity(n);
        for i in 0..n {
            below.push(FpVar::from(&unique[i] & &!is_le(&median, &krum[i], kbits)?));
            at_most.push(FpVar::from(&unique[i] & &is_le(&krum[i], &median, kbits)?));
        }
        // #{score < median} ≤ rank < #{score ≤ median}: the median is the rank-th smallest.
        enforce_range(&(&nonempty_f * (&rank - sum(below))), cbits)?;
        enforce_range(&(&nonempty_f * (sum(at_most) - &rank - FpVar::one())), cbits)?;
        let limit = &tau * &median;
        let krum_inlier = (0..n)
            .map(|i| Ok(&unique[i] & &is_le(&(&krum[i] * pow2(TAU_FRAC_BITS)), &limit, kbits + 32)?))
            .collect::<Result<Vec<_>, SynthesisError>>()?;

        // 4. Alignment with the sum of Krum inliers.
        let abits = shape.alignment_bits();
        let weighted = |i: usize, mask: &[Boolean<Fr>]| sum((0..n).map(|j| FpVar::from(mask[j].clone()) * &gram[i][j]));
        let inliers = (0..n)
            .map(|i| Ok(&krum_inlier[i] & &is_positive(&weighted(i, &krum_inlier), abits)?))
            .collect::<Result<Vec<_>, SynthesisError>>()?;
        let inlier_f: Vec<Var> = inliers.iter().map(|b| FpVar::from(b.clone())).collect();

        // 5. γ = ⌊lr / |I|⌋ (0 when no inliers), and w' = w + γ·S on packed 24-bit slots.
        let count = sum(inlier_f.iter().cloned());
        let none = count.is_zero()?;
        let some_f = FpVar::one() - FpVar::from(none);
        let gamma = self.uint(32, |w| big(w.output.trace.gamma))?;
        let gamma_rem = self.uint(cbits, |w| big(w.output.trace.gamma_rem))?;
        let gamma_count = &gamma * &count;
        (&gamma_count + &gamma_rem).enforce_equal(&(&lr * &some_f))?;
        enforce_range(&(&some_f * (&count - FpVar::one() - &gamma_rem)), cbits)?;

        let model_offset = 1i64 << (MODEL_BITS - 1);
        let new_values = (0..d)
            .map(|k| self.uint(MODEL_BITS, |w| big((w.output.new_model[k] + model_offset) as u64)))
            .collect::<Result<Vec<_>, _>>()?;
        let new_model = pack(&new_values, MODEL_VALUES_PER_ELEMENT, MODEL_BITS);
        for (c, (old, new)) in old_model.iter().zip(&new_model).enumerate() {
            let range = c * MODEL_VALUES_PER_ELEMENT..((c + 1) * MODEL_VALUES_PER_ELEMENT).min(d);
            let ones: Fr = (0..range.len() as u32).map(|t| pow2(MODEL_BITS * t)).sum();
            // Σ_{i∈I} x_i packed with 24-bit slots = Σ_t (S_t + 128·|I|)·2^(24t).
            let aggregate = sum((0..n).map(|i| {
                &inlier_f[i] * pack(&values[i][range.clone()], MODEL_VALUES_PER_ELEMENT, MODEL_BITS).remove(0)
            }));
            let expected = old + &gamma * aggregate - &gamma_count * (ones * Fr::from(offset as u64));
            new.enforce_equal(&expected)?;
        }
        commit_packed(MODEL_TAG, &job_id, &(&round + FpVar::one()), &new_model)?
            .enforce_equal(&new_model_commitment)?;

        // 6. Scores: ⌊max(0, ⟨Δ_i,S⟩)² / ‖Δ_i‖²⌋ for inliers, 0 otherwise.
        let gbits = shape.gram_bits();
        let mut scores = Vec::with_capacity(n);
        for i in 0..n {
            let e = weighted(i, &inliers);
            let positive = FpVar::from(is_positive(&e, abits)?) * e;
            let numerator = positive.square()?;
            let quotient = self.uint(SCORE_BITS, |w| big(w.output.scores[i]))?;
            let rem = self.witness(|w| fr(w.output.trace.score_rem[i]))?;
            enforce_range(&(&inlier_f[i] * &rem), gbits)?;
            enforce_range(&(&inlier_f[i] * (&gram[i][i] - FpVar::one() - &rem)), gbits)?;
            inlier_f[i].mul_equals(&(numerator - &quotient * &gram[i][i] - &rem), &FpVar::zero())?;
            scores.push(&inlier_f[i] * quotient);
        }

        // Outputs against the public inputs.
        let flag_sum = sum((0..n).map(|i| {
            FpVar::from(presence[i].clone()) * pow2(i as u32) + &inlier_f[i] * pow2((INLIER_FLAG_OFFSET + i) as u32)
        }));
        flag_sum.enforce_equal(&flags)?;
        for (c, input) in score_inputs.iter().enumerate() {
            let chunk = &scores[c * SCORES_PER_INPUT..((c + 1) * SCORES_PER_INPUT).min(n)];
            sum(chunk.iter().enumerate().map(|(t, s)| s * pow2(SCORE_BITS * t as u32))).enforce_equal(input)?;
        }
        Ok(())
    }
}

/// Number of candidates (present, non-duplicate slots) in the reference outcome.
fn unique_count(w: &RoundWitness) -> usize {
    w.output.trace.unique.iter().filter(|b| **b).count()
}

/// Packs offset values `per` to a field element with `bits`-wide slots (linear, no constraints).
fn pack(values: &[Var], per: usize, bits: u32) -> Vec<Var> {
    values.chunks(per).map(|chunk| sum(chunk.iter().enumerate().map(|(t, v)| v * pow2(bits * t as u32)))).collect()
}
