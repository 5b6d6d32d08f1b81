//! The auditor: re-checks every finalized round of a job from public data. It rebuilds each
//! round's public inputs from events and contract storage, reads the proof from the
//! `finalizeRound` calldata, verifies it off-chain with the verifying key and on-chain through
//! the job's verifier (eth_call), and with `recompute` re-runs the round from the stored blobs
//! and compares every claim. Updates are sealed to the aggregator, so recomputing takes its key.

use alloy::primitives::{B256, U256};
use alloy::sol_types::SolCall;
use ark_bn254::{Bn254, Fr};
use ark_groth16::VerifyingKey;
use fedproof_contracts::{JobMarket, RoundVerifier};
use fedproof_prover::chunked::aggregate;
use fedproof_prover::export::calldata::{proof_from_words, Word};
use fedproof_prover::round::public_inputs::{flags_words, pack_order};
use fedproof_prover::round::{InputWords, PublicInputs, RoundInput, RoundWitness};
use fedproof_prover::snark;
use fedproof_web_api::format::slots;
use serde::Serialize;

use crate::chain::client::call_error;
use crate::chain::words::{from_word, to_fr, to_u256, to_word};
use crate::roles::job::JobView;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;

/// What re-running rounds needs: the blobs, and the key the updates are sealed to.
#[derive(Debug, Clone, Copy)]
pub struct Recompute<'a> {
    /// Where the models and sealed updates are.
    pub storage: &'a Storage,
    /// The aggregator's sealing key.
    pub key: &'a AggregatorKey,
}

/// The audit of one round.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    /// The round.
    pub round: u32,
    /// The proof verifies off-chain with the verifying key.
    pub offchain: bool,
    /// The job's verifier contract accepts it (eth_call).
    pub onchain: bool,
    /// With `recompute`: `Ok` when re-running the round reproduces every claim, else why not.
    pub recompute: Option<Result<(), String>>,
    /// The `finalizeRound` transaction.
    pub tx: String,
}

impl AuditRow {
    /// Whether every check of this round passed.
    pub fn ok(&self) -> bool {
        self.offchain && self.onchain && self.recompute.as_ref().is_none_or(|r| r.is_ok())
    }
}

/// Audits every finalized round of `job`.
pub async fn audit(
    job: &JobView,
    vk: &VerifyingKey<Bn254>,
    recompute: Option<Recompute<'_>>,
) -> anyhow::Result<Vec<AuditRow>> {
    let events = job.finalized_events().await?;
    let verifier = RoundVerifier::new(job.config.verifier, job.chain.provider.clone());
    // Fixed once the job started: what the contract folded into every round's accumulator.
    let domain = job.domain().await?;
    let mut rows = Vec::new();
    for (ev, log) in events {
        let onchain_round = OnChainRound::read(job, &ev, &log).await?;
        let OnChainRound { round, proof, context, ref commitments, ref order, .. } = onchain_round;
        let updates: Vec<_> = commitments.iter().copied().map(to_word).collect();
        let scores: Vec<_> = ev.scoreWords.iter().copied().map(to_word).collect();
        let order_words: Vec<Word> = pack_order(order).iter().map(Word::from_field).collect();
        let flags: Vec<Word> = flag_words(&ev, job.shape.trainers)?.iter().map(Word::from_field).collect();
        let public = PublicInputs::from_words(InputWords {
            context: to_word(context),
            domain: Word::from_field(&domain),
            order: &order_words,
            aggregate: to_word(ev.newModel),
            digest: Word([0; 32]), // a round proven whole
            updates: &updates,
            flags: &flags,
            scores: &scores,
        })?;
        let offchain = verifies(vk, &public.to_vec(), &proof);
        let words: Vec<U256> = public.to_words().iter().map(from_word).collect();
        let onchain = verifier.verifyProof(proof, words).call().await.unwrap_or(false);
        let recompute = match recompute {
            Some(with) => Some(recompute_round(job, with, domain, &ev, &onchain_round).await),
            None => None,
        };
        rows.push(AuditRow { round, offchain, onchain, recompute, tx: onchain_round.tx });
    }
    Ok(rows)
}

/// What the chain says of a finalized round besides its `RoundFinalized` event: the proof
/// (from the `finalizeRound` calldata), the context word, every slot's commitment and the
/// round's submissions in chain order.
pub(crate) struct OnChainRound {
    pub(crate) round: u32,
    /// The `finalizeRound` transaction.
    pub(crate) tx: String,
    pub(crate) proof: [U256; 8],
    pub(crate) context: U256,
    /// Each slot's on-chain commitment (0 for none).
    pub(crate) commitments: Vec<U256>,
    /// The round's `UpdateSubmitted` events.
    pub(crate) submitted: Vec<JobMarket::UpdateSubmitted>,
    /// Each slot's submission rank (0 for none), what the contract folded in as commitments
    /// arrived, recomputed from those events.
    pub(crate) order: Vec<u16>,
}

/// The flags words of a finalized round, from its event's bitmaps and ‖S‖² (the contract passes
/// exactly these to the verifier).
pub(crate) fn flag_words(ev: &JobMarket::RoundFinalized, n: usize) -> anyhow::Result<Vec<Fr>> {
    let norm = u64::try_from(ev.aggregateNormSq)
        .map_err(|_| anyhow::anyhow!("round {}: ‖S‖² {} is above any shape's bound", ev.round, ev.aggregateNormSq))?;
    Ok(flags_words(&slots(&ev.unavailableBits, n), &slots(&ev.inlierBits, n), norm))
}

impl OnChainRound {
    /// Reads the round `ev` finalized (logged as `log`).
    pub(crate) async fn read(
        job: &JobView,
        ev: &JobMarket::RoundFinalized,
        log: &alloy::rpc::types::Log,
    ) -> anyhow::Result<Self> {
        let id = U256::from(job.id);
        let round: u32 = ev.round.try_into()?;
        let tx = log.transaction_hash.ok_or_else(|| anyhow::anyhow!("RoundFinalized log without transaction"))?;
        let call = JobMarket::finalizeRoundCall::abi_decode(&job.chain.transaction_input(tx).await?)?;
        let context = job.market.context(id, U256::from(round)).call().await.map_err(|e| call_error("context", e))?;
        let mut commitments = Vec::with_capacity(job.shape.trainers);
        for slot in 0..job.shape.trainers {
            let c = job.market.commitments(id, U256::from(round), U256::from(slot)).call().await;
            commitments.push(c.map_err(|e| call_error("reading commitments", e))?);
        }
        let submitted = job.submitted_events(round).await?;
        let order = job.submission_order(&submitted)?;
        Ok(OnChainRound { round, tx: tx.to_string(), proof: call.f.proof, context, commitments, submitted, order })
    }

    /// The slots declared unavailable (`unavailable_bits` of the round's event) with their
    /// on-chain commitments, as the prover takes them.
    pub(crate) fn unavailable(&self, unavailable_bits: U256) -> Vec<(usize, Fr)> {
        let declared = slots(&unavailable_bits, self.commitments.len());
        self.commitments.iter().enumerate().filter(|(slot, _)| declared[*slot]).map(|(s, c)| (s, to_fr(*c))).collect()
    }

    /// The updates a recomputation re-runs the round on: each present slot's stored update
    /// (present: committed and not declared unavailable, as the circuit has it), opened and
    /// checked against its commitment.
    pub(crate) async fn updates(
        &self,
        job: &JobView,
        with: Recompute<'_>,
        domain: Fr,
        unavailable_bits: U256,
    ) -> Result<Vec<Option<Vec<i64>>>, String> {
        let mut updates = vec![None; job.shape.trainers];
        for (slot, c) in self.commitments.iter().enumerate() {
            if *c == U256::ZERO || unavailable_bits.bit(slot) {
                continue;
            }
            let blob_ref = blob_ref(&self.submitted, self.round, slot)?;
            let values = job
                .checked_update(with.storage, with.key, domain, self.round, slot, *c, blob_ref)
                .await
                .map_err(|e| format!("the stored update of slot {slot}: {e}"))?;
            updates[slot] = Some(values);
        }
        Ok(updates)
    }
}

/// Whether `proof` (as words) verifies for `inputs` with `vk`; a malformed proof does not.
pub(crate) fn verifies(vk: &VerifyingKey<Bn254>, inputs: &[Fr], proof: &[U256; 8]) -> bool {
    proof_from_words(&proof.map(to_word)).is_ok_and(|proof| snark::verify_inputs(vk, inputs, &proof).unwrap_or(false))
}

/// Re-runs a round from the stored model and update blobs and compares it with what was proven.
async fn recompute_round(
    job: &JobView,
    with: Recompute<'_>,
    domain: Fr,
    ev: &JobMarket::RoundFinalized,
    onchain: &OnChainRound,
) -> Result<(), String> {
    let (n, round) = (job.shape.trainers, onchain.round);
    let model = job.checked_model(with.storage, round, ev.model).await.map_err(|e| format!("{e:#}"))?;
    let model = model.ok_or_else(|| format!("the model of round {round} is not in storage"))?;
    let updates = onchain.updates(job, with, domain, ev.unavailableBits).await?;
    let order = onchain.order.clone();
    let params = job.round_params(round).map_err(|e| e.to_string())?;
    let input = RoundInput { shape: job.shape, params, domain, order, model: model.values, updates };
    let witness =
        RoundWitness::with_unavailable(input, &onchain.unavailable(ev.unavailableBits)).map_err(|e| e.to_string())?;
    if to_u256(&witness.public.aggregate) != ev.newModel {
        return Err("re-running the round gives another aggregate C(S)".into());
    }
    if Some(&witness.public.flags) != flag_words(ev, n).ok().as_ref() {
        return Err("re-running the round gives other outliers".into());
    }
    let scores: Vec<U256> = witness.public.scores.iter().map(to_u256).collect();
    if scores != ev.scoreWords {
        return Err("re-running the round gives other scores".into());
    }
    // The next round's model is replayed from this aggregate: without it nobody can train on.
    let market = *job.market.address();
    let published = with.storage.published_aggregate(market, job.id, round).await.map_err(|e| e.to_string())?;
    let sums = aggregate::sums(job.shape.params, &witness.input.updates, &witness.output.inliers);
    if published.map(|a| a.values) != Some(sums) {
        return Err(format!("the published aggregate of round {round} is not the proven one"));
    }
    Ok(())
}

/// The update blob a slot committed to in `round`, from the round's `UpdateSubmitted` events.
fn blob_ref(events: &[JobMarket::UpdateSubmitted], round: u32, slot: usize) -> Result<B256, String> {
    let ev = events
        .iter()
        .find(|ev| ev.slot == U256::from(slot))
        .ok_or_else(|| format!("no submission of slot {slot} in round {round}"))?;
    Ok(ev.blobRef)
}
