//! Measures loading a cached proving key compressed versus uncompressed, to justify storing it
//! uncompressed: `cargo run --release -p fedproof-prover --example key_formats -- N D`.
use std::time::Instant;

use ark_bn254::Bn254;
use ark_groth16::ProvingKey;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use fedproof_prover::keys::KeyStore;
use fedproof_prover::shape::Shape;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let shape = Shape::new(args[0], args[1])?;
    let start = Instant::now();
    let pk = KeyStore::new(KeyStore::default_dir()).load_proving_key(shape)?;
    println!("uncompressed: {} bytes, load {:.2} s", pk.uncompressed_size(), start.elapsed().as_secs_f64());
    let mut bytes = Vec::new();
    pk.serialize_compressed(&mut bytes)?;
    for (validate, label) in [(Validate::No, "without"), (Validate::Yes, "with")] {
        let start = Instant::now();
        let _pk = ProvingKey::<Bn254>::deserialize_with_mode(bytes.as_slice(), Compress::Yes, validate)?;
        println!(
            "compressed:   {} bytes, {label} validation: load {:.2} s",
            bytes.len(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
