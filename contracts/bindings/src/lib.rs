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
            "finalizeRound(uint256,uint32,(uint256,uint64,uint64,uint256[],address[],uint256[8]))"
        );
        assert_eq!(ReliabilityRegistry::updateBatchCall::SIGNATURE, "updateBatch(bytes32[],uint256[])");
        assert_eq!(JobMarket::InvalidProof::SIGNATURE, "InvalidProof()");
        assert!(JobMarket::RoundFinalized::SIGNATURE.starts_with("RoundFinalized(uint256,uint256,"));
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
                unavailableBits: 2,
                finalizedAt: alloy::primitives::aliases::U40::from(1_000u64),
                scoreWords: vec![U256::from(7)],
            },
        };
        let data = call.abi_encode();
        let back = JobMarket::claimCall::abi_decode(&data).expect("decodes");
        assert_eq!(back.slot, U256::from(3));
        assert_eq!(back.o.scoreWords, vec![U256::from(7)]);
        let w = JobMarket::withdrawCall { token: Address::ZERO }.abi_encode();
        assert_eq!(&w[..4], &JobMarket::withdrawCall::SELECTOR);
    }
}
