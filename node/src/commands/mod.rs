//! The role subcommands: argument parsing and printing around the library's roles. Each prints
//! text, or one JSON document with `--json`.

pub mod aggregator;
pub mod audit;
pub mod data;
pub mod deploy;
pub mod owner;
pub mod trainer;

use std::path::PathBuf;

use alloy::primitives::Address;
use clap::Args;
use fedproof::chain::{Chain, Connection};
use fedproof::roles::JobView;
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
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A job on a market, and the storage its blobs live in.
#[derive(Args, Clone, Debug)]
pub struct JobArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// JobMarket address.
    #[arg(long)]
    pub market: Address,
    /// Job id.
    #[arg(long)]
    pub job: u64,
    /// Blob storage: a directory, file://… or s3://bucket/prefix (AWS_* variables configure S3).
    #[arg(long, default_value = ".fedproof/storage")]
    pub storage: String,
}

impl ChainArgs {
    /// Connects with the configured signer.
    pub async fn connect(&self) -> anyhow::Result<Chain> {
        let conn = Connection { rpc: self.rpc.clone(), chain_id: self.chain_id, keystore: self.keystore.clone() };
        Ok(conn.connect().await?)
    }
}

impl JobArgs {
    /// Connects, opens storage and loads the job.
    pub async fn open(&self) -> anyhow::Result<(JobView, Storage)> {
        let chain = self.chain.connect().await?;
        let storage = Storage::open(&self.storage)?;
        let job = JobView::load(&chain, self.market, self.job, &storage).await?;
        Ok((job, storage))
    }
}

/// Prints `value` as JSON, or `text` otherwise.
pub fn print<T: Serialize>(json: bool, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text());
    }
    Ok(())
}

/// Runs an async command on a fresh runtime.
pub fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(f)
}
