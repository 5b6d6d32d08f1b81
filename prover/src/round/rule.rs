//! The rule's steps as R1CS (steps 1–4 and 6 of [`super::reference::run`], under the same names):
//! duplicates, Krum, the median rule, alignment and scores, all on the Gram matrix. They run in
//! the round circuit ([`super::constraints`]) and in a chunked round's final proof
//! ([`crate::chunked::constraints`]), which is why they read only the Gram step's variables and
//! the slot masks, never a parameter.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::SynthesisError;

use super::constraints::{Assignment, Gram, OrderVars, Synth, Var};
use crate::gadgets::{big, enforce_range, fr, half, is_le, is_positive, materialize, pow2, product_in_range, sum};
use crate::params::TAU_FRAC_BITS;
use crate::shape::SCORE_BITS;

impl Gram {
    /// `D_ij` (linear, no constraints).
    fn distance(&self, i: usize, j: usize) -> &Var {
        &self.distances[i][j]
    }

    /// `⟨Δ_i, Σ_{j ∈ mask} Δ_j⟩ = Σ_{j ∈ mask} G_ij` (one product per slot).
    fn inner_with_sum(&self, i: usize, mask: &[Boolean<Fr>]) -> Var {
        sum(mask.iter().zip(&self.entries[i]).map(|(in_mask, g)| FpVar::from(in_mask.clone()) * g))
    }
}

/// The Krum step's result: the candidate count `u` and each slot's Krum score.
pub(crate) struct KrumVars {
    candidates: Var,
    scores: Vec<Var>,
}

fn as_field(bits: &[Boolean<Fr>]) -> Vec<Var> {
    bits.iter().map(|b| FpVar::from(b.clone())).collect()
}

impl Synth<'_> {
    /// 1. Duplicates: a present slot within dup_tol of a present slot submitted earlier. Returns
    ///    the candidates `U` (present, not a duplicate).
    ///
    /// Each unordered pair is looked at once: the distance is symmetric, `D_ij ≤ tol` is the
    /// Gram step's bit, and of two slots exactly one submitted first (step "order"). A slot
    /// counts its earlier present copies; the count is below n, so it is 0 exactly when there
    /// are none.
    pub(crate) fn duplicates(
        &self,
        gram: &Gram,
        presence: &[Boolean<Fr>],
        order: &OrderVars,
    ) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
        let n = presence.len();
        let mut copies: Vec<Vec<Var>> = vec![Vec::new(); n];
        for i in 0..n {
            for j in i + 1..n {
                let close = &gram.close[i][j - i - 1];
                let close_j_first = close & &order.earlier[i][j - i - 1];
                copies[i].push(FpVar::from(&close_j_first & &presence[j]));
                copies[j]
                    .push((FpVar::from(close.clone()) - FpVar::from(close_j_first)) * FpVar::from(presence[i].clone()));
            }
        }
        presence.iter().zip(copies).map(|(present, copies)| Ok(present & &sum(copies).is_zero()?)).collect()
    }

    /// 2. Krum: `k = max(1, u − f − 2)` (0 for u ≤ 1) nearest candidates selected by the hinted
    ///    per-slot threshold, each candidate's score the sum of its selected distances.
    pub(crate) fn krum(
        &self,
        gram: &Gram,
        unique: &[Boolean<Fr>],
        max_malicious: &Var,
    ) -> Result<KrumVars, SynthesisError> {
        let n = self.shape.trainers;
        let unique_f = as_field(unique);
        let candidates = sum(unique_f.iter().cloned());

        // k = max(1, u − f − 2) for u ≥ 2, else 0.
        let count_bits = self.shape.count_bits().max(8) + 2;
        let at_least_two = is_le(&FpVar::constant(Fr::from(2u8)), &candidates, count_bits)?;
        let f_plus_3 = max_malicious + Fr::from(3u8);
        let more_than_f_plus_2 = is_le(&f_plus_3, &candidates, count_bits)?;
        let k = FpVar::from(more_than_f_plus_2) * (&candidates - &f_plus_3) + FpVar::from(at_least_two);

        let distance_bits = self.shape.distance_bits();
        // Both candidates, once per pair, and the pair's distance when they are (`P_ij`).
        let mut both = vec![vec![FpVar::zero(); n]; n];
        let mut candidate_distances: Vec<Vec<Var>> = vec![Vec::new(); n];
        for i in 0..n {
            for j in i + 1..n {
                let pair = FpVar::from(&unique[i] & &unique[j]);
                let pair_distance = &pair * gram.distance(i, j);
                candidate_distances[i].push(pair_distance.clone());
                candidate_distances[j].push(pair_distance);
                (both[i][j], both[j][i]) = (pair.clone(), pair);
            }
        }
        let half = half();
        let mut columns: Vec<Vec<Var>> = vec![Vec::new(); n];
        let mut scores = Vec::with_capacity(n);
        for i in 0..n {
            let threshold = self.witness(|w| fr(w.output.trace.threshold[i]))?;
            let mut selected_count = Vec::new();
            let mut signed = Vec::new();
            for j in (0..n).filter(|&j| j != i) {
                let selected = FpVar::from(self.boolean(|w| w.output.trace.selected[i][j])?);
                // v_ij = (2s − pair)(τ_i − D_ij) ≥ 0: selected, D ≤ τ; a candidate not selected,
                // D ≥ τ; otherwise (never selected, below) 0.
                let sign = selected.double()? - &both[i][j];
                signed.push(product_in_range(&sign, &(&threshold - gram.distance(i, j)), distance_bits)?);
                columns[j].push(selected.clone());
                selected_count.push(selected);
            }
            unique_f[i].mul_equals(&k, &sum(selected_count))?;
            // Σ_j v_ij = (2k − m)τ_i + P_i − 2K_i, with m = u − 1 the other candidates and
            // P_i = Σ_j P_ij, so the score K_i = Σ_selected D_ij needs no product per pair. A
            // non-candidate has every term 0.
            let other_candidates = &candidates - FpVar::one();
            let coefficient = &unique_f[i] * (k.double()? - other_candidates);
            let doubled = coefficient * &threshold + sum(candidate_distances[i].drain(..)) - sum(signed);
            // Materialised: the median step compares it three times.
            scores.push(materialize(&(doubled * half))?);
        }
        // Only candidates are selected: a non-candidate's row sums to k · 0, and its column
        // (selections are booleans, the sum below n) to 0. One constraint per slot, not per pair.
        for (candidate, column) in unique_f.iter().zip(columns) {
            (FpVar::one() - candidate).mul_equals(&sum(column), &FpVar::zero())?;
        }
        Ok(KrumVars { candidates, scores })
    }

    /// 3. The lower median of the candidates' Krum scores (hinted, with its rank proven), and the
    ///    τ × median rule: returns the Krum inliers.
    pub(crate) fn median(
        &self,
        unique: &[Boolean<Fr>],
        krum: &KrumVars,
        tau: &Var,
    ) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
        let krum_bits = self.shape.krum_bits();
        let rank_bits = self.shape.count_bits() + 1;
        let candidates = &krum.candidates;
        let median = self.witness(|w| fr(w.output.trace.median))?;
        enforce_range(&median, krum_bits)?;
        let nonempty = FpVar::from(!candidates.is_zero()?);
        (FpVar::one() - &nonempty).mul_equals(&median, &FpVar::zero())?;
        let rank = self.uint(rank_bits, |w| big(w.output.trace.median_rank as u64))?;
        // u − 1 = 2·rank + parity, so parity is 1 exactly when u is even (and non-zero).
        let parity = self.boolean(|w| unique_count(w) >= 2 && unique_count(w) % 2 == 0)?;
        nonempty.mul_equals(&(candidates - FpVar::one() - rank.double()? - FpVar::from(parity)), &FpVar::zero())?;
        let mut below = Vec::with_capacity(unique.len());
        let mut at_most = Vec::with_capacity(unique.len());
        for (candidate, score) in unique.iter().zip(&krum.scores) {
            below.push(FpVar::from(candidate & &!is_le(&median, score, krum_bits)?));
            at_most.push(FpVar::from(candidate & &is_le(score, &median, krum_bits)?));
        }
        // #{score < median} ≤ rank < #{score ≤ median}: the median is the rank-th smallest.
        enforce_range(&(&nonempty * (&rank - sum(below))), rank_bits)?;
        enforce_range(&(&nonempty * (sum(at_most) - &rank - FpVar::one())), rank_bits)?;
        let limit = tau * &median;
        unique
            .iter()
            .zip(&krum.scores)
            .map(|(candidate, score)| Ok(candidate & &is_le(&(score * pow2(TAU_FRAC_BITS)), &limit, krum_bits + 32)?))
            .collect()
    }

    /// 4. Alignment with the sum of Krum inliers: returns the inliers `I`.
    pub(crate) fn alignment(
        &self,
        gram: &Gram,
        krum_inliers: &[Boolean<Fr>],
    ) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
        let alignment_bits = self.shape.alignment_bits();
        krum_inliers
            .iter()
            .enumerate()
            .map(|(i, krum_inlier)| {
                Ok(krum_inlier & &is_positive(&gram.inner_with_sum(i, krum_inliers), alignment_bits)?)
            })
            .collect()
    }

    /// 6. Scores: ⌊max(0, ⟨Δ_i,S⟩)² / ‖Δ_i‖²⌋ for inliers, 0 otherwise; and
    ///    ‖S‖² = Σ_{i∈I} ⟨Δ_i,S⟩, the scale that turns a score into cos² of Δ_i and S.
    pub(crate) fn scores(&self, gram: &Gram, inliers: &[Boolean<Fr>]) -> Result<(Vec<Var>, Var), SynthesisError> {
        let alignment_bits = self.shape.alignment_bits();
        let gram_bits = self.shape.gram_bits();
        let mut scores = Vec::with_capacity(inliers.len());
        let mut norm_terms = Vec::with_capacity(inliers.len());
        for (i, inlier) in as_field(inliers).iter().enumerate() {
            let contribution = gram.inner_with_sum(i, inliers);
            norm_terms.push(inlier * &contribution);
            let positive = FpVar::from(is_positive(&contribution, alignment_bits)?) * contribution;
            let numerator = positive.square()?;
            let norm_sq = &gram.entries[i][i];
            let quotient = self.uint(SCORE_BITS, |w| big(w.output.scores[i]))?;
            let remainder = self.witness(|w| fr(w.output.trace.score_rem[i]))?;
            enforce_range(&(inlier * &remainder), gram_bits)?;
            enforce_range(&(inlier * (norm_sq - FpVar::one() - &remainder)), gram_bits)?;
            inlier.mul_equals(&(numerator - &quotient * norm_sq - &remainder), &FpVar::zero())?;
            scores.push(inlier * quotient);
        }
        Ok((scores, sum(norm_terms)))
    }
}

/// Number of candidates (present, non-duplicate slots) in the reference outcome.
fn unique_count(w: &Assignment<'_>) -> usize {
    w.output.trace.unique.iter().filter(|b| **b).count()
}
