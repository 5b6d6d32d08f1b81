//! `fedproof demo --serve ADDR`: after the demo, keep its chain up and serve the job through the
//! REST API and dashboard (with the owner's held-out accuracy per round) until interrupted.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use anyhow::Context;
use fedproof_web_api::http::schema::metrics_message;
use fedproof_web_api::indexer::IndexerConfig;
use fedproof_web_api::serve::{self, ServeConfig};

/// What the demo hands over to the server.
pub struct DemoService<'a> {
    /// The anvil endpoint.
    pub rpc: url::Url,
    /// The deployed JobMarket.
    pub market: Address,
    /// The job owner (signs the accuracy it measured on its held-out set).
    pub owner: PrivateKeySigner,
    /// The demo's job.
    pub job_id: u64,
    /// Held-out accuracy after each round, in round order.
    pub accuracy: Vec<f64>,
    /// Where the server listens.
    pub listen: SocketAddr,
    /// Directory for the SQLite database.
    pub dir: &'a Path,
}

/// Starts the service, waits until it has indexed the whole demo, posts the accuracy per round,
/// prints the dashboard's URL and serves until SIGINT (Ctrl-C) or SIGTERM.
pub async fn serve_until_interrupted(demo: DemoService<'_>) -> anyhow::Result<()> {
    let dashboard = Path::new("web-api/dashboard");
    let config = ServeConfig {
        db_url: format!("sqlite://{}", demo.dir.join("demo.db").display()),
        rpc_url: demo.rpc.clone(),
        public_rpc_url: None,
        market: demo.market,
        listen: demo.listen,
        indexer: IndexerConfig { confirmations: 0, start_block: 0, ..Default::default() },
        dashboard: dashboard.join("index.html").exists().then(|| dashboard.to_path_buf()),
        aggregator: None,
        sealing_key: None,
        blobs: None,
        keys: HashMap::new(), // read from the job's verifier contract
        limits: Default::default(),
    };
    let server = serve::start(config).await.with_context(|| format!("starting the API on {}", demo.listen))?;
    let head = ProviderBuilder::new().connect_http(demo.rpc).get_block_number().await? as i64;
    while server.db.cursor("chain").await?.unwrap_or(-1) < head {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    for (round, accuracy) in demo.accuracy.iter().enumerate() {
        let message = metrics_message(demo.job_id, round, *accuracy);
        let signature = demo.owner.sign_message_sync(message.as_bytes())?;
        let url = format!("{base}/api/jobs/{}/rounds/{round}/metrics", demo.job_id);
        let body = serde_json::json!({ "accuracy": accuracy, "signature": signature.to_string() });
        let res = client.post(&url).json(&body).send().await?;
        anyhow::ensure!(res.status().is_success(), "posting round {round}'s accuracy: {}", res.text().await?);
    }
    eprintln!("\ndashboard: {base}/jobs.html?id={}   API: {base}/api/jobs   (Ctrl-C or SIGTERM to stop)", demo.job_id);
    server
        .run_until(async {
            crate::shutdown::requested().await;
        })
        .await;
    Ok(())
}
