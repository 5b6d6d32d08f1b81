//! The intake's cache of immutable job reads (`http::job_reads`) on a real anvil: two jobs of
//! different shapes uploaded to in turn each get their own parameter count; and a reorg that
//! replaces job 1 by another job 1 of another shape empties the cache when the indexer rolls
//! back, so the new job's uploads are checked against its own terms (without the invalidation the
//! old job's parameter count stays cached and the upload is refused).

mod support;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use fedproof_prover::round::RoundInput;
use fedproof_prover::shape::Shape;
use fedproof_storage::{blob_ref_of, Storage};
use serde_json::Value;
use std::collections::HashMap;
use support::chain::{field_to_u256, round_input, Stack};
use support::server::{start_server, wait_indexed};
use support::upload::{body, body_for};
use support::{Engine, TestDb};

fn narrow() -> Shape {
    Shape::new(3, 8).expect("shape")
}

fn wide() -> Shape {
    Shape::new(3, 16).expect("shape")
}

/// Opens job `input.params.job_id` with `verifier` and commits every slot; returns the bound
/// round, each slot's commitment and sealed update.
async fn committed(stack: &Stack, verifier: Address, input: &RoundInput) -> (RoundInput, Vec<U256>, Vec<Vec<u8>>) {
    stack.open_job(verifier, input).await;
    let input = stack.bound(input).await;
    let sealed = stack.submit_all(&input).await;
    let commitments = input.update_commitments().iter().map(field_to_u256).collect();
    (input, commitments, sealed.into_iter().map(|s| s.expect("every slot present")).collect())
}

/// Posts an upload and returns its status and error code.
async fn post(url: &str, body: &Value) -> (u16, String) {
    let res = reqwest::Client::new().post(url).json(body).send().await.expect("post");
    let status = res.status().as_u16();
    let answer: Value = res.json().await.unwrap_or_default();
    (status, answer["error"]["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_jobs_of_different_shapes_each_get_their_own_parameter_count() {
    let stack = Stack::start().await;
    let (v8, v16) = (stack.verifier(narrow()).await, stack.verifier(wide()).await);
    let (one, c1, s1) = committed(&stack, v8.address, &round_input(narrow(), 1, 5)).await;
    let (two, c2, s2) = committed(&stack, v16.address, &round_input(wide(), 2, 6)).await;
    let db = TestDb::new(Engine::Sqlite).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().display().to_string();
    for input in [&one, &two] {
        Storage::open(&store).expect("store").put_spec(&stack.spec(input)).await.expect("spec");
    }
    let server = start_server(&stack, &db.url, HashMap::new(), Some((stack.sealing.clone(), store))).await;
    wait_indexed(&stack, &server).await;
    let url = |job: u64| format!("http://{}/api/jobs/{job}/rounds/0/updates", server.addr);

    // In turn, so that each job's second upload finds both jobs cached.
    for slot in 0..3 {
        let t = &stack.signers[2 + slot];
        let answer = post(&url(1), &body(t, t.address(), 0, c1[slot], &s1[slot])).await;
        assert_eq!(answer, (201, String::new()), "job 1 (8 parameters), slot {slot}");
        let answer = post(&url(2), &body_for(2, t, t.address(), 0, c2[slot], &s2[slot])).await;
        assert_eq!(answer, (201, String::new()), "job 2 (16 parameters), slot {slot}");
    }
    for job in [1, 2] {
        assert_eq!(server.db.uploads(job, 0).await.expect("uploads").len(), 3, "job {job}'s three updates stored");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_empties_the_cache_so_a_replaced_job_is_checked_against_its_own_terms() {
    let mut stack = Stack::start().await;
    let (v8, v16) = (stack.verifier(narrow()).await, stack.verifier(wide()).await);
    let (a, b) = (round_input(narrow(), 1, 5), round_input(wide(), 1, 6));
    let db = TestDb::new(Engine::Sqlite).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().display().to_string();
    for input in [&a, &b] {
        Storage::open(&store).expect("store").put_spec(&stack.spec(input)).await.expect("spec");
    }
    let snap = stack.snapshot().await;

    // History A: job 1 of 8 parameters; an upload fills the cache with its terms.
    let (_, ca, sa) = committed(&stack, v8.address, &a).await;
    let server = start_server(&stack, &db.url, HashMap::new(), Some((stack.sealing.clone(), store))).await;
    wait_indexed(&stack, &server).await;
    let url = format!("http://{}/api/jobs/1/rounds/0/updates", server.addr);
    let t0 = &stack.signers[2];
    assert_eq!(post(&url, &body(t0, t0.address(), 0, ca[0], &sa[0])).await, (201, String::new()));
    let cursor = server.db.cursor("chain").await.expect("cursor").expect("indexed") as u64;

    // History B from before A (a reorg deeper than the confirmations, 0 here): job 1 of 16
    // parameters, the same trainers. The chain grows past the old cursor, so the index is up to
    // date only once the indexer has found the reorg, rolled back and re-indexed.
    stack.revert(snap).await;
    let (_, cb, sb) = committed(&stack, v16.address, &b).await;
    let head = stack.provider.get_block_number().await.expect("head");
    stack.mine((cursor + 2).saturating_sub(head)).await;
    wait_indexed(&stack, &server).await;
    let spec_b = fedproof_web_api::format::hash(&blob_ref_of(&stack.spec(&b).encode()));
    assert_eq!(server.db.job(1).await.expect("job").expect("job 1").spec_hash, spec_b, "history B indexed");

    // Slot 0 has history A's row (the service's own rows outlive a rollback): slot 1 shows it.
    let t1 = &stack.signers[3];
    let answer = post(&url, &body(t1, t1.address(), 0, cb[1], &sb[1])).await;
    assert_eq!(answer, (201, String::new()), "job 1 of history B is checked as 16 parameters");
    server.shutdown().await;
}
