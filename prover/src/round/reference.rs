//! The native reference of a round: the statement in plain integer arithmetic.
//!
//! [`run`] goes through the statement's steps in the order of `prover/README.md`, one function
//! per step with the same names as the circuit's steps (`constraints::Synth::run`), so the two
//! can be read side by side: gram matrix, duplicates, krum, median, alignment, aggregate, scores.
//! The circuit's "gram check" step, which checks the prover's Gram matrix instead of computing
//! it, has its native counterpart in [`super::gram_check`].

use crate::error::Result;
use crate::fixed_point::MODEL_BITS;
use crate::params::{RoundParams, TAU_FRAC_BITS};

use super::{RoundInput, RoundOutput, RoundTrace};

/// Runs a round: duplicates, Krum scores, outliers, alignment, aggregate, new model, scores.
pub fn run(input: &RoundInput) -> Result<RoundOutput> {
    input.validate()?;
    let zero = vec![0i64; input.shape.params];
    let updates: Vec<&[i64]> = input.updates.iter().map(|u| u.as_deref().unwrap_or(&zero)).collect();
    let gram = gram_matrix(&updates);
    Ok(run_with_gram(input, gram))
}

/// The round from the given Gram matrix on: [`run`] with the true one, the tests with a forged
/// one (to show that only the circuit's "gram check" step stands between it and a proof).
pub(crate) fn run_with_gram(input: &RoundInput, gram: Vec<Vec<i128>>) -> RoundOutput {
    let params = &input.params;
    let zero = vec![0i64; input.shape.params];
    let updates: Vec<&[i64]> = input.updates.iter().map(|u| u.as_deref().unwrap_or(&zero)).collect();
    let presence = input.presence();

    let (duplicate, unique) = duplicates(&gram, &presence, &input.order, params.dup_tol);
    let krum = krum(&gram, &unique, params.max_malicious);
    let median = median(&unique, &krum.scores, params.tau);
    let (alignment_values, inliers) = alignment(&gram, &median.krum_inlier);
    let aggregate = aggregate(params, &input.model, &updates, &inliers);
    let scores = scores(&gram, &inliers);

    RoundOutput {
        inliers,
        scores: scores.scores,
        aggregate_norm_sq: scores.aggregate_norm_sq,
        new_model: aggregate.new_model,
        trace: RoundTrace {
            gram,
            duplicate,
            unique,
            k: krum.k,
            selected: krum.selected,
            threshold: krum.threshold,
            krum: krum.scores,
            median: median.median,
            median_rank: median.rank,
            krum_inlier: median.krum_inlier,
            alignment: alignment_values,
            gamma: aggregate.gamma,
            clamped: aggregate.clamped,
            gamma_rem: aggregate.gamma_rem,
            contribution: scores.contribution,
            score_rem: scores.remainder,
        },
    }
}

/// `G_ij = ⟨Δ_i, Δ_j⟩` over all slots (an empty slot is the zero vector).
fn gram_matrix(updates: &[&[i64]]) -> Vec<Vec<i128>> {
    updates.iter().map(|a| updates.iter().map(|b| dot(a, b)).collect()).collect()
}

/// `D_ij = ‖Δ_i − Δ_j‖²` from the Gram matrix.
fn distance(gram: &[Vec<i128>], i: usize, j: usize) -> i128 {
    gram[i][i] + gram[j][j] - 2 * gram[i][j]
}

/// 1. Copies of an update submitted earlier (a lower on-chain submission rank) are Sybils: only
///    the first submission stays a candidate, whatever the slots. Returns (duplicate, unique).
fn duplicates(gram: &[Vec<i128>], presence: &[bool], order: &[u16], dup_tol: u32) -> (Vec<bool>, Vec<bool>) {
    let n = presence.len();
    let copies = |i: usize, j: usize| presence[j] && order[j] < order[i] && distance(gram, i, j) <= dup_tol as i128;
    let duplicate: Vec<bool> = (0..n).map(|i| presence[i] && (0..n).any(|j| copies(i, j))).collect();
    let unique = (0..n).map(|i| presence[i] && !duplicate[i]).collect();
    (duplicate, unique)
}

/// The Krum step's values.
struct Krum {
    k: usize,
    selected: Vec<Vec<bool>>,
    threshold: Vec<i128>,
    scores: Vec<i128>,
}

/// 2. Krum: each candidate's score is the sum of its k smallest distances to other candidates,
///    `k = max(1, u − f − 2)` (0 when u ≤ 1).
fn krum(gram: &[Vec<i128>], unique: &[bool], max_malicious: u8) -> Krum {
    let n = unique.len();
    let candidates = unique.iter().filter(|x| **x).count();
    let f = max_malicious as usize;
    let k = if candidates >= f + 3 { candidates - f - 2 } else { usize::from(candidates >= 2) };
    let mut krum = Krum { k, selected: vec![vec![false; n]; n], threshold: vec![0; n], scores: vec![0; n] };
    for i in (0..n).filter(|&i| unique[i]) {
        let mut others: Vec<(i128, usize)> =
            (0..n).filter(|&j| j != i && unique[j]).map(|j| (distance(gram, i, j), j)).collect();
        others.sort();
        for &(d_ij, j) in &others[..k] {
            krum.selected[i][j] = true;
            krum.scores[i] += d_ij;
            krum.threshold[i] = d_ij;
        }
    }
    krum
}

/// The median step's values.
struct Median {
    median: i128,
    rank: usize,
    krum_inlier: Vec<bool>,
}

/// 3. Outliers: Krum score above τ × the lower median of the candidates' scores.
fn median(unique: &[bool], krum: &[i128], tau: u32) -> Median {
    let mut sorted: Vec<i128> = krum.iter().zip(unique).filter(|(_, u)| **u).map(|(k, _)| *k).collect();
    sorted.sort();
    let rank = sorted.len().saturating_sub(1) / 2;
    let median = sorted.get(rank).copied().unwrap_or(0);
    let krum_inlier =
        krum.iter().zip(unique).map(|(k, u)| *u && (k << TAU_FRAC_BITS) <= tau as i128 * median).collect();
    Median { median, rank, krum_inlier }
}

/// 4. Alignment: an update pointing away from (or orthogonal to) the robust sum is dropped.
///    Returns `⟨Δ_i, Σ_{Krum inliers} Δ_j⟩` and the inliers.
fn alignment(gram: &[Vec<i128>], krum_inlier: &[bool]) -> (Vec<i128>, Vec<bool>) {
    let alignment = weighted(gram, krum_inlier);
    let inliers = krum_inlier.iter().zip(&alignment).map(|(inlier, a)| *inlier && *a > 0).collect();
    (alignment, inliers)
}

/// The aggregate step's values.
struct Aggregate {
    gamma: u64,
    gamma_rem: u64,
    clamped: usize,
    new_model: Vec<i64>,
}

/// 5. Aggregate and new model: w' = clamp(w + γ·S) with γ = ⌊lr / |I|⌋. A weight that would
///    leave the model's range stops at its bound (as a saturating optimizer step would), so an
///    honest round can always be proven; `lr < 2^16` keeps one round's step below the two guard
///    bits of the model's packing, which is what makes the circuit's check carry-free.
fn aggregate(params: &RoundParams, model: &[i64], updates: &[&[i64]], inliers: &[bool]) -> Aggregate {
    let count = inliers.iter().filter(|x| **x).count();
    let (gamma, gamma_rem) = gamma(params.lr, count);
    let sums: Vec<i128> = (0..model.len())
        .map(|k| updates.iter().zip(inliers).filter(|(_, i)| **i).map(|(u, _)| u[k] as i128).sum())
        .collect();
    let (new_model, clamped) = model_step(model, gamma, &sums);
    Aggregate { gamma, gamma_rem, clamped, new_model }
}

/// γ = ⌊lr / |I|⌋ and the remainder, both 0 without inliers.
pub(crate) fn gamma(lr: u32, inliers: usize) -> (u64, u64) {
    let count = inliers as u64;
    (u64::from(lr).checked_div(count).unwrap_or(0), u64::from(lr).checked_rem(count).unwrap_or(0))
}

/// `w' = clamp(w + γ·S)` per parameter, `S` the inliers' sums, and how many values were clamped.
/// A chunked round's new model is this function of the published `S` ([`crate::chunked::aggregate`]).
pub(crate) fn model_step(model: &[i64], gamma: u64, sums: &[i128]) -> (Vec<i64>, usize) {
    let half = 1i128 << (MODEL_BITS - 1);
    let mut clamped = 0;
    let new_model = model
        .iter()
        .zip(sums)
        .map(|(&w, &s)| {
            let value = w as i128 + gamma as i128 * s;
            let bounded = value.clamp(-half, half - 1);
            clamped += usize::from(bounded != value);
            bounded as i64
        })
        .collect();
    (new_model, clamped)
}

/// The scores step's values.
struct Scores {
    scores: Vec<u64>,
    aggregate_norm_sq: u64,
    contribution: Vec<i128>,
    remainder: Vec<i128>,
}

/// 6. Contribution score: max(0, ⟨Δ_i,S⟩)² / ‖Δ_i‖², invariant to scaling one's own update.
fn scores(gram: &[Vec<i128>], inliers: &[bool]) -> Scores {
    let n = inliers.len();
    let contribution = weighted(gram, inliers);
    // ‖S‖² = Σ_{i∈I} ⟨Δ_i, S⟩ ≤ 2^SCORE_BITS (Shape::new bounds it).
    let aggregate_norm_sq = (0..n).filter(|&i| inliers[i]).map(|i| contribution[i]).sum::<i128>() as u64;
    let mut scores = Scores { scores: vec![0; n], aggregate_norm_sq, contribution, remainder: vec![0; n] };
    for i in (0..n).filter(|&i| inliers[i]) {
        let e = scores.contribution[i].max(0);
        // ‖Δ_i‖² > 0 for an inlier: its alignment is positive, so Δ_i ≠ 0.
        scores.scores[i] = (e * e / gram[i][i]) as u64;
        scores.remainder[i] = e * e % gram[i][i];
    }
    scores
}

/// `Σ_{j ∈ mask} G_ij` for every i: `⟨Δ_i, Σ_{j ∈ mask} Δ_j⟩` (the circuit's `Gram::inner_with_sum`).
fn weighted(gram: &[Vec<i128>], mask: &[bool]) -> Vec<i128> {
    gram.iter().map(|row| row.iter().zip(mask).filter(|(_, m)| **m).map(|(g, _)| g).sum()).collect()
}

fn dot(a: &[i64], b: &[i64]) -> i128 {
    a.iter().zip(b).map(|(x, y)| (*x as i128) * (*y as i128)).sum()
}
