//! The domain a round's proof is bound to: the chain, the market contract, the job and the
//! job's roster.
//!
//! `domain = keccak256(abi.encode(uint256 chainId, address market, uint256 jobId, bytes32
//! rosterHash)) mod r`, with `rosterHash = keccak256(abi.encodePacked(address[] roster))` (each
//! address padded to 32 bytes, as Solidity packs array elements). `JobMarket.domain(jobId)`
//! computes the same value; it is public input 1 and the header of every update commitment, so
//! a proof (or a commitment) made for one deployment, job or roster is worthless on another.
//! The roster is fixed once a job starts, so binding it binds each slot to its trainer.

use ark_bn254::Fr;
use ark_ff::PrimeField;
use sha3::{Digest, Keccak256};

/// Where a job lives: the fields hashed into its domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobDomain {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The JobMarket contract's address.
    pub market: [u8; 20],
    /// The job's id in that market.
    pub job_id: u64,
    /// `keccak256` of the job's slot owners in slot order ([`roster_hash`]).
    pub roster_hash: [u8; 32],
}

impl JobDomain {
    /// The domain as a field element (public input 1).
    pub fn value(&self) -> Fr {
        let mut encoded = [0u8; 128];
        encoded[24..32].copy_from_slice(&self.chain_id.to_be_bytes());
        encoded[44..64].copy_from_slice(&self.market);
        encoded[88..96].copy_from_slice(&self.job_id.to_be_bytes());
        encoded[96..128].copy_from_slice(&self.roster_hash);
        Fr::from_be_bytes_mod_order(&Keccak256::digest(encoded))
    }
}

/// `keccak256(abi.encodePacked(roster))`: the slot owners (zero for a free slot), each padded to
/// 32 bytes, in slot order — the contract's stored `rosterHash`.
pub fn roster_hash(roster: &[[u8; 20]]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    for address in roster {
        hasher.update([0u8; 12]);
        hasher.update(address);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_changes_the_domain() {
        let base = JobDomain { chain_id: 31337, market: [7; 20], job_id: 3, roster_hash: roster_hash(&[[1; 20]]) };
        let d = base.value();
        assert_ne!(d, JobDomain { chain_id: 1, ..base }.value());
        assert_ne!(d, JobDomain { market: [8; 20], ..base }.value());
        assert_ne!(d, JobDomain { job_id: 4, ..base }.value());
        assert_ne!(d, JobDomain { roster_hash: roster_hash(&[[2; 20]]), ..base }.value());
    }

    #[test]
    fn roster_hash_pads_like_solidity() {
        // keccak256(abi.encodePacked(new address[](0))) is keccak256 of no bytes.
        assert_eq!(hex::encode(roster_hash(&[])), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    }
}
