//! `fedproof demo`: a whole marketplace on a local anvil. One owner, one aggregator and N
//! trainers (some malicious) run as concurrent tasks that meet only through the chain and blob
//! storage; then the trainers withdraw, the auditor re-checks every round, and the outcome is
//! compared with plain FedAvg off-chain.

mod baseline;
pub mod report;
mod serve;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::node_bindings::Anvil;
use alloy::primitives::{B256, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Args;
use fedproof_prover::fixed_point::Rounding;
use fedproof_prover::keys::KeyStore;
use fedproof_prover::params::{encode_lr, encode_tau};
use fedproof_prover::shape::Shape;
use fedproof_storage::sealed::AggregatorKey;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use crate::chain::deploy::deploy_stack;
use crate::chain::Chain;
use crate::roles::owner::{create_job, JobSpec};
use crate::roles::trainer::{self, Upload};
use crate::roles::{aggregator, audit, JobView};
use crate::training::data::{dirichlet_partition, load_digits, train_test_split, Dataset};
use crate::training::federated::FixedPointConfig;
use crate::training::mlp::{Mlp, TrainConfig, MLP_ARCHITECTURE, PARAM_COUNT};
use crate::training::source::{Attack, MlpSource};
use fedproof_storage::Storage;
use report::{DemoReport, RoundRow};

/// Attacks given to the malicious trainers, in order.
const ATTACKS: [Attack; 6] =
    [Attack::SignFlip, Attack::Noise, Attack::FreeRide, Attack::LabelFlip, Attack::Sybil, Attack::Stale];
/// Local SGD of every trainer.
const LOCAL: TrainConfig = TrainConfig { lr: 0.1, epochs: 2, batch_size: 16 };
/// Server learning rate η.
const ETA: f64 = 1.0;
const WEI_PER_ETH: u128 = 1_000_000_000_000_000_000;

/// Options of `fedproof demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Trainers.
    #[arg(long, default_value_t = 10)]
    pub trainers: usize,
    /// Malicious trainers (the last slots; attacks: sign flip, noise, free ride, label flip, Sybil).
    #[arg(long, default_value_t = 3)]
    pub malicious: usize,
    /// Rounds.
    #[arg(long, default_value_t = 5)]
    pub rounds: u32,
    /// Krum threshold τ: updates whose Krum score exceeds τ × the median score are outliers. The
    /// non-IID split makes honest updates spread widely, so a tight τ flags honest trainers.
    #[arg(long, default_value_t = 3.0)]
    pub tau: f64,
    /// Dirichlet α of the non-IID split.
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// Seed of data split, initial model and training.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Key cache directory (default: $FEDPROOF_HOME/keys or .fedproof/keys).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// After the demo, keep the chain up and serve the REST API and dashboard on this address
    /// (e.g. 127.0.0.1:8080) until interrupted.
    #[arg(long)]
    pub serve: Option<std::net::SocketAddr>,
    /// The anvil binary.
    #[arg(long, default_value = "contracts/node_modules/.bin/anvil")]
    pub anvil: PathBuf,
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let clock = Instant::now();
    let n = args.trainers;
    anyhow::ensure!(args.malicious < n, "--malicious must be below --trainers ({n})");
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!((1.0..=1000.0).contains(&args.tau), "--tau must be between 1 and 1000 (got {})", args.tau);
    let shape = Shape::new(n, PARAM_COUNT)?;
    let attacks: Vec<Option<Attack>> =
        (0..n).map(|i| (i >= n - args.malicious).then(|| ATTACKS[(i + args.malicious - n) % ATTACKS.len()])).collect();
    let malicious: Vec<usize> = (0..n).filter(|i| attacks[*i].is_some()).collect();

    let spinner =
        ProgressBar::new_spinner().with_message(format!("Groth16 keys for {shape} (setup runs once, then cached)"));
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let store = KeyStore::at(args.keys.clone());
    let keys =
        Arc::new(tokio::task::spawn_blocking(move || store.load_or_setup(shape, &mut rand::rngs::OsRng)).await??);
    spinner.finish_with_message(format!("keys for {shape} ready in {:.1} s", keys.seconds));

    let anvil = Anvil::at(&args.anvil)
        .args(["--accounts", &(n + 2).to_string(), "--balance", "1000"])
        .try_spawn()
        .with_context(|| format!("starting anvil from {} (run `make contracts-deps`)", args.anvil.display()))?;
    let (endpoint, chain_id, anvil_keys) = (anvil.endpoint(), anvil.chain_id(), anvil.keys().to_vec());
    let connect = |i: usize| Chain::connect(&endpoint, Some(chain_id), PrivateKeySigner::from(anvil_keys[i].clone()));
    let owner = connect(0).await?;
    let aggregator_chain = connect(1).await?;
    let stack = deploy_stack(&owner, &keys.vk).await?;
    let dir = tempfile::tempdir()?;
    let storage = Storage::open(&dir.path().join("blobs").to_string_lossy())?;
    // The aggregator's age key: trainers seal their updates to its public half (in the job spec).
    let sealing = Arc::new(AggregatorKey::generate());

    let data = load_digits()?;
    let (train, test) = train_test_split(&data, 0.2, args.seed)?;
    let shards: Vec<Dataset> = dirichlet_partition(&train.labels, n, args.alpha, 20, args.seed)?
        .iter()
        .map(|rows| train.select(rows))
        .collect();
    let fp = FixedPointConfig::default();
    let initial = fp.model().encode(&Mlp::init(args.seed).to_flat(), Rounding::Nearest)?;
    // A Sybil copies the previous malicious trainer: same data and seed, so the same update.
    let source = |i: usize| {
        let twin = if attacks[i] == Some(Attack::Sybil) && i > 0 { i - 1 } else { i };
        MlpSource::new(shards[twin].clone(), LOCAL, args.seed * 1000 + twin as u64, attacks[i].or(attacks[twin]))
    };

    let spec = JobSpec {
        trainers: n as u8,
        rounds: args.rounds,
        budget: 10 * WEI_PER_ETH,
        stake: WEI_PER_ETH / 10,
        bond: WEI_PER_ETH,
        aggregator: aggregator_chain.address,
        verifier: stack.verifier,
        max_malicious: args.malicious as u8,
        tau: encode_tau(args.tau)?,
        lr: encode_lr(ETA, &fp.update(), &fp.model())?,
        lr_decay: 0,
        dup_tol: PARAM_COUNT as u32,
        start_delay: 8,
        submit_window: 3600,
        finalize_window: 3600,
        dispute_window: 60,
        initial_model: initial.clone(),
        architecture: MLP_ARCHITECTURE.into(),
        aggregator_recipient: sealing.recipient(),
    };
    let job_id = create_job(&owner, stack.market, &storage, &spec).await?;

    // The aggregator and the trainers run concurrently and meet only through chain and storage.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let agg_view = JobView::load(&aggregator_chain, stack.market, job_id, &storage).await?;
    let agg = {
        // Trainers store their sealed updates before committing, so no upload grace is needed.
        let settings =
            aggregator::Settings { keys: Arc::clone(&keys), sealing: sealing.clone(), upload_grace: Duration::ZERO };
        let (view, storage) = (agg_view.clone(), storage.clone());
        tokio::spawn(
            async move { aggregator::run(&view, &storage, &settings, move |r| drop(tx.send(r.clone()))).await },
        )
    };
    let mut trainer_views = Vec::new();
    let mut trainer_tasks = Vec::new();
    for i in 0..n {
        let view = JobView::load(&connect(2 + i).await?, stack.market, job_id, &storage).await?;
        trainer::join(&view).await?;
        let (v, storage, mut src) = (view.clone(), storage.clone(), source(i));
        trainer_tasks
            .push(tokio::spawn(async move { trainer::run(&v, &storage, None, &mut src, Upload::Honest).await }));
        trainer_views.push(view);
    }

    let bar = ProgressBar::new(args.rounds as u64).with_style(
        ProgressStyle::with_template("{bar:30} round {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("training, proving, settling…");
    let mut rows = Vec::new();
    let mut final_model = initial.clone();
    while let Some(r) = rx.recv().await {
        let accuracy = Mlp::from_flat(&fp.model().decode(&r.new_model))?.accuracy(&test);
        let flagged = (0..n).filter(|&i| r.submitted[i] && !r.inliers[i]).collect();
        rows.push(RoundRow {
            round: r.round,
            accuracy,
            flagged,
            malicious: malicious.clone(),
            scores: r.scores.clone(),
            prove_seconds: r.prove_seconds,
            finalize_gas: r.finalize_gas,
            tx: r.tx.clone(),
        });
        final_model = r.new_model.clone();
        bar.inc(1);
        bar.println(format!(
            "round {}: accuracy {:.2}%, flagged {:?}, proved in {:.1} s",
            r.round,
            100.0 * accuracy,
            rows.last().map(|x| &x.flagged),
            r.prove_seconds
        ));
    }
    bar.finish_with_message("done");
    agg.await??;
    for t in trainer_tasks {
        t.await??;
    }

    let mut payouts = Vec::new();
    for view in &trainer_views {
        payouts.push(trainer::withdraw(view, None).await?);
    }
    let registry = owner.registry(stack.registry);
    let mut reliability = Vec::new();
    for view in &trainer_views {
        let id = B256::left_padding_from(view.chain.address.as_slice());
        let rec =
            registry.get(id).call().await.map_err(|e| crate::chain::client::call_error("reading reliability", e))?;
        reliability.push(rec.score as f64 / 1e18);
    }
    let recompute = audit::Recompute { storage: &storage, key: &sealing };
    let audit_rows = audit::audit(&agg_view, &keys.vk, Some(recompute)).await?;

    let spinner = ProgressBar::new_spinner().with_message("FedAvg baselines off-chain (clean and under attack)");
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let clean_accuracy = baseline::fedavg(
        &initial,
        &mut (0..n)
            .map(|i| MlpSource::new(shards[i].clone(), LOCAL, args.seed * 1000 + i as u64, None))
            .collect::<Vec<_>>(),
        args.rounds,
        ETA,
        &test,
    )?;
    let fedavg_attacked_accuracy =
        baseline::fedavg(&initial, &mut (0..n).map(source).collect::<Vec<_>>(), args.rounds, ETA, &test)?;
    spinner.finish_and_clear();

    let total: U256 = payouts.iter().copied().sum();
    let honest: U256 = payouts.iter().enumerate().filter(|(i, _)| !malicious.contains(i)).map(|(_, p)| *p).sum();
    let (outlier_recall, outlier_false_positive_rate) = DemoReport::detection(&rows, n);
    let report = DemoReport {
        trainers: n,
        malicious: args.malicious,
        rounds: args.rounds,
        clean_accuracy,
        final_accuracy: Mlp::from_flat(&fp.model().decode(&final_model))?.accuracy(&test),
        fedavg_attacked_accuracy,
        outlier_recall,
        outlier_false_positive_rate,
        honest_payout_share: if total.is_zero() { 0.0 } else { honest.to::<u128>() as f64 / total.to::<u128>() as f64 },
        rounds_verified_onchain: audit_rows.iter().filter(|r| r.onchain).count(),
        audit_ok: audit_rows.len() == args.rounds as usize && audit_rows.iter().all(|r| r.ok()),
        payouts_wei: payouts.iter().map(U256::to_string).collect(),
        reliability,
        seconds: clock.elapsed().as_secs_f64(),
        per_round: rows,
    };
    println!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    anyhow::ensure!(report.audit_ok, "the audit of the demo job failed");
    if let Some(listen) = args.serve {
        serve::serve_until_interrupted(serve::DemoService {
            rpc: anvil.endpoint_url(),
            market: stack.market,
            owner: PrivateKeySigner::from(anvil_keys[0].clone()),
            job_id,
            accuracy: report.per_round.iter().map(|r| r.accuracy).collect(),
            listen,
            dir: dir.path(),
        })
        .await?;
    }
    Ok(())
}
