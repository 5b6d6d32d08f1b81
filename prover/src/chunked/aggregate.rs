//! The inliers' aggregate `S` of a chunked round as the aggregator publishes it, and what anyone
//! computes from it: its commitment `C(S)` (the final proof's public input, the round's
//! `newModel` on chain) and the next model `w' = clamp(w + γ·S)`, which no proof carries: the
//! chunk proofs bind `S` to the updates, and the step from `S` to `w'` is public arithmetic.

use ark_bn254::Fr;

use super::{aggregate_commitment, Chunking};
use crate::chunk::commit_aggregate;
use crate::error::{Error, Result};
use crate::fixed_point::UPDATE_BITS;
use crate::params::RoundParams;
use crate::round::reference::{gamma, model_step};

/// `S_k = Σ_{i∈I} Δ_ik` for each of the `params` parameters k (inliers are present slots; all
/// zeros without inliers).
pub fn sums(params: usize, updates: &[Option<Vec<i64>>], inliers: &[bool]) -> Vec<i64> {
    let mut sums = vec![0; params];
    for (update, _) in updates.iter().zip(inliers).filter(|(_, inlier)| **inlier) {
        let Some(update) = update else { continue };
        sums.iter_mut().zip(update).for_each(|(s, v)| *s += v);
    }
    sums
}

/// `C(S)` of round `round` of a job with `trainers` slots, from the sums of its `inliers`
/// inliers: chunk c's lanes are `S_k + 2^7·|I|` (the padded lanes of the last chunk
/// `2^7·|I|`, the sum of padded zeros), committed as its chunk proof commits them.
pub fn commit(domain: Fr, round: u32, chunking: Chunking, trainers: usize, inliers: usize, sums: &[i64]) -> Result<Fr> {
    check(chunking, inliers, sums)?;
    let offset = (1u64 << (UPDATE_BITS - 1)) * inliers as u64;
    let chunks: Vec<Fr> = (0..chunking.count())
        .map(|c| {
            let mut lanes: Vec<u64> = sums[chunking.range(c)].iter().map(|s| (s + offset as i64) as u64).collect();
            lanes.resize(chunking.chunk_params, offset);
            commit_aggregate(domain, round, c as u32, trainers, &lanes)
        })
        .collect();
    Ok(aggregate_commitment(domain, round, &chunks))
}

/// The model the next round starts from: `w' = clamp(w + γ·S)`, `γ = ⌊lr / |I|⌋`, as the round
/// reference computes it for an unchunked round.
pub fn next_model(params: &RoundParams, model: &[i64], sums: &[i64], inliers: usize) -> Result<Vec<i64>> {
    if model.len() != sums.len() {
        return Err(invalid(format!("{} sums for a model of {} parameters", sums.len(), model.len())));
    }
    let (gamma, _) = gamma(params.lr, inliers);
    let sums: Vec<i128> = sums.iter().map(|s| i128::from(*s)).collect();
    Ok(model_step(model, gamma, &sums).0)
}

/// Each sum within what `inliers` updates can add up to: `0 ≤ S_k + 2^7·|I| < 2^8·|I|` (all
/// zeros without inliers), so the lanes are the ones a chunk proof commits (an aggregate
/// outside cannot be anyone's).
fn check(chunking: Chunking, inliers: usize, sums: &[i64]) -> Result<()> {
    if sums.len() != chunking.params {
        return Err(invalid(format!("{} sums for {} parameters", sums.len(), chunking.params)));
    }
    let half = (1i64 << (UPDATE_BITS - 1)) * inliers as i64;
    match sums.iter().position(|s| !(-half..half.max(1)).contains(s)) {
        None => Ok(()),
        Some(k) => Err(invalid(format!("sum {k} is {}, outside what {inliers} inliers' updates add up to", sums[k]))),
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidParameter { name: "aggregate", reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunked::split;
    use crate::round::sample::synthetic;
    use crate::shape::Shape;

    #[test]
    fn the_published_sums_give_the_proven_aggregate_and_the_reference_model() {
        let input = synthetic(Shape::new(5, 23).expect("shape"), 1, 4).input;
        let round = split(input.clone(), 7).expect("split");
        let w = &round.witness;
        let count = w.output.inliers.iter().filter(|i| **i).count();
        assert!(count > 0 && count < 5, "an outlier is left out");
        let s = sums(input.shape.params, &input.updates, &w.output.inliers);
        let c = commit(input.domain, input.params.round, round.chunking, 5, count, &s).expect("commit");
        assert_eq!(c, w.public.aggregate, "C(S) from the published sums");
        let next = next_model(&input.params, &input.model, &s, count).expect("model");
        assert_eq!(next, w.output.new_model, "w' as the round reference gives it");

        let mut forged = s.clone();
        forged[22] += 1;
        let other = commit(input.domain, input.params.round, round.chunking, 5, count, &forged).expect("commit");
        assert_ne!(other, w.public.aggregate, "another S, another C(S)");
        forged[0] = 1 << 20;
        assert!(commit(input.domain, input.params.round, round.chunking, 5, count, &forged).is_err(), "out of range");
        assert!(commit(input.domain, input.params.round, round.chunking, 5, count, &s[1..]).is_err(), "short");
    }

    #[test]
    fn a_job_is_cut_by_its_chunk_count() {
        assert_eq!(Chunking::for_count(100_000, 40).expect("40").chunk_params, 2_500);
        assert_eq!(Chunking::for_count(24, 3).expect("3").chunk_params, 8);
        assert_eq!(Chunking::for_count(16, 3).expect("3").chunk_params, 6);
        assert!(Chunking::for_count(10, 6).is_err(), "⌈10/6⌉ = 2 gives 5 chunks");
        assert!(Chunking::for_count(10, 0).is_err());
    }
}
