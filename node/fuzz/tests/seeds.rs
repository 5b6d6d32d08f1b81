//! Writes the seed inputs of every target into `corpus/<target>/seed-*`: valid documents, so the
//! fuzzers start deep inside each parser. Run it after changing a format, then fuzz and
//! minimise (`make fuzz`):
//!
//! ```sh
//! cargo test -p fedproof-fuzz --test seeds -- --ignored
//! ```
#![allow(clippy::unwrap_used)] // a generator that cannot write its seeds should panic

use std::path::Path;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_serialize::Compress;
use ark_snark::SNARK;
use fedproof_fuzz::{FUZZ_AGE_KEY, FUZZ_CIRCUIT};
use fedproof_prover::export::calldata::SolidityCalldata;
use fedproof_prover::export::snarkjs;
use fedproof_prover::export::toy::{toy_proof, ToyCircuit};
use fedproof_prover::keys::{write_key, KeyKind};
use fedproof_storage::blobs::cid_of;
use fedproof_storage::layout::Dtype;
use fedproof_storage::sealed::{self, AggregatorKey};
use fedproof_storage::upload::upload_digest;
use fedproof_storage::{
    AggregateBlob, ChunkedRoundBlob, JobSpecBlob, ModelBlob, ModelLayout, Recipe, TensorSpec, UpdateBlob,
};
use rand::SeedableRng;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn tensor(name: &str, shape: &[usize], dtype: Dtype) -> TensorSpec {
    TensorSpec { name: name.into(), shape: shape.to_vec(), dtype }
}

fn update() -> UpdateBlob {
    UpdateBlob { job_id: 3, round: 1, slot: 2, values: vec![-128, -1, 0, 1, 127, 5, -7, 64] }
}

fn blob_codec() {
    write("blob_codec", "update", &update().encode());
    write("blob_codec", "model", &ModelBlob { job_id: 3, round: 2, values: vec![1 << 23, -5, 300, 0] }.encode());
    let aggregate = AggregateBlob { job_id: 3, round: 2, values: vec![i64::MIN, -300, 5, i64::MAX] };
    write("blob_codec", "aggregate", &aggregate.encode());
    let record = ChunkedRoundBlob {
        job_id: 3,
        round: 2,
        aggregate: cid_of(&aggregate.encode()).to_string(),
        digests: vec![format!("0x{}", "01".repeat(32))],
        proofs: vec![vec![format!("0x{}", "02".repeat(32)); 8]],
    };
    write("blob_codec", "chunked-round", &record.encode());
    let layout = ModelLayout {
        tensors: vec![tensor("conv.weight", &[2, 1, 2], Dtype::F32), tensor("fc.bias", &[2], Dtype::BF16)],
    };
    let spec = JobSpecBlob {
        job_id: 3,
        params: 6,
        model: "custom".into(),
        aggregator_recipient: AggregatorKey::parse(FUZZ_AGE_KEY, "seed").unwrap().recipient(),
        initial_model: cid_of(b"initial model").to_string(),
        layout: Some(layout),
        recipe: Some(Recipe::new("ipfs://recipe", &"ab".repeat(32)).unwrap()),
    };
    write("blob_codec", "spec", &spec.encode());
    write("blob_codec", "spec-builtin", &JobSpecBlob { layout: None, recipe: None, ..spec }.encode());
    write(
        "blob_codec",
        "update-v1",
        br#"{"format":"fedproof-update-v1","job_id":3,"round":1,"slot":2,"values":[-128,0,127]}"#,
    );
    write("blob_codec", "model-v1", br#"{"format":"fedproof-model-v1","job_id":3,"round":2,"values":[8388608,-5]}"#);
    let file = ModelLayout {
        tensors: vec![
            tensor("a.weight", &[2, 2], Dtype::F16),
            tensor("a.bias", &[2], Dtype::F64),
            tensor("b", &[3], Dtype::F32),
        ],
    };
    let model_file = file.write(&[0.5, -0.25, 1.0, 2.0, 0.125, -3.0, 1e-3, 7.0, -1e6]).unwrap();
    write("blob_codec", "model-file", &model_file);
}

fn sealed_blob() {
    let key = AggregatorKey::parse(FUZZ_AGE_KEY, "seed").unwrap();
    write("sealed_blob", "update", &sealed::seal(&key.recipient(), &update().encode()).unwrap());
    write("sealed_blob", "empty", &sealed::seal(&key.recipient(), b"").unwrap());
    write("sealed_blob", "key", FUZZ_AGE_KEY.as_bytes());
    write("sealed_blob", "recipient", key.recipient().as_bytes());
}

fn snarkjs_json() {
    let toy = toy_proof(7);
    write("snarkjs_json", "proof", snarkjs::proof_to_json(&toy.proof).unwrap().as_bytes());
    write("snarkjs_json", "public", snarkjs::public_to_json(&toy.inputs).unwrap().as_bytes());
    write("snarkjs_json", "vk", snarkjs::verifying_key_to_json(&toy.vk).unwrap().as_bytes());
    let words: Vec<u8> =
        SolidityCalldata::new(&toy.proof, &toy.inputs).proof_words().iter().flat_map(|w| w.0).collect();
    write("snarkjs_json", "proof-words", &words);
    let args = fedproof_prover::export::calldata::verifier_constructor_args(&toy.vk).unwrap();
    write("snarkjs_json", "vk-words", &args.words().iter().flat_map(|w| w.0).collect::<Vec<u8>>());
}

fn key_file() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(ToyCircuit { x: None, y: None }, &mut rng).unwrap();
    let dir = std::env::temp_dir().join(format!("fedproof-fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pk_path, vk_path) = (dir.join("proving_key.bin"), dir.join("verifying_key.bin"));
    write_key(&pk_path, KeyKind::Proving, FUZZ_CIRCUIT, &pk, Compress::No).unwrap();
    write_key(&vk_path, KeyKind::Verifying, FUZZ_CIRCUIT, &vk, Compress::Yes).unwrap();
    write("key_file", "proving", &std::fs::read(&pk_path).unwrap());
    write("key_file", "verifying", &std::fs::read(&vk_path).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn signed_upload() {
    let signer = PrivateKeySigner::from_slice(&[7u8; 32]).unwrap();
    let (job, round, commitment) = (3u64, 1u32, U256::from(0x2a_u64));
    let digest = upload_digest(job, round, commitment);
    let signature = signer.sign_message_sync(digest.as_slice()).unwrap();
    let body = |trainer: String, signature: String| {
        let mut bytes = job.to_le_bytes().to_vec();
        bytes.extend_from_slice(&round.to_le_bytes());
        let commitment = format!("0x{}", hex(&commitment.to_be_bytes::<32>()));
        bytes.extend_from_slice(format!("{trainer}\n{commitment}\nAAECAwQ=\n{signature}").as_bytes());
        bytes
    };
    write("signed_upload", "valid", &body(format!("{:#x}", signer.address()), signature.to_string()));
    write("signed_upload", "other-trainer", &body(format!("0x{}", "11".repeat(20)), signature.to_string()));
    let receipt = signer.sign_hash_sync(&digest).unwrap();
    write("signed_upload", "receipt", &body(format!("{:#x}", signer.address()), receipt.to_string()));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cid() {
    write("cid", "raw", cid_of(b"hello world\n").to_string().as_bytes());
    write("cid", "raw-base32-upper", cid_of(b"x").to_string().to_uppercase().as_bytes());
    write("cid", "v0", b"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG");
    write("cid", "dag-pb", b"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi");
}

#[test]
#[ignore = "writes the seed corpus; run by hand after a format change"]
fn write_seeds() {
    blob_codec();
    sealed_blob();
    snarkjs_json();
    key_file();
    signed_upload();
    cid();
}
