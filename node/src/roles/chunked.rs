//! What goes on chain for a chunked round (prover/src/chunked; contracts/README.md, "Chunked
//! rounds"): the finalization, which carries `C(S)` and `H` with the final proof, and the answer
//! to a challenged chunk, which opens the chunk's digest in `H` and carries its proof; and the
//! auditor's choice of the chunk to challenge.

use alloy::primitives::U256;
use ark_bn254::{Bn254, Fr};
use ark_groth16::Proof;
use fedproof_contracts::JobMarket;
use fedproof_prover::chunk::ChunkPublic;
use fedproof_prover::chunked::{self, tree, FinalWitness};
use fedproof_prover::export::calldata::SolidityCalldata;
use fedproof_prover::round::public_inputs::pack_scores;

use crate::chain::words::{bits_to_u64, from_word, to_u256};

/// The finalization of a chunked round from its final proof's witness and proof (no slot
/// declared unavailable: every submitter's update is in the round).
pub fn finalization(witness: &FinalWitness, proof: &Proof<Bn254>) -> JobMarket::Finalization {
    let public = &witness.public;
    let words = SolidityCalldata::new(proof, &public.to_vec()).proof_words();
    JobMarket::Finalization {
        newModel: to_u256(&public.aggregate),
        digest: to_u256(&public.digest),
        inlierBits: bits_to_u64(&witness.output.inliers),
        unavailableBits: 0,
        aggregateNormSq: u128::from(witness.output.aggregate_norm_sq),
        scoreWords: pack_scores(&witness.output.scores).iter().map(to_u256).collect(),
        proof: words.map(|w| from_word(&w)),
    }
}

/// The answer to a challenge of chunk `index` of the round whose chunks are `chunks` (`None` past
/// the last chunk): its digest, its path to `H`, and its proof.
pub fn answer(
    chunks: &[ChunkPublic],
    index: usize,
    finalized_at: u64,
    proof: &Proof<Bn254>,
) -> Option<JobMarket::ChunkAnswer> {
    let leaves: Vec<Fr> = chunks.iter().map(ChunkPublic::digest).collect();
    let digest = *leaves.get(index)?;
    let path = tree::path(&leaves, index);
    let words = SolidityCalldata::new(proof, &[digest]).proof_words();
    Some(JobMarket::ChunkAnswer {
        digest: to_u256(&tree::root(&leaves)),
        finalizedAt: alloy::primitives::Uint::<40, 1>::from(finalized_at),
        chunkDigest: to_u256(&digest),
        siblings: path.iter().map(to_u256).collect(),
        proof: words.map(|w| from_word(&w)),
    })
}

/// `H` of the round whose chunks are `chunks`, as `challengeChunk` and `refuteRound` take it.
pub fn digest_word(chunks: &[ChunkPublic]) -> U256 {
    to_u256(&chunked::digest(chunks))
}

/// Why an auditor cannot name the chunk to challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkAuditError {
    /// The chunk digests the aggregator published are not the leaves of the `H` it finalized.
    #[error("the {published} published chunk digests do not hash to the round's H ({expected} chunks expected)")]
    PublishedDigestsNotInH {
        /// How many digests were published.
        published: usize,
        /// How many chunks the round has.
        expected: usize,
    },
}

/// The chunk an auditor challenges: the first whose digest, as the aggregator published it
/// (`published`, in chunk order, checked against the finalized `h`), differs from the digest the
/// auditor recomputes from the updates (`recomputed`, from `chunked::split`). `None` when every
/// chunk agrees: the round is the one the updates give.
pub fn chunk_to_challenge(
    h: Fr,
    published: &[Fr],
    recomputed: &[ChunkPublic],
) -> Result<Option<usize>, ChunkAuditError> {
    if published.len() != recomputed.len() || tree::root(published) != h {
        return Err(ChunkAuditError::PublishedDigestsNotInH { published: published.len(), expected: recomputed.len() });
    }
    Ok(published.iter().zip(recomputed).position(|(p, r)| *p != r.digest()))
}
