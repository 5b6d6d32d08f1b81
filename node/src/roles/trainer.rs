//! A trainer: joins a job with its stake, then each round fetches the global model, computes an
//! update, uploads it and commits to it on-chain; at the end claims its shares and withdraws.

use alloy::primitives::{Address, B256, U256};
use anyhow::Context;
use fedproof_prover::round::public_inputs::unpack_score;
use serde::Serialize;

use crate::chain::client::call_error;
use crate::chain::words::{to_u256, to_word};
use crate::roles::chunked::challenges::not_payable;
use crate::roles::intake::{Intake, KeptReceipt};
use crate::roles::job::{outcome_of, JobView, POLL};
use fedproof_contracts::JobStatus;
use fedproof_storage::{blob_ref_of, seal_update, Storage, UpdateBlob};

/// Computes a trainer's update for a round from the global model (both fixed-point encoded).
pub trait UpdateSource: Send {
    /// The update for `round`, starting from `model`.
    fn update(&mut self, round: u32, model: &[i64]) -> anyhow::Result<Vec<i64>>;
}

/// What a trainer does with the blob behind its commitment (misbehaviour for tests and the demo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// Uploads the update it committed to.
    Honest,
    /// Commits but never uploads.
    Never,
    /// Uploads a different update than the one it committed to.
    Mismatched,
    /// Leaves the delivery to the caller, who gets the sealed update back ([`commit_sealed`]).
    ByCaller,
}

/// One submitted round.
#[derive(Debug, Clone, Serialize)]
pub struct Submission {
    /// The round.
    pub round: u32,
    /// The commitment.
    pub commitment: String,
    /// The `submitUpdate` transaction (None when an earlier run sent it).
    pub tx: Option<String>,
    /// The aggregator's receipt, when the update went through its intake.
    pub receipt: Option<KeptReceipt>,
}

/// Joins the job (idempotent) and returns the slot. Before staking, checks that the job's terms
/// can be proven and its initial model is the committed one (`JobView::check_terms`).
pub async fn join(job: &JobView, storage: &Storage) -> anyhow::Result<u32> {
    let id = U256::from(job.id);
    let (staked, slot) = slot_of(job).await?;
    if staked {
        return Ok(slot);
    }
    job.check_terms(storage).await.context("not joining")?;
    let stake = job.config.stake;
    job.chain.send("join", job.market.join(id).value(U256::from(stake))).await?;
    let (_, slot) = slot_of(job).await?;
    tracing::info!(job = job.id, slot, "joined");
    Ok(slot)
}

async fn slot_of(job: &JobView) -> anyhow::Result<(bool, u32)> {
    let r =
        job.market.slotOf(U256::from(job.id), job.chain.address).call().await.map_err(|e| call_error("slotOf", e))?;
    Ok((r.staked, r.slot.try_into().context("slot out of range")?))
}

/// Runs the trainer until the job ends: for each open round it has not submitted to, computes its
/// update from the published model, seals it to the aggregator and submits it. The sealed update
/// goes into `storage`, or through the aggregator's `intake` when one is given (keeping its
/// receipt). Safe to restart.
pub async fn run(
    job: &JobView,
    storage: &Storage,
    intake: Option<&Intake>,
    source: &mut dyn UpdateSource,
    upload: Upload,
) -> anyhow::Result<Vec<Submission>> {
    let (staked, slot) = slot_of(job).await?;
    anyhow::ensure!(
        staked,
        "{} has not joined job {} (run `trainer join` before the job starts)",
        job.chain.address,
        job.id
    );
    let mut done: Vec<Submission> = Vec::new();
    // The round whose update reached the intake (its receipt kept): nothing left to deliver.
    let mut delivered = None;
    loop {
        let s = job.state().await?;
        if s.status != JobStatus::Active as u8 {
            return Ok(done);
        }
        let round = s.round;
        let submitted = job.market.submittedBits(U256::from(job.id), U256::from(round)).call().await;
        if submitted.map_err(|e| call_error("submittedBits", e))?.bit(slot as usize) {
            // Committed: the update waits for the commit phase to close (`Intake::deliver`
            // returns `None` until then), and is delivered once, also after a restart.
            if let Some(intake) = intake.filter(|_| delivered != Some(round) && upload != Upload::Never) {
                if let Some(kept) = deliver(intake, job, round, slot).await {
                    delivered = Some(round);
                    if let Some(sub) = done.iter_mut().find(|sub| sub.round == round) {
                        sub.receipt = Some(kept);
                    }
                }
            }
            tokio::time::sleep(POLL).await;
            continue;
        }
        // The round opens at roundStart (inclusive); the next block is stamped later than the
        // latest, so once chain time reaches it a submission lands in the open round. Waiting
        // for chain time to pass it would stall on a chain that mines only on demand.
        if job.chain_time().await? < s.roundStart.to::<u64>() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        let Some(model) = job.checked_model(storage, round, s.model).await? else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        let values = source.update(round, &model.values)?;
        done.push(commit(job, storage, intake, (round, slot), values, upload).await?.0);
    }
}

/// Submits one update computed elsewhere (`trainer submit`, the Python `Trainer`) to `round`,
/// or to the round open now: joins first if the slot has not, waits for the round to open,
/// commits, and with an `intake` waits until the commit phase closes and delivers the update,
/// keeping the receipt. Run again after a stop, it delivers what it committed. Refuses a round
/// that has closed, and a job that is not running.
pub async fn submit(
    job: &JobView,
    storage: &Storage,
    intake: Option<&Intake>,
    round: Option<u32>,
    values: Vec<i64>,
) -> anyhow::Result<Submission> {
    let slot = join(job, storage).await?;
    let round = open_round(job, round).await?;
    let id = U256::from(job.id);
    let submitted = job.market.submittedBits(id, U256::from(round)).call().await;
    let mut submission = if submitted.map_err(|e| call_error("submittedBits", e))?.bit(slot as usize) {
        // Committed by an earlier run: what is left is delivering it (or reporting its receipt).
        let receipt = intake.map(|intake| intake.receipt(job, round)).transpose()?.flatten();
        let pending = intake.is_some_and(|intake| intake.has_pending(job, round));
        anyhow::ensure!(
            receipt.is_some() || pending,
            "slot {slot} has already submitted to round {round} of job {}",
            job.id
        );
        let commitment = job.market.commitments(id, U256::from(round), U256::from(slot)).call().await;
        let commitment = commitment.map_err(|e| call_error("reading the commitment", e))?;
        Submission { round, commitment: fedproof_web_api::format::word(&commitment), tx: None, receipt }
    } else {
        commit(job, storage, intake, (round, slot), values, Upload::Honest).await?.0
    };
    if let Some(intake) = intake {
        while submission.receipt.is_none() {
            anyhow::ensure!(
                job.state().await?.round <= round,
                "round {round} was finalized before the update was delivered"
            );
            submission.receipt = intake.deliver(job, round, slot).await?;
            if submission.receipt.is_none() {
                tokio::time::sleep(POLL).await;
            }
        }
    }
    Ok(submission)
}

/// Waits for `round` (or whichever round is current) to be open for submissions, and returns it.
async fn open_round(job: &JobView, round: Option<u32>) -> anyhow::Result<u32> {
    loop {
        let s = job.state().await?;
        anyhow::ensure!(s.status == JobStatus::Active as u8, "job {} is not running (status {})", job.id, s.status);
        let current = s.round;
        let wanted = round.unwrap_or(current);
        anyhow::ensure!(wanted >= current, "round {wanted} of job {} has passed: it is in round {current}", job.id);
        let (start, now) = (s.roundStart.to::<u64>(), job.chain_time().await?);
        if wanted == current && now >= start {
            let closes = start + u64::from(job.config.submitWindow);
            anyhow::ensure!(now <= closes, "round {current} of job {} closed for submissions at {closes}", job.id);
            return Ok(current);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Commits an update computed elsewhere to `round` (or the round open now), joining first if the
/// slot has not, and returns the slot, the submission and the sealed update, which the caller
/// delivers itself (the Flower mod puts it in its reply; the aggregator takes it only if its
/// reference is the `blobRef` committed on-chain: `aggregator::accept_sealed`). Refuses a round
/// the slot has already submitted to.
pub async fn commit_sealed(
    job: &JobView,
    storage: &Storage,
    round: Option<u32>,
    values: Vec<i64>,
) -> anyhow::Result<(u32, Submission, Vec<u8>)> {
    let slot = join(job, storage).await?;
    let round = open_round(job, round).await?;
    let submitted = job.market.submittedBits(U256::from(job.id), U256::from(round)).call().await;
    anyhow::ensure!(
        !submitted.map_err(|e| call_error("submittedBits", e))?.bit(slot as usize),
        "slot {slot} has already submitted to round {round} of job {}",
        job.id
    );
    let (submission, sealed) = commit(job, storage, None, (round, slot), values, Upload::ByCaller).await?;
    Ok((slot, submission, sealed))
}

/// Seals `values` to the aggregator, keeps or stores the sealed blob, then commits to the
/// update on-chain for `round` from `slot`. Returns the submission and the sealed update.
async fn commit(
    job: &JobView,
    storage: &Storage,
    intake: Option<&Intake>,
    (round, slot): (u32, u32),
    values: Vec<i64>,
    upload: Upload,
) -> anyhow::Result<(Submission, Vec<u8>)> {
    anyhow::ensure!(
        values.len() == job.shape.params,
        "the update has {} values but job {} has {} parameters",
        values.len(),
        job.id,
        job.shape.params
    );
    let commitment = to_u256(&job.layout()?.commit_update(job.domain().await?, round, slot as usize, &values)?);
    let mut blob = UpdateBlob { job_id: job.id, round, slot, values };
    if upload == Upload::Mismatched {
        blob.values.iter_mut().for_each(|v| *v = -*v);
    }
    // Only the aggregator can open it; the commitment is over the plaintext.
    let sealed = seal_update(&job.spec.aggregator_recipient, &blob)?;
    let blob_ref: B256 = blob_ref_of(&sealed);
    // Stored before the commitment goes on-chain, so a committed update is never missing
    // because the trainer stopped in between.
    match (upload, intake) {
        (Upload::Never | Upload::ByCaller, _) => {}
        (_, Some(intake)) => intake.keep_pending(job, round, &sealed)?,
        (_, None) => drop(storage.put_sealed(sealed.clone()).await?),
    }
    let call = job.market.submitUpdate(U256::from(job.id), round, commitment, blob_ref);
    let receipt = job.chain.send(&format!("submitUpdate for round {round}"), call).await?;
    tracing::info!(job = job.id, round, slot, tx = %receipt.transaction_hash, "update submitted");
    let submission = Submission {
        round,
        commitment: fedproof_web_api::format::word(&commitment),
        tx: Some(receipt.transaction_hash.to_string()),
        receipt: None,
    };
    Ok((submission, sealed))
}

/// Delivers a committed update through the intake. A refusal is logged, not fatal: the update is
/// then unavailable to the aggregator, which is its call to make on-chain, and the trainer goes on
/// with the next round.
async fn deliver(intake: &Intake, job: &JobView, round: u32, slot: u32) -> Option<KeptReceipt> {
    match intake.deliver(job, round, slot).await {
        Ok(kept) => kept,
        Err(e) => {
            tracing::warn!(job = job.id, round, slot, error = format!("{e:#}"), "update not delivered");
            None
        }
    }
}

/// Disputes every round that called this trainer's update unavailable although the aggregator
/// receipted it (with `intake`'s kept receipts), claims its share of every finalized round not yet
/// claimed, then withdraws everything owed. Returns the amount withdrawn (wei).
pub async fn withdraw(job: &JobView, intake: Option<&Intake>) -> anyhow::Result<U256> {
    let id = U256::from(job.id);
    let (_, slot) = slot_of(job).await?;
    let events = job.finalized_events().await?;
    for (ev, _) in events {
        let round: u32 = ev.round.try_into().context("round out of range")?;
        let outcome = outcome_of(&ev);
        let kept = match intake {
            Some(intake) if ev.unavailableBits.bit(slot as usize) => intake.receipt(job, round)?,
            _ => None,
        };
        if let Some(kept) = kept {
            let signature: alloy::primitives::Bytes =
                kept.signature.parse().context("a kept receipt's signature is not hex")?;
            let call = job.market.dispute(id, round, U256::from(slot), outcome.clone(), signature);
            // A closed window or an already settled dispute is not worth stopping the withdrawal for.
            match job.chain.send(&format!("dispute round {round}"), call).await {
                Ok(r) => tracing::info!(job = job.id, round, slot, tx = %r.transaction_hash, "disputed with receipt"),
                Err(e) => tracing::warn!(job = job.id, round, slot, error = %e, "dispute not accepted"),
            }
        }
        if job.config.chunks != 0 {
            if let Some(reason) = not_payable(job, round, ev.finalizedAt.to::<u64>()).await? {
                tracing::info!(job = job.id, round, slot, %reason, "not claimed");
                continue;
            }
        }
        let claimed = job.market.claimedBits(id, ev.round).call().await.map_err(|e| call_error("claimedBits", e))?;
        let words: Vec<_> = ev.scoreWords.iter().copied().map(to_word).collect();
        if unpack_score(&words, slot as usize) == 0 || claimed.bit(slot as usize) {
            continue;
        }
        job.chain.send(&format!("claim round {round}"), job.market.claim(id, round, U256::from(slot), outcome)).await?;
    }
    let owed = job.market.owed(Address::ZERO, job.chain.address).call().await.map_err(|e| call_error("owed", e))?;
    if !owed.is_zero() {
        job.chain.send("withdraw", job.market.withdraw(Address::ZERO)).await?;
    }
    Ok(owed)
}
