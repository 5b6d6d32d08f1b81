//! The files the forge tests of the generated verifier read, rendered from the toy circuit:
//! `contracts/src/generated/ToyVerifier.sol` and `contracts/test/fixtures/toy_proof.json`.
//!
//! Written by the `toy_verifier_fixture` example and checked for freshness by the
//! `toy_fixture_fresh` test, which both include this file.

use std::path::PathBuf;

use fedproof_prover::export::calldata::SolidityCalldata;
use fedproof_prover::export::solidity::render_verifier;

use crate::toy_circuit::toy_proof;

/// Seed of the fixture's setup and proof; changing it changes the committed files.
pub const FIXTURE_SEED: u64 = 7;

/// The `contracts/` directory of the workspace.
pub fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

/// Each fixture file's path under `contracts/` and its contents.
pub fn fixture_files() -> Vec<(&'static str, String)> {
    let toy = toy_proof(FIXTURE_SEED);
    let verifier = render_verifier(&toy.vk, "ToyVerifier").expect("the toy key renders");
    let calldata = SolidityCalldata::new(&toy.proof, &toy.inputs);
    let call = calldata.encode_call().expect("the toy circuit has public inputs");
    let fixture = serde_json::json!({
        "proof": calldata.proof_words(),
        "inputs": calldata.inputs,
        "calldata": format!("0x{}", hex::encode(call)),
    });
    let fixture = serde_json::to_string_pretty(&fixture).expect("plain JSON") + "\n";
    vec![("src/generated/ToyVerifier.sol", verifier), ("test/fixtures/toy_proof.json", fixture)]
}
