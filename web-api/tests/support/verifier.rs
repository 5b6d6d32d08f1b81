//! A real Groth16 round verifier for a small shape: keys from a seeded setup, the Solidity
//! rendered by the prover's exporter, compiled with the project's pinned solc-js (npm), deployed.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use ark_bn254::Bn254;
use ark_groth16::{ProvingKey, VerifyingKey};
use fedproof_prover::shape::Shape;
use rand::SeedableRng;
use std::io::Write;
use std::process::{Command, Stdio};

/// Compiles one Solidity source with solc-js and prints the first contract's creation bytecode.
const COMPILE_JS: &str = r#"
const solc = require('solc');
const src = require('fs').readFileSync(0, 'utf8');
const input = { language: 'Solidity', sources: { 'V.sol': { content: src } },
  settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['evm.bytecode.object'] } } } };
const out = JSON.parse(solc.compile(JSON.stringify(input)));
if ((out.errors || []).some(e => e.severity === 'error')) { console.error(JSON.stringify(out.errors)); process.exit(1); }
const c = out.contracts['V.sol'];
process.stdout.write(c[Object.keys(c)[0]].evm.bytecode.object);
"#;

/// Keys of a shape and its deployed verifier.
pub struct Verifier {
    pub address: Address,
    pub pk: ProvingKey<Bn254>,
    pub vk: VerifyingKey<Bn254>,
}

/// Sets up `shape` (seeded), renders, compiles and deploys its verifier from `from`.
pub async fn deploy(provider: &DynProvider, from: Address, shape: Shape, seed: u64) -> Verifier {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let (pk, vk) = fedproof_prover::snark::setup(shape, &mut rng).expect("setup");
    let source = fedproof_prover::export::solidity::render_verifier(&vk, "RoundVerifierTest").expect("render");
    let contracts = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts");
    let mut child = Command::new("node")
        .arg("-e")
        .arg(COMPILE_JS)
        .current_dir(contracts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (contracts/node_modules must hold solc)");
    child.stdin.take().expect("stdin").write_all(source.as_bytes()).expect("source written");
    let out = child.wait_with_output().expect("solc finishes");
    assert!(out.status.success(), "solc failed: {}", String::from_utf8_lossy(&out.stderr));
    let code: Bytes = format!("0x{}", String::from_utf8_lossy(&out.stdout)).parse().expect("bytecode hex");
    let tx = TransactionRequest::default().from(from).with_deploy_code(code);
    let receipt = provider.send_transaction(tx).await.expect("deploy sent").get_receipt().await.expect("mined");
    let address = receipt.contract_address.expect("contract created");
    Verifier { address, pk, vk }
}
