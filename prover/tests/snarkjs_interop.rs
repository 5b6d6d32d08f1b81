//! Third-party check of the snarkjs exports: the snarkjs CLI pinned in `contracts/` must accept
//! our `proof.json` / `public.json` / `verification_key.json`, reject a tampered `public.json`,
//! print the same Solidity calldata as our encoder, and compute the same `vk_alphabeta_12`.
//!
//! Needs `contracts/node_modules` (`make contracts-deps`); without it the test fails, so that a
//! missing toolchain is never mistaken for a pass.
#![allow(clippy::unwrap_used)] // a failing test should panic

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fedproof_prover::export::calldata::SolidityCalldata;
use fedproof_prover::export::snarkjs::{proof_to_json, public_to_json, verifying_key_to_json};
use fedproof_prover::export::toy as toy_circuit;

fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

/// The pinned snarkjs CLI, or a failure that says how to install it.
fn snarkjs() -> PathBuf {
    let snarkjs = contracts_dir().join("node_modules/.bin/snarkjs");
    assert!(
        snarkjs.exists(),
        "{} is missing: the snarkjs interop test needs the npm toolchain in contracts/node_modules; \
         run `make contracts-deps` (npm ci --prefix contracts) first",
        snarkjs.display()
    );
    snarkjs
}

fn run(command: &mut Command) -> (Output, String) {
    let output = command.output().unwrap_or_else(|e| panic!("could not run {command:?}: {e} (is node installed?)"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output, text)
}

/// Writes the three snarkjs files for the toy proof and returns their paths.
fn write_files(dir: &Path, toy: &toy_circuit::ToyProof) -> [PathBuf; 3] {
    let files = [
        ("verification_key.json", verifying_key_to_json(&toy.vk)),
        ("public.json", public_to_json(&toy.inputs)),
        ("proof.json", proof_to_json(&toy.proof)),
    ];
    files.map(|(name, json)| {
        let path = dir.join(name);
        fs::write(&path, json.expect("JSON export")).expect("write to the temp dir");
        path
    })
}

#[test]
fn snarkjs_verifies_our_proof_and_rejects_a_tampered_input() {
    let snarkjs = snarkjs();
    let dir = tempfile::tempdir().expect("temp dir");
    let toy = toy_circuit::toy_proof(3);
    let [vk, public, proof] = write_files(dir.path(), &toy);

    let (output, text) = run(Command::new(&snarkjs).args(["groth16", "verify"]).args([&vk, &public, &proof]));
    assert!(output.status.success() && text.contains("OK"), "snarkjs rejected our proof:\n{text}");

    let mut tampered = toy.inputs.clone();
    tampered[1] += ark_bn254::Fr::from(1u64);
    fs::write(&public, public_to_json(&tampered).expect("JSON export")).expect("write");
    let (output, text) = run(Command::new(&snarkjs).args(["groth16", "verify"]).args([&vk, &public, &proof]));
    assert!(
        !output.status.success() && text.contains("Invalid proof") && !text.contains("OK"),
        "snarkjs accepted a tampered public input:\n{text}"
    );
}

#[test]
fn snarkjs_prints_the_same_solidity_calldata() {
    let snarkjs = snarkjs();
    let dir = tempfile::tempdir().expect("temp dir");
    let toy = toy_circuit::toy_proof(3);
    let [_, public, proof] = write_files(dir.path(), &toy);

    let (output, text) =
        run(Command::new(&snarkjs).args(["zkey", "export", "soliditycalldata"]).args([&public, &proof]));
    assert!(output.status.success(), "snarkjs failed:\n{text}");
    let ours = SolidityCalldata::new(&toy.proof, &toy.inputs).to_snarkjs_string();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), ours);
}

#[test]
fn snarkjs_computes_the_same_alphabeta() {
    snarkjs();
    let dir = tempfile::tempdir().expect("temp dir");
    let [vk, _, _] = write_files(dir.path(), &toy_circuit::toy_proof(3));

    // snarkjs's own BN254 (ffjavascript) computes e(alpha, beta) from the exported key and
    // compares it, in its JSON layout, with the vk_alphabeta_12 we wrote.
    let script = r#"
        const snarkjs = require("snarkjs");
        const vk = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        (async () => {
            const curve = await snarkjs.curves.getCurveFromName("bn128", { singleThread: true });
            const { unstringifyBigInts, stringifyBigInts } = require("ffjavascript").utils;
            const v = unstringifyBigInts(vk);
            const ab = curve.pairing(curve.G1.fromObject(v.vk_alpha_1), curve.G2.fromObject(v.vk_beta_2));
            const theirs = JSON.stringify(stringifyBigInts(curve.Gt.toObject(ab)));
            console.log(theirs === JSON.stringify(vk.vk_alphabeta_12) ? "MATCH" : "DIFFER " + theirs);
            await curve.terminate();
        })();
    "#;
    let (output, text) = run(Command::new("node").current_dir(contracts_dir()).args(["-e", script]).arg(&vk));
    assert!(
        output.status.success() && text.trim() == "MATCH",
        "vk_alphabeta_12 differs from snarkjs's e(alpha, beta):\n{text}"
    );
}

#[test]
fn snarkjs_verifies_a_real_round_proof() {
    use fedproof_prover::round::{sample::synthetic, RoundWitness};
    use fedproof_prover::{shape::Shape, snark};
    use rand::SeedableRng;

    let snarkjs = snarkjs();
    let shape = Shape::new(3, 4).expect("shape");
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(17);
    let (pk, vk) = snark::setup(shape, &mut rng).expect("setup");
    let w = RoundWitness::new(synthetic(shape, 1, 2).input).expect("round");
    let inputs = w.public.to_vec();
    let proof = snark::prove(&pk, w, &mut rng).expect("prove");
    let dir = tempfile::tempdir().expect("temp dir");
    let toy = toy_circuit::ToyProof { vk, proof, inputs };
    let [vk, public, proof] = write_files(dir.path(), &toy);
    let (output, text) = run(Command::new(&snarkjs).args(["groth16", "verify"]).args([&vk, &public, &proof]));
    assert!(output.status.success() && text.contains("OK"), "snarkjs rejected a round proof:\n{text}");
}
