//! Options shared by the commands, each declared once and flattened in: where to connect
//! ([`ChainArgs`]), which market and job ([`MarketArgs`], [`JobArgs`]), the key cache
//! ([`KeysArgs`]), a circuit shape ([`ShapeArgs`]), the prover work queue ([`QueueArgs`]), and what to print ([`OutputArgs`]: text, or
//! one JSON document with `--json`) or write ([`ReportArgs`]: `--report FILE`).

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use anyhow::Context;
use clap::Args;
use fedproof::chain::{Chain, Connection};
use fedproof::proving::queue::Queue;
use fedproof::roles::JobView;
use fedproof_prover::keys::KeyStore;
use fedproof_prover::shape::Shape;
use fedproof_storage::Storage;
use serde::Serialize;

/// Where the node connects and as whom.
#[derive(Args, Clone, Debug)]
pub struct ChainArgs {
    /// HTTP RPC URL of the Ethereum node.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    pub rpc: String,
    /// Expected chain id (refuse to run on another network).
    #[arg(long)]
    pub chain_id: Option<u64>,
    /// Encrypted JSON keystore (password in FEDPROOF_KEYSTORE_PASSWORD); default: the key in
    /// FEDPROOF_PRIVATE_KEY.
    #[arg(long)]
    pub keystore: Option<PathBuf>,
}

impl ChainArgs {
    /// Connects with the configured signer.
    pub async fn connect(&self) -> anyhow::Result<Chain> {
        let conn = Connection { rpc: self.rpc.clone(), chain_id: self.chain_id, keystore: self.keystore.clone() };
        Ok(conn.connect().await?)
    }
}

/// A market on a chain, and the storage its blobs live in.
#[derive(Args, Clone, Debug)]
pub struct MarketArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// JobMarket address.
    #[arg(long)]
    pub market: Address,
    /// Blob storage: a directory, file://… or s3://bucket/prefix (AWS_* variables configure S3).
    #[arg(long, default_value = ".fedproof/storage")]
    pub storage: String,
}

impl MarketArgs {
    /// Connects and opens storage.
    pub async fn open(&self) -> anyhow::Result<(Chain, Storage)> {
        let chain = self.chain.connect().await?;
        let storage = Storage::open(&self.storage)?;
        Ok((chain, storage))
    }
}

/// A job on a market.
#[derive(Args, Clone, Debug)]
pub struct JobArgs {
    #[command(flatten)]
    pub market: MarketArgs,
    /// Job id.
    #[arg(long)]
    pub job: u64,
}

impl JobArgs {
    /// Connects, opens storage and loads the job.
    pub async fn open(&self) -> anyhow::Result<(JobView, Storage)> {
        let (chain, storage) = self.market.open().await?;
        let job = JobView::load(&chain, self.market.market, self.job, &storage).await?;
        Ok((job, storage))
    }
}

/// The Groth16 key cache.
#[derive(Args, Clone, Debug)]
pub struct KeysArgs {
    /// Key cache directory (default: $FEDPROOF_HOME/keys or .fedproof/keys).
    #[arg(long)]
    pub keys: Option<PathBuf>,
}

impl KeysArgs {
    /// The key store.
    pub fn store(&self) -> KeyStore {
        KeyStore::at(self.keys.clone())
    }
}

/// A circuit shape: trainer slots × model parameters.
#[derive(Args, Clone, Debug)]
pub struct ShapeArgs {
    /// Trainer slots n.
    #[arg(long, default_value_t = 10)]
    pub trainers: usize,
    /// Model parameters d.
    #[arg(long, default_value_t = 2410)]
    pub params: usize,
}

impl ShapeArgs {
    /// The checked shape.
    pub fn shape(&self) -> anyhow::Result<Shape> {
        Ok(Shape::new(self.trainers, self.params)?)
    }
}

/// The anvil binary a local chain is spawned from (`demo`, `bench api`).
#[derive(Args, Clone, Debug)]
pub struct AnvilArgs {
    /// The anvil binary.
    #[arg(long, default_value = "contracts/node_modules/.bin/anvil")]
    pub anvil: PathBuf,
}

/// What a command prints on stdout: text, or one JSON document. Human progress goes to stderr.
#[derive(Args, Clone, Copy, Debug)]
pub struct OutputArgs {
    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    /// Prints `value` as one JSON document (one line) with `--json`, else `text`.
    pub fn print<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string(value)?);
        } else {
            println!("{}", text());
        }
        Ok(())
    }
}

/// Where benchmarks and the demo also write their JSON document.
#[derive(Args, Clone, Debug)]
pub struct ReportArgs {
    /// Also write the JSON document (what --json prints) to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

impl ReportArgs {
    /// Writes `value` as pretty JSON to `--report`, if given.
    pub fn write(&self, value: &impl Serialize) -> anyhow::Result<()> {
        if let Some(path) = &self.report {
            write_json(path, value)?;
            eprintln!("report written to {}", path.display());
        }
        Ok(())
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(value)?).with_context(|| format!("writing {}", path.display()))
}

/// The prover work queue on NATS JetStream (`aggregator run`, `prover worker`).
#[derive(Args, Clone, Debug)]
pub struct QueueArgs {
    /// NATS server of the prover work queue (for example nats://127.0.0.1:4222). Without it,
    /// `aggregator run` proves in this process.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// The work queue's name: its stream; results go to the bucket `NAME-results`.
    #[arg(long, value_name = "NAME", default_value = fedproof::proving::queue::DEFAULT_QUEUE)]
    pub queue: String,
}

impl QueueArgs {
    /// Connects to the queue when `--nats` is given.
    pub async fn connect(&self) -> anyhow::Result<Option<Queue>> {
        match &self.nats {
            Some(url) => Ok(Some(Queue::connect(url, &self.queue).await?)),
            None => Ok(None),
        }
    }
}
