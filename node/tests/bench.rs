//! The benchmarks' reports, from the binary: `bench prover --count-only` (the constraint count
//! and its breakdown by step, without keys or a proof, as the library counts them, for a round or
//! with `--chunk` for one chunk and the final proof of a chunked round), `bench prover --chunk`
//! (one chunk and the final proof proven, the wall time projected), `bench prover --nats
//! --workers` (a round's proof, or with `--chunk` every chunk's and the final one, made by worker
//! processes over NATS JetStream), `bench blob` (one update blob's round trip, phase by phase) and
//! `bench api` (reads and concurrent intake uploads on anvil, 2 jobs instead of 100).

use std::process::{Command, Output};

use fedproof_prover::shape::Shape;
use fedproof_prover::snark;

fn run(bench_name: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedproof")).args(["bench", bench_name]).args(args).output().expect("run fedproof")
}

fn bench(args: &[&str]) -> Output {
    run("prover", args)
}

#[test]
fn count_only_prints_the_libraries_count_by_step() {
    let out = bench(&["--trainers", "5", "--params", "40", "--count-only", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let steps = json["steps"].as_array().expect("steps");
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().expect("a step name")).collect();
    assert!(names.contains(&"gram matrix") && names.contains(&"gram check"), "{names:?}");
    let by_step: u64 = steps.iter().map(|s| s["constraints"].as_u64().expect("a count")).sum();
    let total = json["constraints"].as_u64().expect("constraints");
    assert_eq!(by_step, total, "the steps add up to the total");
    let expected = snark::constraint_count(Shape::new(5, 40).unwrap()).unwrap();
    assert_eq!(total, expected as u64, "the library's count");
    let per = json["constraints_per_update_param"].as_f64().expect("per trainer×param");
    assert!((per - total as f64 / 200.0).abs() < 1e-9, "{per}");
    assert!(json.get("prove_s").is_none() && json.get("verified").is_none(), "no proof was made: {json}");
}

#[test]
fn count_only_refuses_a_shape_it_cannot_build() {
    let out = bench(&["--trainers", "257", "--params", "40", "--count-only"]);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("trainers must be in 1..=256") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn blob_bench_round_trips_an_update_and_reports_every_phase() {
    let out = run("blob", &["--params", "20000", "--repeats", "1", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(json["params"], 20000);
    // One byte per parameter plus the safetensors header; sealing adds age's few hundred bytes.
    let blob = json["blob_bytes"].as_u64().expect("blob_bytes");
    assert!((20_000..20_400).contains(&blob), "{json}");
    let sealed = json["sealed_bytes"].as_u64().expect("sealed_bytes");
    assert!(sealed > blob && sealed < blob + 1_000, "{json}");
    assert!(json["json_bytes"].as_u64().expect("json_bytes") > 3 * blob, "{json}");
    let phases = json["phases"].as_object().expect("phases");
    for phase in ["encode", "commit", "seal", "read", "open", "decode", "check"] {
        assert!(phases[phase].as_f64().expect(phase) > 0.0, "{phase}: {json}");
    }
    let read_path: f64 = ["read", "open", "decode", "check"].iter().map(|p| phases[*p].as_f64().unwrap_or(0.0)).sum();
    assert!((json["read_path_seconds"].as_f64().expect("read_path_seconds") - read_path).abs() < 1e-9);
}

#[test]
fn blob_bench_refuses_zero_params() {
    let out = run("blob", &["--params", "0"]);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--params must be at least 1") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn prover_bench_on_workers_proves_through_the_queue() {
    let nats = nats_url();
    let keys = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-worker-keys");
    let keys = keys.to_string_lossy();
    let args = ["--trainers", "3", "--params", "8", "--nats", &nats, "--workers", "2", "--keys", &keys, "--json"];
    let out = bench(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(json["verified"], true, "the worker's proof verifies: {json}");
    let workers = &json["workers"];
    assert_eq!((workers["workers"].as_u64(), workers["tasks"].as_u64()), (Some(2), Some(1)), "{json}");
    let (wall, prove) = (workers["wall_s"].as_f64().expect("wall"), workers["worker_prove_s"].as_f64().expect("prove"));
    assert!(prove > 0.0 && wall > prove, "the wait includes the worker's proof: {json}");
    assert_eq!(json["prove_s"].as_f64(), Some(prove), "{json}");
    let rss = workers["worker_peak_rss_bytes"].as_array().expect("one peak per worker");
    assert!(rss.len() == 2 && rss.iter().all(|b| b.as_u64().is_some_and(|b| b > 1_000_000)), "{json}");
}

#[test]
fn count_only_with_chunk_counts_one_chunk_of_a_chunked_round() {
    let out = bench(&["--trainers", "4", "--params", "100", "--chunk", "30", "--count-only", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!((json["chunk"]["params"].as_u64(), json["chunk"]["chunks"].as_u64()), (Some(30), Some(4)), "{json}");
    let shape = fedproof_prover::shape::Shape::new(4, 100).unwrap();
    let final_count: usize = fedproof_prover::chunked::constraints::constraint_breakdown(shape, 4)
        .unwrap()
        .iter()
        .map(|s| s.constraints)
        .sum();
    assert_eq!(json["chunk"]["final_constraints"].as_u64(), Some(final_count as u64), "{json}");
    assert!(json["chunk"].get("proving").is_none(), "nothing proven with --count-only: {json}");
    let expected: usize =
        fedproof_prover::chunk::constraints::constraint_breakdown(4, 30).unwrap().iter().map(|s| s.constraints).sum();
    assert_eq!(json["constraints"].as_u64(), Some(expected as u64), "one chunk's count: {json}");
    let per = json["constraints_per_update_param"].as_f64().expect("per trainer×param");
    assert!((per - expected as f64 / 120.0).abs() < 1e-9, "per trainer × chunk parameter: {per}");
}

#[test]
fn prover_bench_with_chunk_proves_one_chunk_and_the_final_proof() {
    let keys = tempfile::tempdir().expect("tempdir");
    let keys = keys.path().to_string_lossy();
    let args = ["--trainers", "4", "--params", "100", "--chunk", "30", "--malicious", "1", "--machines", "3"];
    let run = || {
        let out = bench(&[&args[..], &["--keys", &keys, "--json"]].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("one JSON document")
    };
    let json = run();
    assert_eq!(json["verified"], true, "{json}");
    assert!(json["prove_s"].as_f64().is_some_and(|s| s > 0.0), "{json}");
    assert_eq!(json["planted"], serde_json::json!([3]), "{json}");
    // The final proof of the whole round is proven too, and the projection adds it to the
    // ⌈4 / 3⌉ = 2 chunk proofs of the busiest machine.
    let last = &json["chunk"]["proving"];
    assert_eq!(last["verified"], true, "{json}");
    assert_eq!(last["chunks_per_machine"].as_u64(), Some(2), "{json}");
    let projected = 2.0 * json["prove_s"].as_f64().unwrap() + last["prove_s"].as_f64().unwrap();
    assert!((last["projected_wall_s"].as_f64().unwrap() - projected).abs() < 1e-9, "{json}");
    let last_cached = |json: &serde_json::Value| json["chunk"]["proving"]["keys_cached"].as_bool();
    assert_eq!((json["keys_cached"].as_bool(), last_cached(&json)), (Some(false), Some(false)), "{json}");
    // A second run loads both keys from the cache.
    let again = run();
    assert_eq!((again["keys_cached"].as_bool(), last_cached(&again)), (Some(true), Some(true)), "{again}");
    assert_eq!(again["verified"], true, "{again}");
}

/// A chunked round on real prover workers: every chunk and the final proof are tasks on one NATS
/// queue, shared by two worker processes, and each proof verifies here.
#[test]
fn prover_bench_proves_every_chunk_and_the_final_proof_on_workers() {
    let keys = tempfile::tempdir().expect("tempdir");
    let keys = keys.path().to_string_lossy();
    let nats = nats_url();
    let args = ["--trainers", "4", "--params", "100", "--chunk", "30", "--malicious", "1", "--nats", &nats];
    let out = bench(&[&args[..], &["--workers", "2", "--keys", &keys, "--json"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(json["verified"], true, "every chunk proof verifies: {json}");
    assert_eq!(json["chunk"]["proving"]["verified"], true, "the final proof verifies: {json}");
    let workers = &json["workers"];
    assert_eq!(
        (workers["workers"].as_u64(), workers["tasks"].as_u64()),
        (Some(2), Some(5)),
        "4 chunks + final: {json}"
    );
    let seconds = workers["task_prove_s"].as_array().expect("one time per task");
    assert!(seconds.len() == 5 && seconds.iter().all(|s| s.as_f64().is_some_and(|s| s > 0.0)), "{json}");
    assert_eq!(json["planted"], serde_json::json!([3]), "{json}");
    assert_eq!(json["flagged"], serde_json::json!([3]), "{json}");
}

/// `bench api` in small: 20 uploads at once against an intake that takes 4 at a time. Refusals
/// come with `Retry-After` and are retried; every upload ends accepted, receipted (the receipt
/// recovers to the aggregator over the contract's digest) and stored, none lost, no 5xx.
#[test]
fn api_bench_stores_every_upload_and_retries_refusals() {
    let anvil = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/node_modules/.bin/anvil");
    let args = ["--jobs", "2", "--requests", "200", "--concurrency", "4", "--max-concurrent-uploads", "4"];
    let out = run("api", &[&args[..], &["--anvil", anvil, "--json"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let intake = &json["intake"];
    for (figure, expected) in [("uploads", 20), ("accepted", 20), ("receipts_verified", 20), ("stored", 20)] {
        assert_eq!(intake[figure].as_u64(), Some(expected), "{figure}: {json}");
    }
    for figure in ["lost", "server_errors_5xx", "other_errors"] {
        assert_eq!(intake[figure].as_u64(), Some(0), "{figure}: {json}");
    }
    assert_eq!(intake["concurrent_uploads_limit"].as_u64(), Some(4), "{json}");
    let refused = intake["refused_429"].as_u64().expect("refused_429") + intake["refused_503"].as_u64().expect("503");
    assert!(refused > 0, "20 uploads at once against 4 permits: some are refused: {json}");
    assert_eq!(intake["retries"].as_u64(), Some(refused), "every refusal is retried: {json}");
    for reads in ["read", "read_under_upload"] {
        assert!(json[reads]["requests"].as_u64().is_some_and(|n| n > 0), "{reads}: {json}");
        assert_eq!(json[reads]["errors"].as_u64(), Some(0), "{reads}: {json}");
    }
    assert!(json["peak_rss_bytes_server_and_clients"].as_u64().is_some_and(|b| b > 1_000_000), "{json}");
}

/// The NATS server the tests use (`NATS_URL`, default the local one).
fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}
