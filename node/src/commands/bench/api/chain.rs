//! The bench's chain: anvil with the market and the demo verifier deployed, then `jobs` one-round
//! jobs of the demo shape (10 trainers × 2,410 parameters), each with a real spec blob in the
//! server's blob store, bonded and joined by 10 trainers of its own (1,000 distinct addresses for
//! 100 jobs, so no trainer hits the intake's per-address rate), round 0 opened and every slot's
//! sealed update committed on-chain. All of it is setup: transactions are sent without waiting
//! for each receipt (anvil mines each one as it arrives) and checked once at the end.

use std::path::Path;

use alloy::eips::BlockId;
use alloy::network::EthereumWallet;
use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{aliases::U40, Address, TxHash, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use fedproof::roles::intake::upload_body;
use fedproof::roles::job::job_domain;
use fedproof::training::mlp::{MLP_ARCHITECTURE, PARAM_COUNT};
use fedproof_contracts::{JobMarket, ReliabilityRegistry, RoundVerifierDemo};
use fedproof_storage::{JobSpecBlob, ModelBlob, Storage, UpdateBlob};
use fedproof_web_api::http::schema::UploadBody;
use futures::{StreamExt, TryStreamExt};
use indicatif::ProgressBar;

/// Trainer slots of a job: the demo verifier's shape is 10 trainers × 2,410 parameters.
pub const SLOTS: usize = 10;

/// Requests in flight to anvil while setting up (joins, commitments, receipts).
const SETUP_CONCURRENCY: usize = 32;

/// The market contract as the bench's wallet sends to it.
pub type Market = JobMarket::JobMarketInstance<DynProvider>;

/// Anvil with the stack deployed: account 0 administers and owns the jobs, 1 aggregates; the
/// trainers are fresh keys funded with `anvil_setBalance`, [`SLOTS`] per job.
pub struct BenchChain {
    _anvil: AnvilInstance,
    admin: PrivateKeySigner,
    aggregator: PrivateKeySigner,
    trainers: Vec<PrivateKeySigner>,
    /// A provider whose wallet signs for every account above.
    pub provider: DynProvider,
    /// The market.
    pub market: Market,
    verifier: Address,
    /// Anvil's RPC endpoint.
    pub endpoint: url::Url,
}

/// One slot's upload, ready to send: its body and what its receipt must cover.
pub struct PreparedUpload {
    /// The job.
    pub job: u64,
    /// The trainer's slot.
    pub slot: u32,
    /// The commitment the slot put on-chain.
    pub commitment: U256,
    /// The blobRef the slot put on-chain (the sealed blob's digest).
    pub blob_ref: B256,
    /// The signed upload body.
    pub body: UploadBody,
}

impl BenchChain {
    /// Spawns anvil, deploys registry, market and the demo verifier (approved) and funds
    /// `jobs` × [`SLOTS`] fresh trainer keys.
    pub async fn start(anvil: &Path, jobs: usize) -> anyhow::Result<Self> {
        let instance = fedproof::chain::anvil::spawn(anvil, 2)?;
        let keys: Vec<PrivateKeySigner> = instance.keys().iter().map(|k| PrivateKeySigner::from(k.clone())).collect();
        let (admin, aggregator) = (keys[0].clone(), keys[1].clone());
        let trainers: Vec<PrivateKeySigner> = (0..jobs * SLOTS).map(|_| PrivateKeySigner::random()).collect();
        let mut wallet = EthereumWallet::from(admin.clone());
        for s in std::iter::once(&aggregator).chain(&trainers) {
            wallet.register_signer(s.clone());
        }
        let provider = ProviderBuilder::new().wallet(wallet).connect_http(instance.endpoint_url()).erased();
        let registry =
            ReliabilityRegistry::deploy(&provider, admin.address(), U256::from(200_000_000_000_000_000u64)).await?;
        let market = JobMarket::deploy(provider.clone(), *registry.address(), admin.address()).await?;
        let verifier = *RoundVerifierDemo::deploy(&provider).await?.address();
        market.setVerifierApproval(verifier, true).send().await?.get_receipt().await?;
        let endpoint = instance.endpoint_url();
        let chain = BenchChain { _anvil: instance, admin, aggregator, trainers, provider, market, verifier, endpoint };
        chain.fund_trainers().await?;
        Ok(chain)
    }

    /// The aggregator's chain key (the server signs receipts with it).
    pub fn aggregator(&self) -> &PrivateKeySigner {
        &self.aggregator
    }

    /// Jobs created by [`Self::create_jobs`] (ids 1..=jobs).
    pub fn jobs(&self) -> u64 {
        (self.trainers.len() / SLOTS) as u64
    }

    /// The `seat`-th of `job`'s trainers (its slot is the order its join was mined in).
    fn trainer(&self, job: u64, seat: usize) -> &PrivateKeySigner {
        &self.trainers[(job as usize - 1) * SLOTS + seat]
    }

    /// Gives every trainer 10 ETH for its stake and gas.
    async fn fund_trainers(&self) -> anyhow::Result<()> {
        let balance = U256::from(10u128 * 10u128.pow(18));
        futures::stream::iter(&self.trainers)
            .map(|t| async move {
                let _: serde_json::Value =
                    self.provider.raw_request("anvil_setBalance".into(), (t.address(), balance)).await?;
                anyhow::Ok(())
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Creates the jobs (each with its spec and initial model stored in `storage`), posts the
    /// aggregator's bond for each, lets every trainer join, then opens round 0. `bar` counts
    /// transactions.
    pub async fn create_jobs(&self, storage: &Storage, recipient: &str, bar: &ProgressBar) -> anyhow::Result<()> {
        let now = self.provider.get_block(BlockId::latest()).await?.context("no block")?.header.timestamp;
        let mut created = Vec::new();
        for job in 1..=self.jobs() {
            let params = self.job_params(job, storage, recipient, now).await?;
            let create = self.market.createJob(params).value(U256::from(BUDGET)).from(self.admin.address());
            created.push(*create.send().await?.tx_hash());
            bar.inc(1);
        }
        // Bonds and joins are checked against the created jobs: wait for them first.
        self.confirm(&created).await?;
        let mut sent = Vec::new();
        for job in 1..=self.jobs() {
            let bond = self.market.postBond(U256::from(job)).value(U256::from(BUDGET));
            sent.push(*bond.from(self.aggregator.address()).send().await?.tx_hash());
            bar.inc(1);
        }
        let joins = (1..=self.jobs()).flat_map(|job| (0..SLOTS).map(move |seat| (job, seat)));
        let joined: Vec<TxHash> = futures::stream::iter(joins)
            .map(|(job, seat)| async move {
                let join = self.market.join(U256::from(job)).gas(SETUP_GAS).value(U256::from(1));
                let join = join.from(self.trainer(job, seat).address());
                // Joins of one job run at once: an estimate made before the others were mined
                // can fall short, so the limit is set.
                let hash = *join.send().await?.tx_hash();
                bar.inc(1);
                anyhow::Ok(hash)
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect()
            .await?;
        sent.extend(joined);
        self.confirm(&sent).await?;
        // Round 0 opens at startTime.
        let _: serde_json::Value = self.provider.raw_request("evm_increaseTime".into(), (START_DELAY,)).await?;
        let _: serde_json::Value = self.provider.raw_request("evm_mine".into(), ()).await?;
        Ok(())
    }

    /// A one-round job of the demo shape whose spec (parameter count, architecture, the
    /// aggregator's recipient, a zero initial model) is stored in `storage` and named by its
    /// `specHash`, as `owner create-job` does.
    async fn job_params(
        &self,
        job: u64,
        storage: &Storage,
        recipient: &str,
        now: u64,
    ) -> anyhow::Result<JobMarket::JobParams> {
        let initial = storage.put_model(&ModelBlob { job_id: job, round: 0, values: vec![0; PARAM_COUNT] }).await?;
        let spec = JobSpecBlob {
            job_id: job,
            params: PARAM_COUNT,
            model: MLP_ARCHITECTURE.into(),
            aggregator_recipient: recipient.into(),
            initial_model: initial.to_string(),
            layout: None,
            recipe: None,
        };
        let spec_cid = storage.put_spec(&spec).await?;
        Ok(JobMarket::JobParams {
            token: Address::ZERO,
            budget: BUDGET,
            stake: 1,
            bond: BUDGET, // JobMarket requires at least a round's budget
            aggregator: self.aggregator.address(),
            verifier: self.verifier,
            specHash: B256::from(fedproof_storage::blobs::blob_ref(&spec_cid)?),
            specURI: format!("ipfs://{spec_cid}"),
            initialModel: U256::from(1),
            rounds: 1,
            trainers: SLOTS as u16,
            maxMalicious: 1,
            tau: 3 << 15,
            lr: 64,
            lrDecay: 0,
            dupTol: PARAM_COUNT as u32,
            startTime: U40::from(now + START_DELAY),
            submitWindow: 3_600,
            finalizeWindow: 3_600,
            disputeWindow: 3_600,
        })
    }

    /// Every slot of every job commits a sealed update of the demo shape on-chain; returns the
    /// uploads that deliver them. `bar` counts transactions.
    pub async fn commit_updates(&self, recipient: &str, bar: &ProgressBar) -> anyhow::Result<Vec<PreparedUpload>> {
        let chain_id = self.provider.get_chain_id().await?;
        let market = *self.market.address();
        let seats = (1..=self.jobs()).flat_map(|job| (0..SLOTS).map(move |seat| (job, seat)));
        let prepared: Vec<(PreparedUpload, TxHash)> = futures::stream::iter(seats)
            .map(|(job, seat)| async move {
                let trainer = self.trainer(job, seat).clone();
                let roster = self.market.jobState(U256::from(job)).call().await?.rosterHash;
                // Slots follow the order the joins were mined in.
                let slot: usize = self.market.slotOf(U256::from(job), trainer.address()).call().await?.slot.to();
                let recipient = recipient.to_owned();
                // Poseidon over 2,410 values and age sealing: off the runtime's threads.
                let upload = tokio::task::spawn_blocking(move || {
                    prepare_upload(&trainer, job_domain(chain_id, market, job, roster), job, slot, &recipient)
                })
                .await??;
                let submit = self.market.submitUpdate(U256::from(job), 0, upload.commitment, upload.blob_ref);
                let hash = *submit.gas(SETUP_GAS).from(self.trainer(job, seat).address()).send().await?.tx_hash();
                bar.inc(1);
                anyhow::Ok((upload, hash))
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect()
            .await?;
        let (uploads, hashes): (Vec<_>, Vec<_>) = prepared.into_iter().unzip();
        self.confirm(&hashes).await?;
        Ok(uploads)
    }

    /// Waits for every transaction's receipt and fails on any that reverted.
    async fn confirm(&self, hashes: &[TxHash]) -> anyhow::Result<()> {
        futures::stream::iter(hashes)
            .map(|hash| async move {
                loop {
                    if let Some(r) = self.provider.get_transaction_receipt(*hash).await? {
                        anyhow::ensure!(r.status(), "setup transaction {hash} reverted (gas used {})", r.gas_used);
                        return Ok(());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect()
            .await
    }
}

/// Each job's budget and the aggregator's bond (wei).
const BUDGET: u128 = 1_000_000_000_000_000_000;

/// Gas limit of a join or a commitment (sent at once for a job's slots, so not estimated).
const SETUP_GAS: u64 = 1_000_000;

/// Seconds from job creation to round 0 (joining closes then).
const START_DELAY: u64 = 1_000;

/// A deterministic update of the demo shape for (job, slot), its commitment under the job's
/// domain, sealed to `recipient` and signed by `trainer`.
fn prepare_upload(
    trainer: &PrivateKeySigner,
    domain: ark_bn254::Fr,
    job: u64,
    slot: usize,
    recipient: &str,
) -> anyhow::Result<PreparedUpload> {
    let values: Vec<i64> =
        (0..PARAM_COUNT as i64).map(|k| ((job as i64 * 31 + slot as i64 * 7 + k * 13) % 200) - 100).collect();
    let c = fedproof_prover::commitment::commit_update(domain, 0, slot, &values)?;
    let commitment = U256::from_be_bytes(fedproof_prover::export::field::to_word(&c));
    let blob = UpdateBlob { job_id: job, round: 0, slot: slot as u32, values };
    let sealed = fedproof_storage::sealed::seal(recipient, &blob.encode())?;
    let blob_ref = fedproof_storage::blob_ref_of(&sealed);
    let body = upload_body(trainer, job, 0, commitment, &sealed)?;
    Ok(PreparedUpload { job, slot: slot as u32, commitment, blob_ref, body })
}
