//! The native reference of a round: the statement in plain integer arithmetic.

use crate::error::{Error, Result};
use crate::fixed_point::MODEL_BITS;
use crate::params::TAU_FRAC_BITS;

use super::{RoundInput, RoundOutput, RoundTrace};

/// Runs a round: duplicates, Krum scores, outliers, alignment, aggregate, new model, scores.
pub fn run(input: &RoundInput) -> Result<RoundOutput> {
    input.validate()?;
    let n = input.shape.trainers;
    let d = input.shape.params;
    let p = &input.params;
    let zero = vec![0i64; d];
    let delta: Vec<&[i64]> = input.updates.iter().map(|u| u.as_deref().unwrap_or(&zero)).collect();
    let present = input.presence();

    let gram: Vec<Vec<i128>> = (0..n).map(|i| (0..n).map(|j| dot(delta[i], delta[j])).collect()).collect();
    let dist = |i: usize, j: usize| gram[i][i] + gram[j][j] - 2 * gram[i][j];

    // 1. Copies of an earlier present update are Sybils: only the first copy stays a candidate.
    let duplicate: Vec<bool> =
        (0..n).map(|i| present[i] && (0..i).any(|j| present[j] && dist(i, j) <= p.dup_tol as i128)).collect();
    let unique: Vec<bool> = (0..n).map(|i| present[i] && !duplicate[i]).collect();
    let u = unique.iter().filter(|x| **x).count();
    let f = p.max_malicious as usize;
    let k = if u >= f + 3 { u - f - 2 } else { usize::from(u >= 2) };

    // 2. Krum: each candidate's score is the sum of its k smallest distances to other candidates.
    let mut selected = vec![vec![false; n]; n];
    let mut threshold = vec![0i128; n];
    let mut krum = vec![0i128; n];
    for i in (0..n).filter(|&i| unique[i]) {
        let mut others: Vec<(i128, usize)> = (0..n).filter(|&j| j != i && unique[j]).map(|j| (dist(i, j), j)).collect();
        others.sort();
        for &(dij, j) in &others[..k] {
            selected[i][j] = true;
            krum[i] += dij;
            threshold[i] = dij;
        }
    }

    // 3. Outliers: Krum score above τ × the lower median of the candidates' scores.
    let mut sorted: Vec<i128> = (0..n).filter(|&i| unique[i]).map(|i| krum[i]).collect();
    sorted.sort();
    let median_rank = u.saturating_sub(1) / 2;
    let median = sorted.get(median_rank).copied().unwrap_or(0);
    let krum_inlier: Vec<bool> =
        (0..n).map(|i| unique[i] && (krum[i] << TAU_FRAC_BITS) <= p.tau as i128 * median).collect();

    // 4. Alignment: an update pointing away from (or orthogonal to) the robust sum is dropped.
    let alignment = weighted(&gram, &krum_inlier);
    let inliers: Vec<bool> = (0..n).map(|i| krum_inlier[i] && alignment[i] > 0).collect();

    // 5. Aggregate and new model: w' = w + γ·S with γ = ⌊lr / |I|⌋.
    let count = inliers.iter().filter(|x| **x).count() as u64;
    let gamma = (p.lr as u64).checked_div(count).unwrap_or(0);
    let gamma_rem = (p.lr as u64).checked_rem(count).unwrap_or(0);
    let half = 1i128 << (MODEL_BITS - 1);
    let new_model = (0..d)
        .map(|k| {
            let s: i128 = (0..n).filter(|&i| inliers[i]).map(|i| delta[i][k] as i128).sum();
            let value = input.model[k] as i128 + gamma as i128 * s;
            if value < -half || value >= half {
                Err(Error::ModelOverflow { index: k, value, bits: MODEL_BITS })
            } else {
                Ok(value as i64)
            }
        })
        .collect::<Result<Vec<i64>>>()?;

    // 6. Contribution score: max(0, ⟨Δ_i,S⟩)² / ‖Δ_i‖², invariant to scaling one's own update.
    let contribution = weighted(&gram, &inliers);
    let mut scores = vec![0u64; n];
    let mut score_rem = vec![0i128; n];
    for i in (0..n).filter(|&i| inliers[i]) {
        let e = contribution[i].max(0);
        // ‖Δ_i‖² > 0 for an inlier: its alignment is positive, so Δ_i ≠ 0.
        scores[i] = (e * e / gram[i][i]) as u64;
        score_rem[i] = e * e % gram[i][i];
    }

    Ok(RoundOutput {
        inliers,
        scores,
        new_model,
        trace: RoundTrace {
            gram,
            duplicate,
            unique,
            k,
            selected,
            threshold,
            krum,
            median,
            median_rank,
            krum_inlier,
            alignment,
            gamma,
            gamma_rem,
            contribution,
            score_rem,
        },
    })
}

/// `Σ_{j ∈ mask} G_ij` for every i: `⟨Δ_i, Σ_{j ∈ mask} Δ_j⟩` (the circuit's `weighted`).
fn weighted(gram: &[Vec<i128>], mask: &[bool]) -> Vec<i128> {
    gram.iter().map(|row| row.iter().zip(mask).filter(|(_, m)| **m).map(|(g, _)| g).sum()).collect()
}

fn dot(a: &[i64], b: &[i64]) -> i128 {
    a.iter().zip(b).map(|(x, y)| (*x as i128) * (*y as i128)).sum()
}
