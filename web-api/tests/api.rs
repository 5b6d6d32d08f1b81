//! The REST API served over a real anvil chain after a short, really proven job, on SQLite and
//! PostgreSQL: every read endpoint against what the chain did, the audit, owner metrics, errors.

mod support;

use alloy::primitives::U256;
use alloy::signers::SignerSync;
use serde_json::Value;
use std::collections::HashMap;
use support::chain::{Stack, SubmittedRound};
use support::server::{start_server, wait_indexed};
use support::{Engine, TestDb};

#[tokio::test(flavor = "multi_thread")]
async fn api_serves_a_finished_job_on_sqlite() {
    serves_a_finished_job(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_serves_a_finished_job_on_postgres() {
    serves_a_finished_job(Engine::Postgres).await;
}

async fn get(client: &reqwest::Client, base: &str, path: &str) -> (u16, Value) {
    let res = client.get(format!("{base}{path}")).send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The OpenAPI schema of `RoundDetail`.
async fn doc_round_detail(client: &reqwest::Client, base: &str) -> Value {
    let (status, doc) = get(client, base, "/api/openapi.json").await;
    assert_eq!(status, 200);
    doc["components"]["schemas"]["RoundDetail"].clone()
}

async fn serves_a_finished_job(engine: Engine) {
    let stack = Stack::start().await;
    let SubmittedRound { verifier, input, job, .. } = stack.submitted_round().await;
    let (out, fin) = stack.finalize(&verifier, &input).await;
    // The first claim records the round: its allocation and its reliability (JobMarket writes
    // neither at finalization).
    let finalized_at = stack.finalized_event().await.finalizedAt;
    stack.claim_all(job, input.shape.trainers, &fin, finalized_at).await;
    let state = stack.market().jobState(job).call().await.expect("state");
    let test_db = TestDb::new(engine).await;
    let server = start_server(&stack, &test_db.url, HashMap::new(), None).await; // keys: read from the verifier
    wait_indexed(&stack, &server).await;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();

    let (status, config) = get(&client, &base, "/api/config").await;
    assert_eq!(status, 200);
    assert_eq!(config["chain_id"], 31337);
    assert_eq!(config["market"], format!("{:#x}", stack.market));
    assert_eq!(config["registry"], format!("{:#x}", stack.registry));

    let (status, jobs) = get(&client, &base, "/api/jobs?status=completed&page=1&per_page=5").await;
    assert_eq!(status, 200);
    assert_eq!(jobs["total"], 1);
    assert_eq!(jobs["items"][0]["id"], 1);
    assert_eq!(jobs["items"][0]["budget"], support::chain::BUDGET.to_string());
    assert_eq!(jobs["items"][0]["verifier"], format!("{:#x}", verifier.address));
    let (_, none) = get(&client, &base, "/api/jobs?status=open").await;
    assert_eq!(none["total"], 0);
    let (_, by_other) = get(&client, &base, &format!("/api/jobs?owner={:#x}", stack.trainer(0))).await;
    assert_eq!(by_other["total"], 0);

    let (status, detail) = get(&client, &base, "/api/jobs/1").await;
    assert_eq!(status, 200);
    assert_eq!(detail["status"], "completed");
    assert_eq!(detail["current_round"], 1);
    assert_eq!(detail["rounds_detail"][0]["total_score"], out.scores.iter().sum::<u64>().to_string());
    let trainers = detail["trainers"].as_array().expect("trainers");
    assert_eq!(trainers.len(), 3);
    let earned: U256 =
        trainers.iter().map(|t| t["earned"].as_str().expect("earned").parse::<U256>().expect("wei")).sum();
    let allocated = U256::from(support::chain::BUDGET) - U256::from(state.escrow);
    assert_eq!(earned, allocated, "what the API says was earned is what the contract allocated");
    assert!(trainers.iter().all(|t| t["reliability"].is_number()));

    let (status, round) = get(&client, &base, "/api/jobs/1/rounds/0").await;
    assert_eq!(status, 200);
    let scores: Vec<u64> = round["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| s["score"].as_str().expect("s").parse().expect("n"))
        .collect();
    assert_eq!(scores, out.scores);
    let expected_outliers: Vec<i64> = (0..3).filter(|&i| !out.inliers[i as usize]).collect();
    assert_eq!(round["outliers"], serde_json::json!(expected_outliers));
    assert_eq!(round["proof"].as_array().expect("proof").len(), 8);
    assert_eq!(round["new_model"], fedproof_web_api::format::word(&fin.newModel));
    let inputs = round["public_inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), fedproof_prover::shape::public_input_count(3));
    assert_eq!(inputs[2], round["new_model"], "public input 2 is C(S)");
    assert_eq!(inputs[3], format!("0x{:064x}", 0), "public input 3 (H) is 0 for a round proven whole");
    assert_eq!(round["digest"], Value::Null);
    // Bitmaps are 0x + 64 hex digits (a JSON number cannot hold 256 bits); ‖S‖² is decimal.
    let inlier_bits = fedproof_web_api::format::bitmap(out.inliers.iter().copied());
    assert_eq!(round["inlier_bits"], fedproof_web_api::format::bits(&inlier_bits));
    assert_eq!(round["presence_bits"], format!("0x{:064x}", 0b111));
    assert_eq!(round["unavailable_bits"], format!("0x{:064x}", 0));
    assert_eq!(round["aggregate_norm_sq"], fin.aggregateNormSq.to_string());
    let schema = &doc_round_detail(&client, &base).await;
    for field in ["presence_bits", "inlier_bits", "unavailable_bits"] {
        assert_eq!(schema["properties"][field]["pattern"], "^0x[0-9a-f]{64}$", "OpenAPI states {field}'s format");
    }
    for field in ["aggregate_norm_sq", "digest"] {
        assert!(schema["properties"][field].is_object(), "OpenAPI has RoundDetail.{field}");
    }

    let (status, audit) = get(&client, &base, "/api/jobs/1/rounds/0/audit").await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["ok"], true, "{audit}");
    assert_eq!(audit["verified_offchain"], true);

    let (status, vk) = get(&client, &base, "/api/jobs/1/verifying-key").await;
    assert_eq!(status, 200);
    assert_eq!(vk["nPublic"], fedproof_prover::shape::public_input_count(3));
    // The key read from the verifier contract is the one the prover set up.
    let expected = fedproof_prover::export::snarkjs::verifying_key_to_json(&verifier.vk).expect("json");
    assert_eq!(vk, serde_json::from_str::<serde_json::Value>(&expected).expect("parses"));

    // Owner metrics: accepted from the owner, refused from anyone else, shown on the job page.
    let msg = "fedproof metrics 1 0 0.875";
    let sig = stack.signers[0].sign_message_sync(msg.as_bytes()).expect("signed");
    let res = client
        .post(format!("{base}/api/jobs/1/rounds/0/metrics"))
        .json(&serde_json::json!({"accuracy": 0.875, "signature": sig.to_string()}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 204);
    let forged = stack.signers[2].sign_message_sync(msg.as_bytes()).expect("signed");
    let res = client
        .post(format!("{base}/api/jobs/1/rounds/0/metrics"))
        .json(&serde_json::json!({"accuracy": 0.875, "signature": forged.to_string()}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(res.json::<Value>().await.expect("json")["error"]["code"], "not_owner");
    let (_, detail) = get(&client, &base, "/api/jobs/1").await;
    assert_eq!(detail["rounds_detail"][0]["accuracy"], 0.875);

    let (status, trainer) = get(&client, &base, &format!("/api/trainers/{:#x}", stack.trainer(0))).await;
    assert_eq!(status, 200);
    assert_eq!(trainer["jobs"][0]["job_id"], 1);
    assert_eq!(trainer["earned_total"], trainers[0]["earned"]);
    assert_eq!(trainer["reliability"]["observations"], 1);
    assert_eq!(trainer["reliability"]["history"].as_array().expect("history").len(), 1);
    let (status, source) = get(&client, &base, &format!("/api/sources/{:#x}/reliability", stack.trainer(0))).await;
    assert_eq!(status, 200);
    assert_eq!(source["score"], trainer["reliability"]["score"]);

    // Errors: one JSON shape, the right status, a message that says what is wrong.
    for (path, code, want) in [
        ("/api/jobs/999", 404, "not_found"),
        ("/api/jobs/abc", 400, "invalid_path"),
        ("/api/jobs?status=bogus", 400, "invalid_status"),
        ("/api/jobs?per_page=1000", 400, "invalid_page"),
        ("/api/trainers/0x12", 400, "invalid_address"),
        ("/api/jobs/1/rounds/5", 404, "not_found"),
        ("/api/nope", 404, "not_found"),
    ] {
        let (status, body) = get(&client, &base, path).await;
        assert_eq!((status, body["error"]["code"].as_str()), (code, Some(want)), "{path}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap_or("").is_empty());
    }

    let (status, doc) = get(&client, &base, "/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    assert!(doc["paths"]["/api/jobs/{id}/rounds/{r}"]["get"].is_object());
    server.shutdown().await;
}
