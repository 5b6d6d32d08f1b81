//! `fedproof serve`: the REST API, indexer and dashboard of `fedproof-web-api`, until SIGINT (Ctrl-C) or SIGTERM.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Args;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_web_api::http::Limits;
use fedproof_web_api::indexer::IndexerConfig;
use fedproof_web_api::serve::{self, ServeConfig};

use super::args::OutputArgs;

/// Options of `fedproof serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Database URL: sqlite://FILE (created if missing) or postgres://…
    #[arg(long, default_value = "sqlite://.fedproof/fedproof.db")]
    db: String,
    /// JSON-RPC URL of the chain.
    #[arg(long)]
    rpc: url::Url,
    /// RPC URL the dashboard should use in the browser (default: --rpc).
    #[arg(long)]
    public_rpc: Option<String>,
    /// JobMarket address.
    #[arg(long)]
    market: Address,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Blocks a block needs on top before it is indexed.
    #[arg(long, default_value_t = 2)]
    confirmations: u64,
    /// First block to index (the market's deployment block).
    #[arg(long, default_value_t = 0)]
    start_block: u64,
    /// Directory of the dashboard's static files.
    #[arg(long)]
    dashboard: Option<PathBuf>,
    /// Aggregator private key (hex) that signs upload receipts (default: $FEDPROOF_AGGREGATOR_KEY,
    /// which keeps the key out of the process list).
    #[arg(long)]
    aggregator_key: Option<String>,
    /// The aggregator's age identity file (opens sealed update blobs).
    #[arg(long)]
    sealing_key: Option<PathBuf>,
    /// Where accepted update blobs are stored (path, file:// or s3://).
    #[arg(long)]
    blobs: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
    // With --json, where it listens as one JSON document: `{"listen": "host:port"}`.
    #[command(flatten)]
    output: OutputArgs,
}

impl ServeArgs {
    /// Runs the service until SIGINT (Ctrl-C) or SIGTERM, then shuts down gracefully.
    pub fn run(self) -> anyhow::Result<()> {
        let output = self.output;
        let config = self.config()?;
        crate::commands::block_on(async move {
            let server = serve::start(config).await?;
            let addr = server.addr.to_string();
            output.print(&serde_json::json!({ "listen": addr }), || format!("serving on http://{addr}"))?;
            server
                .run_until(async {
                    fedproof::shutdown::requested().await;
                })
                .await;
            Ok(())
        })
    }

    /// The service's configuration: keys read, the SQLite directory created.
    fn config(self) -> anyhow::Result<ServeConfig> {
        let args = self;
        let aggregator = args
            .aggregator_key
            .or_else(|| std::env::var("FEDPROOF_AGGREGATOR_KEY").ok())
            .as_deref()
            .map(|k| k.parse::<PrivateKeySigner>().context("--aggregator-key is not a hex private key"))
            .transpose()?;
        let sealing_key = args
            .sealing_key
            .as_deref()
            .map(|p| AggregatorKey::load(p).map(Arc::new))
            .transpose()
            .context("reading --sealing-key")?;
        if let Some(rest) = args.db.strip_prefix("sqlite://") {
            if let Some(dir) = std::path::Path::new(rest.split('?').next().unwrap_or(rest)).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                }
            }
        }
        Ok(ServeConfig {
            db_url: args.db,
            rpc_url: args.rpc,
            public_rpc_url: args.public_rpc,
            market: args.market,
            listen: args.listen,
            indexer: IndexerConfig {
                confirmations: args.confirmations,
                start_block: args.start_block,
                ..Default::default()
            },
            dashboard: args.dashboard,
            aggregator,
            sealing_key,
            blobs: args.blobs,
            keys: HashMap::new(),
            limits: args.limits.into(),
        })
    }
}

/// The server's limits (defaults: `fedproof_web_api::http::Limits::default`).
#[derive(Args)]
struct LimitArgs {
    /// Uploads the intake handles at once; more are answered 429 with Retry-After.
    #[arg(long, default_value_t = Limits::default().concurrent_uploads)]
    max_concurrent_uploads: usize,
    /// Uploads one trainer address may send at once after being idle.
    #[arg(long, default_value_t = Limits::default().uploads_per_address_burst)]
    upload_burst: u32,
    /// Uploads one trainer address may send per minute, steadily.
    #[arg(long, default_value_t = Limits::default().uploads_per_address_per_minute)]
    uploads_per_minute: u32,
    /// Seconds a client has to send its request headers.
    #[arg(long, default_value_t = Limits::default().header_timeout.as_secs())]
    header_timeout: u64,
    /// Seconds a request may take, its body included (then 408).
    #[arg(long, default_value_t = Limits::default().request_timeout.as_secs())]
    request_timeout: u64,
}

impl From<LimitArgs> for Limits {
    fn from(a: LimitArgs) -> Self {
        Self {
            concurrent_uploads: a.max_concurrent_uploads,
            uploads_per_address_burst: a.upload_burst,
            uploads_per_address_per_minute: a.uploads_per_minute,
            header_timeout: Duration::from_secs(a.header_timeout),
            request_timeout: Duration::from_secs(a.request_timeout),
        }
    }
}
