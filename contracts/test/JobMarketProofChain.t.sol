// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MarketBase, RoundFixture} from "./utils/MarketBase.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IJobMarketErrors} from "../src/IJobMarket.sol";
import {IJobMarketEvents} from "../src/IJobMarketEvents.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";

/// @notice Real proofs of two consecutive rounds of one n = 4 job (fixtures round_n4_chain{0,1},
///         `fedproof prover export --round 0|1 --unavailable 1 --chained`), verified by the
///         generic RoundVerifier: slot 1 submits but is declared unavailable, its trainer wins a
///         dispute with the aggregator's upload receipt, and round 1 is proven from the context
///         round 0 left on chain (the model is not a public input: each round commits to its
///         aggregate C(S)).
contract JobMarketProofChainTest is MarketBase {
    uint256 internal constant UNAVAILABLE = 1 << 1;

    RoundFixture internal f0;
    RoundFixture internal f1;
    IRoundVerifier internal verifier;

    function setUp() public {
        _deployMarket();
        f0 = loadFixture("n4_chain0");
        f1 = loadFixture("n4_chain1");
        verifier = IRoundVerifier(address(deployGenericVerifier("n4_chain")));
        market.setVerifierApproval(address(verifier), true);
    }

    function test_FixturesChain() public view {
        assertTrue(f1.newModel != f0.newModel, "each round commits to its own aggregate");
        assertTrue(!f0.inliers[1] && f0.scores[1] == 0, "the unavailable slot is no inlier");
        assertTrue(!f1.inliers[1] && f1.scores[1] == 0, "the unavailable slot is no inlier");
        assertEq(unavailableOf(f0), UNAVAILABLE, "round 0 was proven with slot 1 unavailable (flags word 0, bit 1)");
        assertEq(unavailableOf(f1), UNAVAILABLE, "round 1 was proven with slot 1 unavailable (flags word 0, bit 1)");
    }

    /// @dev Round 0 with slot 1 unavailable; counting slot 1 present is refused by the proof.
    function _finalizeRound0(uint256 jobId) internal returns (JobMarket.Finalization memory fin, uint40 at) {
        assertEq(market.context(jobId, 0), f0.context, "context of round 0");
        submitAll(jobId, 0, f0);
        fin = finalization(f0);
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);

        fin.unavailableBits = UNAVAILABLE;
        vm.prank(aggregator);
        market.finalizeRound(jobId, 0, fin);
        at = uint40(_now());
        assertEq(market.jobState(jobId).model, f0.newModel, "the job's model word is round 0's C(S)");
    }

    function test_UnavailableSlotIsNotScoredAndWinsTheDispute() public {
        uint256 jobId = setUpJob(f0, verifier, 2);
        (JobMarket.Finalization memory fin, uint40 at) = _finalizeRound0(jobId);

        JobMarket.RoundOutcome memory o = outcome(fin, at);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToClaim.selector, 1));
        market.claim(jobId, 0, 1, o);
        market.recordReliability(jobId, 0, o);
        // Only present slots get a reliability observation.
        for (uint256 i; i < f0.n; ++i) {
            ReliabilityRegistry.Evidence memory e = registry.evidence(idOf(trainers[i]), address(0));
            assertEq(e.observations, i == 1 ? 0 : 1, "observations");
        }

        // The aggregator's EIP-712 receipt for slot 1's commitment and blob proves the upload.
        bytes32 digest = market.receiptDigest(jobId, 0, 1, f0.commitments[1], market.blobRefs(jobId, 0, 1));
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.Disputed(jobId, 0, 1, trainers[1], BOND / f0.n);
        market.dispute(jobId, 0, 1, o, sign(AGG_KEY, digest));
        assertEq(market.owed(address(0), trainers[1]), BOND / f0.n, "slashed to the trainer");
        assertEq(market.jobState(jobId).bondHeld, BOND - BOND / f0.n, "bond reduced");
        // A present slot cannot dispute, even with a valid receipt.
        bytes memory present = receipt(jobId, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SlotNotUnavailable.selector, 0));
        market.dispute(jobId, 0, 0, o, present);
    }

    function test_SecondRoundIsProvenFromTheFirst() public {
        uint256 jobId = setUpJob(f0, verifier, 2);
        (JobMarket.Finalization memory fin0, uint40 at0) = _finalizeRound0(jobId);

        assertEq(market.context(jobId, 1), f1.context, "context of round 1");
        submitAll(jobId, 1, f1);
        JobMarket.Finalization memory fin = finalization(f1);
        fin.unavailableBits = UNAVAILABLE;
        // Round 0's proof does not settle round 1 (other context, other C(w)).
        JobMarket.Finalization memory replay = finalization(f0);
        replay.unavailableBits = UNAVAILABLE;
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 1, replay);

        vm.prank(aggregator);
        market.finalizeRound(jobId, 1, fin);
        JobMarket.State memory st = market.jobState(jobId);
        assertEq(uint256(st.status), uint256(JobMarket.Status.Completed), "completed after 2 rounds");
        assertEq(st.model, f1.newModel, "round 1's C(S)");
        assertEq(st.round, 2, "round advanced");

        JobMarket.RoundOutcome memory o = outcome(fin, uint40(_now()));
        uint256 total;
        for (uint256 i; i < f1.n; ++i) {
            total += f1.scores[i];
        }
        uint256 roundBudget = BUDGET / 2;
        for (uint256 i; i < f1.n; ++i) {
            if (f1.scores[i] == 0) continue;
            uint256 before = market.owed(address(0), trainers[i]);
            market.claim(jobId, 1, i, o);
            assertEq(market.owed(address(0), trainers[i]) - before, (roundBudget * f1.scores[i]) / total, "share");
        }
        market.recordReliability(jobId, 0, outcome(fin0, at0));
        ReliabilityRegistry.Evidence memory e = registry.evidence(idOf(trainers[0]), address(0));
        assertEq(e.observations, 2, "two rounds observed");
    }
}
