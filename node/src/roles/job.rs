//! One job as every role sees it: its on-chain configuration and state, its shape, and the
//! public parameters of each round.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use anyhow::Context;
use ark_bn254::Fr;
use fedproof_contracts::JobMarket::{self, JobMarketInstance};
use fedproof_prover::domain::JobDomain;
use fedproof_prover::layout::Layout;
use fedproof_prover::params::{JobTerms, RoundParams};
use fedproof_prover::shape::Shape;

use crate::chain::client::call_error;
use crate::chain::Chain;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::{check_update, JobSpecBlob, ModelBlob, SlotCommitment, Storage};

/// How often roles poll the chain while waiting.
pub const POLL: Duration = Duration::from_millis(200);

/// The domain of job `job_id` on `market` with the stored `roster_hash` (`fedproof_prover::domain`).
pub fn job_domain(chain_id: u64, market: Address, job_id: u64, roster_hash: B256) -> Fr {
    JobDomain { chain_id, market: market.0 .0, job_id, roster_hash: roster_hash.0 }.value()
}

/// A job on a market, seen through one signer.
#[derive(Clone)]
pub struct JobView {
    /// The signer's connection.
    pub chain: Chain,
    /// The market contract.
    pub market: JobMarketInstance<DynProvider>,
    /// The job id.
    pub id: u64,
    /// The job's fixed terms.
    pub config: JobMarket::Config,
    /// Trainer slots × model parameters (parameters read off the job spec blob).
    pub shape: Shape,
    /// The off-chain terms `specHash` names: parameters, aggregator's sealing key, initial model.
    pub spec: JobSpecBlob,
    /// The last model this view (or a clone) replayed ([`crate::roles::replay`]).
    pub replayed: crate::roles::replay::ReplayCache,
}

impl JobView {
    /// The job's `UpdateSubmitted` events of `round`, in chain order.
    pub async fn submitted_events(&self, round: u32) -> anyhow::Result<Vec<JobMarket::UpdateSubmitted>> {
        let events = self
            .market
            .UpdateSubmitted_filter()
            .topic1(U256::from(self.id))
            .topic2(U256::from(round))
            .from_block(0)
            .query()
            .await
            .map_err(|e| call_error("reading UpdateSubmitted events", e))?;
        Ok(events.into_iter().map(|(ev, _)| ev).collect())
    }

    /// The job's `RoundFinalized` events with their logs, in chain order.
    pub async fn finalized_events(&self) -> anyhow::Result<Vec<(JobMarket::RoundFinalized, alloy::rpc::types::Log)>> {
        self.market
            .RoundFinalized_filter()
            .topic1(U256::from(self.id))
            .from_block(0)
            .query()
            .await
            .map_err(|e| call_error("reading RoundFinalized events", e).into())
    }

    /// The rounds of the job that have been recorded (their `RoundAllocated` events): a round's
    /// first claim or `recordReliability` records it, once.
    pub async fn recorded_rounds(&self) -> anyhow::Result<Vec<U256>> {
        let events = self
            .market
            .RoundAllocated_filter()
            .topic1(U256::from(self.id))
            .from_block(0)
            .query()
            .await
            .map_err(|e| call_error("reading RoundAllocated events", e))?;
        Ok(events.into_iter().map(|(ev, _)| ev.round).collect())
    }

    /// Loads a job and its spec blob; an unknown job is an error naming the market.
    pub async fn load(chain: &Chain, market: Address, id: u64, storage: &Storage) -> anyhow::Result<Self> {
        let instance = chain.market(market);
        let code =
            chain.provider.get_code_at(market).await.map_err(|e| anyhow::anyhow!("reading market {market}: {e}"))?;
        anyhow::ensure!(
            !code.is_empty(),
            "no JobMarket contract at {market} on chain {} (check --market)",
            chain.chain_id
        );
        let state = instance.jobState(U256::from(id)).call().await.map_err(|e| call_error("reading the job", e))?;
        if state.status == 0 {
            return Err(UnknownJob { id, market }.into());
        }
        let config = instance.jobConfig(U256::from(id)).call().await.map_err(|e| call_error("reading the job", e))?;
        let created = instance
            .JobCreated_filter()
            .topic1(U256::from(id))
            .from_block(0)
            .query()
            .await
            .map_err(|e| call_error("reading the JobCreated event", e))?;
        let (created, _) = created.into_iter().next().with_context(|| format!("job {id} has no JobCreated event"))?;
        let spec = storage
            .spec(created.params.specHash)
            .await
            .with_context(|| format!("reading the spec of job {id} ({}; check --storage)", created.params.specURI))?;
        anyhow::ensure!(spec.job_id == id, "the spec blob of job {id} is for job {}", spec.job_id);
        if let Some(layout) = &spec.layout {
            anyhow::ensure!(
                layout.params() == spec.params,
                "the spec of job {id} names a model of {} parameters but states {}",
                layout.params(),
                spec.params
            );
        }
        let shape = Shape::new(config.n as usize, spec.params)?;
        Ok(JobView { chain: chain.clone(), market: instance, id, config, shape, spec, replayed: Default::default() })
    }

    /// What the aggregator checks before it posts its bond and a trainer before it stakes: that
    /// every round's parameters are provable for the job's shape (τ ≥ 1, lr < 2^16 through the
    /// whole decay schedule, f below the slots), and that round 0's model — the only model
    /// nobody proved — is in storage, canonical (every value in the model encoding's range, one
    /// per parameter) and the preimage of the job's on-chain `C(w₀)`. A job failing either would
    /// stall at its first unprovable round, and expiry would hand the bond to the submitters.
    pub async fn check_terms(&self, storage: &Storage) -> anyhow::Result<()> {
        self.layout()?;
        for round in 0..self.config.rounds {
            self.round_params(round)
                .and_then(|p| p.validate(&self.shape).map(|_| p))
                .with_context(|| format!("job {}'s terms cannot be proven in round {round}", self.id))?;
        }
        let created = self.created_event().await?;
        let model = self
            .checked_model(storage, 0, created.params.initialModel)
            .await
            .with_context(|| format!("job {}'s initial model", self.id))?
            .with_context(|| {
                format!("job {}'s initial model ({}) is not in storage", self.id, self.spec.initial_model)
            })?;
        anyhow::ensure!(
            model.values.len() == self.shape.params,
            "job {}'s initial model has {} values for {} parameters",
            self.id,
            model.values.len(),
            self.shape.params
        );
        Ok(())
    }

    /// The job's `JobCreated` event (its parameters as the owner sent them).
    pub(crate) async fn created_event(&self) -> anyhow::Result<JobMarket::JobCreated> {
        let created = self
            .market
            .JobCreated_filter()
            .topic1(U256::from(self.id))
            .from_block(0)
            .query()
            .await
            .map_err(|e| call_error("reading the JobCreated event", e))?;
        Ok(created.into_iter().next().with_context(|| format!("job {} has no JobCreated event", self.id))?.0)
    }

    /// The job's current state.
    pub async fn state(&self) -> anyhow::Result<JobMarket::State> {
        Ok(self
            .market
            .jobState(U256::from(self.id))
            .call()
            .await
            .map_err(|e| call_error("reading the job state", e))?)
    }

    /// The public parameters of `round` (the learning-rate schedule is the contract's).
    pub fn round_params(&self, round: u32) -> fedproof_prover::Result<RoundParams> {
        let c = &self.config;
        let terms =
            JobTerms { max_malicious: c.maxMalicious, tau: c.tau, lr: c.lr, lr_decay: c.lrDecay, dup_tol: c.dupTol };
        terms.round_params(self.id, round)
    }

    /// The job's domain (`fedproof_prover::domain`): chain, market, job and roster hash, as
    /// `JobMarket.domain(job)` computes it. Every update commitment and proof is bound to it; the
    /// roster (hence the domain) is fixed once the job starts.
    pub async fn domain(&self) -> anyhow::Result<Fr> {
        let state = self.state().await?;
        Ok(job_domain(self.chain.chain_id, *self.market.address(), self.id, state.rosterHash))
    }

    /// Each slot's submission rank in a round (1 for the first commitment on chain, 0 for a slot
    /// that did not commit) from the round's `UpdateSubmitted` events in chain order: the order
    /// the contract folds into the proof's public inputs, and by which duplicates are resolved.
    pub fn submission_order(&self, events: &[JobMarket::UpdateSubmitted]) -> anyhow::Result<Vec<u16>> {
        let mut order = vec![0u16; self.shape.trainers];
        for (k, ev) in events.iter().enumerate() {
            let slot: usize = ev.slot.try_into().context("slot out of range")?;
            anyhow::ensure!(slot < order.len(), "an UpdateSubmitted event names slot {slot}, beyond the job's slots");
            order[slot] = u16::try_from(k + 1).context("more submissions than ranks")?;
        }
        Ok(order)
    }

    /// How the job's rounds are proven (`Config.chunks` from its verifier, the parameters from
    /// its spec), and so what a trainer commits to.
    pub fn layout(&self) -> anyhow::Result<Layout> {
        Layout::of_job(self.shape.params, usize::from(self.config.chunks))
            .with_context(|| format!("job {} cannot be proven in chunks", self.id))
    }

    /// The model round `round` starts from, checked; `None` while it is not published. `onchain`
    /// is the model word of the round (`State.model`, `RoundFinalized.model`): the job's
    /// `initialModel` for round 0, else the previous round's `C(S)`, whose model is replayed from
    /// the published aggregates ([`crate::roles::replay::replayed_model`]).
    pub async fn checked_model(
        &self,
        storage: &Storage,
        round: u32,
        onchain: U256,
    ) -> anyhow::Result<Option<ModelBlob>> {
        if round > 0 {
            return crate::roles::replay::replayed_model(self, storage, round, onchain).await;
        }
        self.initial_model(storage, onchain).await
    }

    /// The spec's initial model, checked against `initialModel` (`onchain`), `C(w_0)`.
    pub(crate) async fn initial_model(&self, storage: &Storage, onchain: U256) -> anyhow::Result<Option<ModelBlob>> {
        let cid = fedproof_storage::blobs::parse_cid(&self.spec.initial_model)?;
        let model = storage.model_at(&cid).await?;
        anyhow::ensure!(
            (model.job_id, model.round) == (self.id, 0),
            "the initial model of job {} is labelled job {} round {}",
            self.id,
            model.job_id,
            model.round
        );
        let commitment = fedproof_prover::commitment::commit_model(self.id, 0, &model.values)?;
        anyhow::ensure!(
            crate::chain::words::to_u256(&commitment) == onchain,
            "the initial model of job {} does not match its on-chain commitment",
            self.id
        );
        Ok(Some(model))
    }

    /// A slot's update for `round`: fetched by its `blobRef`, opened with the aggregator's key and
    /// checked against the slot's on-chain commitment (`fedproof_storage::check_update`, the
    /// same check the intake made before it receipted it). The error is why the slot's update is
    /// unavailable.
    #[allow(clippy::too_many_arguments)] // what names the slot's update, each field distinct
    pub async fn checked_update(
        &self,
        storage: &Storage,
        key: &AggregatorKey,
        domain: Fr,
        round: u32,
        slot: usize,
        commitment: U256,
        blob_ref: B256,
    ) -> Result<Vec<i64>, String> {
        let name = fedproof_storage::blobs::cid_from_ref(blob_ref.0);
        let blob = storage.update(key, blob_ref).await.map_err(|e| e.to_string())?;
        let expected = SlotCommitment {
            job_id: self.id,
            domain: B256::from(fedproof_prover::export::field::to_word(&domain)),
            round,
            slot: u32::try_from(slot).map_err(|_| format!("slot {slot} out of range"))?,
            params: self.shape.params,
            chunks: usize::from(self.config.chunks),
            commitment: B256::from(commitment),
        };
        check_update(&blob, &expected).map_err(|e| format!("blob {name}: {e}"))?;
        Ok(blob.values)
    }

    /// Chain time for deadline checks: the later of the latest block and the wall clock (anvil
    /// and real chains stamp new blocks with the wall clock, or later after time travel).
    pub async fn chain_time(&self) -> anyhow::Result<u64> {
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Ok(self.chain.now().await?.max(wall))
    }
}

/// The outcome a claim, a dispute or `recordReliability` restates: what `RoundFinalized` logged.
pub fn outcome_of(ev: &JobMarket::RoundFinalized) -> JobMarket::RoundOutcome {
    JobMarket::RoundOutcome {
        unavailableBits: ev.unavailableBits,
        finalizedAt: ev.finalizedAt,
        aggregateNormSq: ev.aggregateNormSq,
        scoreWords: ev.scoreWords.clone(),
    }
}

/// A job id the market does not know (`JobView::load`): its own type, so that callers (the
/// Python package) can tell it from other failures.
#[derive(Debug, thiserror::Error)]
#[error("job {id} does not exist on market {market} (check --job)")]
pub struct UnknownJob {
    /// The job id asked for.
    pub id: u64,
    /// The market asked.
    pub market: Address,
}
