//! The circuit agrees with the native reference, and rejects every wrong claim.
#![allow(clippy::unwrap_used)] // a failing test should panic

use ark_bn254::Fr;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem};
use fedproof_prover::chunked::aggregate;
use fedproof_prover::commitment;
use fedproof_prover::layout::Layout;
use fedproof_prover::round::public_inputs::{pack_flags, Flags};
use fedproof_prover::round::sample::{synthetic, PlantedAttack};
use fedproof_prover::round::{run, RoundCircuit, RoundInput, RoundWitness};
use fedproof_prover::shape::Shape;
use proptest::prelude::*;

fn satisfied(w: &RoundWitness) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    RoundCircuit { shape: w.input.shape, witness: Some(w.clone()) }
        .generate_constraints(cs.clone())
        .expect("synthesis");
    cs.is_satisfied().expect("satisfiability check")
}

fn witness(shape: (usize, usize), malicious: usize, seed: u64) -> RoundWitness {
    let s = synthetic(Shape::new(shape.0, shape.1).unwrap(), malicious, seed);
    RoundWitness::new(s.input).unwrap()
}

/// Recomputes the public inputs after a test tampered with the claimed outputs.
fn reclaim(w: &mut RoundWitness) {
    let p = &w.input.params;
    let flags = Flags {
        unavailable: w.public.flags(w.input.shape.trainers).unavailable,
        inliers: w.output.inliers.clone(),
        aggregate_norm_sq: w.output.aggregate_norm_sq,
    };
    w.public = fedproof_prover::round::PublicInputs::new(
        p,
        w.input.domain,
        [aggregate_of(w, &w.output.inliers, 0), w.public.digest],
        w.public.updates.clone(),
        &w.input.order,
        &flags,
        &w.output.scores,
    );
}

/// `C(S)` of the round's sums over `inliers`, the sum of parameter 0 moved by `nudge`.
fn aggregate_of(w: &RoundWitness, inliers: &[bool], nudge: i64) -> Fr {
    let mut sums = aggregate::sums(w.input.shape.params, &w.input.updates, inliers);
    sums[0] += nudge;
    let count = inliers.iter().filter(|i| **i).count();
    Layout::Whole.commit_aggregate(w.input.domain, w.input.params.round, w.input.shape.trainers, count, &sums).unwrap()
}

#[test]
fn honest_round_satisfies_and_flags_the_attackers() {
    let w = witness((7, 12), 3, 1);
    assert!(satisfied(&w));
    assert_eq!(w.output.inliers, vec![true, true, true, true, false, false, false]);
    assert!(w.output.scores[..4].iter().all(|s| *s > 0));
}

#[test]
fn public_input_count_matches_the_layout() {
    let w = witness((6, 5), 1, 2);
    let cs = ConstraintSystem::<Fr>::new_ref();
    RoundCircuit { shape: w.input.shape, witness: Some(w.clone()) }.generate_constraints(cs.clone()).unwrap();
    assert_eq!(cs.num_instance_variables(), w.input.shape.num_public_inputs() + 1);
    assert_eq!(w.public.to_vec().len(), w.input.shape.num_public_inputs());
}

#[test]
fn wrong_inlier_mask_is_rejected() {
    let mut w = witness((6, 9), 2, 3);
    let flip = w.output.inliers.iter().position(|b| !*b).unwrap();
    w.output.inliers[flip] = true;
    reclaim(&mut w);
    assert!(!satisfied(&w));
    let mut w = witness((6, 9), 2, 3);
    w.output.inliers[0] = false;
    w.output.scores[0] = 0;
    reclaim(&mut w);
    assert!(!satisfied(&w));
}

#[test]
fn wrong_score_is_rejected() {
    for delta in [1i64, -1] {
        let mut w = witness((5, 8), 1, 4);
        w.output.scores[1] = (w.output.scores[1] as i64 + delta) as u64;
        reclaim(&mut w);
        assert!(!satisfied(&w), "score off by {delta}");
    }
    // Paying an outlier is rejected too.
    let mut w = witness((5, 8), 1, 4);
    w.output.scores[4] = 10;
    reclaim(&mut w);
    assert!(!satisfied(&w));
}

#[test]
fn wrong_aggregate_is_rejected() {
    let honest = witness((5, 8), 1, 5);
    assert_eq!(honest.public.aggregate, aggregate_of(&honest, &honest.output.inliers, 0), "C(S) as anyone computes it");
    // S moved by one in one parameter, properly committed: not the inliers' sum.
    let mut w = honest.clone();
    w.public.aggregate = aggregate_of(&w, &w.output.inliers, 1);
    assert!(!satisfied(&w));
    // The sum over every present slot (the outlier's update averaged in) under the proven flags.
    let mut w = honest.clone();
    w.public.aggregate = aggregate_of(&w, &w.input.presence(), 0);
    assert!(!satisfied(&w));
    // The right S under another round's header.
    let mut w = honest.clone();
    let count = w.output.inliers.iter().filter(|i| **i).count();
    let sums = aggregate::sums(w.input.shape.params, &w.input.updates, &w.output.inliers);
    w.public.aggregate = Layout::Whole.commit_aggregate(w.input.domain, 1, 5, count, &sums).unwrap();
    assert!(!satisfied(&w));
    // A round proven whole claims no chunk digest.
    let mut w = honest;
    w.public.digest = Fr::from(1u8);
    assert!(!satisfied(&w));
}

#[test]
fn commitment_mismatch_is_rejected() {
    let mut w = witness((5, 8), 1, 6);
    w.public.updates[2] = w.public.updates[1];
    assert!(!satisfied(&w));
}

#[test]
fn out_of_range_value_is_rejected() {
    // An aggregator swapping in a value outside the 8-bit range (here 200) cannot match any
    // commitment: the range check reads the low 8 bits, which differ from the committed packing.
    let mut w = witness((4, 6), 0, 7);
    w.input.updates[0].as_mut().unwrap()[2] = 200;
    let bad = commitment::commit_packed(
        &commitment::update_header(w.input.domain, 0, 0),
        &commitment::pack(w.input.updates[0].as_ref().unwrap(), 8),
    );
    w.public.updates[0] = bad;
    assert!(!satisfied(&w));
    assert!(run(&w.input).is_err(), "the reference refuses the same input");
}

#[test]
fn sybil_copies_do_not_all_survive() {
    let s = synthetic(Shape::new(8, 10).unwrap(), 4, 8);
    let out = run(&s.input).unwrap();
    let sybils: Vec<usize> = (0..8).filter(|&i| s.attacks[i] == Some(PlantedAttack::Sybil)).collect();
    assert!(!sybils.is_empty());
    for i in sybils {
        assert!(out.trace.duplicate[i], "slot {i} copies slot {} and is a duplicate", i - 1);
        assert!(!out.inliers[i]);
    }
    // Honest copies: the first survives, later ones are duplicates.
    let mut input = synthetic(Shape::new(5, 6).unwrap(), 0, 9).input;
    input.updates[3] = input.updates[1].clone();
    let out = run(&input).unwrap();
    assert!(out.inliers[1] && !out.inliers[3] && out.trace.duplicate[3]);
    assert!(satisfied(&RoundWitness::new(input).unwrap()));
}

#[test]
fn edge_rounds_satisfy() {
    let shape = Shape::new(4, 5).unwrap();
    let base = synthetic(shape, 0, 10).input;
    let cases: Vec<RoundInput> = vec![
        RoundInput { updates: vec![None; 4], ..base.clone() },
        RoundInput { updates: vec![base.updates[0].clone(), None, None, None], ..base.clone() },
        RoundInput { updates: vec![Some(vec![0; 5]); 4], ..base.clone() },
        RoundInput { updates: vec![base.updates[0].clone(); 4], ..base.clone() },
        RoundInput { updates: vec![Some(vec![-128; 5]), Some(vec![127; 5]), None, Some(vec![127; 5])], ..base },
    ];
    for (k, input) in cases.into_iter().enumerate() {
        let w = RoundWitness::new(input).unwrap();
        assert!(satisfied(&w), "edge case {k}: {:?}", w.output.inliers);
    }
}

fn arb_round() -> impl Strategy<Value = RoundInput> {
    (2usize..=6, 1usize..=9, 0u64..1000).prop_flat_map(|(n, d, seed)| {
        let base = synthetic(Shape::new(n, d).unwrap(), n / 3, seed).input;
        let updates = proptest::collection::vec(
            prop_oneof![
                3 => proptest::collection::vec(-128i64..=127, d).prop_map(Some),
                1 => Just(None),
                1 => Just(Some(vec![0; d])),
            ],
            n,
        );
        (Just(base), updates, 0u8..(n as u8), 1u32 << 16..1 << 19, 0u32..500, 0u32..200).prop_map(
            |(base, updates, f, tau, lr, dup)| {
                let mut input = base;
                input.params.max_malicious = f;
                input.params.tau = tau;
                input.params.lr = lr;
                input.params.dup_tol = dup;
                // Half the time, plant copies to exercise duplicate detection.
                if updates.len() > 2 && lr % 2 == 0 {
                    input.updates = updates.clone();
                    input.updates[updates.len() - 1] = updates[0].clone();
                } else {
                    input.updates = updates;
                }
                input.model = input.model.iter().map(|m| m / 64).collect();
                input
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn circuit_agrees_with_reference(input in arb_round()) {
        let w = RoundWitness::new(input).unwrap();
        prop_assert!(satisfied(&w), "outcome {:?}", w.output.inliers);
        // Any single changed score is rejected.
        if let Some(i) = w.output.inliers.iter().position(|b| *b) {
            let mut bad = w.clone();
            bad.output.scores[i] += 1;
            reclaim(&mut bad);
            prop_assert!(!satisfied(&bad));
        }
    }
}

#[test]
fn each_stage_of_the_rule_catches_its_attack() {
    // Over many seeded rounds: Sybil copies fall to de-duplication, sign-flip and noise to the
    // Krum threshold, zero updates to Krum or alignment; no honest slot is ever flagged.
    let shape = Shape::new(10, 64).unwrap();
    for seed in 0..20 {
        let s = synthetic(shape, 4, seed);
        let out = run(&s.input).unwrap();
        for (i, attack) in s.attacks.iter().enumerate() {
            let t = &out.trace;
            match attack {
                None => assert!(out.inliers[i], "seed {seed}: honest slot {i} flagged"),
                Some(PlantedAttack::Sybil) => assert!(t.duplicate[i]),
                Some(PlantedAttack::SignFlip) | Some(PlantedAttack::Noise) => assert!(t.unique[i] && !t.krum_inlier[i]),
                Some(PlantedAttack::FreeRide) => assert!(!out.inliers[i], "seed {seed}"),
            }
        }
    }
}

#[test]
fn alignment_catches_a_free_rider_that_krum_keeps() {
    // Diverse honest updates (a small shared component, large individual parts) make the zero
    // update the most central point: Krum alone keeps it, the alignment check removes it.
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    let mut input = synthetic(Shape::new(7, 32).unwrap(), 0, 3).input;
    for u in input.updates.iter_mut().take(6) {
        *u = Some((0..32).map(|_| 10 + rng.gen_range(-60..=60)).collect());
    }
    input.updates[6] = Some(vec![0; 32]);
    let out = run(&input).unwrap();
    assert!(out.trace.krum_inlier[6], "Krum keeps the zero update");
    assert!(!out.inliers[6], "alignment drops it");
    assert_eq!(out.scores[6], 0);
    assert!(satisfied(&RoundWitness::new(input).unwrap()));
}

#[test]
fn an_unavailable_slot_keeps_its_commitment_but_counts_as_absent() {
    // The contract accumulates every submitted commitment; a slot the aggregator declares
    // unavailable keeps C_i in the public inputs and its unavailable bit is set. The circuit
    // must accept that, and must not let the slot's update count.
    let s = synthetic(Shape::new(6, 8).unwrap(), 1, 12);
    let submitted = s.input.update_commitments()[2];
    let mut input = s.input.clone();
    input.updates[2] = None;
    let w = RoundWitness::with_unavailable(input.clone(), &[(2, submitted)]).unwrap();
    assert_eq!(w.public.updates[2], submitted);
    assert_eq!(w.public.flags(6).unavailable, [false, false, true, false, false, false]);
    assert!(satisfied(&w), "unavailable slot with its commitment still in the inputs");
    assert!(!w.output.inliers[2] && w.output.scores[2] == 0);
    // Leaving its unavailable bit out makes it present: it must then open its commitment.
    let mut hidden = w.clone();
    hidden.public.flags = pack_flags(&Flags { unavailable: vec![false; 6], ..w.public.flags(6) });
    assert!(!satisfied(&hidden), "a submitted slot neither present nor declared unavailable");
    // The prover refuses to declare a slot holding an update, or a zero commitment.
    assert!(RoundWitness::with_unavailable(s.input.clone(), &[(2, submitted)]).is_err());
    assert!(RoundWitness::with_unavailable(input, &[(2, Fr::from(0u8))]).is_err());
}

#[test]
fn attack_an_unavailable_bit_on_a_slot_that_never_submitted_does_not_prove() {
    // The contract passes the aggregator's unavailable bits without checking them against the
    // submitted slots: the circuit must refuse an unavailable slot whose C_i is 0 (a
    // non-submitter flagged unavailable would otherwise stand in the outcome as disputable).
    let mut input = synthetic(Shape::new(5, 6).unwrap(), 1, 13).input;
    input.updates[4] = None;
    input.order = RoundInput::slot_order(&input.updates);
    let mut w = RoundWitness::new(input).unwrap();
    assert!(satisfied(&w));
    let mut flags = w.public.flags(5);
    flags.unavailable[4] = true;
    w.public.flags = pack_flags(&flags);
    assert!(!satisfied(&w), "slot 4 never committed");
}

#[test]
fn a_round_past_64_slots_states_its_bits_in_later_words() {
    // 130 slots: three flags words and five order words. Slot 128 committed and was declared
    // unavailable (word 2's first bit), slot 129 is empty, and the inliers span all words.
    let shape = Shape::new(130, 2).unwrap();
    let mut input = synthetic(shape, 2, 14).input;
    let submitted = input.update_commitments()[128];
    input.updates[128] = None;
    input.updates[129] = None;
    input.order = RoundInput::slot_order(&input.updates);
    let w = RoundWitness::with_unavailable(input, &[(128, submitted)]).unwrap();
    assert_eq!((w.public.flags.len(), w.public.order.len()), (3, 5));
    let flags = w.public.flags(130);
    assert!(flags.unavailable[128] && flags.unavailable.iter().filter(|u| **u).count() == 1);
    assert_eq!(flags.inliers, w.output.inliers);
    assert!(flags.inliers[..64].iter().any(|b| *b) && flags.inliers[64..128].iter().any(|b| *b));
    assert!(satisfied(&w));
    let mut moved = w.clone();
    let mut wrong = flags.clone();
    wrong.inliers[128] = true;
    moved.public.flags = pack_flags(&wrong);
    assert!(!satisfied(&moved), "an inlier bit on the unavailable slot");
}

#[test]
fn attack2_a_commitment_copied_to_another_slot_does_not_open() {
    // An aggregator-run trainer in slot 0 copies slot 2's commitment (and knows its plaintext):
    // the slot is hashed into every commitment, so slot 0 cannot open it.
    let mut w = witness((5, 8), 1, 21);
    w.input.updates[0] = w.input.updates[2].clone();
    w.public.updates[0] = w.public.updates[2];
    assert!(!satisfied(&w));
    // The same update committed under slot 0's own header is a different field element.
    let own = commitment::commit_update(w.input.domain, 0, 0, w.input.updates[2].as_ref().unwrap()).unwrap();
    assert_ne!(own, w.public.updates[2]);
}

#[test]
fn attack2_duplicates_keep_the_earliest_submission_not_the_lowest_slot() {
    // Slot 3 committed first; slot 0 (a copy, committed last) is the duplicate.
    let mut input = synthetic(Shape::new(5, 6).unwrap(), 0, 22).input;
    input.updates[0] = input.updates[3].clone();
    input.order = vec![5, 2, 3, 1, 4];
    let w = RoundWitness::new(input.clone()).unwrap();
    assert!(w.output.trace.duplicate[0] && !w.output.trace.duplicate[3]);
    assert!(w.output.inliers[3] && w.output.scores[0] == 0);
    assert!(satisfied(&w));
    // Claiming the lower slot as the original (the old rule) is rejected.
    let mut bad = w.clone();
    bad.output.inliers.swap(0, 3);
    bad.output.scores.swap(0, 3);
    reclaim(&mut bad);
    assert!(!satisfied(&bad));
    // The same claim with the ranks of another submission order is rejected too: the order is
    // a public input the contract builds.
    let mut reordered = w.clone();
    reordered.input.order = vec![1, 2, 3, 5, 4];
    assert!(!satisfied(&reordered));
}

/// A one-update round: its outcome is the same for every τ ≥ 0 and it has one inlier.
fn single_update_round() -> RoundWitness {
    let mut input = synthetic(Shape::new(3, 4).unwrap(), 0, 23).input;
    input.updates[1] = None;
    input.updates[2] = None;
    RoundWitness::new(input).unwrap()
}

#[test]
fn attack11_tau_below_one_is_refused_by_the_circuit() {
    let mut w = single_update_round();
    w.input.params.tau = 0;
    reclaim(&mut w);
    assert!(!satisfied(&w), "a patched prover cannot prove τ = 0");
    let mut w = single_update_round();
    w.input.params.tau = 1 << 16;
    reclaim(&mut w);
    assert!(satisfied(&w), "τ = 1.0 is allowed");
}

#[test]
fn lr_at_2_16_or_above_is_refused_by_the_circuit() {
    // One inlier: γ = lr. Build the outcome by hand for lr = 2^16 − 1 (allowed) and 2^16.
    for (lr, ok) in [((1u32 << 16) - 1, true), (1 << 16, false)] {
        let mut w = single_update_round();
        let update = w.input.updates[0].clone().unwrap();
        w.input.params.lr = lr;
        w.output.trace.gamma = lr as u64;
        w.output.new_model = w.input.model.iter().zip(&update).map(|(m, u)| m + lr as i64 * u).collect();
        reclaim(&mut w);
        assert_eq!(satisfied(&w), ok, "lr = {lr}");
    }
}

#[test]
fn attack10_an_overflowing_parameter_is_clamped_not_wrapped() {
    // Slot 0 of the model sits at the top of its range and every inlier pushes it up.
    let mut input = synthetic(Shape::new(4, 12).unwrap(), 0, 24).input;
    input.params.lr = 60_000;
    input.model[0] = (1 << 23) - 1;
    input.model[1] = -(1 << 23);
    for u in input.updates.iter_mut().flatten() {
        u[0] = 50;
        u[1] = -50;
    }
    let w = RoundWitness::new(input).unwrap();
    assert!(w.output.trace.clamped >= 2);
    assert_eq!(w.output.new_model[0], (1 << 23) - 1);
    assert_eq!(w.output.new_model[1], -(1 << 23));
    assert!(satisfied(&w), "an honest round with clamped parameters is provable");
    // No model is a public input: everyone replays w' from the published S, which is the
    // clamped model, never a wrapped one (slot 0 carried into slot 1, as a packed check once
    // allowed).
    let count = w.output.inliers.iter().filter(|i| **i).count();
    let sums = aggregate::sums(12, &w.input.updates, &w.output.inliers);
    let replayed = aggregate::next_model(&w.input.params, &w.input.model, &sums, count).unwrap();
    assert_eq!(replayed, w.output.new_model);
    assert_eq!(replayed[..2], [(1 << 23) - 1, -(1 << 23)]);
}

#[test]
fn aggregate_norm_is_stated_and_bounds_every_score() {
    let w = witness((7, 12), 3, 25);
    assert!(w.output.aggregate_norm_sq > 0);
    assert!(w.output.scores.iter().all(|s| *s <= w.output.aggregate_norm_sq), "cos² ≤ 1");
    assert_eq!(w.public.flags(7).aggregate_norm_sq, w.output.aggregate_norm_sq);
    let mut bad = w.clone();
    bad.output.aggregate_norm_sq += 1;
    reclaim(&mut bad);
    assert!(!satisfied(&bad));
}
