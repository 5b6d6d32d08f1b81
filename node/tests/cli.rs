//! Bad input to the `fedproof` binary: one clear error line, a non-zero exit, nothing changed.

mod common;

use std::process::Output;

use common::Harness;

fn fedproof<S: AsRef<std::ffi::OsStr>>(args: &[S], key: &str) -> Output {
    common::fedproof(args, key).output().expect("run fedproof")
}

/// The error line, checking there is exactly one and the exit status is a failure.
fn error_line(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure, got {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    lines[0].to_string()
}

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_one_clear_error() {
    let h = Harness::start().await;
    let job = h.create_job(1).await;
    let rpc = h.anvil.endpoint();
    let market = h.stack.market.to_string();
    let storage = h.storage_dir();
    let job_s = job.to_string();
    let status = |extra: &[&str]| -> Vec<String> {
        let base = ["owner", "status", "--market", market.as_str(), "--storage", storage.as_str()];
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };

    let ok = fedproof(&status(&["--rpc", &rpc, "--job", &job_s, "--json"]), KEY);
    assert!(ok.status.success(), "{ok:?}");
    let json: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(json["job_id"], job);
    assert_eq!(json["status"], "Active");

    let unknown = error_line(&fedproof(&status(&["--rpc", &rpc, "--job", "42"]), KEY));
    assert!(unknown.contains("job 42 does not exist"), "{unknown}");

    let wrong_chain = error_line(&fedproof(&status(&["--rpc", &rpc, "--job", &job_s, "--chain-id", "1"]), KEY));
    assert!(wrong_chain.contains("wrong network") && wrong_chain.contains("--chain-id is 1"), "{wrong_chain}");

    let unreachable = error_line(&fedproof(&status(&["--rpc", "http://127.0.0.1:9", "--job", &job_s]), KEY));
    assert!(unreachable.contains("cannot reach the Ethereum node"), "{unreachable}");

    let no_key = error_line(&fedproof(&status(&["--rpc", &rpc, "--job", &job_s]), "not-a-key"));
    assert!(
        no_key.contains("FEDPROOF_PRIVATE_KEY is not a valid private key") && !no_key.contains("not-a-key"),
        "{no_key}"
    );

    // A data file of the wrong shape is refused before anything is sent: the trainer stays unjoined.
    let bad = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(bad.path(), "1,2,3\n").expect("write");
    let trainer_key = format!("0x{}", hex::encode(h.anvil.keys()[2].to_bytes()));
    let data = bad.path().to_str().expect("utf-8").to_string();
    let args =
        ["trainer", "run", "--rpc", &rpc, "--market", &market, "--job", &job_s, "--storage", &storage, "--data", &data];
    let wrong_shape = error_line(&fedproof(&args, &trainer_key));
    assert!(wrong_shape.contains("line 1: 3 values, expected 65"), "{wrong_shape}");
    let state = h.view(&h.owner, job).await.state().await.expect("state");
    assert_eq!(state.joinedCount, 0);

    // A budget beyond the owner's balance: refused before sending, with the balance, no job posted.
    let aggregator = h.aggregator.address.to_string();
    let verifier = h.stack.verifier.to_string();
    let recipient = h.sealing.recipient();
    let mut job_cli = common::CliJob {
        rpc: &rpc,
        market: &market,
        storage: &storage,
        aggregator: &aggregator,
        recipient: &recipient,
        verifier: &verifier,
    };
    let create = job_cli.create_args("1000000000000000000000000000", &[]);
    let poor = error_line(&fedproof(&create, KEY));
    assert!(poor.contains("too little for the value and gas") && poor.contains("fund it"), "{poor}");
    let count = h.owner.market(h.stack.market).jobCount().call().await.expect("jobCount");
    assert_eq!(count, alloy::primitives::U256::from(job));

    // A malformed sealing key is refused before any money moves.
    job_cli.recipient = "age1nope";
    let bad_recipient = job_cli.create_args("1000", &[]);
    let refused = error_line(&fedproof(&bad_recipient, KEY));
    assert!(refused.contains("--aggregator-recipient") && refused.contains("age1nope"), "{refused}");
    let count = h.owner.market(h.stack.market).jobCount().call().await.expect("jobCount");
    assert_eq!(count, alloy::primitives::U256::from(job));
}
