//! Test vectors for other implementations (the contracts, circomlibjs, auditors): commitments
//! with their packed inputs, and one whole round with its public inputs. Written to
//! `prover/test-vectors/` by `cargo run -p fedproof-prover --example test_vectors` and checked
//! for freshness by the test suite.

use serde::Serialize;

use crate::commitment::{self, MODEL_TAG, UPDATE_TAG};
use crate::export::field::to_decimal;
use crate::fixed_point::{MODEL_BITS, UPDATE_BITS};
use crate::round::sample::synthetic;
use crate::round::{RoundInput, RoundOutput, RoundWitness};
use crate::shape::Shape;

/// One commitment and everything needed to recompute it.
#[derive(Serialize)]
pub struct CommitmentVector {
    /// "update" or "model".
    pub kind: &'static str,
    /// Domain tag.
    pub tag: u64,
    /// Job id.
    pub job_id: u64,
    /// Round the commitment is for.
    pub round: u32,
    /// The encoded values.
    pub values: Vec<i64>,
    /// The packed field elements, decimal.
    pub packed: Vec<String>,
    /// The commitment, decimal.
    pub commitment: String,
}

/// A whole round: input, native outcome and public inputs.
#[derive(Serialize)]
pub struct RoundVector {
    /// The round's input.
    pub input: RoundInput,
    /// The native reference's outcome.
    pub output: RoundOutput,
    /// Public inputs in verifier order, decimal.
    pub public_inputs: Vec<String>,
}

/// Commitment vectors: short, multi-element and multi-block updates, and models.
pub fn commitment_vectors() -> Vec<CommitmentVector> {
    let update = |job_id, round, values: Vec<i64>| vector("update", UPDATE_TAG, UPDATE_BITS, job_id, round, values);
    let model = |job_id, round, values: Vec<i64>| vector("model", MODEL_TAG, MODEL_BITS, job_id, round, values);
    vec![
        update(1, 0, vec![0]),
        update(1, 0, vec![-128, 127, -1, 1]),
        update(42, 7, (0..100).map(|i| (i * 37 % 255) - 127).collect()),
        update(42, 7, (0..400).map(|i| (i * 91 % 256) - 128).collect()),
        model(1, 0, vec![0; 3]),
        model(42, 8, (0..25).map(|i| (i * 999_331 % (1 << 24)) - (1 << 23)).collect()),
    ]
}

fn vector(kind: &'static str, tag: u64, bits: u32, job_id: u64, round: u32, values: Vec<i64>) -> CommitmentVector {
    let packed = commitment::pack(&values, bits);
    let commitment = to_decimal(&commitment::commit_packed(tag, job_id, round, &packed));
    CommitmentVector { kind, tag, job_id, round, packed: packed.iter().map(to_decimal).collect(), values, commitment }
}

/// A seeded 6-slot round with two attackers.
pub fn round_vector() -> RoundVector {
    let shape = Shape::new(6, 8).expect("a valid shape");
    let w = RoundWitness::new(synthetic(shape, 2, 5).input).expect("a valid synthetic round");
    RoundVector { public_inputs: w.public.to_vec().iter().map(to_decimal).collect(), input: w.input, output: w.output }
}

/// The files of the test-vector directory and their contents.
pub fn files() -> Vec<(&'static str, String)> {
    vec![("commitments.json", pretty(&commitment_vectors())), ("round.json", pretty(&round_vector()))]
}

fn pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("vectors serialize") + "\n"
}
