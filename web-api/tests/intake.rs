//! The update intake over a real anvil chain (trainers committed on-chain, round open): a valid
//! sealed update is stored and answered with the aggregator's receipt that JobMarket's dispute
//! check accepts; each bad request is refused with its reason and stores nothing.

mod support;

use alloy::primitives::{Address, Signature, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use base64::Engine as _;
use fedproof_storage::codec::UpdateBlob;
use fedproof_storage::sealed;
use fedproof_storage::Storage;
use serde_json::{json, Value};
use std::collections::HashMap;
use support::chain::{field_to_u256, Stack, SubmittedRound};
use support::server::{start_server, wait_indexed};
use support::{Engine, TestDb};

/// The body a trainer sends: its update sealed to the aggregator, signed over (job, round, commitment).
fn body(
    signer: &PrivateKeySigner,
    trainer: Address,
    round: u32,
    commitment: U256,
    values: &[i64],
    slot: u32,
    recipient: &str,
) -> Value {
    let blob = UpdateBlob { job_id: 1, round, slot, values: values.to_vec() };
    let sealed = sealed::seal(recipient, &blob.encode()).expect("sealed");
    let digest = fedproof_web_api::http::schema::upload_digest(1, round, commitment);
    let sig = signer.sign_message_sync(digest.as_slice()).expect("signed");
    json!({
        "trainer": format!("{trainer:#x}"),
        "commitment": fedproof_web_api::format::word(&commitment),
        "blob": base64::engine::general_purpose::STANDARD.encode(sealed),
        "signature": sig.to_string(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn intake_stores_valid_updates_and_refuses_bad_ones() {
    let stack = Stack::start().await;
    let SubmittedRound { input, job, .. } = stack.submitted_round().await;
    let commitments: Vec<U256> = input.update_commitments().iter().map(field_to_u256).collect();
    let values = |slot: usize| input.updates[slot].clone().expect("present");

    let test_db = TestDb::new(Engine::Sqlite).await;
    let key = stack.sealing.clone();
    let recipient = key.recipient();
    // The intake reads the job's parameter count from its spec, in the aggregator's blob store.
    let blob_dir = tempfile::tempdir().expect("dir");
    let store = blob_dir.path().display().to_string();
    Storage::open(&store).expect("store").put_spec(&stack.spec(&input)).await.expect("spec");
    let blobs_before = std::fs::read_dir(blob_dir.path()).expect("dir").count();
    let server = start_server(&stack, &test_db.url, HashMap::new(), Some((key, store))).await;
    wait_indexed(&stack, &server).await;
    let url = |round: u32| format!("http://{}/api/jobs/1/rounds/{round}/updates", server.addr);
    let client = reqwest::Client::new();
    let t0 = &stack.signers[2];
    let t1 = &stack.signers[3];
    let outsider = &stack.signers[9];

    let slot0 = values(0);
    let mut tampered = slot0.clone();
    tampered[0] = if tampered[0] == 0 { 1 } else { 0 };
    let cases = [
        (
            "bad signature",
            url(0),
            body(t1, t0.address(), 0, commitments[0], &slot0, 0, &recipient),
            403,
            "bad_signature",
        ),
        ("wrong round", url(1), body(t0, t0.address(), 1, commitments[0], &slot0, 0, &recipient), 400, "wrong_round"),
        (
            "unregistered trainer",
            url(0),
            body(outsider, outsider.address(), 0, commitments[0], &slot0, 0, &recipient),
            403,
            "not_a_trainer",
        ),
        (
            "commitment not on-chain",
            url(0),
            body(t0, t0.address(), 0, commitments[1], &slot0, 0, &recipient),
            400,
            "commitment_mismatch",
        ),
        (
            "blob does not match",
            url(0),
            body(t0, t0.address(), 0, commitments[0], &tampered, 0, &recipient),
            400,
            "commitment_mismatch",
        ),
        (
            "blob of another slot",
            url(0),
            body(t0, t0.address(), 0, commitments[0], &slot0, 1, &recipient),
            400,
            "commitment_mismatch",
        ),
    ];
    for (what, url, body, status, code) in cases {
        let res = client.post(&url).json(&body).send().await.expect("post");
        assert_eq!(res.status().as_u16(), status, "{what}");
        let answer: Value = res.json().await.expect("json error");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap_or("").is_empty(), "{what}");
    }
    // Oversized body: refused before it is read in full.
    let mut huge = body(t0, t0.address(), 0, commitments[0], &slot0, 0, &recipient);
    huge["blob"] = json!("A".repeat(2 << 20));
    let res = client.post(url(0)).json(&huge).send().await.expect("post");
    assert_eq!(res.status().as_u16(), 413);
    assert_eq!(res.json::<Value>().await.expect("json")["error"]["code"], "payload_too_large");
    // Nothing was stored by any refused request.
    assert!(test_db.db.uploads(1, 0).await.expect("uploads").is_empty());
    assert_eq!(std::fs::read_dir(blob_dir.path()).expect("dir").count(), blobs_before);

    // A valid upload: 201, the blob under its CID, a receipt by the aggregator over the contract's digest.
    let good = body(t0, t0.address(), 0, commitments[0], &slot0, 0, &recipient);
    let res = client.post(url(0)).json(&good).send().await.expect("post");
    assert_eq!(res.status().as_u16(), 201);
    let answer: Value = res.json().await.expect("json");
    assert_eq!(answer["slot"], 0);
    let stored = test_db.db.uploads(1, 0).await.expect("uploads");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].cid, answer["cid"].as_str().expect("cid"));
    let sig: Signature = answer["receipt"]["signature"].as_str().expect("sig").parse().expect("signature");
    let digest =
        stack.market().receiptDigest(job, U256::ZERO, U256::ZERO, commitments[0]).call().await.expect("digest");
    assert_eq!(
        sig.recover_address_from_prehash(&digest).expect("recovers"),
        stack.aggregator(),
        "JobMarket._checkReceipt accepts it"
    );
    // A retry gets the same receipt and stores nothing new.
    let again: Value = client.post(url(0)).json(&good).send().await.expect("post").json().await.expect("json");
    assert_eq!(again["receipt"]["signature"], answer["receipt"]["signature"]);
    assert_eq!(test_db.db.uploads(1, 0).await.expect("uploads").len(), 1);
    server.shutdown().await;
}
