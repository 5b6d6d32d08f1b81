//! Starts the whole service in-process: database, indexer and HTTP server, with graceful
//! shutdown. Used by `fedproof serve`, the demo, the tests and the API benchmark.

use crate::db::{Db, DbError};
use crate::http::check_pool::CheckPool;
use crate::http::limits::UploadGate;
use crate::http::{router, AppState, JobPages, JobReads, Limits};
use crate::indexer::{Chain, Indexer, IndexerConfig};
use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Everything the service needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Database URL (`sqlite://…` or `postgres://…`).
    pub db_url: String,
    /// JSON-RPC URL the server reads the chain through.
    pub rpc_url: url::Url,
    /// RPC URL the browser should use (defaults to `rpc_url`).
    pub public_rpc_url: Option<String>,
    /// JobMarket address (the registry is read from it).
    pub market: Address,
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Indexer settings.
    pub indexer: IndexerConfig,
    /// Directory of the dashboard's static files.
    pub dashboard: Option<PathBuf>,
    /// The aggregator's key (signs upload receipts).
    pub aggregator: Option<PrivateKeySigner>,
    /// The aggregator's age key (opens sealed update blobs).
    pub sealing_key: Option<Arc<AggregatorKey>>,
    /// Blob store location (path, file:// or s3://) for accepted updates.
    pub blobs: Option<String>,
    /// Verifying keys by verifier address.
    pub keys: HashMap<Address, VerifyingKey<Bn254>>,
    /// Concurrency, rate and time limits.
    pub limits: Limits,
}

/// Errors starting the service.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// The chain node failed.
    #[error("chain node at the RPC URL: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// Reading the market failed (wrong address?).
    #[error("reading JobMarket: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// The blob store could not be opened.
    #[error("blob store: {0}")]
    Blobs(#[from] fedproof_storage::StorageError),
    /// The intake's check threads could not be started.
    #[error("starting the intake's check threads: {0}")]
    Threads(std::io::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A running service.
#[derive(Debug)]
pub struct Server {
    /// The bound address.
    pub addr: SocketAddr,
    /// The database it serves from.
    pub db: Db,
    stop: watch::Sender<bool>,
    http: JoinHandle<()>,
    indexer: JoinHandle<()>,
}

/// Opens the database, starts the indexer and the HTTP server, and returns once listening.
pub async fn start(config: ServeConfig) -> Result<Server, ServeError> {
    let db = Db::connect(&config.db_url).await?;
    let provider = ProviderBuilder::new().connect_http(config.rpc_url.clone()).erased();
    let chain_id = provider.get_chain_id().await?;
    let registry = fedproof_contracts::JobMarket::new(config.market, &provider).registry().call().await?;
    let chain = Chain { provider, market: config.market, registry };
    let keys = config.keys.iter().map(|(a, vk)| (crate::format::address(a), vk.clone())).collect();
    let job_reads = JobReads::default();
    let state = AppState {
        db: db.clone(),
        chain: chain.clone(),
        chain_id,
        public_rpc: config.public_rpc_url.clone().unwrap_or_else(|| config.rpc_url.to_string()),
        keys: Arc::new(crate::http::VerifyingKeys::new(keys)),
        aggregator: config.aggregator.clone(),
        sealing_key: config.sealing_key.clone(),
        blobs: config.blobs.as_deref().map(Storage::open).transpose()?,
        uploads: UploadGate::new(&config.limits),
        job_reads: job_reads.clone(),
        job_pages: JobPages::default(),
        checks: CheckPool::new().map_err(ServeError::Threads)?,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: config.listen, source })?;
    let (stop, stopped) = watch::channel(false);
    let indexer = Indexer::new(chain, db.clone(), config.indexer.clone()).invalidating(job_reads);
    let indexer = tokio::spawn(indexer.run(stopped.clone()));
    let app = router(state, config.dashboard.as_deref(), config.limits.request_timeout);
    let mut stopped_http = stopped;
    let http = tokio::spawn(crate::http::serve(listener, app, config.limits.header_timeout, async move {
        let _ = stopped_http.wait_for(|s| *s).await;
    }));
    tracing::info!(%addr, "serving");
    Ok(Server { addr, db, stop, http, indexer })
}

impl Server {
    /// Stops accepting requests, lets in-flight ones finish, stops the indexer.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.http.await {
            tracing::warn!(error = %e, "HTTP server task failed");
        }
        let _ = self.indexer.await;
        self.db.close().await;
    }

    /// Runs until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}
