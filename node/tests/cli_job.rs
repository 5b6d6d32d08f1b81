//! A whole job through the `fedproof` binary, as its users run it: `deploy`, `data split`,
//! `aggregator keygen`, `owner create-job`, `serve` (the aggregator's intake), four
//! `trainer run --api` processes, `aggregator run --nats` with two `prover worker`s (the first
//! killed mid-proof), `audit --recompute`, `owner download-model --test-data` and
//! `owner recover`, each a separate process on one anvil.

mod common;

use common::cli::{json, path, CliStack};
use common::{fedproof, Running};
use std::time::{Duration, Instant};

use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use fedproof_contracts::JobMarket;

const TRAINERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_end_to_end_through_the_command_line() {
    let anvil = Anvil::at(common::anvil_path()).try_spawn().expect("spawn anvil");
    let rpc = anvil.endpoint();
    let key = |i: usize| common::cli::key(&anvil, i);
    let dir = tempfile::tempdir().expect("tempdir");
    let CliStack { market, verifier, recipient, keys, storage, data, sealing } = CliStack::deploy(&anvil, dir.path());
    let aggregator = format!("{:#x}", anvil.addresses()[1]);
    let (storage_s, sealing_s) = (path(&storage), path(&sealing));
    let job_cli = common::CliJob {
        rpc: &rpc,
        market: &market,
        storage: &storage_s,
        aggregator: &aggregator,
        recipient: &recipient,
        verifier: &verifier,
    };
    // Round 0 opens an hour later: the test moves chain time once everyone has joined.
    let extra = ["--rounds", "1", "--max-malicious", "1", "--start-delay", "3600", "--json"];
    let create = job_cli.create_args("1000000000000000000", &extra);
    let created = json(&create.iter().map(String::as_str).collect::<Vec<_>>(), &key(0));
    let job = created["job_id"].as_u64().expect("job id").to_string();
    let job_args = ["--rpc", rpc.as_str(), "--market", market.as_str(), "--job", job.as_str(), "--storage", &storage_s];

    // The aggregator's intake: receipts signed with its chain key, updates opened with its age key.
    let db = format!("sqlite://{}", path(&dir.path().join("api.db")));
    let mut serve = fedproof(
        &[
            "serve",
            "--rpc",
            &rpc,
            "--market",
            &market,
            "--db",
            &db,
            "--listen",
            "127.0.0.1:0",
            "--confirmations",
            "0",
            "--sealing-key",
            &path(&sealing),
            "--blobs",
            &storage_s,
            "--json",
        ],
        "",
    );
    serve.env("FEDPROOF_AGGREGATOR_KEY", key(1));
    let serve = Running::spawn(serve, "serve", dir.path());
    // The first line it prints says where it listens.
    let deadline = Instant::now() + Duration::from_secs(60);
    let api = loop {
        if let Some(listen) = serve.json_lines().first() {
            break format!("http://{}", listen["listen"].as_str().expect("listen"));
        }
        assert!(Instant::now() < deadline, "serve did not start: {}", serve.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // The aggregator proves on prover workers over NATS JetStream, on a queue of this run's own.
    // The first worker is killed mid-proof; the queue gives its task to the second after the
    // ack wait (3 s).
    let (nats, queue) = (common::nats_url(), format!("cli-job-{}", std::process::id()));
    let worker = |name: &str| {
        let mut args = vec!["prover", "worker", "--nats", &nats, "--queue", &queue, "--storage", &storage_s];
        args.extend(["--sealing-key", &sealing_s, "--ack-wait", "3", "--name", name, "--json"]);
        Running::spawn(fedproof(&args, ""), name, dir.path())
    };
    let mut first_worker = worker("first-worker");
    let aggregator_run = {
        let mut args = vec!["aggregator", "run"];
        args.extend(job_args);
        args.extend(["--keys", &keys, "--sealing-key", &sealing_s, "--upload-grace", "300"]);
        args.extend(["--nats", &nats, "--queue", &queue, "--json"]);
        Running::spawn(fedproof(&args, &key(1)), "aggregator", dir.path())
    };
    let receipts = path(&dir.path().join("receipts"));
    let mut trainers = Vec::new();
    for i in 0..TRAINERS {
        let csv = path(&data.join(format!("trainer-{i}.csv")));
        let seed = i.to_string();
        let mut args = vec!["trainer", "run"];
        args.extend(job_args);
        args.extend(["--data", &csv, "--seed", &seed, "--api", &api, "--receipts", &receipts, "--json"]);
        trainers.push(Running::spawn(fedproof(&args, &key(2 + i)), &format!("trainer-{i}"), dir.path()));
    }

    // Once the aggregator has posted its bond and every trainer has joined, open round 0 by moving chain time to the job's start.
    let provider = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let market_addr: Address = market.parse().expect("address");
    let contract = JobMarket::new(market_addr, &provider);
    let id = U256::from(job.parse::<u64>().expect("id"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = contract.jobState(id).call().await.expect("state");
        if state.bondPosted && state.joinedCount == TRAINERS as u16 {
            break;
        }
        let logs: Vec<String> = trainers.iter().chain([&aggregator_run]).map(Running::stderr).collect();
        assert!(Instant::now() < deadline, "the aggregator or the trainers did not join: {logs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _: serde_json::Value = provider.raw_request("evm_increaseTime".into(), (3600u64,)).await.expect("time");
    let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await.expect("mine");

    let events =
        |w: &Running, kind: &str| w.json_lines().into_iter().filter(|e| e["event"] == kind).collect::<Vec<_>>();
    let deadline = Instant::now() + Duration::from_secs(300);
    while events(&first_worker, "taken").is_empty() {
        assert!(Instant::now() < deadline, "no worker took round 0: {}", aggregator_run.stderr());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first_worker.kill();
    assert!(events(&first_worker, "proved").is_empty(), "killed mid-proof: {:?}", first_worker.json_lines());
    let second_worker = worker("second-worker");

    let rounds = tokio::task::spawn_blocking(move || aggregator_run.finish()).await.expect("task");
    assert_eq!(rounds.as_array().map(Vec::len), Some(1), "{rounds}");
    let taken = events(&second_worker, "taken");
    assert_eq!(taken.len(), 1, "{:?}", second_worker.json_lines());
    assert_eq!(taken[0]["delivery"], 2, "the killed worker's task was delivered again");
    assert_eq!(events(&second_worker, "proved").len(), 1, "the second worker proved the round");
    drop(second_worker);
    assert_eq!(rounds[0]["unavailable"].as_array().map(Vec::len), Some(0), "{rounds}");
    let mut slots = Vec::new();
    for (i, t) in trainers.into_iter().enumerate() {
        let done = tokio::task::spawn_blocking(move || t.finish()).await.expect("task");
        let submission = &done["submissions"][0];
        slots.push(done["slot"].as_u64().expect("slot"));
        assert_eq!(submission["receipt"]["commitment"], submission["commitment"], "trainer {i}: {done}");
        assert!(submission["receipt"]["signature"].as_str().is_some_and(|s| s.len() == 132), "{done}");
    }
    slots.sort_unstable();
    assert_eq!(slots, [0, 1, 2, 3], "slots are given in join order, one each");

    let mut audit = vec!["audit"];
    audit.extend(job_args);
    audit.extend(["--keys", &keys, "--recompute", "--aggregator-key", &sealing_s, "--json"]);
    let report = json(&audit, &key(0));
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["rounds"][0]["recompute"], serde_json::json!({ "Ok": null }), "{report}");

    let model = path(&dir.path().join("model.json"));
    let test = path(&data.join("test.csv"));
    let mut download = vec!["owner", "download-model"];
    download.extend(job_args);
    download.extend(["--out", &model, "--test-data", &test, "--json"]);
    let got = json(&download, &key(0));
    assert_eq!(got["round"], 1);
    // One round of federated training from a random start beats guessing (10 %).
    assert!(got["accuracy"].as_f64().is_some_and(|a| a > 0.2), "{got}");

    // Nobody has claimed yet, so round 0 is unrecorded and escrow still holds the trainers'
    // shares: `owner recover` records it first, then takes back only the dust.
    assert_eq!(contract.jobState(id).call().await.expect("state").unrecorded, 1);
    let mut recover = vec!["owner", "recover"];
    recover.extend(job_args);
    recover.push("--json");
    let recovered = json(&recover, &key(0));
    assert_eq!(recovered["recorded_rounds"], serde_json::json!([0]), "{recovered}");
    let state = contract.jobState(id).call().await.expect("state");
    assert_eq!((state.unrecorded, state.escrow), (0, 0), "{recovered}");
    let dust: u128 = recovered["recovered"].as_str().expect("recovered").parse().expect("wei");
    assert!(dust < TRAINERS as u128, "at most the rounding dust: {recovered}");
    assert_eq!(state.unclaimed + dust, 1_000_000_000_000_000_000, "the trainers' shares stay claimable");
    assert_eq!(contract.owed(Address::ZERO, anvil.addresses()[0]).call().await.expect("owed"), U256::ZERO);
    drop(serve);
    common::delete_queue(&queue).await;
}
