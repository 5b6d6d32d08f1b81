//! # fedproof-prover
//!
//! The round statement of fedproof — what one round of robust federated aggregation is, in
//! integers — implemented natively and as a Groth16 circuit over BN254. See `README.md` in this
//! crate for the statement with formulas.
//!
//! The crate also owns the round's wire format: the context packing ([`params`]), the public
//! inputs, flags and score words ([`round::public_inputs`]) and the proof and key words
//! ([`export::calldata`]); other crates call these rather than re-deriving the layout.
//!
//! The modules below follow the life of a round (one line each).
#![forbid(unsafe_code)]

/// Real values to signed fixed-point integers.
pub mod fixed_point;

/// A job's fixed shape (slots, parameters) and the bit widths and input counts that follow.
pub mod shape;

/// Two bits per slot, 64 slots per field element: a round's flags and a chunk's mask.
pub mod slot_bits;

/// Each round's public parameters: the context word, the job terms' schedule, τ and lr encoding.
pub mod params;

/// The domain a proof is bound to: chain id, market, job and roster, hashed as the contract does.
pub mod domain;

/// Constraint counts per step of a statement, and the `step!` macro that records them.
#[macro_use]
pub mod steps;

/// circomlib's Poseidon, natively and in R1CS.
pub mod poseidon;

/// The Poseidon commitments to updates and models, and their packing.
pub mod commitment;

/// The round statement: native reference, public inputs and their words, circuit.
pub mod round;

/// One chunk of a round's parameters, proven on its own: native reference and circuit.
pub mod chunk;

/// A chunked round: its chunks' inputs and the final proof that carries the rule and binds them.
pub mod chunked;

/// A job's proof layout, whole or chunked, and the round commitment a trainer posts under it.
pub mod layout;

/// Range checks and comparisons in R1CS.
pub mod gadgets;

/// Groth16 setup, prove and verify; constraint counts per step.
pub mod snark;

/// Keys cached on disk by shape and circuit version.
pub mod keys;

/// JSON test vectors for other implementations.
pub mod vectors;

/// Proofs and keys as snarkjs JSON, EVM words and calldata, a Solidity verifier, a toy circuit.
pub mod export;

/// The prover's error type.
pub mod error;

pub use error::{Error, Result};
