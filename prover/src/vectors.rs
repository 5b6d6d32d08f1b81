//! Test vectors for other implementations (the contracts, circomlibjs, auditors): commitments
//! with their packed inputs, and one whole round with its public inputs. Written to
//! `prover/test-vectors/` by `cargo run -p fedproof-prover --example test_vectors` and checked
//! for freshness by the test suite.

use serde::Serialize;

use ark_bn254::Fr;

use crate::commitment;
use crate::domain::{roster_hash, JobDomain};
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
    /// The Poseidon header, decimal: `[1, domain, round, slot]` for an update, `[2, job_id,
    /// round]` for a model.
    pub header: Vec<String>,
    /// For updates, the fields hashed into the domain (`crate::domain`); absent for models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainVector>,
    /// The encoded values.
    pub values: Vec<i64>,
    /// The packed field elements, decimal.
    pub packed: Vec<String>,
    /// The commitment, decimal.
    pub commitment: String,
}

/// The fields of a job's domain, for recomputing it with keccak256.
#[derive(Serialize, Clone)]
pub struct DomainVector {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Market address, `0x` hex.
    pub market: String,
    /// Job id.
    pub job_id: u64,
    /// The roster's addresses in slot order, `0x` hex.
    pub roster: Vec<String>,
    /// `keccak256(abi.encodePacked(roster))`, `0x` hex.
    pub roster_hash: String,
    /// The domain, decimal.
    pub value: String,
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

/// Commitment vectors: short, multi-element and multi-block updates (in different slots), and
/// models.
pub fn commitment_vectors() -> Vec<CommitmentVector> {
    let roster: Vec<[u8; 20]> = (1..=4u8).map(|i| [i; 20]).collect();
    let job = |job_id| JobDomain { chain_id: 31337, market: [0xaa; 20], job_id, roster_hash: roster_hash(&roster) };
    let domain_of = |d: JobDomain| DomainVector {
        chain_id: d.chain_id,
        market: format!("0x{}", hex::encode(d.market)),
        job_id: d.job_id,
        roster: roster.iter().map(|a| format!("0x{}", hex::encode(a))).collect(),
        roster_hash: format!("0x{}", hex::encode(d.roster_hash)),
        value: to_decimal(&d.value()),
    };
    let update = |job_id, round, slot, values: Vec<i64>| {
        let d = job(job_id);
        let header = commitment::update_header(d.value(), round, slot);
        vector("update", header, Some(domain_of(d)), UPDATE_BITS, values)
    };
    let model = |job_id, round, values: Vec<i64>| {
        vector("model", commitment::model_header(job_id, round), None, MODEL_BITS, values)
    };
    vec![
        update(1, 0, 0, vec![0]),
        update(1, 0, 1, vec![-128, 127, -1, 1]),
        update(42, 7, 2, (0..100).map(|i| (i * 37 % 255) - 127).collect()),
        update(42, 7, 3, (0..400).map(|i| (i * 91 % 256) - 128).collect()),
        model(1, 0, vec![0; 3]),
        model(42, 8, (0..25).map(|i| (i * 999_331 % (1 << 24)) - (1 << 23)).collect()),
    ]
}

fn vector(
    kind: &'static str,
    header: Vec<Fr>,
    domain: Option<DomainVector>,
    bits: u32,
    values: Vec<i64>,
) -> CommitmentVector {
    let packed = commitment::pack(&values, bits);
    let commitment = to_decimal(&commitment::commit_packed(&header, &packed));
    CommitmentVector {
        kind,
        header: header.iter().map(to_decimal).collect(),
        domain,
        packed: packed.iter().map(to_decimal).collect(),
        values,
        commitment,
    }
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
