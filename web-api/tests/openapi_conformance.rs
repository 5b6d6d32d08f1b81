//! The API against its own OpenAPI document: schemathesis (from PyPI; `make schemathesis`
//! installs it into `target/pyenv`) runs every check — no 5xx, status codes, content types,
//! headers and bodies as the document says, schema-violating input refused, schema-valid input
//! not refused — on the real server over a settled, claimed job, with the intake live. The run
//! is seeded; this test passes only if schemathesis exits 0.

mod support;

use fedproof_storage::Storage;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::chain::{Stack, SubmittedRound};
use support::{server, Engine, TestDb};

/// Test cases per operation and phase: enough to reach every parameter's edge cases (the
/// coverage phase enumerates those itself) in about a minute.
const MAX_EXAMPLES: &str = "40";

fn schemathesis() -> PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/schemathesis");
    let path = std::env::var_os("SCHEMATHESIS").map(PathBuf::from).unwrap_or(default);
    assert!(path.exists(), "{} is missing: run `make schemathesis`", path.display());
    path
}

/// Runs schemathesis against `base`; panics with its report unless it exits 0.
fn run_schemathesis(base: &str) {
    // schemathesis keeps state in `.schemathesis/` of its working directory.
    let cwd = tempfile::tempdir().expect("dir");
    let output = Command::new(schemathesis())
        .current_dir(cwd.path())
        .args(["run", &format!("{base}/api/openapi.json"), "--checks", "all", "--seed", "1"])
        .args(["--max-examples", MAX_EXAMPLES, "--workers", "1", "--generation-database", "none"])
        .args(["--no-color", "--suppress-health-check", "too_slow"])
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "schemathesis found failures ({}):\n{stdout}\n{stderr}", output.status);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_conforms_to_its_openapi_document() {
    let stack = Stack::start().await;
    let (SubmittedRound { verifier, input, .. }, _) = stack.claimed_round().await;

    let test_db = TestDb::new(Engine::Sqlite).await;
    let blob_dir = tempfile::tempdir().expect("dir");
    let store = blob_dir.path().display().to_string();
    Storage::open(&store).expect("store").put_spec(&stack.spec(&input)).await.expect("spec");
    let keys = HashMap::from([(verifier.address, verifier.vk.clone())]);
    let intake = Some((stack.sealing.clone(), store));
    let server = server::start_server(&stack, &test_db.url, keys, intake).await;
    server::wait_indexed(&stack, &server).await;
    let base = format!("http://{}", server.addr);

    tokio::task::spawn_blocking(move || run_schemathesis(&base)).await.expect("schemathesis ran");
    server.shutdown().await;
}
