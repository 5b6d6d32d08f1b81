//! A real Groth16 round verifier for a small shape: keys from a seeded setup, deployed as the
//! generic `RoundVerifier` with its verifying key as constructor arguments (as the node does).

use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;
use ark_bn254::Bn254;
use ark_groth16::{ProvingKey, VerifyingKey};
use fedproof_contracts::RoundVerifier;
use fedproof_prover::export::calldata::verifier_constructor_args;
use fedproof_prover::shape::Shape;
use rand::SeedableRng;

/// Keys of a shape and its deployed verifier.
pub struct Verifier {
    pub address: Address,
    pub pk: ProvingKey<Bn254>,
    pub vk: VerifyingKey<Bn254>,
}

/// Sets up `shape` (seeded) and deploys its verifier.
pub async fn deploy(provider: &DynProvider, shape: Shape, seed: u64) -> Verifier {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let (pk, vk) = fedproof_prover::snark::setup(shape, &mut rng).expect("setup");
    let words: Vec<U256> =
        verifier_constructor_args(&vk).expect("key fits").words().iter().map(|w| U256::from_be_bytes(w.0)).collect();
    let part = |range: std::ops::Range<usize>| words[range].to_vec();
    let (alpha, beta, gamma, delta) = (part(0..2), part(2..6), part(6..10), part(10..14));
    let deployed = RoundVerifier::deploy(
        provider,
        alpha.try_into().expect("2 words"),
        beta.try_into().expect("4 words"),
        gamma.try_into().expect("4 words"),
        delta.try_into().expect("4 words"),
        part(14..words.len()),
    )
    .await
    .expect("verifier deployed");
    Verifier { address: *deployed.address(), pk, vk }
}
