//! Writes `prover/test-vectors/*.json`: `cargo run -p fedproof-prover --example test_vectors`.
fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors");
    std::fs::create_dir_all(&dir)?;
    for (name, contents) in fedproof_prover::vectors::files() {
        std::fs::write(dir.join(name), contents)?;
        println!("wrote {}", dir.join(name).display());
    }
    Ok(())
}
