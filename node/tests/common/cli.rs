//! What the tests that drive the `fedproof` binary share: running a command for its JSON, and
//! the stack a command-line job starts from.

use std::path::{Path, PathBuf};

use alloy::node_bindings::AnvilInstance;

use super::fedproof;

/// Runs `fedproof args` signing with `key` to completion and parses the JSON it prints.
pub fn json(args: &[&str], key: &str) -> serde_json::Value {
    let out = fedproof(args, key).output().expect("run fedproof");
    assert!(out.status.success(), "fedproof {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("fedproof {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// A path as the argument a command takes.
pub fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The private key of anvil's account `i`, as `FEDPROOF_PRIVATE_KEY` takes it.
pub fn key(anvil: &AnvilInstance, i: usize) -> String {
    format!("0x{}", hex::encode(anvil.keys()[i].to_bytes()))
}

/// The contracts deployed for 4 trainers × 2,410 parameters (`deploy`, its keys cached across
/// runs), the trainers' data (`data split`) and the aggregator's sealing key (`aggregator
/// keygen`), under `dir`.
pub struct CliStack {
    /// JobMarket address.
    pub market: String,
    /// The round verifier's address.
    pub verifier: String,
    /// The aggregator's age recipient.
    pub recipient: String,
    /// The key cache directory.
    pub keys: String,
    /// The blob store.
    pub storage: PathBuf,
    /// The trainers' CSV files and the test set.
    pub data: PathBuf,
    /// The aggregator's age identity file.
    pub sealing: PathBuf,
}

impl CliStack {
    /// Deploys on `anvil` (account 0), splits the data and makes the sealing key.
    pub fn deploy(anvil: &AnvilInstance, dir: &Path) -> Self {
        let rpc = anvil.endpoint();
        let (storage, data, sealing) = (dir.join("blobs"), dir.join("data"), dir.join("agg.age"));
        let keys = path(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-keys"));
        let args = ["deploy", "--rpc", &rpc, "--trainers", "4", "--params", "2410", "--keys", &keys, "--json"];
        let stack = json(&args, &key(anvil, 0));
        let split = json(&["data", "split", "--trainers", "4", "--alpha", "1.0", "--out", &path(&data), "--json"], "");
        assert_eq!(split["trainer_samples"].as_array().map(Vec::len), Some(4));
        let keygen = json(&["aggregator", "keygen", "--out", &path(&sealing), "--json"], "");
        CliStack {
            market: stack["market"].as_str().expect("market").to_owned(),
            verifier: stack["verifier"].as_str().expect("verifier").to_owned(),
            recipient: keygen["recipient"].as_str().expect("recipient").to_owned(),
            keys,
            storage,
            data,
            sealing,
        }
    }
}
