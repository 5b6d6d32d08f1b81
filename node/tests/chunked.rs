//! A chunked round on anvil (prover/src/chunked; contracts/README.md, "Chunked rounds"): the
//! trainers post their round commitments over chunk commitments, the aggregator settles on the
//! final proof alone, a challenged chunk is answered with its real proof; and an aggregator
//! whose final proof binds a forged chunk cannot answer for it, so the round is refuted and its
//! bond goes to the challenger.

mod common;

use alloy::primitives::U256;
use alloy::providers::Provider;
use ark_bn254::Fr;
use common::{key_store, Harness, BOND, PARAMS, TRAINERS};
use fedproof::chain::deploy::{approve_verifier, deploy_chunked_verifier};
use fedproof::chain::words::to_u256;
use fedproof::roles::chunked;
use fedproof_contracts::{JobMarket, JobStatus};
use fedproof_prover::chunk::constraints::ChunkWitness;
use fedproof_prover::chunked::{aggregate_commitment, commit_update, split, ChunkedRound, Chunking};
use fedproof_prover::keys::{Circuit, Keys};
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::round::RoundInput;
use fedproof_prover::shape::Shape;
use fedproof_prover::snark;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::Arc;
use std::time::Duration;

use ark_bn254::Bn254;
use ark_groth16::Proof;
use common::{finish, start_trainers};
use fedproof::proving::Prover;
use fedproof::roles::aggregator::{self, Settings};
use fedproof::roles::chunked::audit::{self as chunked_audit, ChunkedKeys};
use fedproof::roles::chunked::challenges;
use fedproof::roles::chunked::settle::{self, ChunkProving, ProvenRound};
use fedproof::roles::trainer::{self, Upload};

/// Parameters per chunk: 16 parameters in chunks of 6 (the last one padded), K = 3.
const CHUNK: usize = 6;
const CHUNKS: usize = 3;
/// The test jobs' dispute window (`Harness::create_job_with`): challenges open for one, answers
/// for another.
const WINDOW: u64 = 60;

struct Setup {
    h: Harness,
    chunk_keys: Arc<Keys>,
    final_keys: Arc<Keys>,
    verifier: alloy::primitives::Address,
}

/// The chunk and final keys, set up once per test binary (the tests run at once).
fn chunked_keys() -> (Arc<Keys>, Arc<Keys>) {
    static KEYS: std::sync::OnceLock<(Arc<Keys>, Arc<Keys>)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let shape = Shape::new(TRAINERS, PARAMS).expect("shape");
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let store = key_store();
        let chunk = store.load_or_setup(Circuit::Chunk { trainers: TRAINERS, params: CHUNK }, &mut rng).expect("keys");
        let last = store.load_or_setup(Circuit::Final { shape, chunks: CHUNKS }, &mut rng).expect("keys");
        (Arc::new(chunk), Arc::new(last))
    })
    .clone()
}

async fn setup() -> Setup {
    let h = Harness::start().await;
    let (chunk_keys, final_keys) = tokio::task::spawn_blocking(chunked_keys).await.expect("keys");
    let verifier = deploy_chunked_verifier(&h.owner, &final_keys.vk, &chunk_keys.vk, CHUNKS).await.expect("deploy");
    approve_verifier(&h.owner, h.stack.market, verifier).await.expect("approve");
    Setup { h, chunk_keys, final_keys, verifier }
}

/// A one-round chunked job: bonded, every slot joined, round 0 open, and every trainer's round
/// commitment submitted. Returns the job and the round the aggregator computes.
async fn job_with_submissions(s: &Setup) -> (u64, ChunkedRound) {
    let h = &s.h;
    let job = h.create_job_with(1, s.verifier).await;
    let view = h.view(&h.aggregator, job).await;
    assert_eq!(view.config.chunks as usize, CHUNKS, "the market reads K from the verifier");
    let id = U256::from(job);
    h.aggregator.send("postBond", view.market.postBond(id).value(U256::from(BOND))).await.expect("bond");
    for t in &h.trainers {
        t.send("join", t.market(h.stack.market).join(id).value(U256::from(view.config.stake))).await.expect("join");
    }
    h.advance(common::START_DELAY + 1).await;
    let view = h.view(&h.aggregator, job).await;
    let shape = Shape::new(TRAINERS, PARAMS).expect("shape");
    let updates = synthetic(shape, 1, 3).input.updates;
    let domain = view.domain().await.expect("domain");
    let chunking = Chunking::new(PARAMS, CHUNK).expect("chunking");
    for (slot, t) in h.trainers.iter().enumerate() {
        let update = updates[slot].as_ref().expect("every slot submits");
        let commitment = to_u256(&commit_update(domain, 0, slot, update, chunking).expect("commitment"));
        let blob = alloy::primitives::B256::from(U256::from(slot + 1));
        t.send("submitUpdate", t.market(h.stack.market).submitUpdate(id, 0, commitment, blob)).await.expect("submit");
    }
    let input = RoundInput {
        shape,
        params: view.round_params(0).expect("params"),
        domain,
        order: (1..=TRAINERS as u16).collect(),
        model: vec![0; PARAMS],
        updates,
    };
    (job, split(input, CHUNK).expect("split"))
}

/// The aggregator finalizes with the final proof of `round`; returns the finalization time and
/// the proof.
async fn finalize(s: &Setup, job: u64, round: &ChunkedRound) -> (u64, Proof<Bn254>) {
    let proof = snark::prove_final(&s.final_keys.pk, round.witness.clone(), &mut ChaCha20Rng::seed_from_u64(9))
        .expect("final proof");
    let market = s.h.aggregator.market(s.h.stack.market);
    let fin = chunked::finalization(&round.witness, &proof, U256::ZERO);
    let receipt =
        s.h.aggregator.send("finalizeRound", market.finalizeRound(U256::from(job), 0, fin)).await.expect("finalize");
    let block = s.h.owner.provider.get_block_by_number(receipt.block_number.expect("mined").into()).await;
    (block.expect("block").expect("block").header.timestamp, proof)
}

/// The aggregator drops part of chunk 1 from the aggregate: the final proof takes each C(S^c)
/// as a witness, so it still holds; only chunk 1's own proof binds C(S^1) to the updates.
fn forge_chunk_1(round: &mut ChunkedRound) {
    let w = &mut round.witness;
    w.chunks[1].aggregate += Fr::from(1u8);
    let (domain, r) = (w.input.domain, w.input.params.round);
    w.public.aggregate = aggregate_commitment(domain, r, &w.chunks.iter().map(|c| c.aggregate).collect::<Vec<_>>());
    w.public.digest = fedproof_prover::chunked::digest(&w.chunks);
}

/// The owner, as a challenger, challenges `chunk` with the bond `ceil(bond / n)`.
async fn challenge(s: &Setup, job: u64, round: &ChunkedRound, at: u64, chunk: usize) {
    let market = s.h.owner.market(s.h.stack.market);
    let bond = U256::from(BOND.div_ceil(TRAINERS as u128));
    let digest = chunked::digest_word(&round.witness.chunks);
    let call = market.challengeChunk(U256::from(job), 0, U256::from(chunk), digest, alloy::primitives::Uint::from(at));
    s.h.owner.send("challengeChunk", call.value(bond)).await.expect("challenge");
}

async fn owed(s: &Setup, who: alloy::primitives::Address) -> U256 {
    s.h.owner.market(s.h.stack.market).owed(alloy::primitives::Address::ZERO, who).call().await.expect("owed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_round_settles_on_its_final_proof_and_answers_a_challenge_with_a_chunk_proof() {
    let s = setup().await;
    let (job, round) = job_with_submissions(&s).await;
    let (at, _) = finalize(&s, job, &round).await;
    let published: Vec<Fr> = round.witness.chunks.iter().map(|c| c.digest()).collect();
    let h = round.witness.public.digest;
    assert_eq!(chunked::chunk_to_challenge(h, &published, &round.witness.chunks), Ok(None), "nothing to challenge");
    let state = s.h.owner.market(s.h.stack.market).jobState(U256::from(job)).call().await.expect("state");
    assert_eq!(state.status, JobStatus::Completed as u8, "settled on the final proof");
    assert_eq!(state.model, to_u256(&round.witness.public.aggregate), "C(S) stored");

    challenge(&s, job, &round, at, 1).await;
    let witness = ChunkWitness { input: round.chunks[1].clone(), public: round.witness.chunks[1].clone() };
    let proof = snark::prove_chunk(&s.chunk_keys.pk, witness, &mut ChaCha20Rng::seed_from_u64(2)).expect("chunk proof");
    let leaves: Vec<Fr> = round.witness.chunks.iter().map(|c| c.digest()).collect();
    let words = chunked::settle::proof_words(&proof, leaves[1]);
    let answer = chunked::answer(&leaves, 1, at, words).expect("chunk 1 exists");
    let market = s.h.aggregator.market(s.h.stack.market);
    s.h.aggregator
        .send("answerChunk", market.answerChunk(U256::from(job), 0, U256::from(1), answer))
        .await
        .expect("answer");
    assert_eq!(
        owed(&s, s.h.aggregator.address).await,
        U256::from(BOND.div_ceil(TRAINERS as u128)),
        "the challenger's bond pays the aggregator"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_final_proof_over_a_forged_chunk_cannot_answer_its_challenge_and_loses_the_bond() {
    let s = setup().await;
    let (job, mut round) = job_with_submissions(&s).await;
    let honest = round.witness.chunks.clone();
    forge_chunk_1(&mut round);
    let (at, _) = finalize(&s, job, &round).await;

    // The auditor recomputes every chunk from the updates and compares with the digests the
    // aggregator published (the leaves of its H): chunk 1 differs.
    let published: Vec<Fr> = round.witness.chunks.iter().map(|c| c.digest()).collect();
    let h = round.witness.public.digest;
    assert_eq!(chunked::chunk_to_challenge(h, &published, &honest), Ok(Some(1)));
    assert!(chunked::chunk_to_challenge(h, &published[..2], &honest).is_err(), "digests missing");
    let mut swapped = published.clone();
    swapped.swap(0, 2);
    assert!(chunked::chunk_to_challenge(h, &swapped, &honest).is_err(), "digests that are not H's leaves");
    challenge(&s, job, &round, at, 1).await;
    let forged = ChunkWitness { input: round.chunks[1].clone(), public: round.witness.chunks[1].clone() };
    assert!(
        snark::prove_chunk(&s.chunk_keys.pk, forged, &mut ChaCha20Rng::seed_from_u64(2)).is_err(),
        "no chunk proof of the forged aggregate exists"
    );
    let market = s.h.owner.market(s.h.stack.market);
    let digest = chunked::digest_word(&round.witness.chunks);
    let refute = || market.refuteRound(U256::from(job), 0, U256::from(1), alloy::primitives::Uint::from(at), digest);
    let early = s.h.owner.send("refuteRound", refute()).await;
    assert!(format!("{:?}", early.expect_err("too early")).contains("DeadlineNotPassed"));
    s.h.advance(2 * WINDOW + 1).await;
    let before = owed(&s, s.h.owner.address).await;
    s.h.owner.send("refuteRound", refute()).await.expect("refute");
    let paid = owed(&s, s.h.owner.address).await - before;
    assert_eq!(paid, U256::from(BOND + BOND.div_ceil(TRAINERS as u128)), "the bond and the challenge bond back");
    let state = market.jobState(U256::from(job)).call().await.expect("state");
    assert_eq!(state.status, JobStatus::Expired as u8, "the job ends");
    let events = market.RoundRefuted_filter().topic1(U256::from(job)).from_block(0).query().await.expect("events");
    assert_eq!(events.len(), 1);
    let _: &JobMarket::RoundRefuted = &events[0].0;
}

/// The aggregator's settings for a chunked job: the final proof's keys, the chunks proven here.
fn chunked_settings(s: &Setup) -> Settings {
    Settings {
        keys: Arc::clone(&s.final_keys),
        sealing: s.h.sealing.clone(),
        prover: Prover::InProcess,
        upload_grace: Duration::from_secs(1),
        chunks: Some(ChunkProving { keys: Arc::clone(&s.chunk_keys), prover: Prover::InProcess }),
    }
}

fn audit_keys(s: &Setup) -> ChunkedKeys<'_> {
    ChunkedKeys { final_vk: &s.final_keys.vk, chunk_vk: &s.chunk_keys.vk }
}

/// The roles end to end on a chunked job: trainers commit over their chunk commitments and
/// replay round 1's model from round 0's published aggregate; the aggregator proves every chunk
/// and the final proof, publishes the record and settles, then stays until the challenge window
/// closes; the trainers are paid after it, the attacker nothing; the audit (every chunk proof,
/// and a re-run from the updates) finds nothing to challenge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_job_settles_every_round_pays_after_the_window_and_passes_the_audit() {
    let s = setup().await;
    let h = &s.h;
    let job = h.create_job_with(2, s.verifier).await;
    let view = h.view(&h.aggregator, job).await;
    let (storage, settings, v) = (h.storage.clone(), chunked_settings(&s), view.clone());
    let aggregator = tokio::spawn(async move { aggregator::run(&v, &storage, &settings, |_| {}).await });
    let trainers = start_trainers(h, job, &[Upload::Honest; TRAINERS], &[3]).await;
    assert_eq!(finish(trainers).await, vec![2; TRAINERS], "every trainer submitted to both rounds");
    let state = view.state().await.expect("state");
    assert_eq!(state.status, JobStatus::Completed as u8);
    let early = trainer::withdraw(&h.view(&h.trainers[0], job).await, None).await.expect("withdraw");
    assert_eq!(early, U256::ZERO, "nothing is paid inside the challenge window");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!aggregator.is_finished(), "the aggregator stays to answer challenges");
    h.advance(WINDOW + 1).await;
    let reports = aggregator.await.expect("task").expect("aggregator");
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert_eq!(r.inliers, vec![true, true, true, false], "round {}", r.round);
        assert!(r.scores[..3].iter().all(|s| *s > 0) && r.scores[3] == 0);
    }
    // The last model is replayed from the published aggregates and checked against each C(S).
    let last = view.checked_model(&h.storage, 2, state.model).await.expect("model").expect("published");
    assert_eq!(last.values, reports[1].new_model);

    for (i, chain) in h.trainers.iter().enumerate() {
        let paid = trainer::withdraw(&h.view(chain, job).await, None).await.expect("withdraw");
        assert_eq!(paid.is_zero(), i == 3, "trainer {i} paid {paid}");
    }
    let auditor = h.view(&h.owner, job).await;
    let rows = chunked_audit::audit(&auditor, &h.storage, audit_keys(&s), Some(h.recompute())).await.expect("audit");
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert!(r.ok(), "round {}: {r:?}", r.round);
        assert_eq!(r.challenge, None);
    }
    assert!(chunked_audit::act(&auditor, &rows).await.expect("act").is_empty(), "nothing to challenge");
}

/// The aggregator finalizes over a forged chunk aggregate and publishes a record whose proof of
/// that chunk is another chunk's. The auditor, without any key, verifies every published chunk
/// proof, challenges chunk 1, and once the aggregator's answer (from its record) is refused and
/// the deadline passes, refutes the round: it gets the bond and its challenge bond, the trainers
/// can claim nothing of the round, the job ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_record_with_a_wrong_chunk_proof_is_challenged_by_the_audit_and_refutes_the_round() {
    let s = setup().await;
    let (job, mut round) = job_with_submissions(&s).await;
    let honest = round.clone();
    forge_chunk_1(&mut round);
    let (at, proof) = finalize(&s, job, &round).await;
    let rng = &mut ChaCha20Rng::seed_from_u64(4);
    let chunk_proof = |c: usize| {
        let witness = ChunkWitness { input: honest.chunks[c].clone(), public: honest.witness.chunks[c].clone() };
        snark::prove_chunk(&s.chunk_keys.pk, witness, &mut rng.clone()).expect("chunk proof")
    };
    let (p0, p2) = (chunk_proof(0), chunk_proof(2));
    let aggregator_view = s.h.view(&s.h.aggregator, job).await;
    let proven = ProvenRound { round, chunk_proofs: vec![p0.clone(), p0, p2], proof, prove_seconds: 0.0 };
    settle::publish(&aggregator_view, &s.h.storage, &proven).await.expect("publish");

    let auditor = s.h.view(&s.h.owner, job).await;
    let rows = chunked_audit::audit(&auditor, &s.h.storage, audit_keys(&s), None).await.expect("audit");
    assert!(rows[0].offchain && rows[0].onchain, "the final proof alone holds");
    assert_eq!(rows[0].unproven, Ok(Some(1)), "chunk 1's published proof is not for its digest");
    assert!(!rows[0].ok());
    let actions = chunked_audit::act(&auditor, &rows).await.expect("challenge");
    assert_eq!((actions.len(), actions[0].what, actions[0].chunk), (1, "challenged", 1));
    assert!(challenges::answer_open(&aggregator_view, &s.h.storage).await.expect("answer").is_empty(), "refused");
    assert!(chunked_audit::act(&auditor, &rows).await.expect("act").is_empty(), "not due yet");

    s.h.advance(2 * WINDOW + 1).await;
    let before = owed(&s, s.h.owner.address).await;
    let actions = chunked_audit::act(&auditor, &rows).await.expect("refute");
    assert_eq!((actions.len(), actions[0].what), (1, "refuted"));
    let paid = owed(&s, s.h.owner.address).await - before;
    assert_eq!(paid, U256::from(BOND + BOND.div_ceil(TRAINERS as u128)), "the bond and the challenge bond");
    let state = auditor.state().await.expect("state");
    assert_eq!(state.status, JobStatus::Expired as u8);
    let reason = challenges::not_payable(&auditor, 0, at).await.expect("payable?");
    assert!(reason.is_some_and(|r| r.contains("refuted")));
}
