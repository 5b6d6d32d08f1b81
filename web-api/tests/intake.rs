//! The update intake over a real anvil chain (trainers committed on-chain, round open): a valid
//! sealed update is stored and answered with the aggregator's receipt that JobMarket's dispute
//! check accepts; each bad request is refused with its reason and stores nothing. Attack 1 (a
//! receipt for a blob other than the on-chain blobRef) and attack 2 (plaintext before the commit
//! phase closes) are refused here.

mod support;

use alloy::primitives::{Signature, U256};
use fedproof_storage::codec::UpdateBlob;
use fedproof_storage::sealed;
use fedproof_storage::Storage;
use serde_json::{json, Value};
use std::collections::HashMap;
use support::chain::{field_to_u256, Stack, SubmittedRound};
use support::server::{start_server, wait_indexed};
use support::upload::body;
use support::{Engine, TestDb};

/// An update of (job 1, `round`, `slot`) sealed to `recipient`: fresh bytes every time (age
/// encrypts with a random key), so another blob than any on-chain blobRef.
fn seal(round: u32, slot: u32, values: &[i64], recipient: &str) -> Vec<u8> {
    let blob = UpdateBlob { job_id: 1, round, slot, values: values.to_vec() };
    sealed::seal(recipient, &blob.encode()).expect("sealed")
}

#[tokio::test(flavor = "multi_thread")]
async fn intake_stores_valid_updates_and_refuses_bad_ones() {
    let stack = Stack::start().await;
    let SubmittedRound { input, job, sealed, .. } = stack.submitted_round().await;
    let commitments: Vec<U256> = input.update_commitments().iter().map(field_to_u256).collect();
    let values = |slot: usize| input.updates[slot].clone().expect("present");
    let on_chain = |slot: usize| sealed[slot].clone().expect("sealed");

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

    let slot0 = on_chain(0);
    let mut tampered = values(0);
    tampered[0] = if tampered[0] == 0 { 1 } else { 0 };
    let cases = [
        ("bad signature", url(0), body(t1, t0.address(), 0, commitments[0], &slot0), 403, "bad_signature"),
        ("wrong round", url(1), body(t0, t0.address(), 1, commitments[0], &slot0), 400, "wrong_round"),
        (
            "unregistered trainer",
            url(0),
            body(outsider, outsider.address(), 0, commitments[0], &slot0),
            403,
            "not_a_trainer",
        ),
        (
            "commitment not on-chain",
            url(0),
            body(t0, t0.address(), 0, commitments[1], &slot0),
            400,
            "commitment_mismatch",
        ),
        (
            // Attack 1: the same update in another blob than the one its blobRef names (so the
            // aggregator, fetching by blobRef, would find nothing) gets no receipt.
            "attack 1: a blob other than the on-chain blobRef",
            url(0),
            body(t0, t0.address(), 0, commitments[0], &seal(0, 0, &values(0), &recipient)),
            400,
            "blob_ref_mismatch",
        ),
        (
            "a changed update in another blob",
            url(0),
            body(t0, t0.address(), 0, commitments[0], &seal(0, 0, &tampered, &recipient)),
            400,
            "blob_ref_mismatch",
        ),
        (
            "blob of another slot",
            url(0),
            body(t0, t0.address(), 0, commitments[0], &on_chain(1)),
            400,
            "blob_ref_mismatch",
        ),
    ];
    for (what, url, body, status, code) in cases {
        let res = client.post(&url).json(&body).send().await.expect("post");
        assert_eq!(res.status().as_u16(), status, "{what}");
        let answer: Value = res.json().await.expect("json error");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap_or("").is_empty(), "{what}");
    }
    // Oversized body: refused before it is read in full, naming the upload limit (uploads may
    // be larger than other requests: an update of a 1M-parameter model is ~1.3 MB in base64).
    let mut huge = body(t0, t0.address(), 0, commitments[0], &slot0);
    huge["blob"] = json!("A".repeat(fedproof_web_api::http::UPLOAD_LIMIT));
    let res = client.post(url(0)).json(&huge).send().await.expect("post");
    assert_eq!(res.status().as_u16(), 413);
    let answer = res.json::<Value>().await.expect("json");
    assert_eq!(answer["error"]["code"], "payload_too_large");
    let limit = fedproof_web_api::http::UPLOAD_LIMIT.to_string();
    assert!(answer["error"]["message"].as_str().unwrap_or("").contains(&limit), "{answer}");
    // Nothing was stored by any refused request.
    assert!(test_db.db.uploads(1, 0).await.expect("uploads").is_empty());
    assert_eq!(std::fs::read_dir(blob_dir.path()).expect("dir").count(), blobs_before);

    // A valid upload: 201, the blob under its CID, a receipt by the aggregator over the contract's digest.
    let good = body(t0, t0.address(), 0, commitments[0], &slot0);
    let res = client.post(url(0)).json(&good).send().await.expect("post");
    assert_eq!(res.status().as_u16(), 201);
    let answer: Value = res.json().await.expect("json");
    assert_eq!(answer["slot"], 0);
    let stored = test_db.db.uploads(1, 0).await.expect("uploads");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].cid, answer["cid"].as_str().expect("cid"));
    let sig: Signature = answer["receipt"]["signature"].as_str().expect("sig").parse().expect("signature");
    let blob_ref = fedproof_storage::blob_ref_of(&slot0);
    let digest = stack
        .market()
        .receiptDigest(job, U256::ZERO, U256::ZERO, commitments[0], blob_ref)
        .call()
        .await
        .expect("digest");
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

/// Attack 2's precondition: an aggregator that saw plaintext while slots can still commit could
/// commit a copy (or a near-copy beyond dup_tol) from a slot of its own. The intake takes no
/// plaintext until every live slot committed or the submission window closed.
#[tokio::test(flavor = "multi_thread")]
async fn attack2_no_plaintext_while_the_commit_phase_is_open() {
    let stack = Stack::start().await;
    let shape = fedproof_prover::shape::Shape::new(3, 8).expect("shape");
    let verifier = stack.verifier(shape).await;
    let mut input = support::chain::round_input(shape, 1, 5);
    stack.open_job(verifier.address, &input).await;
    // Only slot 0 commits; slots 1 and 2 still may.
    input.updates[1] = None;
    input.updates[2] = None;
    let input = stack.bound(&input).await;
    let sealed = stack.submit_all(&input).await;
    let commitment = field_to_u256(&input.update_commitments()[0]);

    let test_db = TestDb::new(Engine::Sqlite).await;
    let blob_dir = tempfile::tempdir().expect("dir");
    let store = blob_dir.path().display().to_string();
    Storage::open(&store).expect("store").put_spec(&stack.spec(&input)).await.expect("spec");
    let server = start_server(&stack, &test_db.url, HashMap::new(), Some((stack.sealing.clone(), store))).await;
    wait_indexed(&stack, &server).await;
    let url = format!("http://{}/api/jobs/1/rounds/0/updates", server.addr);
    let t0 = &stack.signers[2];
    let upload = body(t0, t0.address(), 0, commitment, sealed[0].as_ref().expect("sealed"));
    let client = reqwest::Client::new();

    let res = client.post(&url).json(&upload).send().await.expect("post");
    assert_eq!(res.status().as_u16(), 400);
    let answer: Value = res.json().await.expect("json");
    assert_eq!(answer["error"]["code"], "commit_phase_open", "{answer}");
    assert!(test_db.db.uploads(1, 0).await.expect("uploads").is_empty(), "nothing stored while commitments are open");

    // Once the submission window closed, the same upload is taken and receipted.
    stack.warp(u64::from(support::chain::WINDOW) + 1).await;
    let res = client.post(&url).json(&upload).send().await.expect("post");
    assert_eq!(res.status().as_u16(), 201, "{:?}", res.text().await);
    assert_eq!(test_db.db.uploads(1, 0).await.expect("uploads").len(), 1);
    server.shutdown().await;
}

/// A real-size update through the intake: one slot's 1,000,000-parameter update (1.0 MB sealed,
/// a 1.3 MB request in base64, above the 1 MiB limit of other requests, below UPLOAD_LIMIT) is taken,
/// checked against the on-chain commitment, stored under its CID and receipted. The contract
/// does not know the parameter count (the verifier's input count depends on the slots only), so
/// a 1 × 8 verifier stands in for the job's; the intake reads the 1M from the job's spec.
#[tokio::test(flavor = "multi_thread")]
async fn intake_takes_a_one_million_parameter_update() {
    const PARAMS: usize = 1_000_000;
    let stack = Stack::start().await;
    let verifier = stack.verifier(fedproof_prover::shape::Shape::new(1, 8).expect("shape")).await;
    let shape = fedproof_prover::shape::Shape::new(1, PARAMS).expect("shape");
    let input = support::chain::round_input(shape, 1, 5);
    stack.open_job(verifier.address, &input).await;
    let input = stack.bound(&input).await;
    let sealed = stack.submit_all(&input).await;
    let sealed = sealed[0].as_ref().expect("sealed");
    let commitment = field_to_u256(&input.update_commitments()[0]);

    let test_db = TestDb::new(Engine::Sqlite).await;
    let blob_dir = tempfile::tempdir().expect("dir");
    let store = blob_dir.path().display().to_string();
    let storage = Storage::open(&store).expect("store");
    storage.put_spec(&stack.spec(&input)).await.expect("spec");
    let server = start_server(&stack, &test_db.url, HashMap::new(), Some((stack.sealing.clone(), store))).await;
    wait_indexed(&stack, &server).await;
    let url = format!("http://{}/api/jobs/1/rounds/0/updates", server.addr);
    let t0 = &stack.signers[2];
    let upload = serde_json::to_vec(&body(t0, t0.address(), 0, commitment, sealed)).expect("json");
    assert!(upload.len() > 1 << 20, "above the 1 MiB limit of other requests: {} bytes", upload.len());
    let res = reqwest::Client::new()
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(upload)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 201, "{:?}", res.text().await);
    let answer: Value = res.json().await.expect("json");
    let cid = fedproof_storage::blobs::cid_from_ref(fedproof_storage::blob_ref_of(sealed).0);
    assert_eq!(answer["cid"], cid.to_string(), "named by the CID the on-chain blobRef gives");
    let stored = storage.blobs().get(&cid).await.expect("stored under its CID");
    assert_eq!(stored.as_ref(), sealed.as_slice(), "the sealed bytes the on-chain blobRef names");
    let opened = sealed::open(&stack.sealing, &stored).expect("opens");
    let update = UpdateBlob::decode(&opened).expect("decodes");
    assert_eq!(update.values.len(), PARAMS);
    assert_eq!(Some(&update.values), input.updates[0].as_ref(), "the trainer's update, value for value");
    server.shutdown().await;
}
