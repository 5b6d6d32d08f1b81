//! The audit of a chunked job: for every round, the final proof off-chain and through the job's
//! final verifier, then every chunk proof of the aggregator's published record against its
//! digest (a leaf of the finalized H): a chunk whose proof is missing or wrong is the one to
//! challenge, and no key is needed to find it. With the aggregator's key, the round is also
//! re-run from the updates and each published digest compared with the recomputed one.
//!
//! [`act`] turns the audit into money: it challenges the first bad chunk of each round while
//! its window is open, and refutes a round whose challenge went unanswered past its deadline.

use alloy::primitives::U256;
use ark_bn254::{Bn254, Fr};
use ark_groth16::VerifyingKey;
use fedproof_contracts::{ChunkedRoundVerifier, JobMarket, RoundVerifier};
use fedproof_prover::chunked::{self, FinalPublic};
use fedproof_prover::round::public_inputs::pack_order;
use fedproof_prover::round::RoundInput;
use serde::Serialize;

use super::challenges::{chunk_to_challenge, open_challenges, unproven_chunk};
use super::settle::Published;
use crate::chain::client::call_error;
use crate::chain::words::{to_fr, to_u256};
use crate::roles::audit::{flag_words, verifies, OnChainRound, Recompute};
use crate::roles::job::JobView;

/// The audit of one chunked round.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkedAuditRow {
    /// The round.
    pub round: u32,
    /// The final proof verifies off-chain with the final verifying key.
    pub offchain: bool,
    /// The job's final verifier accepts it (eth_call).
    pub onchain: bool,
    /// The first chunk whose published proof is missing or does not verify for its published
    /// digest (`Ok(None)`: every chunk proof verifies), or why the record cannot be checked.
    pub unproven: Result<Option<usize>, String>,
    /// With `recompute`: `Ok` when re-running the round gives its outcome and every published
    /// digest, else why not.
    pub recompute: Option<Result<(), String>>,
    /// The chunk to challenge: the unproven one, or the first whose digest the updates refute.
    pub challenge: Option<usize>,
    /// The round's H.
    pub digest: String,
    /// The round's finalization time (the challenge window runs from it).
    pub finalized_at: u64,
    /// The `finalizeRound` transaction.
    pub tx: String,
}

impl ChunkedAuditRow {
    /// Whether every check of this round passed.
    pub fn ok(&self) -> bool {
        self.offchain
            && self.onchain
            && matches!(self.unproven, Ok(None))
            && self.recompute.as_ref().is_none_or(|r| r.is_ok())
    }
}

/// The verifying keys of a chunked job: the final proof's and the chunk proof's.
#[derive(Clone, Copy)]
pub struct ChunkedKeys<'a> {
    /// The final proof's key.
    pub final_vk: &'a VerifyingKey<Bn254>,
    /// The chunk proof's key.
    pub chunk_vk: &'a VerifyingKey<Bn254>,
}

/// Audits every finalized round of chunked job `job` with the records in `storage`.
pub async fn audit(
    job: &JobView,
    storage: &fedproof_storage::Storage,
    keys: ChunkedKeys<'_>,
    recompute: Option<Recompute<'_>>,
) -> anyhow::Result<Vec<ChunkedAuditRow>> {
    let id = U256::from(job.id);
    let chunks = usize::from(job.config.chunks);
    let chunked_verifier = ChunkedRoundVerifier::new(job.config.verifier, job.chain.provider.clone());
    let final_verifier =
        chunked_verifier.finalVerifier().call().await.map_err(|e| call_error("reading the final verifier", e))?;
    let final_verifier = RoundVerifier::new(final_verifier, job.chain.provider.clone());
    let digests = job.market.ChunkedRoundFinalized_filter().topic1(id).from_block(0).query().await;
    let digests = digests.map_err(|e| call_error("reading ChunkedRoundFinalized events", e))?;
    let domain = job.domain().await?;
    let mut rows = Vec::new();
    for (ev, log) in job.finalized_events().await? {
        let onchain_round = OnChainRound::read(job, &ev, &log).await?;
        let round = onchain_round.round;
        let h = digests.iter().find(|(d, _)| d.round == ev.round).map(|(d, _)| to_fr(d.digest));
        let h = h.ok_or_else(|| anyhow::anyhow!("round {round} of job {} has no ChunkedRoundFinalized", job.id))?;
        let public = final_public(domain, h, &ev, &onchain_round)?;
        let offchain = verifies(keys.final_vk, &public.to_vec(), &onchain_round.proof);
        let words: Vec<U256> = public.to_vec().iter().map(to_u256).collect();
        let onchain = final_verifier.verifyProof(onchain_round.proof, words).call().await.unwrap_or(false);
        let record = storage.chunked_round(*job.market.address(), job.id, round).await?;
        let published = match &record {
            Some(record) => Published::parse(record).map_err(|e| format!("{e:#}")),
            None => Err(format!("the aggregator published no record of round {round}")),
        };
        let unproven = published
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|p| unproven_chunk(h, chunks, p, keys.chunk_vk).map_err(|e| e.to_string()));
        let (recompute, refuted) = match (recompute, &published) {
            (Some(with), Ok(published)) => {
                match recompute_round(job, with, domain, h, &ev, &onchain_round, published).await {
                    Ok(chunk) => (
                        Some(
                            chunk
                                .map_or(Ok(()), |c| Err(format!("chunk {c}'s digest is not the one its updates give"))),
                        ),
                        chunk,
                    ),
                    Err(e) => (Some(Err(e)), None),
                }
            }
            _ => (None, None),
        };
        // No record at all: chunk 0 is as unproven as any.
        let challenge = match &unproven {
            Ok(chunk) => chunk.or(refuted),
            Err(_) => Some(0),
        };
        rows.push(ChunkedAuditRow {
            round,
            offchain,
            onchain,
            unproven,
            recompute,
            challenge,
            digest: fedproof_web_api::format::word(&to_u256(&h)),
            finalized_at: ev.finalizedAt.to::<u64>(),
            tx: onchain_round.tx,
        });
    }
    Ok(rows)
}

/// The final proof's public inputs as the contract assembled them for round `ev`.
fn final_public(
    domain: Fr,
    h: Fr,
    ev: &JobMarket::RoundFinalized,
    onchain: &OnChainRound,
) -> anyhow::Result<FinalPublic> {
    Ok(FinalPublic {
        context: to_fr(onchain.context),
        domain,
        aggregate: to_fr(ev.newModel),
        digest: h,
        updates: onchain.commitments.iter().copied().map(to_fr).collect(),
        order: pack_order(&onchain.order),
        flags: flag_words(ev, onchain.commitments.len())?,
        scores: ev.scoreWords.iter().copied().map(to_fr).collect(),
    })
}

/// Re-runs a chunked round from the replayed model and the stored updates; `Ok(Some(c))` names
/// the first chunk whose published digest is not the recomputed one. An outcome that differs
/// from the finalized one (`C(S)`, flags, scores) is an error: the final proof could not hold.
async fn recompute_round(
    job: &JobView,
    with: Recompute<'_>,
    domain: Fr,
    h: Fr,
    ev: &JobMarket::RoundFinalized,
    onchain: &OnChainRound,
    published: &Published,
) -> Result<Option<usize>, String> {
    let (n, round) = (job.shape.trainers, onchain.round);
    let model = job.checked_model(with.storage, round, ev.model).await.map_err(|e| format!("{e:#}"))?;
    let model = model.ok_or_else(|| format!("the model of round {round} is not in storage"))?;
    let updates = onchain.updates(job, with, domain, ev.unavailableBits).await?;
    let unavailable = onchain.unavailable(ev.unavailableBits);
    let params = job.round_params(round).map_err(|e| e.to_string())?;
    let chunking = job.layout().map_err(|e| e.to_string())?.chunking().ok_or("the job is not chunked")?;
    let input =
        RoundInput { shape: job.shape, params, domain, order: onchain.order.clone(), model: model.values, updates };
    let split =
        chunked::split_with_unavailable(input, chunking.chunk_params, &unavailable).map_err(|e| e.to_string())?;
    let public = &split.witness.public;
    if to_u256(&public.aggregate) != ev.newModel {
        return Err("re-running the round gives another aggregate C(S)".into());
    }
    let flags = flag_words(ev, n).map_err(|e| e.to_string())?;
    if public.flags != flags || public.scores.iter().map(to_u256).collect::<Vec<_>>() != ev.scoreWords {
        return Err("re-running the round gives other outliers or scores".into());
    }
    chunk_to_challenge(h, &published.digests, &split.witness.chunks).map_err(|e| e.to_string())
}

/// What [`act`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// The round.
    pub round: u32,
    /// The chunk.
    pub chunk: usize,
    /// `challenged` or `refuted`.
    pub what: &'static str,
    /// The transaction.
    pub tx: String,
}

/// Challenges the chunk each audited round names while its challenge window is open (unless
/// it is challenged already), and refutes every round whose challenge by this signer went
/// unanswered past its deadline. Safe to run again: it only does what is still due.
pub async fn act(job: &JobView, rows: &[ChunkedAuditRow]) -> anyhow::Result<Vec<Action>> {
    let id = U256::from(job.id);
    let now = job.chain_time().await?;
    let window = u64::from(job.config.disputeWindow);
    let open = open_challenges(job).await?;
    let challenged = job.market.ChunkChallenged_filter().topic1(id).from_block(0).query().await;
    let challenged = challenged.map_err(|e| call_error("reading ChunkChallenged events", e))?;
    let mut actions = Vec::new();
    for row in rows {
        let (h, at) = (row.digest.parse::<U256>()?, alloy::primitives::Uint::<40, 1>::from(row.finalized_at));
        if let Some(chunk) = row.challenge {
            let taken =
                challenged.iter().any(|(ev, _)| (ev.round, ev.chunk) == (U256::from(row.round), U256::from(chunk)));
            if !taken && now <= row.finalized_at + window {
                let bond = U256::from(job.config.bond.div_ceil(u128::from(job.config.n)));
                let call = job.market.challengeChunk(id, row.round, U256::from(chunk), h, at).value(bond);
                let receipt = job.chain.send(&format!("challengeChunk {chunk} of round {}", row.round), call).await?;
                actions.push(Action {
                    round: row.round,
                    chunk,
                    what: "challenged",
                    tx: receipt.transaction_hash.to_string(),
                });
            }
        }
        let mine = |c: &&super::challenges::Challenge| c.round == row.round && c.challenger == job.chain.address;
        for c in open.iter().filter(mine) {
            if now > row.finalized_at + 2 * window {
                let call = job.market.refuteRound(id, row.round, U256::from(c.chunk), at, h);
                let receipt = job.chain.send(&format!("refuteRound {} (chunk {})", row.round, c.chunk), call).await?;
                actions.push(Action {
                    round: row.round,
                    chunk: c.chunk,
                    what: "refuted",
                    tx: receipt.transaction_hash.to_string(),
                });
            }
        }
    }
    Ok(actions)
}
