//! Exports for third parties: snarkjs JSON files, Solidity calldata and a Solidity verifier.
//!
//! Everything here works on any Groth16 proof over BN254 (`ark_groth16::Proof<Bn254>`,
//! `VerifyingKey<Bn254>` and public inputs `&[Fr]`), independent of the circuit.

pub mod calldata;
pub mod field;
pub mod snarkjs;
pub mod solidity;
pub mod toy;
