//! # fedproof-prover
//!
//! The round statement of fedproof — what one round of robust federated aggregation is, in
//! integers — implemented natively and as a Groth16 circuit over BN254. See `README.md` in this
//! crate for the statement with formulas.
//!
//! The modules follow the life of a round:
//! - [`fixed_point`]: real values to signed fixed-point integers.
//! - [`shape`] and [`params`]: a job's fixed shape and each round's public parameters.
//! - [`poseidon`] and [`commitment`]: circomlib Poseidon and the commitments to updates and models.
//! - [`round`]: the round statement — native reference, public inputs, circuit.
//! - [`gadgets`]: range checks and comparisons in R1CS.
//! - [`snark`] and [`keys`]: Groth16 setup, prove and verify; keys cached on disk by shape.
//! - [`vectors`]: JSON test vectors for other implementations.
//! - [`export`]: proofs and keys in snarkjs JSON, Solidity calldata, and a Solidity verifier.
#![forbid(unsafe_code)]

pub mod commitment;
pub mod error;
pub mod export;
pub mod fixed_point;
pub mod gadgets;
pub mod keys;
pub mod params;
pub mod poseidon;
pub mod round;
pub mod shape;
pub mod snark;
pub mod vectors;

pub use error::{Error, Result};
