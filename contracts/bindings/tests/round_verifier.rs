//! The generic `RoundVerifier` through its Rust bindings on a real anvil chain: deployed with the
//! n = 4 fixture key (contracts/test/fixtures/verifier_args_n4.json), it verifies the fixture's
//! real proof (round_n4.json), rejects a tampered input, returns its key, and a bad key fails
//! deployment with an error that names the bad word.

use std::path::Path;

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use fedproof_contracts::RoundVerifier;
use serde_json::Value;

const CONTRACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The constructor arguments of the fixture key, in the JSON `fedproof prover export` writes.
struct Args {
    alpha: [U256; 2],
    beta: [U256; 4],
    gamma: [U256; 4],
    delta: [U256; 4],
    ic: Vec<U256>,
}

fn fixture(name: &str) -> Value {
    let path = Path::new(CONTRACTS).join("test/fixtures").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn words(json: &Value, key: &str) -> Vec<U256> {
    let array = json[key].as_array().unwrap_or_else(|| panic!("{key} is not an array"));
    array
        .iter()
        .map(|v| v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{key}: {v} is not a decimal word")))
        .collect()
}

fn array<const N: usize>(json: &Value, key: &str) -> [U256; N] {
    words(json, key).try_into().unwrap_or_else(|w: Vec<U256>| panic!("{key} has {} words, not {N}", w.len()))
}

fn args() -> Args {
    let json = fixture("verifier_args_n4.json");
    Args {
        alpha: array(&json, "alpha"),
        beta: array(&json, "beta"),
        gamma: array(&json, "gamma"),
        delta: array(&json, "delta"),
        ic: words(&json, "ic"),
    }
}

/// Anvil from the npm toolchain on a free port, and a provider that signs with its first key.
fn chain() -> (AnvilInstance, impl Provider + Clone) {
    let anvil = Anvil::at(Path::new(CONTRACTS).join("node_modules/.bin/anvil")).spawn();
    let signer: PrivateKeySigner = anvil.keys()[0].clone().into();
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(anvil.endpoint_url());
    (anvil, provider)
}

#[tokio::test]
async fn deployed_with_a_fixture_key_it_verifies_the_fixture_proof() {
    let (_anvil, provider) = chain();
    let a = args();
    let verifier =
        RoundVerifier::deploy(&provider, a.alpha, a.beta, a.gamma, a.delta, a.ic.clone()).await.expect("deploys");

    let round = fixture("round_n4.json");
    let proof: [U256; 8] = array(&round, "proof");
    let mut inputs = words(&round, "public_inputs");
    assert_eq!(verifier.N_PUBLIC().call().await.expect("N_PUBLIC"), U256::from(inputs.len()));
    assert!(verifier.verifyProof(proof, inputs.clone()).call().await.expect("verifyProof"));

    inputs[2] += U256::from(1);
    assert!(!verifier.verifyProof(proof, inputs).call().await.expect("verifyProof"), "tampered input accepted");

    let key = verifier.verifyingKey().call().await.expect("verifyingKey");
    let expected: Vec<U256> = a.alpha.iter().chain(&a.beta).chain(&a.gamma).chain(&a.delta).copied().collect();
    assert_eq!(key.key.to_vec(), expected);
    assert_eq!(key.ic, a.ic);
}

#[tokio::test]
async fn a_bad_key_fails_deployment_naming_the_word() {
    let (_anvil, provider) = chain();
    let mut a = args();
    // delta.y.c0 changed: delta is no longer on the twist; delta starts at word 10.
    a.delta[3] += U256::from(1);
    let err = RoundVerifier::deploy(&provider, a.alpha, a.beta, a.gamma, a.delta, a.ic).await.expect_err("bad key");
    let decoded = err.as_decoded_error::<RoundVerifier::KeyPointInvalid>().expect("a KeyPointInvalid revert");
    assert_eq!(decoded.word, U256::from(10));
}
