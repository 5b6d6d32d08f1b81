//! # fedproof-fuzz
//!
//! One function per fuzz target: each feeds arbitrary bytes to a parser of outside input — the
//! real function the service or a role calls — and asserts what must hold of it: it returns an
//! error rather than panicking, and where there is an encoder, what it decoded encodes and decodes
//! back to the same value.
//!
//! The cargo-fuzz crate in `cargo-fuzz/` (outside the workspace: it needs nightly and sanitizer
//! flags) calls these functions from libFuzzer; `tests/corpus.rs` replays the committed corpus
//! (`corpus/<target>/`) through them in `cargo test`, so every input a fuzzer once kept stays a
//! regression test. [`TARGETS`] lists them by name.

use alloy_primitives::{keccak256, U256};
use ark_bn254::Bn254;
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use fedproof_prover::export::calldata::{proof_from_words, verifying_key_from_words, SolidityCalldata, Word};
use fedproof_prover::export::snarkjs;
use fedproof_prover::keys::{self, Circuit, HEADER_LEN};
use fedproof_prover::shape::Shape;
use fedproof_storage::blobs;
use fedproof_storage::sealed::{self, AggregatorKey};
use fedproof_storage::upload::{self, UploadFields};
use fedproof_storage::{AggregateBlob, ChunkedRoundBlob, JobSpecBlob, ModelBlob, ModelLayout, UpdateBlob};
use sha2::{Digest, Sha256};

/// A fuzz target: it takes any bytes and panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target by name: its corpus is `corpus/<name>/` and its cargo-fuzz target
/// `cargo-fuzz/fuzz_targets/<name>.rs`.
pub const TARGETS: &[(&str, Target)] = &[
    ("blob_codec", blob_codec),
    ("sealed_blob", sealed_blob),
    ("snarkjs_json", snarkjs_json),
    ("key_file", key_file),
    ("signed_upload", signed_upload),
    ("cid", cid),
];

/// The age key the sealed-blob target opens with (made for fuzzing; it guards nothing).
pub const FUZZ_AGE_KEY: &str = "AGE-SECRET-KEY-17T4HGM5LY00963R3KXPPW5MUA6RUKJE33R3QHMJX4C2RCGVY6RZQWD9L9S";

/// The circuit the key-file target expects a key for (the seeds' headers name it).
pub const FUZZ_CIRCUIT: Circuit = Circuit::Round { shape: Shape { trainers: 4, params: 8 } };

/// The documents inside blobs (`fedproof_storage::codec`): update, model and aggregate
/// safetensors blobs, a chunked round's record, a job spec (and its model layout), the JSON blobs
/// of earlier versions; and an owner's or trainer's model file read by its layout
/// (`fedproof_storage::layout`). Whatever decodes re-encodes to bytes that decode to it.
pub fn blob_codec(data: &[u8]) {
    if let Ok(blob) = UpdateBlob::decode(data) {
        assert_eq!(UpdateBlob::decode(&blob.encode()).ok(), Some(blob), "update blob round trip");
    }
    if let Ok(blob) = ModelBlob::decode(data) {
        assert_eq!(ModelBlob::decode(&blob.encode()).ok(), Some(blob), "model blob round trip");
    }
    if let Ok(blob) = AggregateBlob::decode(data) {
        assert_eq!(AggregateBlob::decode(&blob.encode()).ok(), Some(blob), "aggregate blob round trip");
    }
    if let Ok(blob) = ChunkedRoundBlob::decode(data) {
        assert_eq!(ChunkedRoundBlob::decode(&blob.encode()).ok(), Some(blob), "chunked round record round trip");
    }
    if let Ok(spec) = JobSpecBlob::decode(data) {
        // What a participant does with a spec's layout first: count its parameters.
        if let Some(layout) = &spec.layout {
            let _ = layout.params();
        }
        assert_eq!(JobSpecBlob::decode(&spec.encode()).ok(), Some(spec), "job spec round trip");
    }
    if let Ok((layout, values)) = ModelLayout::read(data) {
        assert_eq!(layout.params(), values.len(), "a model file's layout counts its values");
        let written = layout.write(&values).expect("a layout read from a file writes its own values");
        assert_eq!(layout.flatten(&written).ok(), Some(values), "model file round trip");
    }
}

/// Update blobs sealed to the aggregator (`fedproof_storage::sealed`): opening hostile ciphertext
/// with the aggregator's key, and aggregator key text and recipients; any bytes sealed open to
/// themselves.
pub fn sealed_blob(data: &[u8]) {
    let key = AggregatorKey::parse(FUZZ_AGE_KEY, "the fuzz key").expect("the fuzz key parses");
    if let Ok(plaintext) = sealed::open(&key, data) {
        let _ = UpdateBlob::decode(&plaintext);
    }
    let resealed = sealed::seal(&key.recipient(), data).expect("sealing to a valid recipient");
    assert_eq!(sealed::open(&key, &resealed).ok().as_deref(), Some(data), "sealed blob round trip");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(other) = AggregatorKey::parse(text, "fuzz input") {
            let sealed = sealed::seal(&other.recipient(), b"update").expect("sealing to a parsed key's recipient");
            assert_eq!(sealed::open(&other, &sealed).ok().as_deref(), Some(&b"update"[..]));
        }
        let _ = sealed::seal(text, b"update");
    }
}

/// Groth16 proofs, public inputs and verifying keys from outside
/// (`fedproof_prover::export`): snarkjs's `proof.json`, `public.json` and
/// `verification_key.json`, and the EVM words a verifier contract holds or takes. Whatever is
/// read writes back to text that reads to it.
pub fn snarkjs_json(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(proof) = snarkjs::proof_from_json(text) {
            let json = snarkjs::proof_to_json(&proof).expect("a proof writes as JSON");
            assert_eq!(snarkjs::proof_from_json(&json).ok(), Some(proof), "proof.json round trip");
        }
        if let Ok(inputs) = snarkjs::public_from_json(text) {
            let json = snarkjs::public_to_json(&inputs).expect("inputs write as JSON");
            assert_eq!(snarkjs::public_from_json(&json).ok(), Some(inputs), "public.json round trip");
        }
        if let Ok(vk) = snarkjs::verifying_key_from_json(text) {
            let json = snarkjs::verifying_key_to_json(&vk).expect("a key writes as JSON");
            assert_eq!(snarkjs::verifying_key_from_json(&json).ok(), Some(vk), "verification_key.json round trip");
        }
    }
    let words: Vec<Word> = data
        .chunks_exact(32)
        .map(|chunk| {
            let mut word = [0u8; 32];
            word.copy_from_slice(chunk);
            Word(word)
        })
        .collect();
    if let Some(proof_words) = words.first_chunk::<8>() {
        if let Ok(proof) = proof_from_words(proof_words) {
            let again = SolidityCalldata::new(&proof, &[]).proof_words();
            assert_eq!(proof_from_words(&again).ok(), Some(proof), "proof words round trip");
        }
    }
    if words.len() >= 14 {
        let _ = verifying_key_from_words(&words[..14], &words[14..]);
    }
}

/// Key files (`fedproof_prover::keys`): a proving key as a prover worker gets it from the blob
/// store and a verifying key from the key cache. The header's SHA-256 is checked before the body
/// is parsed, so each input is tried as it is and again with its digest made right, which lets
/// mutated bodies reach the deserializer.
pub fn key_file(data: &[u8]) {
    check_key_file(data);
    if data.len() >= HEADER_LEN {
        let mut fixed = data.to_vec();
        let digest = Sha256::digest(&fixed[HEADER_LEN..]);
        fixed[HEADER_LEN - 32..HEADER_LEN].copy_from_slice(&digest);
        check_key_file(&fixed);
    }
}

/// Decodes `bytes` as both key kinds; a decoded key serializes and deserializes to itself.
fn check_key_file(bytes: &[u8]) {
    if let Ok(pk) = keys::decode_proving_key(bytes, "fuzz input", FUZZ_CIRCUIT) {
        let mut body = Vec::new();
        pk.serialize_with_mode(&mut body, Compress::No).expect("a proving key serializes");
        let again = ProvingKey::<Bn254>::deserialize_with_mode(&body[..], Compress::No, Validate::No);
        assert_eq!(again.ok(), Some(pk), "proving key round trip");
    }
    if let Ok(vk) = keys::decode_verifying_key(bytes, "fuzz input", FUZZ_CIRCUIT) {
        let mut body = Vec::new();
        vk.serialize_with_mode(&mut body, Compress::Yes).expect("a verifying key serializes");
        let again = VerifyingKey::<Bn254>::deserialize_with_mode(&body[..], Compress::Yes, Validate::Yes);
        assert_eq!(again.ok(), Some(vk), "verifying key round trip");
    }
}

/// A signed upload as the intake receives it and the aggregator's receipt as a trainer receives
/// it (`fedproof_storage::upload`). The input is the job (8 bytes, little-endian), the round
/// (4 bytes), then the upload's text fields — trainer, commitment, base64 blob, signature — one
/// per line. An accepted upload is signed by the trainer it names; a signature that parses
/// prints and parses back to itself.
pub fn signed_upload(data: &[u8]) {
    let job = u64::from_le_bytes(le_bytes(data.get(..8)));
    let round = u32::from_le_bytes(le_bytes(data.get(8..12)));
    let text = String::from_utf8_lossy(data.get(12..).unwrap_or_default());
    let mut lines = text.split('\n');
    let mut field = || lines.next().unwrap_or_default();
    let fields = UploadFields { trainer: field(), commitment: field(), blob: field(), signature: field() };
    if let Ok(checked) = upload::check_upload(job, round, fields) {
        let digest = upload::upload_digest(job, round, U256::from_be_bytes(checked.commitment.0));
        assert_eq!(upload::message_signer(fields.signature, digest.as_slice()).ok(), Some(checked.trainer));
    }
    if let Ok(signature) = upload::parse_signature(fields.signature) {
        assert_eq!(upload::parse_signature(&signature.to_string()).ok(), Some(signature), "signature round trip");
    }
    let _ = upload::receipt_signer(fields.signature, &keccak256(data));
}

/// `N` bytes from `bytes`, zero when absent.
fn le_bytes<const N: usize>(bytes: Option<&[u8]>) -> [u8; N] {
    bytes.and_then(|b| b.try_into().ok()).unwrap_or([0; N])
}

/// Blob names (`fedproof_storage::blobs`): CIDs from specs, names and the intake's answers. A
/// name that parses prints and parses back to itself, and maps to its on-chain `blobRef` and
/// back.
pub fn cid(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(cid) = blobs::parse_cid(&text) {
        assert_eq!(blobs::parse_cid(&cid.to_string()).ok(), Some(cid), "CID text round trip");
        let digest = blobs::blob_ref(&cid).expect("a parsed CID has a blobRef");
        assert_eq!(blobs::cid_from_ref(digest), cid, "blobRef round trip");
    }
    let named = blobs::cid_of(data);
    assert_eq!(blobs::parse_cid(&named.to_string()).ok(), Some(named), "a blob's own name parses");
}
