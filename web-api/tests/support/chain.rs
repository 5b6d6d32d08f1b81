//! A real anvil chain with ReliabilityRegistry, JobMarket and a real verifier, and a short job
//! driven through it: create, bond, join, submit, prove and finalize, claim and withdraw.

use super::verifier::{self, Verifier};
use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{aliases::U40, Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use ark_bn254::Fr;
use fedproof_contracts::{JobMarket, ReliabilityRegistry};
use fedproof_prover::round::{self, RoundInput, RoundOutput, RoundWitness};
use fedproof_prover::shape::Shape;
use fedproof_prover::{commitment, export};
use fedproof_storage::codec::UpdateBlob;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::{blob_ref_of, blobs, JobSpecBlob, ModelBlob};
use rand::SeedableRng;
use std::sync::Arc;

/// ETH amounts of the test job (wei).
pub const BUDGET: u128 = 3_000_000_000_000_000_000;
pub const STAKE: u128 = 100_000_000_000_000_000;
pub const BOND: u128 = BUDGET; // JobMarket requires at least a round's budget
/// Submission, finalization and dispute windows (s).
pub const WINDOW: u32 = 3_600;

/// The deployed stack. Accounts: 0 governor/admin/owner, 1 aggregator, 2.. trainers.
pub struct Stack {
    pub anvil: AnvilInstance,
    pub provider: DynProvider,
    pub signers: Vec<PrivateKeySigner>,
    pub market: Address,
    pub registry: Address,
    pub deploy_block: u64,
    /// The aggregator's age key, named in every job spec.
    pub sealing: Arc<AggregatorKey>,
}

/// A one-round job of 3 trainers × 8 parameters (job 1, one attacker) whose round 0 is open with
/// every slot's commitment on-chain.
pub struct SubmittedRound {
    pub verifier: Verifier,
    /// The round, bound to its job (domain, submission order).
    pub input: RoundInput,
    pub job: U256,
    /// Each slot's update sealed to the aggregator, as its on-chain blobRef names it.
    pub sealed: Vec<Option<Vec<u8>>>,
}

pub fn field_to_u256(x: &Fr) -> U256 {
    U256::from_be_bytes(export::field::to_word(x))
}

impl Stack {
    /// Spawns anvil (the npm toolchain's binary) on a free port and deploys the contracts.
    pub async fn start() -> Self {
        Self::start_with_accounts(10).await
    }

    /// [`Stack::start`] with `accounts` funded accounts (trainer slot i is account 2 + i).
    pub async fn start_with_accounts(accounts: usize) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/node_modules/.bin/anvil");
        let anvil = Anvil::at(fedproof_contracts::anvil::native_anvil(std::path::Path::new(script)))
            .arg("--accounts")
            .arg(accounts.to_string())
            .spawn();
        let signers: Vec<PrivateKeySigner> = anvil.keys().iter().map(|k| PrivateKeySigner::from(k.clone())).collect();
        let mut wallet = EthereumWallet::from(signers[0].clone());
        for s in &signers[1..] {
            wallet.register_signer(s.clone());
        }
        let provider = ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url()).erased();
        let admin = signers[0].address();
        let registry = ReliabilityRegistry::deploy(&provider, admin, U256::from(200_000_000_000_000_000u64))
            .await
            .expect("registry deployed");
        let market = JobMarket::deploy(&provider, *registry.address(), admin).await.expect("market deployed");
        let role = registry.WRITER_ROLE().call().await.expect("role");
        registry.grantRole(role, *market.address()).send().await.expect("sent").get_receipt().await.expect("granted");
        let deploy_block = provider.get_block_number().await.expect("block");
        let sealing = Arc::new(AggregatorKey::generate());
        Self {
            market: *market.address(),
            registry: *registry.address(),
            anvil,
            provider,
            signers,
            deploy_block,
            sealing,
        }
    }

    /// Deploys a verifier for 3 × 8, opens job 1 and submits every slot's commitment.
    pub async fn submitted_round(&self) -> SubmittedRound {
        let shape = Shape::new(3, 8).expect("shape");
        let verifier = self.verifier(shape).await;
        let input = round_input(shape, 1, 5);
        let job = self.open_job(verifier.address, &input).await;
        let input = self.bound(&input).await;
        let sealed = self.submit_all(&input).await;
        SubmittedRound { verifier, input, job, sealed }
    }

    /// [`Stack::submitted_round`] proven, finalized and claimed by every slot (the first claim
    /// records the round's allocation and reliability, which JobMarket does not write at
    /// finalization), with the round's output.
    pub async fn claimed_round(&self) -> (SubmittedRound, RoundOutput) {
        let round = self.submitted_round().await;
        let (output, fin) = self.finalize(&round.verifier, &round.input).await;
        let finalized_at = self.finalized_event().await.finalizedAt;
        self.claim_all(round.job, round.input.shape.trainers, &fin, finalized_at).await;
        (round, output)
    }

    /// The spec blob of the job `input` describes; its digest is the job's `specHash`.
    pub fn spec(&self, input: &RoundInput) -> JobSpecBlob {
        let model = ModelBlob { job_id: input.params.job_id, round: 0, values: input.model.clone() };
        JobSpecBlob {
            job_id: input.params.job_id,
            params: input.shape.params,
            model: "synthetic".into(),
            aggregator_recipient: self.sealing.recipient(),
            initial_model: blobs::cid_of(&model.encode()).to_string(),
            layout: None,
            recipe: None,
        }
    }

    pub fn owner(&self) -> Address {
        self.signers[0].address()
    }

    pub fn aggregator(&self) -> Address {
        self.signers[1].address()
    }

    pub fn trainer(&self, slot: usize) -> Address {
        self.signers[2 + slot].address()
    }

    pub fn market(&self) -> JobMarket::JobMarketInstance<DynProvider> {
        JobMarket::new(self.market, self.provider.clone())
    }

    /// Advances the chain clock by `seconds` and mines a block.
    pub async fn warp(&self, seconds: u64) {
        let _: serde_json::Value =
            self.provider.raw_request("evm_increaseTime".into(), (seconds,)).await.expect("increaseTime");
        self.mine(1).await;
    }

    /// Mines `blocks` empty blocks.
    pub async fn mine(&self, blocks: u64) {
        for _ in 0..blocks {
            let _: serde_json::Value = self.provider.raw_request("evm_mine".into(), ()).await.expect("mine");
        }
    }

    /// `evm_snapshot`: the id [`Stack::revert`] goes back to.
    pub async fn snapshot(&self) -> U256 {
        self.provider.raw_request("evm_snapshot".into(), ()).await.expect("evm_snapshot")
    }

    /// Reverts the chain to snapshot `id` (the blocks since are replaced by whatever comes next:
    /// a reorg) and reconnects (the provider's cached nonces are past the chain's).
    pub async fn revert(&mut self, id: U256) {
        let reverted: bool = self.provider.raw_request("evm_revert".into(), (id,)).await.expect("evm_revert");
        assert!(reverted, "snapshot {id} reverted");
        let mut wallet = EthereumWallet::from(self.signers[0].clone());
        for s in &self.signers[1..] {
            wallet.register_signer(s.clone());
        }
        self.provider = ProviderBuilder::new().wallet(wallet).connect_http(self.anvil.endpoint_url()).erased();
    }

    /// Deploys and approves a verifier for `shape`.
    pub async fn verifier(&self, shape: Shape) -> Verifier {
        let v = verifier::deploy(&self.provider, shape, 7).await;
        send(self.market().setVerifierApproval(v.address, true).from(self.owner())).await;
        v
    }

    /// Creates a one-round job for `input` (its job id must be the next one), posts the bond,
    /// joins every slot and opens round 0.
    pub async fn open_job(&self, verifier: Address, input: &RoundInput) -> U256 {
        let job = self.create_job(verifier, input).await;
        let market = self.market();
        send(market.postBond(job).value(U256::from(BOND)).from(self.aggregator())).await;
        for slot in 0..input.shape.trainers {
            send(market.join(job).value(U256::from(STAKE)).from(self.trainer(slot))).await;
        }
        self.warp(100).await;
        job
    }

    /// Creates a one-round job for `input` starting in 100 s (its job id must be the next one).
    pub async fn create_job(&self, verifier: Address, input: &RoundInput) -> U256 {
        self.create_job_with(verifier, input, input.shape.trainers as u16, 1).await
    }

    /// Creates a job of `trainers` slots and `rounds` rounds with `input`'s terms and model,
    /// starting in 100 s (its job id must be the next one).
    pub async fn create_job_with(&self, verifier: Address, input: &RoundInput, trainers: u16, rounds: u32) -> U256 {
        let market = self.market();
        let p = &input.params;
        let now = self
            .provider
            .get_block(alloy::eips::BlockId::latest())
            .await
            .expect("rpc")
            .expect("block")
            .header
            .timestamp;
        let params = JobMarket::JobParams {
            token: Address::ZERO,
            budget: BUDGET,
            stake: STAKE,
            bond: BOND,
            aggregator: self.aggregator(),
            verifier,
            specHash: blob_ref_of(&self.spec(input).encode()),
            specURI: "ipfs://spec".into(),
            initialModel: field_to_u256(&commitment::commit_model(p.job_id, 0, &input.model).expect("model")),
            rounds,
            trainers,
            maxMalicious: p.max_malicious,
            tau: p.tau,
            lr: p.lr,
            lrDecay: p.lr.saturating_sub(p.next_lr),
            dupTol: p.dup_tol,
            startTime: U40::from(now + 100),
            submitWindow: WINDOW,
            finalizeWindow: WINDOW,
            disputeWindow: WINDOW,
        };
        send(market.createJob(params).value(U256::from(BUDGET)).from(self.owner())).await;
        U256::from(p.job_id)
    }

    /// `input` bound to its job on this chain: the domain of its job (chain, market, job and the
    /// roster as it stands: call it once the trainers joined) and the submission order of
    /// `submit_all` (slot order).
    pub async fn bound(&self, input: &RoundInput) -> RoundInput {
        let job = input.params.job_id;
        let state = self.market().jobState(U256::from(job)).call().await.expect("job state");
        let chain_id = self.provider.get_chain_id().await.expect("chain id");
        let domain = fedproof_prover::domain::JobDomain {
            chain_id,
            market: self.market.0 .0,
            job_id: job,
            roster_hash: state.rosterHash.0,
        };
        RoundInput { domain: domain.value(), order: RoundInput::slot_order(&input.updates), ..input.clone() }
    }

    /// Every present slot submits its commitment for round 0, in slot order, naming its update
    /// sealed to the aggregator as its blob; returns the sealed updates.
    pub async fn submit_all(&self, input: &RoundInput) -> Vec<Option<Vec<u8>>> {
        let input = &self.bound(input).await;
        let market = self.market();
        let job = U256::from(input.params.job_id);
        let mut sealed = Vec::new();
        for (slot, c) in input.update_commitments().iter().enumerate() {
            let Some(values) = &input.updates[slot] else {
                sealed.push(None);
                continue;
            };
            let blob = UpdateBlob { job_id: input.params.job_id, round: 0, slot: slot as u32, values: values.clone() };
            let bytes = fedproof_storage::sealed::seal(&self.sealing.recipient(), &blob.encode()).expect("sealed");
            let blob_ref = blob_ref_of(&bytes);
            send(market.submitUpdate(job, 0, field_to_u256(c), blob_ref).from(self.trainer(slot))).await;
            sealed.push(Some(bytes));
        }
        sealed
    }

    /// Proves round 0 and finalizes it as the aggregator; returns the outcome and the finalization.
    pub async fn finalize(&self, v: &Verifier, input: &RoundInput) -> (RoundOutput, JobMarket::Finalization) {
        let input = &self.bound(input).await;
        let witness = RoundWitness::new(input.clone()).expect("witness");
        let (out, public) = (witness.output.clone(), witness.public.clone());
        let p = &input.params;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let proof = fedproof_prover::snark::prove(&v.pk, witness, &mut rng).expect("proved");
        let call = export::calldata::SolidityCalldata::new(&proof, &public.to_vec());
        let words = call.proof_words().map(|w| U256::from_be_bytes(w.0));
        let fin = JobMarket::Finalization {
            newModel: field_to_u256(&public.aggregate),
            digest: U256::ZERO,
            inlierBits: fedproof_web_api::format::bitmap(out.inliers.iter().copied()),
            unavailableBits: U256::ZERO,
            aggregateNormSq: u128::from(out.aggregate_norm_sq),
            scoreWords: public.scores.iter().map(field_to_u256).collect(),
            proof: words,
        };
        let job = U256::from(p.job_id);
        send(self.market().finalizeRound(job, 0, fin.clone()).from(self.aggregator())).await;
        (out, fin)
    }

    /// Every `E` the market has emitted, in chain order, decoded.
    pub async fn events<E: alloy::sol_types::SolEvent>(&self) -> Vec<E> {
        let filter =
            alloy::rpc::types::Filter::new().from_block(0).address(self.market).event_signature(E::SIGNATURE_HASH);
        let logs = self.provider.get_logs(&filter).await.expect("logs");
        logs.iter().map(|log| log.log_decode::<E>().expect("decodes").inner.data).collect()
    }

    /// The `RoundFinalized` event of round 0.
    pub async fn finalized_event(&self) -> JobMarket::RoundFinalized {
        self.events::<JobMarket::RoundFinalized>().await.remove(0)
    }

    /// Claims every slot's share of round 0 and lets trainer 0 withdraw.
    pub async fn claim_all(&self, job: U256, n: usize, fin: &JobMarket::Finalization, finalized_at: U40) {
        let market = self.market();
        let outcome = JobMarket::RoundOutcome {
            unavailableBits: fin.unavailableBits,
            finalizedAt: finalized_at,
            aggregateNormSq: fin.aggregateNormSq,
            scoreWords: fin.scoreWords.clone(),
        };
        for slot in 0..n {
            // Slots with a zero score have nothing to claim (the contract refuses).
            let _ = market.claim(job, 0, U256::from(slot), outcome.clone()).from(self.trainer(slot)).send().await;
        }
        send(market.withdraw(Address::ZERO).from(self.trainer(0))).await;
    }
}

/// A synthetic round of `shape` with one attacker for job `job_id`.
pub fn round_input(shape: Shape, job_id: u64, seed: u64) -> RoundInput {
    let mut input = round::sample::synthetic(shape, 1, seed).input;
    input.params.job_id = job_id;
    input
}

/// Sends a call without waiting for its receipt (anvil mines it as it arrives): for the many
/// transactions of a wide job; [`Stack::confirm`] checks them.
pub async fn send_quick<P, D, N>(call: alloy::contract::CallBuilder<P, D, N>) -> alloy::primitives::TxHash
where
    P: Provider<N>,
    D: alloy::contract::CallDecoder,
    N: alloy::network::Network,
{
    *call.send().await.expect("transaction accepted").tx_hash()
}

impl Stack {
    /// Waits for the receipts of `hashes` and asserts that none reverted.
    pub async fn confirm(&self, hashes: &[alloy::primitives::TxHash]) {
        for hash in hashes {
            let mut receipt = None;
            for _ in 0..500 {
                receipt = self.provider.get_transaction_receipt(*hash).await.expect("rpc");
                if receipt.is_some() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let receipt = receipt.unwrap_or_else(|| panic!("{hash} was never mined"));
            assert!(receipt.status(), "{hash} reverted");
        }
    }
}

/// Sends a call and waits for a successful receipt.
pub async fn send<P, D, N>(call: alloy::contract::CallBuilder<P, D, N>)
where
    P: Provider<N>,
    D: alloy::contract::CallDecoder,
    N: alloy::network::Network,
{
    let pending = call.send().await.expect("transaction accepted");
    let receipt = pending.get_receipt().await.expect("mined");
    assert!(alloy::network::ReceiptResponse::status(&receipt), "transaction reverted");
}
