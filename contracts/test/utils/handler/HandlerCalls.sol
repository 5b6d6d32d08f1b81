// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "../Vm.sol";
import {ExpectedInputs} from "../ExpectedInputs.sol";
import {JobMarket} from "../../../src/JobMarket.sol";
import {IJobMarketErrors} from "../../../src/IJobMarket.sol";
import {HandlerRules} from "./HandlerRules.sol";
import {JobGhost, RoundGhost, Upload} from "./HandlerState.sol";

/// @title HandlerCalls
/// @notice One market call each (`_do*`): the call, the checks of what it credited, and the
///         ghost books' update. The fuzzed actions and the drain reuse them.
abstract contract HandlerCalls is HandlerRules {
    // ================================================================ one market call each

    function _doPostBond(uint256 jobId) internal {
        JobMarket.Config memory c = market.jobConfig(jobId);
        uint256 value = _deposit(c.token, c.bond);
        vm.prank(aggregator);
        market.postBond{value: value}(jobId);
        ghosts[jobId].bondPosted += c.bond;
    }

    function _doTopUpBond(uint256 jobId) internal {
        JobMarket.Config memory c = market.jobConfig(jobId);
        uint256 amount = c.bond - market.jobState(jobId).bondHeld;
        uint256 value = _deposit(c.token, amount);
        vm.prank(aggregator);
        market.topUpBond{value: value}(jobId);
        ghosts[jobId].bondToppedUp += amount;
    }

    function _doJoin(uint256 jobId, address trainer) internal {
        JobMarket.Config memory c = market.jobConfig(jobId);
        uint256 value = _deposit(c.token, c.stake);
        vm.prank(trainer);
        market.join{value: value}(jobId);
        (, uint256 slot) = market.slotOf(jobId, trainer);
        ghosts[jobId].members += 1;
        ghosts[jobId].stakedBits |= 1 << slot;
    }

    function _doLeave(uint256 jobId, address trainer) internal {
        (, uint256 slot) = market.slotOf(jobId, trainer);
        vm.prank(trainer);
        market.leave(jobId);
        ghosts[jobId].members -= 1;
        ghosts[jobId].stakedBits &= ~(1 << slot);
    }

    /// @dev Also checks that the stake goes to the job's owner.
    function _doEvict(uint256 jobId, uint32 round, uint256 slot) internal {
        JobMarket.Config memory c = market.jobConfig(jobId);
        uint256 before = market.owed(c.token, c.owner);
        market.evict(jobId, round, slot);
        require(market.owed(c.token, c.owner) - before == c.stake, "evict: the stake did not go to the owner");
        ghosts[jobId].members -= 1;
        ghosts[jobId].stakedBits &= ~(1 << slot);
    }

    function _doCancel(uint256 jobId) internal {
        uint256 bondHeld = market.jobState(jobId).bondHeld;
        vm.prank(market.jobConfig(jobId).owner);
        market.cancel(jobId);
        ghosts[jobId].bondRefunded += bondHeld;
        ghosts[jobId].escrow = 0;
    }

    /// @dev Also folds the submission into the ghost accumulator: the round's first submission
    ///      starts it from the opening inputs (ExpectedInputs.openingInputs); each adds its C_slot
    ///      and its rank (submitted count + 1) in its order word (ExpectedInputs.orderInput).
    function _doSubmit(uint256 jobId, uint256 slot, uint256 commitment, bytes32 blobRef) internal {
        JobMarket.State memory s = market.jobState(jobId);
        JobGhost storage g = ghosts[jobId];
        if (s.submittedCount == 0) g.accScalar = _openingScalar(jobId, s.round, s.rosterHash);
        g.accScalar = addmod(g.accScalar, _scalar(jobId, ExpectedInputs.updateIndex(slot), commitment), R);
        (uint256 index, uint256 value) =
            ExpectedInputs.orderInput(market.jobConfig(jobId).n, slot, uint256(s.submittedCount) + 1);
        g.accScalar = addmod(g.accScalar, _scalar(jobId, index, value), R);
        uploads[jobId][s.round][slot] = Upload(commitment, blobRef);
        address trainer = market.slotOwner(jobId, slot);
        vm.prank(trainer);
        market.submitUpdate(jobId, s.round, commitment, blobRef);
    }

    /// @dev Also checks that the round's claimed, disputed and submitted bitmaps and marks start
    ///      clean where a finalization leaves them.
    function _doFinalize(uint256 jobId, uint256 seed, uint256 unavailable, uint256 outliers) internal {
        JobMarket.State memory s = market.jobState(jobId);
        uint256 submitted = market.submittedBits(jobId, s.round);
        require(_popCount(submitted) == s.submittedCount, "finalize: submitted bitmap and count differ");
        JobMarket.Finalization memory f = _finalization(jobId, seed, submitted, unavailable, outliers);
        vm.prank(aggregator);
        market.finalizeRound(jobId, s.round, f);
        (bool recorded, bool refuted) = market.roundMarks(jobId, s.round);
        require(!recorded && !refuted, "finalize: a new round has marks");
        require(market.submittedBits(jobId, s.round) == submitted, "finalize: the submitted bitmap changed");
        _recordFinalization(jobId, s.round, f);
    }

    /// @dev Also checks that the trainer is credited exactly the share the ghost allocated.
    function _doClaim(uint256 jobId, uint32 round, uint256 slot, address caller) internal {
        address t = market.jobConfig(jobId).token;
        address trainer = market.slotOwner(jobId, slot);
        uint256 before = market.owed(t, trainer);
        JobMarket.RoundOutcome memory o = roundGhosts[jobId][round].outcome;
        vm.prank(caller);
        market.claim(jobId, round, slot, o);
        uint256 share = shares[jobId][round][slot];
        require(market.owed(t, trainer) - before == share, "claim: credit differs from the pro-rata share");
        require(_recordedOnChain(jobId, round), "claim: the round's reliability is not recorded");
        _recordRound(jobId, round);
        roundGhosts[jobId][round].claimedBits |= 1 << slot;
        require(
            market.claimedBits(jobId, round) == roundGhosts[jobId][round].claimedBits, "claim: claimed bits differ"
        );
        ghosts[jobId].unclaimed -= share;
    }

    /// @dev Also checks that the round is then marked recorded, and that a second recording is
    ///      refused.
    function _doRecordReliability(uint256 jobId, uint32 round) internal {
        JobMarket.RoundOutcome memory o = roundGhosts[jobId][round].outcome;
        market.recordReliability(jobId, round, o);
        require(_recordedOnChain(jobId, round), "recordReliability: the round is not marked recorded");
        _recordRound(jobId, round);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ReliabilityAlreadyRecorded.selector, jobId, round));
        market.recordReliability(jobId, round, o);
    }

    /// @dev The ghost side of recording a round (once): its allocation moves from escrow to
    ///      unclaimed.
    function _recordRound(uint256 jobId, uint32 round) internal {
        RoundGhost storage r = roundGhosts[jobId][round];
        if (r.recorded) return;
        r.recorded = true;
        ghosts[jobId].escrow -= r.allocated;
        ghosts[jobId].unclaimed += r.allocated;
        ghosts[jobId].unrecorded -= 1;
    }

    function _recordedOnChain(uint256 jobId, uint256 round) internal view returns (bool recorded) {
        (recorded,) = market.roundMarks(jobId, round);
    }

    /// @dev Also checks that the trainer is credited the slash (bond / n, at most what is left).
    function _doDispute(uint256 jobId, uint32 round, uint256 slot) internal {
        address t = market.jobConfig(jobId).token;
        uint256 slash = _slashAmount(jobId);
        address trainer = market.slotOwner(jobId, slot);
        uint256 before = market.owed(t, trainer);
        JobMarket.RoundOutcome memory o = roundGhosts[jobId][round].outcome;
        bytes memory signature = _receiptSignature(jobId, round, slot);
        vm.prank(trainer);
        market.dispute(jobId, round, slot, o, signature);
        require(market.owed(t, trainer) - before == slash, "dispute: credit differs from the slash");
        roundGhosts[jobId][round].disputedBits |= 1 << slot;
        require(
            market.disputedBits(jobId, round) == roundGhosts[jobId][round].disputedBits, "dispute: disputed bits differ"
        );
        ghosts[jobId].bondSlashed += slash;
    }

    /// @dev Also checks that exactly the round budget and the bond left are credited.
    function _doExpire(uint256 jobId) internal {
        JobMarket.Config memory c = market.jobConfig(jobId);
        uint256 bondHeld = market.jobState(jobId).bondHeld;
        uint256 before = _owedTotal(c.token);
        market.expireRound(jobId);
        require(_owedTotal(c.token) - before == c.roundBudget + bondHeld, "expire: credits differ");
        ghosts[jobId].escrow -= c.roundBudget;
        ghosts[jobId].bondSplit += bondHeld;
    }

    function _doRecover(uint256 jobId) internal {
        vm.prank(market.jobConfig(jobId).owner);
        market.recover(jobId);
        ghosts[jobId].escrow = 0;
    }

    function _doReleaseBond(uint256 jobId) internal {
        uint256 bondHeld = market.jobState(jobId).bondHeld;
        market.releaseBond(jobId);
        ghosts[jobId].bondReleased += bondHeld;
    }

    /// @dev Also checks that the actor receives exactly what it was owed.
    function _doWithdraw(address who, address t) internal {
        uint256 amount = market.owed(t, who);
        uint256 before = _balanceOf(t, who);
        vm.prank(who);
        market.withdraw(t);
        require(_balanceOf(t, who) - before == amount, "withdraw: paid other than owed");
        withdrawn[t] += amount;
    }

    function _popCount(uint256 bits) internal pure returns (uint256 c) {
        for (; bits != 0; bits &= bits - 1) {
            ++c;
        }
    }
}
