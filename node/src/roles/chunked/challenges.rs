//! Challenges of a chunked job's chunks: which are open (from the job's events), the
//! aggregator answering them from its published record, and the auditor's choice of the chunk
//! to challenge: one whose published proof does not verify, or (with the updates) whose
//! published digest is not the one the updates give.

use alloy::primitives::{Address, U256};
use ark_bn254::{Bn254, Fr};
use ark_groth16::VerifyingKey;
use fedproof_prover::chunk::ChunkPublic;
use fedproof_prover::chunked::tree;
use fedproof_prover::export::calldata::proof_from_words;
use fedproof_prover::snark;
use fedproof_storage::Storage;

use super::settle::{answer, Published};
use crate::chain::client::call_error;
use crate::chain::words::to_word;
use crate::roles::job::JobView;

/// A challenge of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge {
    /// The round.
    pub round: u32,
    /// The chunk.
    pub chunk: usize,
    /// Who challenged it.
    pub challenger: Address,
}

/// The job's challenges not yet answered or refuted, from its `ChunkChallenged`,
/// `ChunkAnswered` and `RoundRefuted` events.
pub async fn open_challenges(job: &JobView) -> anyhow::Result<Vec<Challenge>> {
    let id = U256::from(job.id);
    let challenged = job.market.ChunkChallenged_filter().topic1(id).from_block(0).query().await;
    let answered = job.market.ChunkAnswered_filter().topic1(id).from_block(0).query().await;
    let refuted = job.market.RoundRefuted_filter().topic1(id).from_block(0).query().await;
    let answered = answered.map_err(|e| call_error("reading ChunkAnswered events", e))?;
    let refuted = refuted.map_err(|e| call_error("reading RoundRefuted events", e))?;
    let closed = |round: U256, chunk: U256| {
        answered.iter().any(|(ev, _)| (ev.round, ev.chunk) == (round, chunk))
            || refuted.iter().any(|(ev, _)| (ev.round, ev.chunk) == (round, chunk))
    };
    let mut open = Vec::new();
    for (ev, _) in challenged.map_err(|e| call_error("reading ChunkChallenged events", e))? {
        if !closed(ev.round, ev.chunk) {
            open.push(Challenge {
                round: ev.round.try_into()?,
                chunk: ev.chunk.try_into()?,
                challenger: ev.challenger,
            });
        }
    }
    Ok(open)
}

/// Answers every open challenge of the job from the published records (the aggregator's duty;
/// anyone holding the record can do it). A challenge whose record or proof is missing is left
/// open with a warning: it will refute the round. Returns the challenges answered.
pub async fn answer_open(job: &JobView, storage: &Storage) -> anyhow::Result<Vec<Challenge>> {
    let open = open_challenges(job).await?;
    if open.is_empty() {
        return Ok(open);
    }
    let finalized = job.finalized_events().await?;
    let mut answered = Vec::new();
    for challenge in open {
        let Challenge { round, chunk, .. } = challenge;
        let Some((ev, _)) = finalized.iter().find(|(ev, _)| ev.round == U256::from(round)) else { continue };
        let record = storage.chunked_round(*job.market.address(), job.id, round).await?;
        let Some(published) = record.as_ref().map(Published::parse).transpose()? else {
            tracing::warn!(job = job.id, round, chunk, "challenged, but the round's record is not in storage");
            continue;
        };
        let Some(proof) = published.proofs.get(chunk).copied() else { continue };
        let Some(a) = answer(&published.digests, chunk, ev.finalizedAt.to::<u64>(), proof) else { continue };
        let call = job.market.answerChunk(U256::from(job.id), round, U256::from(chunk), a);
        // A refused answer (a record whose proof is wrong) leaves the challenge open; the
        // aggregator goes on settling its other rounds.
        match job.chain.send(&format!("answerChunk {chunk} of round {round}"), call).await {
            Ok(receipt) => {
                tracing::info!(job = job.id, round, chunk, tx = %receipt.transaction_hash, "challenge answered");
                answered.push(challenge);
            }
            Err(e) => tracing::warn!(job = job.id, round, chunk, error = %e, "challenge not answered"),
        }
    }
    Ok(answered)
}

/// Why a chunked round's claims cannot be paid yet (`None`: they can): its challenge window is
/// open, a challenge of it is open, or it was refuted (then never).
pub async fn not_payable(job: &JobView, round: u32, finalized_at: u64) -> anyhow::Result<Option<String>> {
    let id = U256::from(job.id);
    let refuted = job.market.RoundRefuted_filter().topic1(id).topic2(U256::from(round)).from_block(0).query().await;
    if !refuted.map_err(|e| call_error("reading RoundRefuted events", e))?.is_empty() {
        return Ok(Some(format!("round {round} was refuted: it pays nobody")));
    }
    let until = finalized_at + u64::from(job.config.disputeWindow);
    if job.chain_time().await? <= until {
        return Ok(Some(format!("round {round}'s challenge window is open until {until}")));
    }
    if open_challenges(job).await?.iter().any(|c| c.round == round) {
        return Ok(Some(format!("round {round} has an open challenge")));
    }
    Ok(None)
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

/// The first chunk of a round of `chunks` chunks whose published proof is missing or does not
/// verify for its published digest (with the chunk circuit's `vk`): what an auditor without the
/// updates challenges. `None` when every chunk proof verifies: each binds its digest, a leaf of
/// `h`, to the committed updates, so the round is sound. Published digests that are not the
/// leaves of `h` are an error (the record is not this round's; every chunk is then in doubt).
pub fn unproven_chunk(
    h: Fr,
    chunks: usize,
    published: &Published,
    vk: &VerifyingKey<Bn254>,
) -> Result<Option<usize>, ChunkAuditError> {
    if published.digests.len() != chunks || tree::root(&published.digests) != h {
        return Err(ChunkAuditError::PublishedDigestsNotInH { published: published.digests.len(), expected: chunks });
    }
    Ok((0..chunks).find(|&c| {
        let Some(words) = published.proofs.get(c) else { return true };
        let verified = proof_from_words(&words.map(to_word))
            .ok()
            .and_then(|proof| snark::verify_inputs(vk, &[published.digests[c]], &proof).ok());
        verified != Some(true)
    }))
}
