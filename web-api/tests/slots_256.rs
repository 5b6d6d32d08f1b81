//! Rounds the 3 × 8 proven job cannot show, on a real anvil chain with a stand-in verifier that
//! accepts every proof (`support::verifier::deploy_accepting`), indexed into SQLite and
//! PostgreSQL and read back through the API: a 256-slot job whose slot 200 is an inlier in one
//! round and declared unavailable in the next (bitmaps are uint256 end to end: chain, database,
//! JSON, public inputs), and a chunked round, whose H is public input 3.

mod support;

use alloy::primitives::{aliases::U40, B256, U256};
use ark_bn254::Fr;
use fedproof_contracts::JobMarket;
use fedproof_prover::export::calldata::Word;
use fedproof_prover::round::public_inputs::{pack_scores, Flags};
use fedproof_prover::round::PublicInputs;
use fedproof_prover::shape::{public_input_count, Shape};
use fedproof_web_api::format::{bits, word};
use serde_json::Value;
use std::collections::HashMap;
use support::chain::{field_to_u256, round_input, send, send_quick, Stack, BOND, STAKE, WINDOW};
use support::server::{start_server, wait_indexed};
use support::{assert_round_bitmaps, TestDb, ENGINES};

/// Slots of the wide job (JobMarket's MAX_SLOTS).
const N: usize = 256;
/// Trainers that join it: slots 0..=201.
const JOINED: usize = 202;

/// A bitmap of the given slots.
fn slots(of: &[usize]) -> U256 {
    of.iter().fold(U256::ZERO, |acc, &i| acc | (U256::from(1) << i))
}

/// `n` flags, true at `of`.
fn flags(of: &[usize], n: usize) -> Vec<bool> {
    (0..n).map(|i| of.contains(&i)).collect()
}

/// The commitment slot `slot` submits in `round` (any non-zero field element will do here).
fn commitment(round: u32, slot: usize) -> U256 {
    U256::from(1_000_000 + 1_000 * round as usize + slot)
}

/// What one round of a test job claims.
struct Round {
    round: u32,
    /// Slots that commit, in this order (submission ranks 1, 2, …).
    submitters: &'static [usize],
    inliers: &'static [usize],
    unavailable: &'static [usize],
    /// (slot, score); every other slot scores 0.
    scores: &'static [(usize, u64)],
    norm: u128,
    /// H of a chunked round (0: proven whole).
    digest: U256,
}

impl Round {
    /// The slots present: committed and not unavailable.
    fn present(&self) -> Vec<usize> {
        let mut present: Vec<usize> =
            self.submitters.iter().copied().filter(|s| !self.unavailable.contains(s)).collect();
        present.sort_unstable();
        present
    }

    fn scores(&self, n: usize) -> Vec<u64> {
        (0..n).map(|i| self.scores.iter().find(|(s, _)| *s == i).map_or(0, |(_, v)| *v)).collect()
    }

    /// Commits the submitters' updates, lets the submission window close (the other joined slots
    /// never commit) and finalizes the round as the aggregator.
    async fn play(&self, stack: &Stack, job: U256, n: usize) -> JobMarket::Finalization {
        let market = stack.market();
        for &slot in self.submitters {
            let blob_ref = B256::from(U256::from(7_000 + slot));
            send(
                market.submitUpdate(job, self.round, commitment(self.round, slot), blob_ref).from(stack.trainer(slot)),
            )
            .await;
        }
        stack.warp(u64::from(WINDOW) + 1).await;
        let fin = JobMarket::Finalization {
            newModel: U256::from(4_242 + self.round),
            digest: self.digest,
            inlierBits: slots(self.inliers),
            unavailableBits: slots(self.unavailable),
            aggregateNormSq: self.norm,
            scoreWords: pack_scores(&self.scores(n)).iter().map(field_to_u256).collect(),
            proof: [U256::ZERO; 8],
        };
        send(market.finalizeRound(job, self.round, fin.clone()).from(stack.aggregator())).await;
        fin
    }
}

/// Round 0 of the wide job: slot 200 an inlier, 201 unavailable, 63 (bit 63: a negative BIGINT
/// before) and 199 outliers.
const WIDE_0: Round = Round {
    round: 0,
    submitters: &[0, 63, 64, 199, 200, 201],
    inliers: &[0, 64, 200],
    unavailable: &[201],
    scores: &[(0, 5), (64, 7), (200, 11)],
    norm: 1_000_003,
    digest: U256::ZERO,
};

/// Round 1: slot 200 committed and is declared unavailable.
const WIDE_1: Round = Round {
    round: 1,
    submitters: &[200, 0, 199],
    inliers: &[0, 199],
    unavailable: &[200],
    scores: &[(0, 2), (199, 3)],
    norm: 65_537,
    digest: U256::ZERO,
};

async fn get(client: &reqwest::Client, base: &str, path: &str) -> Value {
    let res = client.get(format!("{base}{path}")).send().await.expect("request");
    assert_eq!(res.status().as_u16(), 200, "GET {path}");
    res.json().await.expect("json")
}

/// The API's public inputs of a round, split by name for `shape`.
fn public_inputs(round: &Value, shape: Shape) -> PublicInputs {
    let inputs: Vec<Fr> = round["public_inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|w| {
            let v: U256 = w.as_str().expect("0x word").parse().expect("word");
            Word(v.to_be_bytes()).to_field::<Fr>().expect("a field element")
        })
        .collect();
    PublicInputs::from_vec(&shape, &inputs).expect("as many inputs as the shape has")
}

/// Checks what the index and the API say of a round of the wide job against what it claimed.
async fn check_wide_round(client: &reqwest::Client, base: &str, r: &Round, fin: &JobMarket::Finalization) {
    let present = slots(&r.present());
    let round = get(client, base, &format!("/api/jobs/1/rounds/{}", r.round)).await;
    let what = format!("round {}", r.round);
    assert_eq!(round["presence_bits"], bits(&present), "{what}");
    assert_eq!(round["inlier_bits"], bits(&fin.inlierBits), "{what}");
    assert_eq!(round["unavailable_bits"], bits(&fin.unavailableBits), "{what}");
    assert_eq!(round["aggregate_norm_sq"], r.norm.to_string(), "{what}");
    assert_eq!(round["digest"], Value::Null, "{what}: proven whole");
    let listed = round["slots"].as_array().expect("slots");
    assert_eq!(listed.len(), N, "{what}: one entry per slot");
    let scores = r.scores(N);
    for (i, slot) in listed.iter().enumerate() {
        assert_eq!(slot["slot"], i, "{what}");
        assert_eq!(slot["present"], present.bit(i), "{what}: slot {i} present");
        assert_eq!(slot["inlier"], r.inliers.contains(&i), "{what}: slot {i} inlier");
        assert_eq!(slot["score"], scores[i].to_string(), "{what}: slot {i} score");
    }
    let outliers: Vec<usize> = r.present().into_iter().filter(|s| !r.inliers.contains(s)).collect();
    assert_eq!(round["outliers"], serde_json::json!(outliers), "{what}");

    // The public inputs as JobMarket assembles them for 256 slots: 9-bit ranks, four flags words
    // of unavailable and inlier bits with ‖S‖² in word 0.
    let inputs = public_inputs(&round, Shape::new(N, 8).expect("shape"));
    assert_eq!(round["public_inputs"].as_array().expect("inputs").len(), public_input_count(N));
    assert_eq!(
        inputs.flags(N),
        Flags { unavailable: flags(r.unavailable, N), inliers: flags(r.inliers, N), aggregate_norm_sq: r.norm as u64 },
        "{what}: flags words"
    );
    let mut ranks = vec![0u16; N];
    for (k, &slot) in r.submitters.iter().enumerate() {
        ranks[slot] = k as u16 + 1;
    }
    assert_eq!(inputs.order(N), ranks, "{what}: submission ranks");
    assert_eq!(inputs.scores(N), scores, "{what}: scores");
    assert_eq!(field_to_u256(&inputs.aggregate), fin.newModel, "{what}: C(S)");
    assert_eq!(inputs.digest, Fr::from(0u64), "{what}: H is 0 for a round proven whole");
    for (i, c) in inputs.updates.iter().enumerate() {
        let expected = if r.submitters.contains(&i) { commitment(r.round, i) } else { U256::ZERO };
        assert_eq!(field_to_u256(c), expected, "{what}: C_{i}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_256_slot_round_with_slot_200_inlier_then_unavailable_is_stored_and_served_exactly() {
    let stack = Stack::start_with_accounts(2 + JOINED).await;
    let verifier = support::verifier::deploy_accepting(&stack.provider, N, 0).await;
    let market = stack.market();
    send(market.setVerifierApproval(verifier, true).from(stack.owner())).await;
    let input = round_input(Shape::new(3, 8).expect("shape"), 1, 5); // the job's terms and model
    let job = stack.create_job_with(verifier, &input, N as u16, 2).await;
    send(market.postBond(job).value(U256::from(BOND)).from(stack.aggregator())).await;
    let mut joins = Vec::new();
    for slot in 0..JOINED {
        joins.push(send_quick(market.join(job).value(U256::from(STAKE)).from(stack.trainer(slot))).await);
    }
    stack.confirm(&joins).await;
    stack.warp(100).await;

    let fin0 = WIDE_0.play(&stack, job, N).await;
    // Slot 200 claims its share of round 0 (the claim records the round).
    let event = stack.finalized_event().await;
    let outcome = JobMarket::RoundOutcome {
        unavailableBits: fin0.unavailableBits,
        finalizedAt: event.finalizedAt,
        aggregateNormSq: fin0.aggregateNormSq,
        scoreWords: fin0.scoreWords.clone(),
    };
    send(market.claim(job, 0, U256::from(200), outcome).from(stack.trainer(200))).await;
    let fin1 = WIDE_1.play(&stack, job, N).await;
    let events = stack.events::<JobMarket::RoundFinalized>().await;
    assert_eq!(events.iter().map(|e| e.inlierBits).collect::<Vec<_>>(), vec![fin0.inlierBits, fin1.inlierBits]);

    for engine in ENGINES {
        let test_db = TestDb::new(engine).await;
        let server = start_server(&stack, &test_db.url, HashMap::new(), None).await;
        wait_indexed(&stack, &server).await;
        let db = &server.db;

        // The index holds every bit, slot 200's included.
        let job_row = db.job(1).await.expect("job").expect("indexed");
        assert_eq!((job_row.trainers, job_row.status.as_str()), (N as i64, "completed"), "{engine:?}");
        let rounds = db.rounds(1).await.expect("rounds");
        assert_eq!(rounds.len(), 2, "{engine:?}");
        for (row, (r, fin)) in rounds.iter().zip([(&WIDE_0, &fin0), (&WIDE_1, &fin1)]) {
            assert_eq!(row.inliers(), fin.inlierBits, "{engine:?} round {}", r.round);
            assert_eq!(row.unavailable(), fin.unavailableBits, "{engine:?} round {}", r.round);
            assert_eq!(row.presence(), slots(&r.present()), "{engine:?} round {}", r.round);
            assert_eq!(row.inlier_bits.as_deref(), Some(bits(&fin.inlierBits).as_str()));
            assert_eq!(row.unavailable_bits.as_deref(), Some(bits(&fin.unavailableBits).as_str()));
            assert_eq!(row.aggregate_norm_sq.as_deref(), Some(r.norm.to_string().as_str()));
            assert_round_bitmaps(row, N);
        }
        assert!(rounds[0].inliers().bit(200) && !rounds[0].unavailable().bit(200), "{engine:?}: slot 200 an inlier");
        assert!(rounds[1].unavailable().bit(200) && !rounds[1].presence().bit(200), "{engine:?}: then unavailable");
        let outcome0 = db.round_slots(1, Some(0)).await.expect("slots");
        assert_eq!(outcome0.len(), N, "{engine:?}: an outcome per slot");
        assert_eq!((outcome0[200].present, outcome0[200].inlier, outcome0[200].score.as_str()), (1, 1, "11"));
        assert_eq!(outcome0[200].trainer, format!("{:#x}", stack.trainer(200)), "{engine:?}: slot 200's trainer");
        assert_eq!((outcome0[201].present, outcome0[201].inlier), (0, 0), "{engine:?}: 201 unavailable");
        let outcome1 = db.round_slots(1, Some(1)).await.expect("slots");
        assert_eq!((outcome1[200].present, outcome1[200].inlier), (0, 0), "{engine:?}: 200 unavailable");
        let ranks: Vec<(i64, Option<i64>)> =
            db.submissions(1, 1).await.expect("submissions").iter().map(|s| (s.slot, s.rank)).collect();
        assert_eq!(ranks, vec![(0, Some(2)), (199, Some(3)), (200, Some(1))], "{engine:?}");
        let claimed: Vec<i64> =
            sqlx::query_scalar("SELECT slot FROM claims").fetch_all(db.pool()).await.expect("claims");
        assert_eq!(claimed, vec![200], "{engine:?}");

        // The API serves them exactly.
        let base = format!("http://{}", server.addr);
        let client = reqwest::Client::new();
        check_wide_round(&client, &base, &WIDE_0, &fin0).await;
        check_wide_round(&client, &base, &WIDE_1, &fin1).await;
        let detail = get(&client, &base, "/api/jobs/1").await;
        assert_eq!(detail["slots"], N);
        let summary = &detail["rounds_detail"];
        assert_eq!((summary[0]["inliers"].as_u64(), summary[0]["outliers"].as_u64()), (Some(3), Some(2)));
        assert_eq!((summary[1]["inliers"].as_u64(), summary[1]["outliers"].as_u64()), (Some(2), Some(0)));
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_rounds_public_inputs_carry_its_digest_at_index_3() {
    let stack = Stack::start().await;
    let verifier = support::verifier::deploy_accepting(&stack.provider, 3, 2).await; // K = 2 chunks
    send(stack.market().setVerifierApproval(verifier, true).from(stack.owner())).await;
    let input = round_input(Shape::new(3, 8).expect("shape"), 1, 5);
    let job = stack.open_job(verifier, &input).await;
    let h = U256::from_be_bytes([0x0d; 32]) >> 8; // a field element
    let round = Round {
        round: 0,
        submitters: &[2, 0, 1],
        inliers: &[0, 2],
        unavailable: &[],
        scores: &[(0, 3), (2, 4)],
        norm: 99,
        digest: h,
    };
    let fin = round.play(&stack, job, 3).await;
    let chunked = stack.events::<JobMarket::ChunkedRoundFinalized>().await;
    assert_eq!(chunked.iter().map(|e| e.digest).collect::<Vec<_>>(), vec![h], "JobMarket logged H");
    let finalized_at: U40 = stack.finalized_event().await.finalizedAt;
    assert!(finalized_at > U40::ZERO);

    for engine in ENGINES {
        let test_db = TestDb::new(engine).await;
        let server = start_server(&stack, &test_db.url, HashMap::new(), None).await;
        wait_indexed(&stack, &server).await;
        let row = server.db.round(1, 0).await.expect("round").expect("indexed");
        assert_eq!(row.digest.as_deref(), Some(word(&h).as_str()), "{engine:?}: H stored with its round");
        assert_round_bitmaps(&row, 3);

        let base = format!("http://{}", server.addr);
        let detail = get(&reqwest::Client::new(), &base, "/api/jobs/1/rounds/0").await;
        assert_eq!(detail["digest"], word(&h), "{engine:?}");
        let inputs = detail["public_inputs"].as_array().expect("inputs");
        assert_eq!(inputs.len(), public_input_count(3), "{engine:?}");
        assert_eq!(inputs[3], word(&h), "{engine:?}: public input 3 is H");
        assert_eq!(inputs[2], word(&fin.newModel), "{engine:?}: public input 2 is C(S)");
        let split = public_inputs(&detail, Shape::new(3, 8).expect("shape"));
        assert_eq!(split.order(3), vec![2, 3, 1], "{engine:?}: ranks");
        assert_eq!(
            split.flags(3),
            Flags { unavailable: vec![false; 3], inliers: vec![true, false, true], aggregate_norm_sq: 99 },
            "{engine:?}"
        );
        server.shutdown().await;
    }
}
