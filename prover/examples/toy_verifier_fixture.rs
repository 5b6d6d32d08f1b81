//! Writes the generated-verifier fixtures for the forge tests in `contracts/`: the Solidity
//! verifier of a tiny seeded toy circuit and one of its proofs as calldata.
//!
//! Run it after changing the verifier template or the calldata encoding:
//! `cargo run -p fedproof-prover --example toy_verifier_fixture`.

use std::fs;
use std::path::PathBuf;

use fedproof_prover::export::toy;

fn main() -> std::io::Result<()> {
    let contracts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts");
    for (path, contents) in toy::verifier_fixture_files() {
        let path = contracts.join(path);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, contents)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
