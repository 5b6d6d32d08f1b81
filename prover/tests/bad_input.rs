//! Bad input is a typed error that says what is wrong and where — never a panic.
#![allow(clippy::unwrap_used)] // a failing test should panic

use fedproof_prover::fixed_point::{Encoding, Rounding};
use fedproof_prover::params::RoundParams;
use fedproof_prover::round::sample::sample_domain;
use fedproof_prover::round::{default_encodings, run, RoundInput};
use fedproof_prover::shape::Shape;
use fedproof_prover::Error;

fn params() -> RoundParams {
    RoundParams { job_id: 1, round: 0, max_malicious: 1, tau: 1 << 17, lr: 4096, next_lr: 4096, dup_tol: 4 }
}

fn from_real(model: &[f64], updates: &[Option<Vec<f64>>]) -> Result<RoundInput, Error> {
    let (update, model_enc) = default_encodings();
    RoundInput::from_real(
        Shape::new(3, 2).unwrap(),
        params(),
        sample_domain(),
        vec![1, 2, 3],
        model,
        model_enc,
        updates,
        update,
        Rounding::Stochastic { seed: 1 },
    )
}

#[test]
fn real_values_are_encoded_and_run() {
    let input = from_real(&[0.5, -0.25], &[Some(vec![0.1, 0.2]), None, Some(vec![0.12, 0.18])]).unwrap();
    let out = run(&input).unwrap();
    assert_eq!(out.new_model.len(), 2);
}

#[test]
fn nan_infinity_and_clip_violations_name_the_slot_and_index() {
    let err = from_real(&[0.0, 0.0], &[Some(vec![0.1, 0.1]), Some(vec![0.0, f64::NAN]), None]).unwrap_err();
    assert_eq!(err.to_string(), "update of slot 1: value at index 1 is not finite (NaN)");
    let err = from_real(&[0.0, 0.0], &[None, None, Some(vec![f64::NEG_INFINITY, 0.0])]).unwrap_err();
    assert!(err.to_string().starts_with("update of slot 2: value at index 0 is not finite"), "{err}");
    let err = from_real(&[0.0, 0.0], &[Some(vec![0.9, 0.0]), None, None]).unwrap_err();
    assert!(err.to_string().contains("slot 0") && err.to_string().contains("outside the clip bound ±0.49"), "{err}");
    let err = from_real(&[9.0, 0.0], &[None, None, None]).unwrap_err();
    assert!(err.to_string().starts_with("model: value at index 0 is 9"), "{err}");
}

#[test]
fn mismatched_lengths_and_shapes_are_reported() {
    let err = from_real(&[0.0, 0.0], &[Some(vec![0.1, 0.1, 0.1]), None, None]).unwrap_err();
    assert_eq!(err.to_string(), "update of slot 0 has length 3, expected 2");
    let err = from_real(&[0.0], &[None, None, None]).unwrap_err();
    assert_eq!(err.to_string(), "model has length 1, expected 2");
    let err = from_real(&[0.0, 0.0], &[None, None]).unwrap_err();
    assert_eq!(err.to_string(), "update slots has length 2, expected 3");
    let bad_shape = RoundInput {
        shape: Shape { trainers: 0, params: 2 },
        params: params(),
        domain: sample_domain(),
        order: vec![],
        model: vec![0, 0],
        updates: vec![],
    };
    assert!(matches!(run(&bad_shape), Err(Error::InvalidShape { .. })));
}

#[test]
fn encoded_values_out_of_range_and_bad_parameters_are_rejected() {
    let shape = Shape::new(3, 2).unwrap();
    let input = RoundInput {
        shape,
        params: params(),
        domain: sample_domain(),
        order: vec![1, 0, 0],
        model: vec![0, 0],
        updates: vec![Some(vec![300, 0]), None, None],
    };
    let err = run(&input).unwrap_err().to_string();
    assert!(err.contains("update of slot 0") && err.contains("index 0 is 300"), "{err}");
    let input = RoundInput { params: RoundParams { tau: 10, ..params() }, updates: vec![None; 3], ..input };
    assert!(run(&input).unwrap_err().to_string().contains("tau"));
    let input = RoundInput { params: RoundParams { lr: 1 << 16, ..params() }, ..input };
    assert!(run(&input).unwrap_err().to_string().contains("lr"));
}

#[test]
fn submission_ranks_must_be_a_real_order() {
    let base = RoundInput {
        shape: Shape::new(3, 2).unwrap(),
        params: params(),
        domain: sample_domain(),
        order: vec![1, 2, 0],
        model: vec![0, 0],
        updates: vec![Some(vec![1, 0]), Some(vec![0, 1]), None],
    };
    assert!(run(&base).is_ok());
    let err = run(&RoundInput { order: vec![1, 0, 0], ..base.clone() }).unwrap_err().to_string();
    assert!(err.contains("slot 1 holds an update but has no submission rank"), "{err}");
    let err = run(&RoundInput { order: vec![2, 2, 0], ..base.clone() }).unwrap_err().to_string();
    assert!(err.contains("rank 2 appears twice"), "{err}");
    let err = run(&RoundInput { order: vec![1, 4, 0], ..base.clone() }).unwrap_err().to_string();
    assert!(err.contains("rank 4, above the 3 slots"), "{err}");
    let err = run(&RoundInput { order: vec![1, 2], ..base }).unwrap_err().to_string();
    assert_eq!(err, "submission ranks has length 2, expected 3");
}

#[test]
fn model_overflow_clamps_to_the_bound_not_a_wrap() {
    let shape = Shape::new(3, 2).unwrap();
    let top = (1 << 23) - 1;
    let input = RoundInput {
        shape,
        params: RoundParams { lr: 60_000, dup_tol: 0, ..params() },
        domain: sample_domain(),
        order: vec![1, 2, 3],
        model: vec![top, -top],
        updates: vec![Some(vec![100, -100]), Some(vec![101, -101]), Some(vec![99, -99])],
    };
    let out = run(&input).unwrap();
    assert_eq!(out.new_model, vec![top, -(1 << 23)], "both parameters stop at their bound");
    assert_eq!(out.trace.clamped, 2);
}

#[test]
fn encoding_with_an_unusable_width_is_rejected() {
    let enc = Encoding { bits: 0, frac_bits: 4 };
    assert!(enc.encode(&[0.0], Rounding::Nearest).unwrap_err().to_string().contains("bits must be"));
}

#[test]
fn submission_ranks_with_a_gap_are_refused() {
    // The contract ranks a round's submitters 1, 2, ..., m; the circuit's order step relies on it.
    let (update, model) = default_encodings();
    let input = RoundInput::from_real(
        Shape::new(3, 2).unwrap(),
        params(),
        sample_domain(),
        vec![1, 3, 0],
        &[0.0, 0.0],
        model,
        &[Some(vec![0.1, 0.1]), Some(vec![0.2, 0.1]), None],
        update,
        Rounding::Stochastic { seed: 1 },
    );
    let err = input.unwrap_err().to_string();
    assert!(err.contains("rank 2 is missing"), "{err}");
}
