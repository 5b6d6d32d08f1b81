// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MockMarketBase} from "./utils/MarketBase.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IJobMarketErrors} from "../src/IJobMarket.sol";
import {IJobMarketEvents} from "../src/IJobMarketEvents.sol";

/// @notice Disputes and liveness of JobMarket (market/JobLiveness.sol): data-availability disputes,
///         expiry, recovery, with bad input and every revert path.
///         Where a real round-0 proof cannot reach (later rounds, unavailable or absent slots,
///         arbitrary scores, a verifier answering false) the MockVerifier stands in; real proofs
///         are in JobMarketProof.t.sol.
contract JobMarketLivenessTest is MockMarketBase {
    // ---------------------------------------------------------------- data availability

    JobMarket.RoundOutcome internal o0;

    /// @dev `key`'s receipt for `commitment` with the blob reference (job, round, slot) submitted.
    function _receipt(uint256 key, uint256 jobId, uint256 round, uint256 slot, uint256 commitment)
        internal
        view
        returns (bytes memory)
    {
        return sign(key, market.receiptDigest(jobId, round, slot, commitment, market.blobRefs(jobId, round, slot)));
    }

    function test_DisputeSlashesTheBond() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0x5, 0x2); // slot 1 "unavailable"
        o0 = outcome(f, _finalize(jobId, 0, f));
        _badReceipts(jobId);
        bytes memory sig = _receipt(AGG_KEY, jobId, 0, 1, market.commitments(jobId, 0, 1));
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.Disputed(jobId, 0, 1, trainers[1], BOND / N);
        market.dispute(jobId, 0, 1, o0, sig);
        assertEq(market.owed(address(0), trainers[1]), BOND / N, "slashed to the trainer");
        assertEq(market.jobState(jobId).bondHeld, BOND - BOND / N, "bond reduced");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadySettled.selector, 1));
        market.dispute(jobId, 0, 1, o0, sig);
    }

    function _badReceipts(uint256 jobId) internal {
        uint256 commitment = market.commitments(jobId, 0, 1);
        bytes memory sig0 = _receipt(AGG_KEY, jobId, 0, 0, market.commitments(jobId, 0, 0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SlotNotUnavailable.selector, 0));
        market.dispute(jobId, 0, 0, o0, sig0);
        bytes memory wrongSigner = _receipt(0xBEEF, jobId, 0, 1, commitment);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidReceipt.selector, vm.addr(0xBEEF)));
        market.dispute(jobId, 0, 1, o0, wrongSigner);
        bytes memory wrongCommitment = _receipt(AGG_KEY, jobId, 0, 1, commitment + 1);
        vm.expectRevert(); // recovers some other address
        market.dispute(jobId, 0, 1, o0, wrongCommitment);
        bytes memory wrongBlob = sign(AGG_KEY, market.receiptDigest(jobId, 0, 1, commitment, _blob(0, 0)));
        vm.expectRevert(); // recovers some other address (test_Attack1_* names it)
        market.dispute(jobId, 0, 1, o0, wrongBlob);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidReceipt.selector, address(0)));
        market.dispute(jobId, 0, 1, o0, hex"1234");
    }

    /// @dev A slot that did not submit cannot be disputed even if the outcome declares it
    ///      unavailable and the aggregator signed a receipt: the contract no longer checks
    ///      unavailable => submitted at finalization (the proof does: a real verifier refuses
    ///      such a finalization), so the dispute checks the slot's commitment itself. Here the
    ///      mock verifier accepts the finalization a real one would refuse.
    function test_DisputeOfASlotWithoutCommitmentIsRefused() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0x7); // slot 3 does not submit
        vm.warp(_now() + WINDOW + 1);
        JobMarket.Finalization memory f = _fin(0x3, 0xC); // slots 2 and 3 "unavailable"
        o0 = outcome(f, _finalize(jobId, 0, f));
        bytes memory nothing = _receipt(AGG_KEY, jobId, 0, 3, 0); // a receipt for commitment 0, blob 0
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SlotNotUnavailable.selector, 3));
        market.dispute(jobId, 0, 3, o0, nothing);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SlotNotUnavailable.selector, 300));
        market.dispute(jobId, 0, 300, o0, nothing); // past every slot
        assertEq(market.jobState(jobId).bondHeld, BOND, "the bond is untouched");
        // The slot that submitted and was declared unavailable still wins its dispute.
        market.dispute(jobId, 0, 2, o0, _receipt(AGG_KEY, jobId, 0, 2, market.commitments(jobId, 0, 2)));
        assertEq(market.disputedBits(jobId, 0), 1 << 2, "slot 2 disputed");
        assertEq(market.owed(address(0), trainers[2]), BOND / N, "slashed to the trainer");
    }

    function test_DisputeWindowCloses() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0x1, 0x2);
        uint40 t = _finalize(jobId, 0, f);
        bytes memory sig = _receipt(AGG_KEY, jobId, 0, 1, market.commitments(jobId, 0, 1));
        vm.warp(t + WINDOW + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketErrors.DisputeWindowClosed.selector, t + WINDOW, t + WINDOW + 1)
        );
        market.dispute(jobId, 0, 1, outcome(f, t), sig);
    }

    function test_DisputeAfterTheBondIsGone() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0x1, 0x2);
        uint40 t = _finalize(jobId, 0, f);
        // Round 1 expires: the bond goes to round 1's submitters, nothing is left to slash.
        vm.warp(_now() + 2 * WINDOW + 1);
        market.expireRound(jobId);
        vm.warp(t + 10);
        bytes memory sig = _receipt(AGG_KEY, jobId, 0, 1, market.commitments(jobId, 0, 1));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToSlash.selector, jobId));
        market.dispute(jobId, 0, 1, outcome(f, t), sig);
    }

    // ---------------------------------------------------------------- liveness

    function test_ExpireRound() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0x5); // slots 0 and 2 submitted
        uint256 deadline = _now() + 2 * WINDOW;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.DeadlineNotPassed.selector, deadline, _now()));
        market.expireRound(jobId);
        vm.warp(deadline + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.RoundExpired(jobId, 0, BUDGET / 2, BOND, 0x5);
        market.expireRound(jobId);
        assertEq(market.submittedBits(jobId, 0), 0x5, "the expired round's submitters");
        assertEq(market.owed(address(0), owner), BUDGET / 2, "round budget back");
        assertEq(market.owed(address(0), trainers[0]), BOND / 2, "bond to submitters");
        assertEq(market.owed(address(0), trainers[2]), BOND / 2, "bond to submitters");
        assertEq(market.owed(address(0), trainers[1]), 0, "not to absent trainers");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotActive.selector, jobId, JobMarket.Status.Expired));
        market.expireRound(jobId);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotActive.selector, jobId, JobMarket.Status.Expired));
        market.finalizeRound(jobId, 0, _fin(0x5, 0));
        vm.prank(owner);
        market.recover(jobId);
        assertEq(market.owed(address(0), owner), BUDGET, "the rest recovered");
        _leaveAll(jobId);
        _withdrawAll();
        assertEq(address(market).balance, 0, "everything paid out");
    }

    function test_ExpireWithoutSubmittersGivesTheBondToTheOwner() public {
        uint256 jobId = _job(1);
        vm.warp(_now() + 2 * WINDOW + 1);
        market.expireRound(jobId);
        assertEq(market.owed(address(0), owner), BUDGET + BOND, "budget and bond");
    }

    function test_RecoverReverts() public {
        uint256 jobId = _job(2);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotEnded.selector, jobId));
        market.recover(jobId);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotOwner.selector, address(this)));
        market.recover(jobId);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotEnded.selector, jobId));
        market.releaseBond(jobId);
    }
}
