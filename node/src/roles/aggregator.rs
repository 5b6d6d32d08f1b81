//! The aggregator: posts its bond, then for each round waits for the submissions, fetches and
//! checks every committed update against its commitment (a missing or mismatching blob makes the
//! slot unavailable, with the reason logged), runs the round, proves it (here, or on prover
//! workers: [`crate::proving`]), publishes the new model and finalizes on-chain.
//!
//! It keeps no state of its own: everything is read back from the chain and storage, so it can be
//! killed at any moment and started again. It publishes the next model before finalizing (the
//! publication is idempotent) and re-reads the round just before sending, so a restarted
//! aggregator never submits a round twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use anyhow::Context;
use fedproof_contracts::JobMarket;
use fedproof_prover::chunked::aggregate;
use fedproof_prover::export::calldata::SolidityCalldata;
use fedproof_prover::keys::Keys;
use fedproof_prover::round::RoundInput;
use fedproof_prover::snark;
use fedproof_web_api::format::bitmap;
use serde::Serialize;

use crate::chain::client::call_error;
use crate::chain::words::to_u256;
use crate::proving::{ProofTask, Prover};
use crate::roles::chunked::challenges;
use crate::roles::chunked::settle::{self, ChunkProving};
use crate::roles::job::{JobView, POLL};
use crate::roles::replay;
use fedproof_contracts::JobStatus;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::{blob_ref_of, Storage};

/// What happened in one finalized round.
#[derive(Debug, Clone, Serialize)]
pub struct RoundReport {
    /// The round.
    pub round: u32,
    /// Slots that submitted a commitment.
    pub submitted: Vec<bool>,
    /// Slots declared unavailable, with the reason.
    pub unavailable: Vec<(usize, String)>,
    /// Slots averaged into the model.
    pub inliers: Vec<bool>,
    /// Contribution scores.
    pub scores: Vec<u64>,
    /// Seconds spent proving.
    pub prove_seconds: f64,
    /// Gas used by `finalizeRound`.
    pub finalize_gas: u64,
    /// The `finalizeRound` transaction.
    pub tx: String,
    /// The new model (model encoding).
    #[serde(skip)]
    pub new_model: Vec<i64>,
}

/// One submitted update as logged on-chain.
struct Submitted {
    slot: usize,
    commitment: U256,
    blob_ref: B256,
}

/// What the aggregator works with besides the job and the blob store.
#[derive(Clone)]
pub struct Settings {
    /// Groth16 keys of the job's shape.
    pub keys: Arc<Keys>,
    /// Opens the updates; its recipient must be the one the job's spec names.
    pub sealing: Arc<AggregatorKey>,
    /// Who proves the rounds: this process, or prover workers on a queue.
    pub prover: Prover,
    /// Once every trainer has committed, how long to wait for updates still being uploaded
    /// (through the intake they arrive after their commitment) before calling them unavailable.
    pub upload_grace: Duration,
    /// For a chunked job, who proves the chunks (`keys` and `prover` then make the final proof).
    pub chunks: Option<ChunkProving>,
}

/// Runs the aggregator until the job ends, calling `on_round` after each finalized round.
pub async fn run(
    job: &JobView,
    storage: &Storage,
    settings: &Settings,
    mut on_round: impl FnMut(&RoundReport) + Send,
) -> anyhow::Result<Vec<RoundReport>> {
    let mut reports = Vec::new();
    while let Some(report) = next_round(job, storage, settings).await? {
        on_round(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// Runs the aggregator until it has finalized one more round (its report), or until the job has
/// ended (`None`): posts or restores the bond, waits for the submissions, proves and finalizes.
/// The Flower strategy calls it once per Flower round; `run` calls it until the job ends.
pub async fn next_round(job: &JobView, storage: &Storage, settings: &Settings) -> anyhow::Result<Option<RoundReport>> {
    let sealing = &settings.sealing;
    anyhow::ensure!(
        sealing.recipient() == job.spec.aggregator_recipient,
        "this aggregator's sealing key ({}) is not the one job {} names ({}): trainers' updates would not open",
        sealing.recipient(),
        job.id,
        job.spec.aggregator_recipient
    );
    // When the current round was first seen with every commitment in but some blob missing.
    let mut waiting_since: Option<(u32, Instant)> = None;
    let chunked = job.layout()?.chunking().is_some();
    anyhow::ensure!(
        !chunked || settings.chunks.is_some(),
        "job {} is chunked: the aggregator needs the chunk circuit's keys",
        job.id
    );
    loop {
        let s = job.state().await?;
        if chunked {
            challenges::answer_open(job, storage).await?;
        }
        if s.status != JobStatus::Active as u8 {
            if chunked && s.status == JobStatus::Completed as u8 && !challenges_closed(job).await? {
                tokio::time::sleep(POLL).await;
                continue;
            }
            return Ok(None);
        }
        if keep_bond(job, storage, &s).await? {
            continue;
        }
        let now = job.chain_time().await?;
        let start = s.roundStart.to::<u64>();
        let submit_deadline = start + job.config.submitWindow as u64;
        let finalize_deadline = submit_deadline + job.config.finalizeWindow as u64;
        anyhow::ensure!(
            now <= finalize_deadline,
            "round {} of job {} missed its finalization deadline ({finalize_deadline}); anyone may now call expireRound",
            s.round,
            job.id
        );
        let all_in = s.joinedCount > 0 && s.submittedCount >= s.joinedCount;
        if now < start || !(all_in || now > submit_deadline) {
            tokio::time::sleep(POLL).await;
            continue;
        }
        if now <= submit_deadline && !blobs_present(job, storage, s.round).await? {
            let since = match waiting_since {
                Some((round, since)) if round == s.round => since,
                _ => waiting_since.insert((s.round, Instant::now())).1,
            };
            if since.elapsed() < settings.upload_grace {
                tokio::time::sleep(POLL).await;
                continue;
            }
        }
        if let Some(report) = finalize(job, storage, settings, s.round, s.model).await? {
            return Ok(Some(report));
        }
    }
}

/// Posts the bond of an active job that has none yet (round 0 opens only then), once its terms
/// check out. Does nothing when the bond is in.
pub async fn post_bond(job: &JobView, storage: &Storage) -> anyhow::Result<()> {
    let s = job.state().await?;
    anyhow::ensure!(s.status == JobStatus::Active as u8, "job {} is not running (status {})", job.id, s.status);
    keep_bond(job, storage, &s).await?;
    Ok(())
}

/// Posts the bond, or restores it after a dispute took part of it (JobMarket finalizes no round
/// while it is short); true when it sent a transaction.
async fn keep_bond(job: &JobView, storage: &Storage, s: &JobMarket::State) -> anyhow::Result<bool> {
    let id = U256::from(job.id);
    if !s.bondPosted {
        job.check_terms(storage).await.context("not posting the bond")?;
        let call = job.market.postBond(id).value(U256::from(job.config.bond));
        job.chain.send("postBond", call).await?;
        return Ok(true);
    }
    if s.bondShort {
        let short = U256::from(job.config.bond) - U256::from(s.bondHeld);
        job.chain.send("topUpBond", job.market.topUpBond(id).value(short)).await?;
        return Ok(true);
    }
    Ok(false)
}

/// Takes a sealed update delivered outside the intake (a Flower reply) into the store, once its
/// reference is the `blobRef` that `slot` committed to for `round` on-chain; returns its CID.
/// Anything else is refused, so a client cannot fill the store with blobs nobody committed to.
pub async fn accept_sealed(
    job: &JobView,
    storage: &Storage,
    round: u32,
    slot: u32,
    sealed: Vec<u8>,
) -> anyhow::Result<String> {
    let (id, r, s) = (U256::from(job.id), U256::from(round), U256::from(slot));
    let committed = job.market.blobRefs(id, r, s).call().await.map_err(|e| call_error("blobRefs", e))?;
    let sent = blob_ref_of(&sealed);
    anyhow::ensure!(
        committed != B256::ZERO,
        "slot {slot} has not committed to an update in round {round} of job {}",
        job.id
    );
    anyhow::ensure!(
        sent == committed,
        "the update delivered for slot {slot} of round {round} is not the one it committed to (blobRef {committed}, delivered {sent})"
    );
    Ok(storage.put_sealed(sealed).await?.to_string())
}

/// Whether a completed chunked job can take no more challenges: its last round's challenge
/// window has closed and every challenge was answered (the aggregator stays to answer them).
async fn challenges_closed(job: &JobView) -> anyhow::Result<bool> {
    let last = job.finalized_events().await?.into_iter().map(|(ev, _)| ev.finalizedAt.to::<u64>()).max();
    let now = job.chain_time().await?;
    let window_closed = last.is_none_or(|at| now > at + job.config.disputeWindow as u64);
    Ok(window_closed && challenges::open_challenges(job).await?.is_empty())
}

/// Whether every update committed in `round` is in the store.
async fn blobs_present(job: &JobView, storage: &Storage, round: u32) -> anyhow::Result<bool> {
    for sub in submissions(job, &job.submitted_events(round).await?)? {
        if !storage.blobs().contains(&fedproof_storage::blobs::cid_from_ref(sub.blob_ref.0)).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Proves and finalizes `round`; `None` when another run finalized it meanwhile.
async fn finalize(
    job: &JobView,
    storage: &Storage,
    settings: &Settings,
    round: u32,
    onchain_model: U256,
) -> anyhow::Result<Option<RoundReport>> {
    let Settings { keys, sealing, prover, .. } = settings;
    let id = U256::from(job.id);
    let n = job.shape.trainers;
    let model = job
        .checked_model(storage, round, onchain_model)
        .await?
        .with_context(|| format!("the model of job {} round {round} is not in storage", job.id))?;
    let events = job.submitted_events(round).await?;
    let submitted = submissions(job, &events)?;
    let order = job.submission_order(&events)?;
    let domain = job.domain().await?;
    let mut updates: Vec<Option<Vec<i64>>> = vec![None; n];
    let mut present = vec![false; n];
    let mut unavailable = Vec::new();
    for sub in &submitted {
        present[sub.slot] = true;
        match job.checked_update(storage, sealing, domain, round, sub.slot, sub.commitment, sub.blob_ref).await {
            Ok(values) => updates[sub.slot] = Some(values),
            Err(reason) => {
                tracing::warn!(job = job.id, round, slot = sub.slot, %reason, "slot unavailable");
                unavailable.push((sub.slot, reason));
            }
        }
    }
    // Events come in chain order; reports list slots in slot order.
    unavailable.sort_by_key(|(slot, _)| *slot);
    let params = job.round_params(round)?;
    let input = RoundInput { shape: job.shape, params, domain, order, model: model.values, updates };
    // An unavailable slot's commitment stays in the public inputs (the contract folded it in at
    // submission) and its unavailable bit is set, so the circuit does not open it.
    let unavailable_commitments: Vec<(usize, U256)> = unavailable
        .iter()
        .filter_map(|(slot, _)| submitted.iter().find(|s| s.slot == *slot).map(|s| (*slot, s.commitment)))
        .collect();
    let unavailable_bits = bitmap((0..n).map(|i| unavailable.iter().any(|(s, _)| *s == i)));
    let slots = Slots { present, unavailable, unavailable_bits };
    if let (Some(chunking), Some(chunks)) = (job.layout()?.chunking(), &settings.chunks) {
        let proven = settle::prove(storage, chunking, input, &unavailable_commitments, chunks, (keys, prover)).await?;
        return finalize_chunked(job, storage, proven, slots).await;
    }
    let Slots { present, unavailable, unavailable_bits } = slots;
    let task = ProofTask { input, unavailable: unavailable_commitments };
    let witness = task.witness()?;
    let inputs = witness.public.to_vec();
    let output = witness.output.clone();
    let aggregate_commitment = to_u256(&witness.public.aggregate);
    let sums = aggregate::sums(job.shape.params, &witness.input.updates, &output.inliers);
    let (proof, prove_seconds) = prover.prove(keys, storage, &task, witness).await?;
    anyhow::ensure!(snark::verify_inputs(&keys.vk, &inputs, &proof)?, "the round's proof does not verify off-chain");
    replay::publish_outcome(job, storage, round, sums, output.new_model.clone()).await?;

    fedproof_web_api::pause::point(&format!("proved round {round}"));
    if job.state().await?.round != round {
        tracing::info!(job = job.id, round, "round already finalized (resumed run)");
        return Ok(None);
    }
    let words = SolidityCalldata::new(&proof, &inputs).proof_words();
    let finalization = JobMarket::Finalization {
        newModel: aggregate_commitment,
        digest: U256::ZERO, // an unchunked round
        inlierBits: bitmap(output.inliers.iter().copied()),
        unavailableBits: unavailable_bits,
        aggregateNormSq: u128::from(output.aggregate_norm_sq),
        scoreWords: fedproof_prover::round::public_inputs::pack_scores(&output.scores).iter().map(to_u256).collect(),
        proof: words.map(|w| U256::from_be_bytes(w.0)),
    };
    let receipt =
        job.chain.send(&format!("finalizeRound {round}"), job.market.finalizeRound(id, round, finalization)).await?;
    tracing::info!(job = job.id, round, tx = %receipt.transaction_hash, gas = receipt.gas_used, "round finalized");
    Ok(Some(RoundReport {
        round,
        submitted: present,
        unavailable,
        inliers: output.inliers,
        scores: output.scores,
        prove_seconds,
        finalize_gas: receipt.gas_used,
        tx: receipt.transaction_hash.to_string(),
        new_model: output.new_model,
    }))
}

/// Which slots a round had, as its report and its finalization state them.
struct Slots {
    /// Slots that submitted a commitment.
    present: Vec<bool>,
    /// Slots declared unavailable, with the reason, in slot order.
    unavailable: Vec<(usize, String)>,
    /// The same slots as `unavailableBits`.
    unavailable_bits: U256,
}

/// Publishes a proven chunked round (record, aggregate, next model) and finalizes it with `C(S)`
/// and `H`; `None` when another run finalized it meanwhile.
async fn finalize_chunked(
    job: &JobView,
    storage: &Storage,
    proven: settle::ProvenRound,
    slots: Slots,
) -> anyhow::Result<Option<RoundReport>> {
    let witness = &proven.round.witness;
    let round = witness.input.params.round;
    settle::publish(job, storage, &proven).await?;
    if job.state().await?.round != round {
        tracing::info!(job = job.id, round, "round already finalized (resumed run)");
        return Ok(None);
    }
    let finalization = settle::finalization(witness, &proven.proof, slots.unavailable_bits);
    let call = job.market.finalizeRound(U256::from(job.id), round, finalization);
    let receipt = job.chain.send(&format!("finalizeRound {round} (chunked)"), call).await?;
    tracing::info!(job = job.id, round, tx = %receipt.transaction_hash, gas = receipt.gas_used, "chunked round finalized");
    Ok(Some(RoundReport {
        round,
        submitted: slots.present,
        unavailable: slots.unavailable,
        inliers: witness.output.inliers.clone(),
        scores: witness.output.scores.clone(),
        prove_seconds: proven.prove_seconds,
        finalize_gas: receipt.gas_used,
        tx: receipt.transaction_hash.to_string(),
        new_model: witness.output.new_model.clone(),
    }))
}

/// The round's submissions from its `UpdateSubmitted` events.
fn submissions(job: &JobView, events: &[JobMarket::UpdateSubmitted]) -> anyhow::Result<Vec<Submitted>> {
    events
        .iter()
        .map(|ev| {
            let slot: usize = ev.slot.try_into().context("slot out of range")?;
            anyhow::ensure!(slot < job.shape.trainers, "event names slot {slot} beyond the job's slots");
            Ok(Submitted { slot, commitment: ev.commitment, blob_ref: ev.blobRef })
        })
        .collect()
}
