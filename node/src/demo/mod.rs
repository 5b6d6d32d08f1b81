//! `fedproof demo`: a whole marketplace on a local anvil. One owner, one aggregator and N
//! trainers (some malicious) run as concurrent tasks that meet only through the chain and blob
//! storage; then the trainers withdraw, the auditor re-checks every round, and the outcome is
//! compared with plain FedAvg off-chain.

mod baseline;
pub mod report;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{B256, U256};
use alloy::signers::local::PrivateKeySigner;
use fedproof_prover::fixed_point::Rounding;
use fedproof_prover::keys::{KeyStore, Keys};
use fedproof_prover::params::{encode_lr, encode_tau};
use fedproof_prover::shape::Shape;
use fedproof_storage::sealed::AggregatorKey;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::chain::deploy::deploy_stack;
use crate::chain::{Chain, Stack};
use crate::progress;
use crate::roles::aggregator::RoundReport;
use crate::roles::audit::AuditRow;
use crate::roles::owner::{create_job, JobSpec};
use crate::roles::trainer::{self, Submission, Upload};
use crate::roles::{aggregator, audit, JobView};
use crate::training::data::{dirichlet_partition, load_digits, train_test_split, Dataset};
use crate::training::federated::FixedPointConfig;
use crate::training::mlp::{Mlp, MLP_ARCHITECTURE, PARAM_COUNT};
use crate::training::source::{Attack, MlpSource, LOCAL_SGD};
use fedproof_storage::Storage;
use report::{DemoReport, RoundSummary};

/// Attacks given to the malicious trainers, in order.
const ATTACKS: [Attack; 6] =
    [Attack::SignFlip, Attack::Noise, Attack::FreeRide, Attack::LabelFlip, Attack::Sybil, Attack::Stale];
/// Server learning rate η.
const ETA: f64 = 1.0;
const WEI_PER_ETH: u128 = 1_000_000_000_000_000_000;

/// What the demo runs: its command-line options.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Trainers.
    pub trainers: usize,
    /// Malicious trainers (the last slots).
    pub malicious: usize,
    /// Rounds.
    pub rounds: u32,
    /// Krum threshold τ.
    pub tau: f64,
    /// Dirichlet α of the non-IID split.
    pub alpha: f64,
    /// Seed of data split, initial model and training.
    pub seed: u64,
    /// Key cache directory (default: $FEDPROOF_HOME/keys or .fedproof/keys).
    pub keys: Option<PathBuf>,
    /// The anvil binary.
    pub anvil: PathBuf,
}

/// A finished demo: its report, and its chain still up for [`Finished::serve`].
pub struct Finished {
    /// What the demo measured.
    pub report: DemoReport,
    net: LocalChain,
    market: alloy::primitives::Address,
    job_id: u64,
}

/// Runs the demo: keys, chain, job, rounds, withdrawals, audit, baselines, report.
pub async fn run(config: &DemoConfig) -> anyhow::Result<Finished> {
    let clock = Instant::now();
    check(config)?;
    let people = Participants::new(config)?;
    // Anvil first: it boots while the keys load, and a stop signal during the setup already
    // finds it to stop (its handle kills it when dropped).
    // An account for the owner, the aggregator and each trainer.
    let anvil = crate::chain::anvil::spawn(&config.anvil, config.trainers + 2)?;
    let keys = load_keys(Shape::new(config.trainers, PARAM_COUNT)?, config.keys.clone()).await?;
    let net = LocalChain::start(anvil, &keys).await?;
    // The aggregator's age key: trainers seal their updates to its public half (in the job spec).
    let sealing = Arc::new(AggregatorKey::generate());
    let spec = job_spec(config, &net, &people, &sealing)?;
    let job_id = create_job(&net.owner, net.stack.market, &net.storage, &spec).await?;
    let running = start_roles(&net, &people, job_id, &keys, &sealing).await?;
    let (rows, final_model) = follow_rounds(running.rounds, config.rounds, &people).await?;
    join_roles(running.aggregator, running.trainers).await?;
    let payouts = withdraw_all(&running.trainer_views).await?;
    let reliability = read_reliability(&net, &running.trainer_views).await?;
    let recompute = audit::Recompute { storage: &net.storage, key: &sealing };
    let audit_rows = audit::audit(&running.aggregator_view, &keys.vk, Some(recompute)).await?;
    let (clean_accuracy, fedavg_attacked_accuracy) = baselines(&people, config.rounds)?;
    let outcome =
        Outcome { rows, final_model, payouts, reliability, audit_rows, clean_accuracy, fedavg_attacked_accuracy };
    let report = outcome.report(config, &people, clock)?;
    Ok(Finished { report, market: net.stack.market, net, job_id })
}

impl Finished {
    /// Keeps the chain up and serves the job through the REST API and dashboard on `listen`
    /// until interrupted.
    pub async fn serve(self, listen: SocketAddr) -> anyhow::Result<()> {
        serve::serve_until_interrupted(serve::DemoService {
            rpc: self.net.anvil.endpoint_url(),
            market: self.market,
            owner: self.net.owner.signer.clone(),
            job_id: self.job_id,
            accuracy: self.report.per_round.iter().map(|r| r.accuracy).collect(),
            listen,
            dir: self.net.dir.path(),
        })
        .await
    }
}

/// Refuses options the demo cannot run.
fn check(config: &DemoConfig) -> anyhow::Result<()> {
    let n = config.trainers;
    anyhow::ensure!(config.malicious < n, "--malicious must be below --trainers ({n})");
    anyhow::ensure!(config.rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!((1.0..=1000.0).contains(&config.tau), "--tau must be between 1 and 1000 (got {})", config.tau);
    Ok(())
}

/// Who trains on what: the non-IID split, each slot's attack, the held-out test set and the
/// initial model.
struct Participants {
    shards: Vec<Dataset>,
    test: Dataset,
    attacks: Vec<Option<Attack>>,
    seed: u64,
    initial: Vec<i64>,
}

impl Participants {
    fn new(config: &DemoConfig) -> anyhow::Result<Self> {
        let n = config.trainers;
        let attacks = (0..n)
            .map(|i| (i >= n - config.malicious).then(|| ATTACKS[(i + config.malicious - n) % ATTACKS.len()]))
            .collect();
        let data = load_digits()?;
        let (train, test) = train_test_split(&data, 0.2, config.seed)?;
        let shards = dirichlet_partition(&train.labels, n, config.alpha, 20, config.seed)?
            .iter()
            .map(|rows| train.select(rows))
            .collect();
        let initial =
            FixedPointConfig::default().model().encode(&Mlp::init(config.seed).to_flat(), Rounding::Nearest)?;
        Ok(Participants { shards, test, attacks, seed: config.seed, initial })
    }

    fn count(&self) -> usize {
        self.shards.len()
    }

    /// The malicious slots.
    fn malicious(&self) -> Vec<usize> {
        (0..self.count()).filter(|&i| self.attacks[i].is_some()).collect()
    }

    /// Slot `i`'s update source. A Sybil copies the previous malicious trainer: same data and
    /// seed, so the same update.
    fn source(&self, i: usize) -> MlpSource {
        let twin = if self.attacks[i] == Some(Attack::Sybil) && i > 0 { i - 1 } else { i };
        MlpSource::new(
            self.shards[twin].clone(),
            LOCAL_SGD,
            self.seed * 1000 + twin as u64,
            self.attacks[i].or(self.attacks[twin]),
        )
    }

    /// Slot `i`'s update source had it been honest.
    fn honest_source(&self, i: usize) -> MlpSource {
        MlpSource::new(self.shards[i].clone(), LOCAL_SGD, self.seed * 1000 + i as u64, None)
    }

    /// Held-out accuracy of a model in the model encoding.
    fn accuracy(&self, model: &[i64]) -> anyhow::Result<f64> {
        Ok(Mlp::from_flat(&FixedPointConfig::default().model().decode(model))?.accuracy(&self.test))
    }
}

/// Loads the shape's Groth16 keys, running setup (minutes) the first time.
async fn load_keys(shape: Shape, dir: Option<PathBuf>) -> anyhow::Result<Arc<Keys>> {
    let spinner = progress::spinner(format!("Groth16 keys for {shape} (setup runs once, then cached)"));
    let store = KeyStore::at(dir);
    let keys = tokio::task::spawn_blocking(move || store.load_or_setup(shape, &mut rand::rngs::OsRng)).await??;
    spinner.finish_with_message(format!("keys for {shape} ready in {:.1} s", keys.seconds));
    Ok(Arc::new(keys))
}

/// A local anvil with the contracts deployed, the owner's and the aggregator's connections and
/// the blob storage (in a temp dir that also holds the dashboard's database).
struct LocalChain {
    anvil: AnvilInstance,
    owner: Chain,
    aggregator: Chain,
    stack: Stack,
    storage: Storage,
    dir: tempfile::TempDir,
}

impl LocalChain {
    /// Deploys on `anvil`: account 0 owns the job, account 1 aggregates, accounts 2.. train.
    async fn start(anvil: AnvilInstance, keys: &Keys) -> anyhow::Result<Self> {
        let owner = connect(&anvil, 0).await?;
        let aggregator = connect(&anvil, 1).await?;
        let stack = deploy_stack(&owner, &keys.vk).await?;
        let dir = tempfile::tempdir()?;
        let storage = Storage::open(&dir.path().join("blobs").to_string_lossy())?;
        Ok(LocalChain { anvil, owner, aggregator, stack, storage, dir })
    }

    /// Trainer `i`'s connection.
    async fn trainer(&self, i: usize) -> anyhow::Result<Chain> {
        connect(&self.anvil, 2 + i).await
    }
}

async fn connect(anvil: &AnvilInstance, account: usize) -> anyhow::Result<Chain> {
    let signer = PrivateKeySigner::from(anvil.keys()[account].clone());
    Ok(Chain::connect(&anvil.endpoint(), Some(anvil.chain_id()), signer).await?)
}

/// The demo job: 10 ETH over the rounds, stakes, the aggregator's bond and sealing key.
fn job_spec(
    args: &DemoConfig,
    net: &LocalChain,
    people: &Participants,
    sealing: &AggregatorKey,
) -> anyhow::Result<JobSpec> {
    let fp = FixedPointConfig::default();
    Ok(JobSpec {
        trainers: u16::try_from(args.trainers)?,
        rounds: args.rounds,
        budget: 10 * WEI_PER_ETH,
        stake: WEI_PER_ETH / 10,
        // JobMarket requires bond >= budget / rounds; the whole budget covers any number of rounds.
        bond: 10 * WEI_PER_ETH,
        aggregator: net.aggregator.address,
        verifier: net.stack.verifier,
        max_malicious: args.malicious as u8,
        tau: encode_tau(args.tau)?,
        lr: encode_lr(ETA, &fp.update(), &fp.model())?,
        lr_decay: 0,
        dup_tol: PARAM_COUNT as u32,
        start_delay: 8,
        submit_window: 3600,
        finalize_window: 3600,
        dispute_window: 60,
        initial_model: people.initial.clone(),
        architecture: MLP_ARCHITECTURE.into(),
        aggregator_recipient: sealing.recipient(),
        layout: None,
        recipe: None,
    })
}

/// The aggregator and the trainers at work, each a task; they meet only through chain and storage.
struct Running {
    aggregator: JoinHandle<anyhow::Result<Vec<RoundReport>>>,
    aggregator_view: JobView,
    trainers: Vec<JoinHandle<anyhow::Result<Vec<Submission>>>>,
    trainer_views: Vec<JobView>,
    /// Each round as the aggregator finalizes it.
    rounds: mpsc::UnboundedReceiver<RoundReport>,
}

/// Starts the aggregator, joins every trainer and starts it.
async fn start_roles(
    net: &LocalChain,
    people: &Participants,
    job_id: u64,
    keys: &Arc<Keys>,
    sealing: &Arc<AggregatorKey>,
) -> anyhow::Result<Running> {
    let (tx, rounds) = mpsc::unbounded_channel();
    let aggregator_view = JobView::load(&net.aggregator, net.stack.market, job_id, &net.storage).await?;
    // Trainers store their sealed updates before committing, so no upload grace is needed.
    let settings = aggregator::Settings {
        keys: Arc::clone(keys),
        sealing: sealing.clone(),
        prover: Default::default(),
        upload_grace: Duration::ZERO,
        chunks: None,
    };
    let (view, storage) = (aggregator_view.clone(), net.storage.clone());
    let aggregator =
        tokio::spawn(
            async move { aggregator::run(&view, &storage, &settings, move |r| drop(tx.send(r.clone()))).await },
        );
    let mut trainers = Vec::new();
    let mut trainer_views = Vec::new();
    for i in 0..people.count() {
        let view = JobView::load(&net.trainer(i).await?, net.stack.market, job_id, &net.storage).await?;
        trainer::join(&view, &net.storage).await?;
        let (v, storage, mut source) = (view.clone(), net.storage.clone(), people.source(i));
        trainers.push(tokio::spawn(async move { trainer::run(&v, &storage, None, &mut source, Upload::Honest).await }));
        trainer_views.push(view);
    }
    Ok(Running { aggregator, aggregator_view, trainers, trainer_views, rounds })
}

/// Follows the rounds as the aggregator settles them, with their held-out accuracy; returns the
/// rows and the final model.
async fn follow_rounds(
    mut rounds: mpsc::UnboundedReceiver<RoundReport>,
    expected: u32,
    people: &Participants,
) -> anyhow::Result<(Vec<RoundSummary>, Vec<i64>)> {
    let bar = progress::bar(u64::from(expected), "rounds");
    bar.set_message("training, proving, settling…");
    let malicious = people.malicious();
    let mut rows = Vec::new();
    let mut final_model = people.initial.clone();
    while let Some(r) = rounds.recv().await {
        let accuracy = people.accuracy(&r.new_model)?;
        let flagged: Vec<usize> = (0..people.count()).filter(|&i| r.submitted[i] && !r.inliers[i]).collect();
        bar.inc(1);
        bar.println(format!(
            "round {}: accuracy {:.2}%, flagged {flagged:?}, proved in {:.1} s",
            r.round,
            100.0 * accuracy,
            r.prove_seconds
        ));
        rows.push(RoundSummary {
            round: r.round,
            accuracy,
            flagged,
            malicious: malicious.clone(),
            scores: r.scores.clone(),
            prove_seconds: r.prove_seconds,
            finalize_gas: r.finalize_gas,
            tx: r.tx.clone(),
        });
        final_model = r.new_model;
    }
    bar.finish_and_clear();
    Ok((rows, final_model))
}

/// Waits for the aggregator and every trainer to finish, passing on the first failure.
async fn join_roles(
    aggregator: JoinHandle<anyhow::Result<Vec<RoundReport>>>,
    trainers: Vec<JoinHandle<anyhow::Result<Vec<Submission>>>>,
) -> anyhow::Result<()> {
    aggregator.await??;
    for t in trainers {
        t.await??;
    }
    Ok(())
}

/// Every trainer claims and withdraws; the wei each received.
async fn withdraw_all(trainers: &[JobView]) -> anyhow::Result<Vec<U256>> {
    let mut payouts = Vec::new();
    for view in trainers {
        payouts.push(trainer::withdraw(view, None).await?);
    }
    Ok(payouts)
}

/// Every trainer's reliability in the registry (0..1): the ETH-weighted mean of its observations
/// (cos² of its update and the round's robust aggregate), recorded by each round's first claim.
async fn read_reliability(net: &LocalChain, trainers: &[JobView]) -> anyhow::Result<Vec<f64>> {
    let registry = net.owner.registry(net.stack.registry);
    let mut reliability = Vec::new();
    for view in trainers {
        let id = B256::left_padding_from(view.chain.address.as_slice());
        let mean = registry
            .weightedMean(id, alloy::primitives::Address::ZERO)
            .call()
            .await
            .map_err(|e| crate::chain::client::call_error("reading reliability", e))?;
        reliability.push(mean.mean.to::<u128>() as f64 / 1e18);
    }
    Ok(reliability)
}

/// Plain FedAvg off-chain, with every trainer honest and under the same attack: (clean, attacked)
/// held-out accuracy.
fn baselines(people: &Participants, rounds: u32) -> anyhow::Result<(f64, f64)> {
    let spinner = progress::spinner("FedAvg baselines off-chain (clean and under attack)");
    let n = people.count();
    let mut honest: Vec<MlpSource> = (0..n).map(|i| people.honest_source(i)).collect();
    let clean = baseline::fedavg(&people.initial, &mut honest, rounds, ETA, &people.test)?;
    let mut attacked: Vec<MlpSource> = (0..n).map(|i| people.source(i)).collect();
    let under_attack = baseline::fedavg(&people.initial, &mut attacked, rounds, ETA, &people.test)?;
    spinner.finish_and_clear();
    Ok((clean, under_attack))
}

/// What the phases produced, before it is summed up.
struct Outcome {
    rows: Vec<RoundSummary>,
    final_model: Vec<i64>,
    payouts: Vec<U256>,
    reliability: Vec<f64>,
    audit_rows: Vec<AuditRow>,
    clean_accuracy: f64,
    fedavg_attacked_accuracy: f64,
}

impl Outcome {
    /// The demo's report: detection, payouts to honest trainers, audit and accuracy figures.
    fn report(self, config: &DemoConfig, people: &Participants, clock: Instant) -> anyhow::Result<DemoReport> {
        let malicious = people.malicious();
        let total: U256 = self.payouts.iter().copied().sum();
        let honest: U256 =
            self.payouts.iter().enumerate().filter(|(i, _)| !malicious.contains(i)).map(|(_, p)| *p).sum();
        let (outlier_recall, outlier_false_positive_rate) = DemoReport::detection(&self.rows, people.count());
        Ok(DemoReport {
            trainers: people.count(),
            malicious: config.malicious,
            rounds: config.rounds,
            clean_accuracy: self.clean_accuracy,
            final_accuracy: people.accuracy(&self.final_model)?,
            fedavg_attacked_accuracy: self.fedavg_attacked_accuracy,
            outlier_recall,
            outlier_false_positive_rate,
            honest_payout_share: if total.is_zero() {
                0.0
            } else {
                honest.to::<u128>() as f64 / total.to::<u128>() as f64
            },
            rounds_verified_onchain: self.audit_rows.iter().filter(|r| r.onchain).count(),
            audit_ok: self.audit_rows.len() == config.rounds as usize && self.audit_rows.iter().all(|r| r.ok()),
            payouts_wei: self.payouts.iter().map(U256::to_string).collect(),
            reliability: self.reliability,
            seconds: clock.elapsed().as_secs_f64(),
            per_round: self.rows,
        })
    }
}
