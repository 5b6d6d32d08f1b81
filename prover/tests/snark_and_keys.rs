//! Setup, prove and verify a real round; keys cached on disk reject wrong shapes and damage.
#![allow(clippy::unwrap_used)] // a failing test should panic

use ark_bn254::Fr;
use fedproof_prover::keys::{KeyKind, KeyStore};
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::round::RoundWitness;
use fedproof_prover::shape::Shape;
use fedproof_prover::{snark, Error};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[test]
fn prove_verify_and_key_cache() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    let shape = Shape::new(4, 6).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(11);

    let keys = store.load_or_setup(shape, &mut rng).unwrap();
    assert!(keys.generated);
    let again = store.load_or_setup(shape, &mut rng).unwrap();
    assert!(!again.generated, "second call loads from the cache");
    assert_eq!(again.vk, keys.vk);

    let w = RoundWitness::new(synthetic(shape, 1, 3).input).unwrap();
    let public = w.public.clone();
    let proof = snark::prove(&again.pk, w.clone(), &mut rng).unwrap();
    assert!(snark::verify(&keys.vk, &public, &proof).unwrap());
    assert_eq!(snark::trainers_of(&keys.vk), Some(4));

    // Every public input matters.
    let inputs = public.to_vec();
    for k in 0..inputs.len() {
        let mut bad = inputs.clone();
        bad[k] += Fr::from(1u8);
        assert!(!snark::verify_inputs(&keys.vk, &bad, &proof).unwrap(), "input {k} tampered");
    }
    assert!(matches!(snark::verify_inputs(&keys.vk, &inputs[1..], &proof), Err(Error::LengthMismatch { .. })));

    // A wrong claim is refused at proving time with a clear error.
    let mut bad = w;
    bad.public.scores[0] += Fr::from(1u8);
    let err = snark::prove(&keys.pk, bad, &mut rng).unwrap_err();
    assert!(matches!(err, Error::Unsatisfied(_)), "{err}");

    // A key for another shape is named as such.
    let other = Shape::new(5, 6).unwrap();
    std::fs::create_dir_all(store.shape_dir(other)).unwrap();
    std::fs::copy(store.path(shape, KeyKind::Verifying), store.path(other, KeyKind::Verifying)).unwrap();
    let err = store.load_verifying_key(other).unwrap_err().to_string();
    assert!(err.contains("4 trainers × 6 params") && err.contains("5 trainers × 6 params"), "{err}");

    // Damaged and foreign files are clear errors.
    let vk_path = store.path(shape, KeyKind::Verifying);
    let mut bytes = std::fs::read(&vk_path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&vk_path, &bytes).unwrap();
    let err = store.load_verifying_key(shape).unwrap_err().to_string();
    assert!(err.contains("SHA-256"), "{err}");
    std::fs::write(&vk_path, b"hello").unwrap();
    assert!(store.load_verifying_key(shape).unwrap_err().to_string().contains("not a fedproof key file"));
    std::fs::remove_file(&vk_path).unwrap();
    assert!(matches!(store.load_verifying_key(shape), Err(Error::Io { .. })));
}

/// A chunked round's chunk and final keys are cached like a round's, each under its own circuit,
/// and a chunk key is not taken for the final proof's (or another chunk size's).
#[test]
fn chunk_and_final_keys_are_cached_by_circuit() {
    use fedproof_prover::keys::Circuit;
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let shape = Shape::new(4, 20).unwrap();
    let chunk = Circuit::Chunk { trainers: 4, params: 10 };
    let last = Circuit::Final { shape, chunks: 2 };
    assert!(store.load_or_setup(chunk, &mut rng).unwrap().generated);
    let final_keys = store.load_or_setup(last, &mut rng).unwrap();
    assert!(final_keys.generated);
    let chunk_keys = store.load_or_setup(chunk, &mut rng).unwrap();
    assert!(!chunk_keys.generated, "loaded from the cache");
    assert_ne!(store.path(chunk, KeyKind::Proving), store.path(shape, KeyKind::Proving));

    // Both prove a real chunked round.
    let round = fedproof_prover::chunked::split(synthetic(shape, 1, 4).input, 10).unwrap();
    let public = round.witness.public.to_vec();
    let proof = snark::prove_final(&final_keys.pk, round.witness.clone(), &mut rng).unwrap();
    assert!(snark::verify_inputs(&final_keys.vk, &public, &proof).unwrap());
    let (input, chunk_public) = (round.chunks[1].clone(), round.witness.chunks[1].clone());
    let witness = fedproof_prover::chunk::constraints::ChunkWitness { input, public: chunk_public.clone() };
    let proof = snark::prove_chunk(&chunk_keys.pk, witness, &mut rng).unwrap();
    assert!(snark::verify_inputs(&chunk_keys.vk, &chunk_public.to_vec(), &proof).unwrap());

    // A chunk key copied where the final proof's belongs is named as what it is.
    std::fs::copy(store.path(chunk, KeyKind::Verifying), store.path(last, KeyKind::Verifying)).unwrap();
    let err = store.load_verifying_key(last).unwrap_err().to_string();
    assert!(err.contains("chunks of 4 trainers × 10 params") && err.contains("final proof"), "{err}");
    let other = Circuit::Chunk { trainers: 4, params: 12 };
    std::fs::create_dir_all(store.shape_dir(other)).unwrap();
    std::fs::copy(store.path(chunk, KeyKind::Proving), store.path(other, KeyKind::Proving)).unwrap();
    assert!(matches!(store.load_proving_key(other), Err(Error::WrongKey { .. })));
}
