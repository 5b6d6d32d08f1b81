//! A tiny known Groth16 circuit for checking a verifier toolchain (snarkjs, the generated Solidity
//! verifier, forge) on its own, apart from the fedproof round statement: private `x`, `y` and
//! public `z = x·y`, `s = x + y`, `k = z·x`.
//!
//! The export unit tests, the snarkjs interop test and the forge fixture of the generated verifier
//! (`contracts/test/fixtures/toy_proof.json`, written by the `toy_verifier_fixture` example) all
//! use this one circuit.

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, Proof, VerifyingKey};
use ark_relations::lc;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError, Variable};
use ark_snark::SNARK;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::calldata::SolidityCalldata;
use super::solidity::render_verifier;

/// The toy statement; `None` witnesses are for key generation.
pub struct ToyCircuit {
    /// Private factor `x`.
    pub x: Option<Fr>,
    /// Private factor `y`.
    pub y: Option<Fr>,
}

impl ConstraintSynthesizer<Fr> for ToyCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let missing = || SynthesisError::AssignmentMissing;
        let z_value = self.x.zip(self.y).map(|(x, y)| x * y);
        let s_value = self.x.zip(self.y).map(|(x, y)| x + y);
        let k_value = z_value.zip(self.x).map(|(z, x)| z * x);

        // Public inputs, in the order a verifier takes them.
        let z = cs.new_input_variable(|| z_value.ok_or_else(missing))?;
        let s = cs.new_input_variable(|| s_value.ok_or_else(missing))?;
        let k = cs.new_input_variable(|| k_value.ok_or_else(missing))?;
        let x = cs.new_witness_variable(|| self.x.ok_or_else(missing))?;
        let y = cs.new_witness_variable(|| self.y.ok_or_else(missing))?;

        cs.enforce_constraint(lc!() + x, lc!() + y, lc!() + z)?;
        cs.enforce_constraint(lc!() + x + y, lc!() + Variable::One, lc!() + s)?;
        cs.enforce_constraint(lc!() + z, lc!() + x, lc!() + k)?;
        Ok(())
    }
}

/// A verifying key, a proof and its public inputs for the toy circuit.
pub struct ToyProof {
    /// The circuit's verifying key.
    pub vk: VerifyingKey<Bn254>,
    /// A valid proof.
    pub proof: Proof<Bn254>,
    /// The public inputs `[z, s, k]` of the proof.
    pub inputs: Vec<Fr>,
}

/// Seeded setup and proof of the toy statement for `x = 3`, `y = 11`: the same seed always
/// gives the same key and proof, so fixtures written from it are reproducible.
pub fn toy_proof(seed: u64) -> ToyProof {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (pk, vk) =
        Groth16::<Bn254>::circuit_specific_setup(ToyCircuit { x: None, y: None }, &mut rng).expect("toy circuit setup");
    let (x, y) = (Fr::from(3u64), Fr::from(11u64));
    let proof =
        Groth16::<Bn254>::prove(&pk, ToyCircuit { x: Some(x), y: Some(y) }, &mut rng).expect("toy circuit proof");
    let inputs = vec![x * y, x + y, x * y * x];
    ToyProof { vk, proof, inputs }
}

/// Seed of the forge fixture's setup and proof; changing it changes the committed files.
pub const FIXTURE_SEED: u64 = 7;

/// The files the forge tests of the generated verifier read, rendered from the toy circuit: each
/// path under `contracts/` with its contents (`src/generated/ToyVerifier.sol` and
/// `test/fixtures/toy_proof.json`).
pub fn verifier_fixture_files() -> Vec<(&'static str, String)> {
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
