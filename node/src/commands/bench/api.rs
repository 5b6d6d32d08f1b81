//! `fedproof bench api`: the REST API under load. Spawns anvil, deploys the contracts, creates a
//! job with trainers, serves it in-process on loopback (SQLite), and fires concurrent requests at
//! the job's page: requests per second, p50 and p99 latency; then 100 concurrent intake uploads
//! (10 jobs x 10 trainers, each committed on-chain), counted stored.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::network::EthereumWallet;
use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{aliases::U40, Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Args;
use fedproof::progress;
use fedproof::roles::intake::upload_body;
use fedproof::roles::job::job_domain;
use fedproof_contracts::{JobMarket, ReliabilityRegistry, RoundVerifierDemo};
use fedproof_storage::codec::UpdateBlob;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_web_api::indexer::IndexerConfig;
use fedproof_web_api::serve::{self, ServeConfig};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::commands::args::{AnvilArgs, OutputArgs, ReportArgs};

/// Options of `fedproof bench api`.
#[derive(Args)]
pub struct ApiArgs {
    /// Requests to send.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[command(flatten)]
    anvil: AnvilArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// The read figures.
#[derive(Serialize)]
struct ReadFigures {
    endpoint: String,
    requests: usize,
    concurrency: usize,
    errors: usize,
    seconds: f64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// The intake figures.
#[derive(Serialize)]
struct IntakeFigures {
    concurrent_uploads: usize,
    accepted: usize,
    stored: usize,
}

/// The benchmark's JSON document.
#[derive(Serialize)]
struct Figures {
    read: ReadFigures,
    intake: IntakeFigures,
}

impl ApiArgs {
    /// Runs the benchmark and prints (and writes) its figures.
    pub fn run(self) -> anyhow::Result<()> {
        let figures = crate::commands::block_on(self.measure())?;
        self.output.print(&figures, || figures.text())?;
        self.report.write(&figures)
    }

    /// Deploys and serves, then measures reads and the intake.
    async fn measure(&self) -> anyhow::Result<Figures> {
        let bar = progress::spinner("deploying contracts and a job on anvil");
        let net = BenchChain::start(&self.anvil.anvil).await?;
        net.create_jobs().await?;
        let service = Service::start(&net).await?;
        bar.finish_and_clear();
        let read = measure_reads(service.server.addr, self.requests, self.concurrency).await?;
        let intake = measure_intake(&net, &service).await?;
        service.server.shutdown().await;
        Ok(Figures { read, intake })
    }
}

impl Figures {
    fn text(&self) -> String {
        let (r, i) = (&self.read, &self.intake);
        format!(
            "{}: {} requests, {} concurrent, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors\n\
             intake: {} concurrent uploads, {} answered 201, {} stored",
            r.endpoint,
            r.requests,
            r.concurrency,
            r.requests_per_second,
            r.p50_ms,
            r.p99_ms,
            r.errors,
            i.concurrent_uploads,
            i.accepted,
            i.stored
        )
    }
}

/// Anvil with the stack deployed: account 0 administers, 1 aggregates, 2.. train.
struct BenchChain {
    _anvil: AnvilInstance,
    signers: Vec<PrivateKeySigner>,
    provider: DynProvider,
    market: JobMarket::JobMarketInstance<DynProvider>,
    verifier: Address,
    endpoint: url::Url,
}

impl BenchChain {
    /// Spawns anvil and deploys registry, market and the demo verifier (approved).
    async fn start(anvil: &Path) -> anyhow::Result<Self> {
        // The demo verifier is for 10 trainers: owner, aggregator and 10 trainers need 12 accounts.
        let instance = fedproof::chain::anvil::spawn(anvil, 12)?;
        let signers: Vec<PrivateKeySigner> =
            instance.keys().iter().map(|k| PrivateKeySigner::from(k.clone())).collect();
        let mut wallet = EthereumWallet::from(signers[0].clone());
        for s in &signers[1..] {
            wallet.register_signer(s.clone());
        }
        let provider = ProviderBuilder::new().wallet(wallet).connect_http(instance.endpoint_url()).erased();
        let admin = signers[0].address();
        let registry = ReliabilityRegistry::deploy(&provider, admin, U256::from(200_000_000_000_000_000u64)).await?;
        let market = JobMarket::deploy(provider.clone(), *registry.address(), admin).await?;
        let verifier = *RoundVerifierDemo::deploy(&provider).await?.address();
        market.setVerifierApproval(verifier, true).send().await?.get_receipt().await?;
        let endpoint = instance.endpoint_url();
        Ok(BenchChain { _anvil: instance, signers, provider, market, verifier, endpoint })
    }

    fn aggregator(&self) -> &PrivateKeySigner {
        &self.signers[1]
    }

    fn trainers(&self) -> &[PrivateKeySigner] {
        &self.signers[2..]
    }

    /// Creates [`JOBS`] one-round jobs, each bonded and joined by every trainer: JOBS x 10 slots
    /// for the concurrent intake uploads.
    async fn create_jobs(&self) -> anyhow::Result<()> {
        let now = self.provider.get_block(BlockId::latest()).await?.context("no block")?.header.timestamp;
        let budget = 1_000_000_000_000_000_000u128;
        let params = JobMarket::JobParams {
            token: Address::ZERO,
            budget,
            stake: 1,
            bond: budget, // JobMarket requires at least a round's budget
            aggregator: self.aggregator().address(),
            verifier: self.verifier,
            specHash: B256::repeat_byte(1),
            specURI: "ipfs://bench".into(),
            initialModel: U256::from(1),
            rounds: 1,
            trainers: u16::try_from(self.trainers().len())?,
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
        let market = &self.market;
        for job in 1..=JOBS {
            market.createJob(params.clone()).value(U256::from(budget)).send().await?.get_receipt().await?;
            let id = U256::from(job);
            let bond = market.postBond(id).value(U256::from(budget)).from(self.aggregator().address());
            bond.send().await?.get_receipt().await?;
            for s in self.trainers() {
                market.join(id).value(U256::from(1)).from(s.address()).send().await?.get_receipt().await?;
            }
        }
        Ok(())
    }
}

/// The web API served in-process on loopback (SQLite and blobs in a temp dir), with the
/// aggregator's receipt and sealing keys.
struct Service {
    server: serve::Server,
    recipient: String,
    _dir: tempfile::TempDir,
}

impl Service {
    /// Starts serving and waits until the indexer has caught up with the chain.
    async fn start(net: &BenchChain) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let sealing_key = Arc::new(AggregatorKey::generate());
        let recipient = sealing_key.recipient();
        let server = serve::start(ServeConfig {
            db_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
            rpc_url: net.endpoint.clone(),
            public_rpc_url: None,
            market: *net.market.address(),
            listen: "127.0.0.1:0".parse()?,
            indexer: IndexerConfig { confirmations: 0, poll: Duration::from_millis(50), ..Default::default() },
            dashboard: None,
            aggregator: Some(net.aggregator().clone()),
            sealing_key: Some(sealing_key),
            blobs: Some(dir.path().join("blobs").display().to_string()),
            keys: Default::default(),
            limits: Default::default(),
        })
        .await?;
        let head = net.provider.get_block_number().await? as i64;
        while server.db.cursor("chain").await?.unwrap_or(-1) < head {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Service { server, recipient, _dir: dir })
    }
}

/// Fires `requests` GETs of job 1's page over `concurrency` connections: rate and latency.
async fn measure_reads(addr: SocketAddr, requests: usize, concurrency: usize) -> anyhow::Result<ReadFigures> {
    let url = Arc::new(format!("http://{addr}/api/jobs/1"));
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    // Warm up connections and caches.
    for _ in 0..concurrency {
        client.get(url.as_str()).send().await?.bytes().await?;
    }
    let bar = progress::bar(requests as u64, "requests");
    let per_task = requests.div_ceil(concurrency.max(1));
    let clock = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(get_repeatedly(client.clone(), url.clone(), per_task, bar.clone())))
        .collect();
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
    Ok(ReadFigures {
        endpoint: "GET /api/jobs/{id}".into(),
        requests: latencies.len(),
        concurrency,
        errors,
        seconds,
        requests_per_second: latencies.len() as f64 / seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    })
}

/// One connection's share of the reads: each request's latency, and how many failed.
async fn get_repeatedly(
    client: reqwest::Client,
    url: Arc<String>,
    count: usize,
    bar: ProgressBar,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::with_capacity(count);
    let mut errors = 0usize;
    for _ in 0..count {
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
}

/// Every trainer uploads to every job at once: how many the intake accepted and stored.
async fn measure_intake(net: &BenchChain, service: &Service) -> anyhow::Result<IntakeFigures> {
    let accepted = intake(&net.provider, &net.market, net.trainers(), &service.recipient, service.server.addr).await?;
    let mut stored = 0;
    for job in 1..=JOBS {
        stored += service.server.db.uploads(job as i64, 0).await?.len();
    }
    Ok(IntakeFigures { concurrent_uploads: JOBS as usize * net.trainers().len(), accepted, stored })
}

/// Jobs of the intake phase (10 trainer slots each: 100 uploads).
const JOBS: u64 = 10;

/// Opens round 0 of every job, lets each trainer commit on-chain, then sends every sealed update
/// at once; returns how many were answered 201.
async fn intake(
    provider: &DynProvider,
    market: &JobMarket::JobMarketInstance<DynProvider>,
    trainers: &[PrivateKeySigner],
    recipient: &str,
    addr: SocketAddr,
) -> anyhow::Result<usize> {
    let bar = progress::spinner("opening rounds and committing updates on-chain");
    let _: serde_json::Value = provider.raw_request("evm_increaseTime".into(), (1_000u64,)).await?;
    let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await?;
    let mut bodies = Vec::new();
    let chain_id = provider.get_chain_id().await?;
    for job in 1..=JOBS {
        let roster_hash = market.jobState(U256::from(job)).call().await?.rosterHash;
        let domain = job_domain(chain_id, *market.address(), job, roster_hash);
        for (i, t) in trainers.iter().enumerate() {
            // A small deterministic update per (job, trainer): the intake's checks do not depend on its size.
            let values: Vec<i64> = (0..64).map(|k| ((job as i64 * 31 + i as i64 * 7 + k) % 200) - 100).collect();
            let c = fedproof_prover::commitment::commit_update(domain, 0, i, &values)?;
            let commitment = U256::from_be_bytes(fedproof_prover::export::field::to_word(&c));
            let blob = UpdateBlob { job_id: job, round: 0, slot: i as u32, values };
            let sealed = fedproof_storage::sealed::seal(recipient, &blob.encode())?;
            market
                .submitUpdate(U256::from(job), 0, commitment, fedproof_storage::blob_ref_of(&sealed))
                .from(t.address())
                .send()
                .await?
                .get_receipt()
                .await?;
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
