//! Exports for third parties: snarkjs JSON files, Solidity calldata and a Solidity verifier.
