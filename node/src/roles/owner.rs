//! The job owner: posts a job (escrowing its budget and publishing the initial model), reads its
//! status and models, and takes back the unallocated budget once the job has ended.

use alloy::primitives::aliases::U40;
use alloy::primitives::{Address, B256, U256};
use anyhow::Context;
use fedproof_contracts::JobMarket;
use fedproof_prover::commitment::commit_model;
use fedproof_prover::params::{encode_lr, encode_tau};
use fedproof_prover::round::public_inputs::unpack_scores;
use fedproof_prover::shape::Shape;
use fedproof_web_api::format;
use serde::Serialize;

use crate::chain::client::call_error;
use crate::chain::words::{to_u256, to_word};
use crate::chain::Chain;
use crate::roles::audit::OnChainRound;
use crate::roles::job::{outcome_of, JobView};
use crate::training::federated::FixedPointConfig;
use fedproof_storage::{JobSpecBlob, ModelBlob, ModelLayout, Recipe, Storage};

/// Everything a job fixes, in the units the contract takes.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Trainer slots.
    pub trainers: u16,
    /// Rounds.
    pub rounds: u32,
    /// Whole budget in wei (split evenly across rounds).
    pub budget: u128,
    /// Stake per trainer in wei.
    pub stake: u128,
    /// Aggregator bond in wei.
    pub bond: u128,
    /// The aggregator's address.
    pub aggregator: Address,
    /// An approved verifier for the job's shape.
    pub verifier: Address,
    /// Bound on malicious trainers f.
    pub max_malicious: u8,
    /// Outlier threshold τ, 16.16 fixed point.
    pub tau: u32,
    /// Server learning rate of round 0 and its decrease per round.
    pub lr: u32,
    /// Decrease of lr per round.
    pub lr_decay: u32,
    /// Duplicate tolerance (squared distance).
    pub dup_tol: u32,
    /// Seconds from now until round 0 opens (joining closes then).
    pub start_delay: u64,
    /// Seconds trainers have to submit in each round.
    pub submit_window: u32,
    /// Seconds the aggregator has after that to finalize.
    pub finalize_window: u32,
    /// Seconds a trainer has to dispute an unavailability claim.
    pub dispute_window: u32,
    /// The initial model in the model encoding (its length is the job's parameter count).
    pub initial_model: Vec<i64>,
    /// The model architecture, e.g. `mlp-64-32-10` (recorded in the spec blob).
    pub architecture: String,
    /// The aggregator's age public key (`age1…`) trainers seal their updates to.
    pub aggregator_recipient: String,
    /// The model's tensors, when it was posted from a model file (None: the built-in MLP).
    pub layout: Option<ModelLayout>,
    /// Where the owner's training recipe is, if it says.
    pub recipe: Option<Recipe>,
}

/// What an owner asks for, in everyday units (`owner create-job`'s options, the Python
/// `Owner.create_job`'s arguments): [`JobRequest::spec`] turns it into the contract's units.
#[derive(Debug, Clone)]
pub struct JobRequest {
    /// Trainer slots.
    pub trainers: u16,
    /// Rounds.
    pub rounds: u32,
    /// Whole budget in wei.
    pub budget: u128,
    /// Stake per trainer in wei.
    pub stake: u128,
    /// Aggregator bond in wei (default and minimum: a round's budget).
    pub bond: Option<u128>,
    /// The aggregator's address.
    pub aggregator: Address,
    /// An approved verifier for (trainers × the model's parameters).
    pub verifier: Address,
    /// The aggregator's age recipient (`age1…`).
    pub aggregator_recipient: String,
    /// Bound on malicious trainers.
    pub max_malicious: u8,
    /// Outlier threshold τ (Krum score relative to the median), in [1, 65536).
    pub tau: f64,
    /// Server learning rate η of round 0, in (0, 1024).
    pub lr: f64,
    /// Seconds until round 0 opens.
    pub start_delay: u64,
    /// Submission window per round (seconds).
    pub submit_window: u32,
    /// Finalization window per round (seconds).
    pub finalize_window: u32,
}

/// The model a job trains.
#[derive(Debug, Clone)]
pub struct JobModel {
    /// The initial model in the model encoding.
    pub initial: Vec<i64>,
    /// Its tensors (None: the built-in MLP).
    pub layout: Option<ModelLayout>,
    /// Its name in the spec.
    pub architecture: String,
    /// Where the training recipe is, if the owner says.
    pub recipe: Option<Recipe>,
}

impl JobRequest {
    /// The job spec training `model` (the model encoding fixes lr's units; the duplicate
    /// tolerance is one squared update unit per parameter).
    pub fn spec(&self, model: JobModel) -> anyhow::Result<JobSpec> {
        let fp = FixedPointConfig::default();
        anyhow::ensure!(self.tau >= 1.0 && self.tau < 65_536.0, "tau must be in [1, 65536), got {}", self.tau);
        anyhow::ensure!(self.lr > 0.0 && self.lr < 1024.0, "lr must be in (0, 1024), got {}", self.lr);
        Ok(JobSpec {
            trainers: self.trainers,
            rounds: self.rounds,
            budget: self.budget,
            stake: self.stake,
            bond: self.bond.unwrap_or(self.budget / u128::from(self.rounds.max(1))),
            aggregator: self.aggregator,
            verifier: self.verifier,
            max_malicious: self.max_malicious,
            tau: encode_tau(self.tau)?,
            lr: encode_lr(self.lr, &fp.update(), &fp.model())?,
            lr_decay: 0,
            dup_tol: model.initial.len() as u32,
            start_delay: self.start_delay,
            submit_window: self.submit_window,
            finalize_window: self.finalize_window,
            // At most a round's submit + finalize windows (JobMarket refuses longer).
            dispute_window: self.submit_window.saturating_add(self.finalize_window).min(3600),
            initial_model: model.initial,
            architecture: model.architecture,
            aggregator_recipient: self.aggregator_recipient.clone(),
            layout: model.layout,
            recipe: model.recipe,
        })
    }
}

/// Creates a job: stores the initial model and the spec blob (which names the model and the
/// aggregator's sealing key), then escrows the budget and posts the job. Returns its id.
pub async fn create_job(chain: &Chain, market: Address, storage: &Storage, spec: &JobSpec) -> anyhow::Result<u64> {
    Shape::new(spec.trainers as usize, spec.initial_model.len())?;
    if let Some(layout) = &spec.layout {
        anyhow::ensure!(
            layout.params() == spec.initial_model.len(),
            "the model's tensors hold {} values but the initial model has {}",
            layout.params(),
            spec.initial_model.len()
        );
    }
    // Refuse a malformed recipient before any money moves.
    fedproof_storage::sealed::seal(&spec.aggregator_recipient, b"")
        .context("the aggregator's sealing key (--aggregator-recipient)")?;
    let instance = chain.market(market);
    // The initial model's commitment binds the job id, which the contract assigns in order.
    let count = instance.jobCount().call().await.map_err(|e| call_error("reading the market", e))?;
    let id: u64 = (count + U256::from(1)).try_into().context("job id overflows u64")?;
    let model = to_u256(&commit_model(id, 0, &spec.initial_model)?);
    // Blobs first: a job whose spec is not stored could not be joined.
    let initial = storage.put_model(&ModelBlob { job_id: id, round: 0, values: spec.initial_model.clone() }).await?;
    let blob = JobSpecBlob {
        job_id: id,
        params: spec.initial_model.len(),
        model: spec.architecture.clone(),
        aggregator_recipient: spec.aggregator_recipient.clone(),
        initial_model: initial.to_string(),
        layout: spec.layout.clone(),
        recipe: spec.recipe.clone(),
    };
    let spec_cid = storage.put_spec(&blob).await?;
    let start = chain.now().await?.max(wall_now()) + spec.start_delay;
    let params = JobMarket::JobParams {
        token: Address::ZERO,
        budget: spec.budget,
        stake: spec.stake,
        bond: spec.bond,
        aggregator: spec.aggregator,
        verifier: spec.verifier,
        specHash: B256::from(fedproof_storage::blobs::blob_ref(&spec_cid)?),
        specURI: format!("ipfs://{spec_cid}"),
        initialModel: model,
        rounds: spec.rounds,
        trainers: spec.trainers,
        maxMalicious: spec.max_malicious,
        tau: spec.tau,
        lr: spec.lr,
        lrDecay: spec.lr_decay,
        dupTol: spec.dup_tol,
        startTime: U40::from(start),
        submitWindow: spec.submit_window,
        finalizeWindow: spec.finalize_window,
        disputeWindow: spec.dispute_window,
    };
    let receipt = chain.send("createJob", instance.createJob(params).value(U256::from(spec.budget))).await?;
    let created = receipt.decoded_log::<JobMarket::JobCreated>().context("createJob emitted no JobCreated event")?;
    let got: u64 = created.data.jobId.try_into().context("job id overflows u64")?;
    anyhow::ensure!(got == id, "another job was created concurrently (got id {got}, committed for {id}); retry");
    tracing::info!(job = id, tx = %receipt.transaction_hash, "job created");
    Ok(id)
}

fn wall_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A job's status as `owner status` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// The job.
    pub job_id: u64,
    /// Active, Completed, Expired or Cancelled.
    pub status: String,
    /// The current (or final) round.
    pub round: u32,
    /// Rounds in total.
    pub rounds: u32,
    /// Trainers joined / slots.
    pub joined: u16,
    /// Slots.
    pub trainers: u16,
    /// Whether the aggregator has posted its bond (the job runs only once it has).
    pub bond_posted: bool,
    /// Submissions in the current round.
    pub submitted: u16,
    /// Budget not yet allocated (wei): the rounds to come, the rounding dust, and the shares of
    /// finalized rounds not yet recorded (a round's first claim or `recordReliability` moves them
    /// to `unclaimed`).
    pub escrow: String,
    /// Allocated by recorded rounds, not yet claimed (wei).
    pub unclaimed: String,
    /// Finalized rounds not yet recorded; `recover` waits until there are none.
    pub unrecorded: u16,
    /// Commitment of the current model.
    pub model: String,
}

/// Reads a job's status.
pub async fn status(job: &JobView) -> anyhow::Result<JobStatus> {
    let s = job.state().await?;
    let status = ["None", "Active", "Completed", "Expired", "Cancelled"].get(s.status as usize).unwrap_or(&"?");
    Ok(JobStatus {
        job_id: job.id,
        status: status.to_string(),
        round: s.round,
        rounds: job.config.rounds,
        joined: s.joinedCount,
        trainers: job.config.n,
        bond_posted: s.bondPosted,
        submitted: s.submittedCount,
        escrow: s.escrow.to_string(),
        unclaimed: s.unclaimed.to_string(),
        unrecorded: s.unrecorded,
        model: format!("{:#x}", s.model),
    })
}

/// The latest model of a job (checked against the chain), with the round it starts.
pub async fn latest_model(job: &JobView, storage: &Storage) -> anyhow::Result<ModelBlob> {
    let s = job.state().await?;
    job.checked_model(storage, s.round, s.model)
        .await?
        .with_context(|| format!("the model of job {} round {} is not in storage yet", job.id, s.round))
}

/// A finalized round as the chain has it (`Owner.rounds` in Python): what a project owner or an
/// auditor reads to see who was kept and who earned what.
#[derive(Debug, Clone, Serialize)]
pub struct FinalizedRound {
    /// The round.
    pub round: u32,
    /// The `finalizeRound` transaction.
    pub tx: String,
    /// The Groth16 proof the contract verified, as its eight EVM words (0x-hex).
    pub proof: Vec<String>,
    /// Each slot's inlier bit.
    pub inliers: Vec<bool>,
    /// Each slot the aggregator declared unavailable.
    pub unavailable: Vec<bool>,
    /// Each slot's contribution score (payouts are pro rata to them).
    pub scores: Vec<u64>,
}

/// Every finalized round of `job`, from its events and `finalizeRound` calldata.
pub async fn finalized_rounds(job: &JobView) -> anyhow::Result<Vec<FinalizedRound>> {
    let n = job.shape.trainers;
    let mut rounds = Vec::new();
    for (ev, log) in job.finalized_events().await? {
        let onchain = OnChainRound::read(job, &ev, &log).await?;
        let words: Vec<_> = ev.scoreWords.iter().copied().map(to_word).collect();
        rounds.push(FinalizedRound {
            round: onchain.round,
            tx: onchain.tx,
            proof: onchain.proof.iter().map(format::word).collect(),
            inliers: format::slots(&ev.inlierBits, n),
            unavailable: format::slots(&ev.unavailableBits, n),
            scores: unpack_scores(&words, n),
        });
    }
    Ok(rounds)
}

/// What each slot of `job` has been paid so far (wei or token units): the sum of its `Claimed`
/// shares over all rounds (a share counts once its trainer, or anyone, has claimed it).
pub async fn payouts(job: &JobView) -> anyhow::Result<Vec<U256>> {
    let events = job
        .market
        .Claimed_filter()
        .topic1(U256::from(job.id))
        .from_block(0)
        .query()
        .await
        .map_err(|e| call_error("reading Claimed events", e))?;
    let mut paid = vec![U256::ZERO; job.shape.trainers];
    for (ev, _) in events {
        let slot = usize::try_from(ev.slot).ok().filter(|s| *s < paid.len());
        let slot = slot.with_context(|| format!("a Claimed event of job {} names slot {}", job.id, ev.slot))?;
        paid[slot] += ev.amount;
    }
    Ok(paid)
}

/// What `recover` did for the owner.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    /// The job.
    pub job_id: u64,
    /// Finalized rounds nobody had recorded, recorded now (their allocation and reliability).
    pub recorded_rounds: Vec<u32>,
    /// The unallocated budget credited back (wei or token units).
    pub recovered: String,
    /// Everything owed to the owner in the job's token, paid out.
    pub withdrawn: String,
}

/// Takes back an ended job's unallocated budget: records every finalized round nobody recorded
/// (JobMarket's `recover` refuses while one is left, since until then escrow still holds the
/// trainers' shares), calls `recover`, then withdraws what the market owes the owner in the job's
/// token (the recovered budget and any refund or forfeited stake credited earlier).
pub async fn recover(job: &JobView) -> anyhow::Result<Recovery> {
    let id = U256::from(job.id);
    let state = job.state().await?;
    anyhow::ensure!(
        state.status != fedproof_contracts::JobStatus::Active as u8,
        "job {} is still active (round {} of {}): its budget can be recovered once it has ended",
        job.id,
        state.round,
        job.config.rounds
    );
    anyhow::ensure!(job.chain.address == job.config.owner, "only the job's owner ({}) can recover", job.config.owner);
    let recorded = job.recorded_rounds().await?;
    let mut recorded_rounds = Vec::new();
    for (ev, _) in job.finalized_events().await? {
        if recorded.contains(&ev.round) {
            continue;
        }
        let round: u32 = ev.round.try_into().context("round out of range")?;
        let call = job.market.recordReliability(id, round, outcome_of(&ev));
        job.chain.send(&format!("recordReliability {round}"), call).await?;
        recorded_rounds.push(round);
    }
    let escrow = job.state().await?.escrow;
    if escrow != 0 {
        job.chain.send("recover", job.market.recover(id)).await?;
    }
    let token = job.config.token;
    let owed = job.market.owed(token, job.chain.address).call().await.map_err(|e| call_error("owed", e))?;
    if !owed.is_zero() {
        job.chain.send("withdraw", job.market.withdraw(token)).await?;
    }
    Ok(Recovery { job_id: job.id, recorded_rounds, recovered: escrow.to_string(), withdrawn: owed.to_string() })
}
