//! The committed forge fixtures (`contracts/src/generated/ToyVerifier.sol`,
//! `contracts/test/fixtures/toy_proof.json`) must be what the current code renders, or the forge
//! tests would check a stale verifier.
#![allow(clippy::unwrap_used)] // a failing test should panic

use std::fs;
use std::path::PathBuf;

use fedproof_prover::export::toy;

#[test]
fn committed_fixtures_match_the_renderer() {
    let contracts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts");
    for (path, expected) in toy::verifier_fixture_files() {
        let committed = fs::read_to_string(contracts.join(path)).unwrap_or_default();
        assert!(
            committed == expected,
            "contracts/{path} is missing or stale; regenerate it with `{}`",
            "cargo run -p fedproof-prover --example toy_verifier_fixture"
        );
    }
}
