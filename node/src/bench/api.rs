//! `fedproof bench api`: the REST API under load. Spawns anvil, deploys the contracts, creates a
//! job with trainers, serves it in-process on loopback (SQLite), and fires concurrent requests at
//! the job's page: requests per second, p50 and p99 latency; then 100 concurrent intake uploads
//! (10 jobs x 10 trainers, each committed on-chain), counted stored.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::node_bindings::Anvil;
use alloy::primitives::{aliases::U40, Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Args;
use fedproof::roles::intake::upload_body;
use fedproof_contracts::{JobMarket, ReliabilityRegistry, RoundVerifierDemo};
use fedproof_storage::codec::UpdateBlob;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_web_api::indexer::IndexerConfig;
use fedproof_web_api::serve::{self, ServeConfig};
use serde::Serialize;

/// Options of `fedproof bench api`.
#[derive(Args)]
pub struct ApiArgs {
    /// Requests to send.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// The anvil binary.
    #[arg(long, default_value = "contracts/node_modules/.bin/anvil")]
    anvil: PathBuf,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The measured figures.
#[derive(Serialize)]
struct Figures {
    endpoint: String,
    requests: usize,
    concurrency: usize,
    errors: usize,
    seconds: f64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs the benchmark.
pub fn run(args: ApiArgs) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(bench(args))
}

async fn bench(args: ApiArgs) -> anyhow::Result<()> {
    let bar = super::progress("deploying contracts and a job on anvil".into());
    // The demo verifier is for 10 trainers: owner, aggregator and 10 trainers need 12 accounts.
    let anvil = Anvil::at(&args.anvil)
        .args(["--accounts", "12"])
        .try_spawn()
        .with_context(|| format!("spawning {}", args.anvil.display()))?;
    let signers: Vec<PrivateKeySigner> = anvil.keys().iter().map(|k| PrivateKeySigner::from(k.clone())).collect();
    let mut wallet = EthereumWallet::from(signers[0].clone());
    for s in &signers[1..] {
        wallet.register_signer(s.clone());
    }
    let provider = ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url()).erased();
    let admin = signers[0].address();
    let registry = ReliabilityRegistry::deploy(&provider, admin, U256::from(200_000_000_000_000_000u64)).await?;
    let market = JobMarket::deploy(&provider, *registry.address(), admin).await?;
    let verifier = RoundVerifierDemo::deploy(&provider).await?;
    market.setVerifierApproval(*verifier.address(), true).send().await?.get_receipt().await?;
    let trainers = signers.len() - 2;
    let now = provider.get_block(alloy::eips::BlockId::latest()).await?.context("no block")?.header.timestamp;
    let budget = 1_000_000_000_000_000_000u128;
    let params = JobMarket::JobParams {
        token: Address::ZERO,
        budget,
        stake: 1,
        bond: 1,
        aggregator: signers[1].address(),
        verifier: *verifier.address(),
        specHash: B256::repeat_byte(1),
        specURI: "ipfs://bench".into(),
        initialModel: U256::from(1),
        rounds: 1,
        trainers: trainers as u8,
        maxMalicious: 1,
        tau: 3 << 15,
        lr: 64,
        lrDecay: 0,
        dupTol: 1,
        startTime: U40::from(now + 1_000),
        submitWindow: 3_600,
        finalizeWindow: 3_600,
        disputeWindow: 3_600,
    };
    // Every trainer joins every job: JOBS x 10 slots for the concurrent intake uploads.
    for job in 1..=JOBS {
        market.createJob(params.clone()).value(U256::from(budget)).send().await?.get_receipt().await?;
        let id = U256::from(job);
        market.postBond(id).value(U256::from(1)).from(signers[1].address()).send().await?.get_receipt().await?;
        for s in &signers[2..] {
            market.join(id).value(U256::from(1)).from(s.address()).send().await?.get_receipt().await?;
        }
    }
    let dir = tempfile::tempdir()?;
    let sealing_key = Arc::new(AggregatorKey::generate());
    let recipient = sealing_key.recipient();
    let server = serve::start(ServeConfig {
        db_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
        rpc_url: anvil.endpoint_url(),
        public_rpc_url: None,
        market: *market.address(),
        listen: "127.0.0.1:0".parse()?,
        indexer: IndexerConfig { confirmations: 0, poll: Duration::from_millis(50), ..Default::default() },
        dashboard: None,
        aggregator: Some(signers[1].clone()),
        sealing_key: Some(sealing_key),
        blobs: Some(dir.path().join("blobs").display().to_string()),
        keys: Default::default(),
    })
    .await?;
    let head = provider.get_block_number().await? as i64;
    while server.db.cursor("chain").await?.unwrap_or(-1) < head {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bar.finish_and_clear();

    let url = Arc::new(format!("http://{}/api/jobs/1", server.addr));
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    // Warm up connections and caches.
    for _ in 0..args.concurrency {
        client.get(url.as_str()).send().await?.bytes().await?;
    }
    let bar = indicatif::ProgressBar::new(args.requests as u64);
    let per_task = args.requests.div_ceil(args.concurrency.max(1));
    let clock = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, url, bar) = (client.clone(), url.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_task);
            let mut errors = 0usize;
            for _ in 0..per_task {
                let start = Instant::now();
                match client.get(url.as_str()).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                latencies.push(start.elapsed());
                bar.inc(1);
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors += e;
    }
    let seconds = clock.elapsed().as_secs_f64();
    bar.finish_and_clear();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64() * 1e3;
    let figures = Figures {
        endpoint: "GET /api/jobs/{id}".into(),
        requests: latencies.len(),
        concurrency: args.concurrency,
        errors,
        seconds,
        requests_per_second: latencies.len() as f64 / seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    };
    let stored = intake(&provider, &market, &signers[2..], &recipient, server.addr).await?;
    let uploads_stored = {
        let mut n = 0;
        for job in 1..=JOBS {
            n += server.db.uploads(job as i64, 0).await?.len();
        }
        n
    };
    server.shutdown().await;
    println!(
        "{}: {} requests, {} concurrent, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
        figures.endpoint,
        figures.requests,
        figures.concurrency,
        figures.requests_per_second,
        figures.p50_ms,
        figures.p99_ms,
        figures.errors
    );
    println!(
        "intake: {} concurrent uploads, {} answered 201, {} stored",
        JOBS as usize * signers[2..].len(),
        stored,
        uploads_stored
    );
    let figures = serde_json::json!({ "read": figures, "intake": {
        "concurrent_uploads": JOBS as usize * signers[2..].len(), "accepted": stored, "stored": uploads_stored } });
    if let Some(path) = &args.json {
        super::write_json(path, &figures)?;
    }
    Ok(())
}

/// Jobs of the intake phase (10 trainer slots each: 100 uploads).
const JOBS: u64 = 10;

/// Opens round 0 of every job, lets each trainer commit on-chain, then sends every sealed update
/// at once; returns how many were answered 201.
async fn intake(
    provider: &alloy::providers::DynProvider,
    market: &JobMarket::JobMarketInstance<&alloy::providers::DynProvider>,
    trainers: &[PrivateKeySigner],
    recipient: &str,
    addr: std::net::SocketAddr,
) -> anyhow::Result<usize> {
    let bar = super::progress("opening rounds and committing updates on-chain".into());
    let _: serde_json::Value = provider.raw_request("evm_increaseTime".into(), (1_000u64,)).await?;
    let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await?;
    let mut bodies = Vec::new();
    for job in 1..=JOBS {
        for (i, t) in trainers.iter().enumerate() {
            // A small deterministic update per (job, trainer): the intake's checks do not depend on its size.
            let values: Vec<i64> = (0..64).map(|k| ((job as i64 * 31 + i as i64 * 7 + k) % 200) - 100).collect();
            let c = fedproof_prover::commitment::commit_update(job, 0, &values)?;
            let commitment = U256::from_be_bytes(fedproof_prover::export::field::to_word(&c));
            market
                .submitUpdate(U256::from(job), 0, commitment, B256::ZERO)
                .from(t.address())
                .send()
                .await?
                .get_receipt()
                .await?;
            let blob = UpdateBlob { job_id: job, round: 0, slot: i as u32, values };
            let sealed = fedproof_storage::sealed::seal(recipient, &blob.encode())?;
            bodies.push((job, upload_body(t, job, 0, commitment, &sealed)?));
        }
    }
    bar.finish_and_clear();
    let client = reqwest::Client::new();
    let uploads = bodies.into_iter().map(|(job, body)| {
        let client = client.clone();
        async move {
            let url = format!("http://{addr}/api/jobs/{job}/rounds/0/updates");
            matches!(client.post(url).json(&body).send().await, Ok(r) if r.status().as_u16() == 201)
        }
    });
    Ok(futures::future::join_all(uploads).await.into_iter().filter(|ok| *ok).count())
}
