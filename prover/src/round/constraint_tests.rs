//! The round circuit against cheating provers: each test forges one part of the witness and
//! shows the step that refuses it (`first_unsatisfied_step`).

use ark_relations::r1cs::ConstraintSystem;

use super::constraints::*;
use crate::round::sample::synthetic;
use crate::shape::Shape;
use ark_bn254::Fr;

/// The step of the first constraint `w` breaks (`None` when it satisfies every one).
pub(crate) fn first_unsatisfied_step(w: RoundWitness) -> Option<&'static str> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let steps = RoundCircuit { shape: w.input.shape, witness: Some(w) }.synthesize(cs.clone()).unwrap();
    let first: usize = cs.which_is_unsatisfied().unwrap()?.parse().unwrap();
    let mut end = 0;
    steps
        .iter()
        .find(|s| {
            end += s.constraints;
            first < end
        })
        .map(|s| s.step)
}

/// A round where slot 0 copies slot 3, which submitted first: slot 0 is the duplicate.
fn copied_round() -> RoundWitness {
    let mut input = synthetic(Shape::new(5, 6).unwrap(), 0, 22).input;
    input.updates[0] = input.updates[3].clone();
    input.order = vec![5, 2, 3, 1, 4];
    RoundWitness::new(input).unwrap()
}

/// The copier claims it submitted first: its witness's order bits (and the outcome that
/// follows from them) say slot 0 came before slot 3, but the public order words carry the
/// contract's ranks, which the "order" step pins the bits to.
#[test]
fn attack_a_copy_claiming_to_have_submitted_first_fails_the_order_step() {
    let honest = copied_round();
    assert!(honest.output.trace.duplicate[0] && !honest.output.trace.duplicate[3]);
    assert_eq!(first_unsatisfied_step(honest.clone()), None);
    let mut claimed = honest.input.clone();
    claimed.order = vec![1, 2, 3, 5, 4];
    let mut forged = RoundWitness::new(claimed).unwrap();
    assert!(forged.output.trace.duplicate[3] && !forged.output.trace.duplicate[0]);
    forged.public.order = honest.public.order.clone();
    assert_eq!(first_unsatisfied_step(forged), Some("order"));
}

/// Krum selects among candidates only: an aggregator that swaps one of slot i's selected
/// neighbours for a duplicate (nearer, so the score drops) keeps the row's count and its
/// threshold, and is refused by the column of the non-candidate.
#[test]
fn attack_krum_selecting_a_duplicate_fails_the_krum_step() {
    let honest = copied_round();
    let i = 3;
    let mut forged = honest.clone();
    let trace = &mut forged.output.trace;
    let dropped = (0..5).rfind(|&j| trace.selected[i][j]).unwrap();
    trace.selected[i][dropped] = false;
    trace.selected[i][0] = true;
    assert!(!trace.unique[0]);
    assert_eq!(first_unsatisfied_step(forged), Some("krum"));
}

/// A tolerance beyond every distance (dup_tol ≥ 2^B) compares as 2^B − 1: every present slot
/// after the first submission is a duplicate, and the round proves.
#[test]
fn a_duplicate_tolerance_beyond_the_distance_width_is_clamped() {
    let mut input = synthetic(Shape::new(5, 4).unwrap(), 0, 5).input;
    assert!(input.shape.distance_bits() < 32);
    for dup_tol in [u32::MAX, (1 << input.shape.distance_bits()) - 1, 0] {
        input.params.dup_tol = dup_tol;
        let w = RoundWitness::new(input.clone()).unwrap();
        let unique = w.output.trace.unique.iter().filter(|u| **u).count();
        assert_eq!(unique == 1, dup_tol != 0, "dup_tol {dup_tol}");
        assert_eq!(first_unsatisfied_step(w), None, "dup_tol {dup_tol}");
    }
}
