//! The dashboard in a real browser: a short, really proven job on anvil (the shared test support),
//! the real server indexing it and serving `web-api/dashboard/`, the owner's accuracy published
//! through the API, then `web-api/dashboard/test/browser.mjs` in headless Chromium (Debian's:
//! `make chromium`; npm packages: `make dashboard-deps`). The script checks the pages against the
//! API, clicks "Verify on-chain" and creates a job through the page; this test passes only if it
//! exits 0.

mod support;

use alloy::signers::SignerSync;
use fedproof_web_api::serve::{self, ServeConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::chain::{Stack, SubmittedRound};
use support::{server, Engine, TestDb};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("web-api is in the workspace").to_path_buf()
}

/// Runs the browser script against `url`; panics with its output unless it exits 0.
fn run_browser_script(url: &str) {
    let root = repo_root();
    let dashboard = root.join("web-api/dashboard");
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(chromium.exists(), "{} is missing: run `make chromium` (Debian's chromium)", chromium.display());
    assert!(
        dashboard.join("node_modules/playwright-core").exists() && dashboard.join("vendor/ethers.min.js").exists(),
        "the dashboard's npm packages are missing: run `make dashboard-deps`"
    );
    let output = Command::new("node")
        .arg(dashboard.join("test/browser.mjs"))
        .env("FEDPROOF_URL", url)
        .env("CHROMIUM", &chromium)
        .env("SCREENSHOT_DIR", root.join("target/screenshots"))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "browser test failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains(r#"{"ok":true"#), "browser test printed no success line:\n{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_shows_a_proven_round_and_verifies_it_on_chain() {
    let stack = Stack::start().await;
    // The round's first claim records its reliability, which the trainer page charts.
    let (SubmittedRound { verifier, job, .. }, _) = stack.claimed_round().await;

    let test_db = TestDb::new(Engine::Sqlite).await;
    let keys = HashMap::from([(verifier.address, verifier.vk.clone())]);
    let dashboard = Some(repo_root().join("web-api/dashboard"));
    let config = ServeConfig { dashboard, ..server::config(&stack, &test_db.url, keys, None) };
    let server = serve::start(config).await.expect("server starts");
    server::wait_indexed(&stack, &server).await;
    let base = format!("http://{}", server.addr);

    // The owner publishes round 0's held-out accuracy, which the job page must chart.
    let message = format!("fedproof metrics {job} 0 0.8125");
    let signature = stack.signers[0].sign_message_sync(message.as_bytes()).expect("signed");
    let response = reqwest::Client::new()
        .post(format!("{base}/api/jobs/{job}/rounds/0/metrics"))
        .json(&serde_json::json!({ "accuracy": 0.8125, "signature": signature.to_string() }))
        .send()
        .await
        .expect("metrics posted");
    assert_eq!(response.status().as_u16(), 204, "metrics: {}", response.text().await.unwrap_or_default());

    // node blocks this thread while the server keeps running on the runtime's other threads.
    tokio::task::spawn_blocking(move || run_browser_script(&base)).await.expect("browser script ran");
    server.shutdown().await;
}
