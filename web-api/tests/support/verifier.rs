//! A real Groth16 round verifier for a small shape: keys from a seeded setup, deployed as the
//! generic `RoundVerifier` with its verifying key as constructor arguments (as the node does);
//! and a stand-in that accepts every proof, for jobs too wide to prove in a test.

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

/// Deploys a stand-in verifier that accepts every proof, for what the index does with rounds too
/// wide to prove in a test (256 slots) or chunked: it answers `N_PUBLIC()` with the public input
/// count of `trainers` slots, `CHUNKS()` with `chunks` (reverting when 0, as a round verifier
/// without that function does, so JobMarket sees an unchunked job), `inputPoint(…)` with the
/// identity (0, 0), and every other call (`verifyProofWithPartialInputs`, `verifyChunk`) with
/// true. Its runtime code is assembled here (no Solidity toolchain needed).
pub async fn deploy_accepting(provider: &DynProvider, trainers: usize, chunks: u16) -> Address {
    use alloy::network::TransactionBuilder;
    use alloy::providers::Provider;
    let selector =
        |sig: &str| -> [u8; 4] { alloy::primitives::keccak256(sig.as_bytes())[..4].try_into().expect("4 bytes") };
    let inputs = u16::try_from(fedproof_prover::shape::public_input_count(trainers)).expect("fits");
    // Returns the 32-byte word `v` (a PUSH2 immediate).
    let return_word = |v: u16| {
        let [hi, lo] = v.to_be_bytes();
        vec![0x61, hi, lo, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3]
    };
    // The selector, then one `DUP1 PUSH4 sel EQ PUSH2 dest JUMPI` per answered function.
    let mut code = vec![0x60, 0x00, 0x35, 0x60, 0xe0, 0x1c];
    let answers: Vec<([u8; 4], Vec<u8>)> = vec![
        (selector("N_PUBLIC()"), return_word(inputs)),
        (selector("CHUNKS()"), if chunks == 0 { vec![0x60, 0x00, 0x80, 0xfd] } else { return_word(chunks) }),
        (selector("inputPoint(uint256,uint256)"), vec![0x60, 0x40, 0x60, 0x00, 0xf3]),
    ];
    let mut patches = Vec::new();
    for (sel, _) in &answers {
        code.extend([0x80, 0x63]);
        code.extend(sel);
        code.extend([0x14, 0x61, 0, 0, 0x57]);
        patches.push(code.len() - 3);
    }
    code.extend(return_word(1)); // anything else: true
    for ((_, body), at) in answers.iter().zip(patches) {
        let [hi, lo] = u16::try_from(code.len()).expect("short code").to_be_bytes();
        code[at] = hi;
        code[at + 1] = lo;
        code.push(0x5b); // JUMPDEST
        code.extend(body);
    }
    // Init code: CODECOPY the runtime code after these 12 bytes and return it.
    let [hi, lo] = u16::try_from(code.len()).expect("short code").to_be_bytes();
    let mut init = vec![0x61, hi, lo, 0x80, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3];
    init.extend(code);
    let tx = alloy::rpc::types::TransactionRequest::default().with_deploy_code(init);
    let receipt = provider.send_transaction(tx).await.expect("sent").get_receipt().await.expect("mined");
    assert!(receipt.status(), "the stand-in verifier deploys");
    receipt.contract_address.expect("a contract address")
}
