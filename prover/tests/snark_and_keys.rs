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
    std::fs::create_dir_all(store.shape_dir(&other)).unwrap();
    std::fs::copy(store.path(&shape, KeyKind::Verifying), store.path(&other, KeyKind::Verifying)).unwrap();
    let err = store.load_verifying_key(&other).unwrap_err().to_string();
    assert!(err.contains("4 trainers × 6 params") && err.contains("5 trainers × 6 params"), "{err}");

    // Damaged and foreign files are clear errors.
    let vk_path = store.path(&shape, KeyKind::Verifying);
    let mut bytes = std::fs::read(&vk_path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&vk_path, &bytes).unwrap();
    let err = store.load_verifying_key(&shape).unwrap_err().to_string();
    assert!(err.contains("SHA-256"), "{err}");
    std::fs::write(&vk_path, b"hello").unwrap();
    assert!(store.load_verifying_key(&shape).unwrap_err().to_string().contains("not a fedproof key file"));
    std::fs::remove_file(&vk_path).unwrap();
    assert!(matches!(store.load_verifying_key(&shape), Err(Error::Io { .. })));
}
