//! The committed test vectors are exactly what the code computes now.
#![allow(clippy::unwrap_used)] // a failing test should panic
#[test]
fn committed_test_vectors_are_fresh() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors");
    for (name, contents) in fedproof_prover::vectors::files() {
        let committed = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}; run `cargo run -p fedproof-prover --example test_vectors`"));
        assert!(committed == contents, "{name} is stale; run `cargo run -p fedproof-prover --example test_vectors`");
    }
}
