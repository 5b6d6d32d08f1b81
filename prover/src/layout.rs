//! How a job's rounds are proven, and so what a trainer's round commitment is over: one round
//! proof over the whole update ([`crate::commitment::commit_update`]), or chunk proofs and a
//! final proof ([`crate::chunked`]), the commitment then chaining the update's chunk
//! commitments ([`crate::chunked::commit_update`]). The contract stores the chunk count K of a
//! job (its verifier's `CHUNKS()`, 0 for a round verifier) and the job spec its parameters.

use ark_bn254::Fr;

use crate::chunked::{self, Chunking};
use crate::error::Result;

/// A job's proof layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One proof per round.
    Whole,
    /// Chunk proofs and a final proof per round.
    Chunked(Chunking),
}

impl Layout {
    /// The layout of a job of `params` parameters whose verifier has `chunks` chunks (0: none).
    pub fn of_job(params: usize, chunks: usize) -> Result<Self> {
        Ok(match chunks {
            0 => Layout::Whole,
            k => Layout::Chunked(Chunking::for_count(params, k)?),
        })
    }

    /// The chunking of a chunked job.
    pub fn chunking(&self) -> Option<Chunking> {
        match self {
            Layout::Whole => None,
            Layout::Chunked(chunking) => Some(*chunking),
        }
    }

    /// `C(S)` of round `round` from the inliers' sums `sums` (one per parameter), `inliers`
    /// of them, in a job of `trainers` slots: the word its round finalized as `newModel`.
    pub fn commit_aggregate(
        &self,
        domain: Fr,
        round: u32,
        trainers: usize,
        inliers: usize,
        sums: &[i64],
    ) -> Result<Fr> {
        let chunking = self.chunking().unwrap_or(Chunking::whole(sums.len()));
        chunked::aggregate::commit(domain, round, chunking, trainers, inliers, sums)
    }

    /// Slot `slot`'s round commitment to `update` (every value in the update range).
    pub fn commit_update(&self, domain: Fr, round: u32, slot: usize, update: &[i64]) -> Result<Fr> {
        match self {
            Layout::Whole => crate::commitment::commit_update(domain, round, slot, update),
            Layout::Chunked(chunking) => chunked::commit_update(domain, round, slot, update, *chunking),
        }
    }
}
