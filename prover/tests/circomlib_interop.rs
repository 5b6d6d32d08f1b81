//! Third-party check of the commitments: circomlibjs (pinned in `contracts/`) recomputes every
//! commitment test vector from its values with the documented packing and Poseidon chain.
//! Needs `contracts/node_modules` (`make contracts-deps`); without it the test fails.

use std::path::Path;
use std::process::Command;

#[test]
fn circomlibjs_recomputes_the_commitment_vectors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules = root.join("../contracts/node_modules");
    assert!(
        modules.join("circomlibjs").exists(),
        "{} has no circomlibjs: run `make contracts-deps` (npm ci --prefix contracts) first",
        modules.display()
    );
    let output = Command::new("node")
        .arg(root.join("tests/js/commitments.js"))
        .arg(root.join("test-vectors/commitments.json"))
        .env("NODE_PATH", &modules)
        .output()
        .expect("node runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "circomlibjs disagrees:\n{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("ok ")).count(),
        fedproof_prover::vectors::commitment_vectors().len(),
        "{text}"
    );
}
