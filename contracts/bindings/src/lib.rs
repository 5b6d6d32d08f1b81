//! Bindings of the fedproof contracts, generated at compile time by alloy's `sol!` from the ABI and
//! bytecode committed under `contracts/abi/` (so building needs no Node or Solidity toolchain;
//! `make contracts-abi` rewrites those files and `make test` fails if they are stale).
//!
//! Each module exposes the contract's call and event types (`JobMarket::finalizeRoundCall`,
//! `JobMarket::RoundFinalized`, …), its errors, its creation and runtime bytecode
//! (`BYTECODE`, `DEPLOYED_BYTECODE`), and a typed instance (`JobMarket::new(address, provider)`,
//! `JobMarket::deploy(provider, …)`) for alloy providers.

#![allow(missing_docs)] // the items are generated from the ABI; the contracts' NatSpec documents them
#![allow(clippy::too_many_arguments)] // generated constructors of wide events

pub mod anvil;
pub mod receipt;

alloy::sol!(
    #[sol(rpc, all_derives)]
    JobMarket,
    "../abi/JobMarket.json"
);

alloy::sol!(
    #[sol(rpc, all_derives)]
    ReliabilityRegistry,
    "../abi/ReliabilityRegistry.json"
);

alloy::sol!(
    #[sol(rpc, all_derives)]
    RoundVerifierDemo,
    "../abi/RoundVerifierDemo.json"
);

alloy::sol!(
    #[sol(rpc, all_derives)]
    RoundVerifier,
    "../abi/RoundVerifier.json"
);

alloy::sol!(
    #[sol(rpc, all_derives)]
    ChunkedRoundVerifier,
    "../abi/ChunkedRoundVerifier.json"
);

// poseidon-solidity's library (npm), deployed as a contract: its `hash` is public and pure, and
// ChunkedRoundVerifier calls it without linking.
alloy::sol!(
    #[sol(rpc, all_derives)]
    PoseidonT3,
    "../abi/PoseidonT3.json"
);

/// `JobMarket.Status`, which the ABI carries only as a `uint8` (`jobState(id).status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum JobStatus {
    /// No job with that id.
    None = 0,
    /// Rounds are running (or about to).
    Active = 1,
    /// Every round was finalized.
    Completed = 2,
    /// A round missed its finalization deadline.
    Expired = 3,
    /// The owner cancelled the job before it started.
    Cancelled = 4,
}

impl JobStatus {
    /// Every status, in the contract's declaration order.
    pub const ALL: [JobStatus; 5] =
        [JobStatus::None, JobStatus::Active, JobStatus::Completed, JobStatus::Expired, JobStatus::Cancelled];

    /// The status a `jobState(id).status` value stands for, if the contract defines it.
    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.get(usize::from(value)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, U256};
    use alloy::sol_types::{SolCall, SolError, SolEvent};

    #[test]
    fn selectors_match_the_solidity_signatures() {
        assert_eq!(JobMarket::withdrawCall::SIGNATURE, "withdraw(address)");
        assert_eq!(
            JobMarket::finalizeRoundCall::SIGNATURE,
            "finalizeRound(uint256,uint32,(uint256,uint256,uint256,uint256,uint128,uint256[],uint256[8]))"
        );
        assert_eq!(
            JobMarket::answerChunkCall::SIGNATURE,
            "answerChunk(uint256,uint32,uint256,(uint256,uint40,uint256,uint256[],uint256[8]))"
        );
        assert_eq!(
            ChunkedRoundVerifier::verifyChunkCall::SIGNATURE,
            "verifyChunk(uint256,uint256,uint256[],uint256,uint256[8])"
        );
        assert_eq!(PoseidonT3::hashCall::SIGNATURE, "hash(uint256[2])");
        assert_eq!(ReliabilityRegistry::updateBatchCall::SIGNATURE, "updateBatch(bytes32[],uint256[])");
        assert_eq!(JobMarket::InvalidProof::SIGNATURE, "InvalidProof()");
        assert_eq!(
            JobMarket::RoundFinalized::SIGNATURE,
            "RoundFinalized(uint256,uint256,uint256,uint256,uint256,uint256,uint40,uint128,uint256[])"
        );
        assert_eq!(JobMarket::RoundExpired::SIGNATURE, "RoundExpired(uint256,uint256,uint256,uint256,uint256)");
        assert_eq!(JobMarket::roundMarksCall::SIGNATURE, "roundMarks(uint256,uint256)");
        assert_eq!(JobMarket::submittedBitsCall::SIGNATURE, "submittedBits(uint256,uint256)");
    }

    #[test]
    fn job_status_follows_the_solidity_enum() {
        let source = include_str!("../../src/JobMarket.sol");
        let start = source.find("enum Status {").expect("JobMarket declares enum Status");
        let body = &source[start + "enum Status {".len()..];
        let names: Vec<&str> = body[..body.find('}').expect("closing brace")].split(',').map(str::trim).collect();
        let ours: Vec<String> = JobStatus::ALL.iter().map(|s| format!("{s:?}")).collect();
        assert_eq!(names, ours);
        assert_eq!(JobStatus::from_u8(1), Some(JobStatus::Active));
        assert_eq!(JobStatus::from_u8(5), None);
    }

    #[test]
    fn bytecode_is_present() {
        assert!(JobMarket::BYTECODE.len() > 1000);
        assert!(JobMarket::DEPLOYED_BYTECODE.len() > 1000);
        assert!(RoundVerifierDemo::DEPLOYED_BYTECODE.len() > 1000);
        assert!(RoundVerifier::BYTECODE.len() > 1000);
    }

    #[test]
    fn calls_round_trip() {
        let call = JobMarket::claimCall {
            jobId: U256::from(1),
            round: 0,
            slot: U256::from(3),
            o: JobMarket::RoundOutcome {
                unavailableBits: U256::from(1) << 255,
                finalizedAt: alloy::primitives::aliases::U40::from(1_000u64),
                aggregateNormSq: 5,
                scoreWords: vec![U256::from(7)],
            },
        };
        let data = call.abi_encode();
        let back = JobMarket::claimCall::abi_decode(&data).expect("decodes");
        assert_eq!(back.slot, U256::from(3));
        assert_eq!(back.o.scoreWords, vec![U256::from(7)]);
        assert_eq!(back.o.unavailableBits, U256::from(1) << 255, "slot 255's bit survives the encoding");
        let w = JobMarket::withdrawCall { token: Address::ZERO }.abi_encode();
        assert_eq!(&w[..4], &JobMarket::withdrawCall::SELECTOR);
    }
}
