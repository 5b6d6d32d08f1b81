//! Writes the generated-verifier fixtures for the forge tests in `contracts/`: the Solidity
//! verifier of a tiny seeded toy circuit and one of its proofs as calldata.
//!
//! Run it after changing the verifier template or the calldata encoding:
//! `cargo run -p fedproof-prover --example toy_verifier_fixture`.

#[path = "../tests/support/toy_circuit.rs"]
mod toy_circuit;
#[path = "../tests/support/toy_fixture.rs"]
mod toy_fixture;

use std::fs;

fn main() -> std::io::Result<()> {
    let contracts = toy_fixture::contracts_dir();
    for (path, contents) in toy_fixture::fixture_files() {
        let path = contracts.join(path);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, contents)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
