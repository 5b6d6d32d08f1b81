//! The aggregator's upload receipt: the EIP-712 digest `JobMarket.receiptDigest` computes, here
//! without asking a node. The intake signs one per upload, so the digest is computed locally
//! rather than by an `eth_call`; `tests/receipt.rs` checks it against the deployed contract.
//!
//! The type string must stay `JobMarket.RECEIPT_TYPEHASH`'s, and the domain the contract's
//! (`name` "fedproof JobMarket", `version` "1", the chain id, the market's address).

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::{eip712_domain, SolStruct};

alloy::sol! {
    /// What the aggregator's receipt covers (`JobMarket.RECEIPT_TYPEHASH`): the update's
    /// commitment and the blob reference the trainer submitted with it.
    #[derive(Debug, PartialEq, Eq)]
    struct UploadReceipt {
        uint256 jobId;
        uint32 round;
        uint8 slot;
        uint256 commitment;
        bytes32 blobRef;
    }
}

/// The digest the aggregator signs for `receipt`, under the market at `market` on chain
/// `chain_id`: `JobMarket.receiptDigest(jobId, round, slot, commitment, blobRef)`.
pub fn receipt_digest(chain_id: u64, market: Address, receipt: &UploadReceipt) -> B256 {
    let domain = eip712_domain! {
        name: "fedproof JobMarket",
        version: "1",
        chain_id: chain_id,
        verifying_contract: market,
    };
    receipt.eip712_signing_hash(&domain)
}

impl UploadReceipt {
    /// The receipt of slot `slot`'s update `commitment` (blob `blob_ref`) in round `round` of job
    /// `job`.
    pub fn new(job: u64, round: u32, slot: u8, commitment: U256, blob_ref: B256) -> Self {
        Self { jobId: U256::from(job), round, slot, commitment, blobRef: blob_ref }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::keccak256;

    #[test]
    fn the_type_string_is_the_contracts() {
        let source = include_str!("../../src/JobMarket.sol");
        let declared =
            "keccak256(\"UploadReceipt(uint256 jobId,uint32 round,uint8 slot,uint256 commitment,bytes32 blobRef)\")";
        assert!(source.contains(declared), "JobMarket.RECEIPT_TYPEHASH changed: update UploadReceipt");
        let ours = UploadReceipt::new(0, 0, 0, U256::ZERO, B256::ZERO).eip712_type_hash();
        assert_eq!(
            ours,
            keccak256("UploadReceipt(uint256 jobId,uint32 round,uint8 slot,uint256 commitment,bytes32 blobRef)")
        );
    }
}
