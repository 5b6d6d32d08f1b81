// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./Vm.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {IJobMarketErrors} from "../../src/IJobMarket.sol";
import {IRoundVerifier} from "../../src/IRoundVerifier.sol";
import {TestToken} from "./Mocks.sol";
import {HandlerCalls} from "./handler/HandlerCalls.sol";
import {HandlerState} from "./handler/HandlerState.sol";

/// @title MarketHandler
/// @notice Drives JobMarket through random sequences of every external entry point, for the
///         invariant campaign of JobMarketInvariant.t.sol. Jobs are paid in ETH or in an ERC-20,
///         have 4 or 7 slots and 1-3 rounds; the verifier is LinearMockVerifier, which accepts any
///         proof (so finalizations carry arbitrary scores and unavailable slots) but gives
///         checkable input points.
/// @dev Reverts are never swallowed. Each action picks, from the fuzzer's seeds, a job and
///      arguments for which the call must succeed (scanning the jobs, slots and rounds for one
///      whose preconditions hold), or returns without calling if there is none. The market is
///      then called directly: with `fail_on_revert`, a refusal of a call the handler expected to
///      succeed fails the campaign. The two "replay" actions call what must be refused, under
///      `vm.expectRevert` with the exact error. Each action counts its calls and how many reached
///      the market (`called`, `succeeded`), which the test prints.
///      Layout, one job per file: this contract holds the external actions (what the fuzzer
///      calls), which pick arguments, and the drain; handler/HandlerCalls.sol the `_do*` helpers
///      that make one market call each and update the ghosts (the drain reuses them);
///      handler/HandlerRules.sol the `_is*`/`_can*` predicates that restate the market's
///      preconditions and the argument choice; handler/HandlerState.sol the state, the ghost
///      books and the test's views. A change of the market's rules touches the matching
///      predicate; of its inputs, `_receiptSignature` or ExpectedInputs.openingInputs.
contract MarketHandler is HandlerCalls {
    constructor(JobMarket market_, TestToken token_, IRoundVerifier verifier4_, IRoundVerifier verifier7_)
        HandlerState(market_, token_, verifier4_, verifier7_)
    {}

    // ================================================================ actions: job setup

    /// @notice An owner creates a job in ETH or in the ERC-20, with random terms inside what
    ///         createJob accepts: 4 or 7 slots, 1-3 rounds, windows of 60-600 s, and budgets from
    ///         a few wei (where pro-rata rounding and a zero slash bite) up to 1e24. Three jobs in
    ///         four open at once: the aggregator posts the bond and some trainers join (else,
    ///         with one action in 19 per call, few jobs would gather trainers before their start).
    /// @param choice Bit 0: paid in the token; bit 1: 7 slots; bits 2-3: rounds - 1 (mod 3); bits 4-5:
    ///        open at once unless 0; bit 6: the second owner. The other terms come from its hash
    ///        (the fuzzer often draws small numbers, whose high bits would always be 0).
    function createJob(uint256 choice, uint256 budgetSeed, uint256 stakeSeed, uint256 bondSeed) external {
        _called(Action.CreateJob);
        if (market.jobCount() >= MAX_JOBS || _activeJobs() >= MAX_ACTIVE_JOBS) return;
        uint256 h = uint256(keccak256(abi.encode(choice)));
        JobMarket.JobParams memory p = _jobTerms(choice, h, budgetSeed, stakeSeed, bondSeed);
        _schedule(p, h >> 128);
        address owner = (choice >> 6) & 1 == 0 ? OWNER_A : OWNER_B;
        uint256 value = _deposit(p.token, p.budget);
        vm.prank(owner);
        uint256 jobId = market.createJob{value: value}(p);
        ghosts[jobId].escrow = p.budget;
        _succeeded(Action.CreateJob);
        if ((choice >> 4) % 4 != 0) _open(jobId, p.trainers, h >> 96);
    }

    /// @dev The aggregator posts the bond and 1 to n trainers join.
    function _open(uint256 jobId, uint256 n, uint256 seed) internal {
        _doPostBond(jobId);
        uint256 joining = 1 + seed % n;
        uint256 first = (seed >> 8) % TRAINERS;
        for (uint256 i; i < joining; ++i) {
            _doJoin(jobId, trainers[(first + i) % TRAINERS]);
        }
    }

    /// @notice The aggregator posts the bond of a job that has not started.
    function postBond(uint256 jobSeed) external {
        _called(Action.PostBond);
        uint256 jobId = _pickJob(jobSeed, _canPostBond);
        if (jobId == 0) return;
        _doPostBond(jobId);
        _succeeded(Action.PostBond);
    }

    /// @notice The aggregator restores a bond a dispute cut into.
    function topUpBond(uint256 jobSeed) external {
        _called(Action.TopUpBond);
        uint256 jobId = _pickJob(jobSeed, _canTopUpBond);
        if (jobId == 0) return;
        _doTopUpBond(jobId);
        _succeeded(Action.TopUpBond);
    }

    /// @notice A trainer without a stake in the job takes its lowest free slot.
    function join(uint256 jobSeed, uint256 trainerSeed) external {
        _called(Action.Join);
        uint256 jobId = _pickJob(jobSeed, _canJoin);
        if (jobId == 0) return;
        _doJoin(jobId, _trainerWithStake(jobId, trainerSeed, false));
        _succeeded(Action.Join);
    }

    /// @notice A staked trainer leaves: before the start (freeing its slot) or once the job ended.
    function leave(uint256 jobSeed, uint256 trainerSeed) external {
        _called(Action.Leave);
        uint256 jobId = _pickJob(jobSeed, _canLeave);
        if (jobId == 0) return;
        _doLeave(jobId, _trainerWithStake(jobId, trainerSeed, true));
        _succeeded(Action.Leave);
    }

    /// @notice Anyone evicts a staked trainer that has no commitment for a round whose
    ///         submission window closed.
    function evict(uint256 jobSeed, uint256 roundSeed, uint256 slotSeed) external {
        _called(Action.Evict);
        uint256 jobId = _pickJob(jobSeed, _hasEvictable);
        if (jobId == 0) return;
        (, uint32 round, uint256 slot) = _findRoundSlot(jobId, roundSeed, slotSeed, _isEvictable);
        _doEvict(jobId, round, slot);
        _succeeded(Action.Evict);
    }

    /// @notice The owner cancels a job before its start (or at any time if no bond was posted);
    ///         only one call in four goes ahead, so that most jobs get to run rounds.
    function cancel(uint256 jobSeed) external {
        _called(Action.Cancel);
        if (jobSeed % 4 != 0) return;
        uint256 jobId = _pickJob(jobSeed >> 2, _canCancel);
        if (jobId == 0) return;
        _doCancel(jobId);
        _succeeded(Action.Cancel);
    }

    // ================================================================ actions: rounds

    /// @notice The staked trainers of the slots in `slotMask` that have not submitted in the
    ///         open round commit to their updates (any field elements, with a non-zero blob
    ///         reference derived from `blobRef`); if none of them can, the lowest slot that can
    ///         does. Several at once, so that rounds fill up within their window.
    function submit(uint256 jobSeed, uint256 slotMask, uint256 commitment, bytes32 blobRef) external {
        _called(Action.Submit);
        uint256 jobId = _pickJob(jobSeed, _canSubmit);
        if (jobId == 0) return;
        uint256 submitting = _submittableBits(jobId);
        if (submitting & slotMask != 0) submitting &= slotMask;
        else submitting &= ~(submitting - 1); // the lowest
        for (uint256 slot; submitting >> slot != 0; ++slot) {
            if ((submitting >> slot) & 1 == 1) {
                _doSubmit(jobId, slot, _commitment(commitment, slot), keccak256(abi.encode(blobRef, slot)));
            }
        }
        _succeeded(Action.Submit);
    }

    /// @dev Slot `slot`'s commitment: a field element in [1, r), the fuzzed one for slot 0.
    function _commitment(uint256 seed, uint256 slot) internal pure returns (uint256) {
        unchecked {
            return _bound(seed + slot, 1, R - 1);
        }
    }

    /// @notice The aggregator finalizes the current round with arbitrary scores, inliers and
    ///         unavailable slots (the mock verifier accepts any proof).
    /// @param choice If divisible by 3, the submitted slots of `unavailableMask` are declared
    ///        unavailable; if (choice >> 2) % 4 == 1, the present slots of `outlierMask` are
    ///        outliers. The new model and the scores come from its hash.
    function finalize(uint256 jobSeed, uint256 choice, uint256 unavailableMask, uint256 outlierMask) external {
        _called(Action.Finalize);
        uint256 jobId = _pickJob(jobSeed, _canFinalize);
        if (jobId == 0) return;
        uint256 unavailable = choice % 3 == 0 ? unavailableMask : 0;
        uint256 outliers = (choice >> 2) % 4 == 1 ? outlierMask : 0;
        _doFinalize(jobId, uint256(keccak256(abi.encode(choice))), unavailable, outliers);
        _succeeded(Action.Finalize);
    }

    /// @notice Anyone claims a scored, unclaimed slot of a finalized round for its trainer.
    function claim(uint256 jobSeed, uint256 roundSeed, uint256 slotSeed, uint256 callerSeed) external {
        _called(Action.Claim);
        uint256 jobId = _pickJob(jobSeed, _hasClaimable);
        if (jobId == 0) return;
        (, uint32 round, uint256 slot) = _findRoundSlot(jobId, roundSeed, slotSeed, _isClaimable);
        _doClaim(jobId, round, slot, _actor(callerSeed));
        _succeeded(Action.Claim);
    }

    /// @notice The trainer of a slot declared unavailable disputes with the aggregator's receipt
    ///         within the dispute window, while some bond is left to slash.
    function dispute(uint256 jobSeed, uint256 roundSeed, uint256 slotSeed) external {
        _called(Action.Dispute);
        uint256 jobId = _pickJob(jobSeed, _hasDisputable);
        if (jobId == 0) return;
        (, uint32 round, uint256 slot) = _findRoundSlot(jobId, roundSeed, slotSeed, _isDisputable);
        _doDispute(jobId, round, slot);
        _succeeded(Action.Dispute);
    }

    /// @notice Anyone records the reliability of a finalized round that no claim recorded; a
    ///         second recording of it must then be refused with ReliabilityAlreadyRecorded.
    function recordReliability(uint256 jobSeed, uint256 roundSeed) external {
        _called(Action.RecordReliability);
        uint256 jobId = _pickJob(jobSeed, _hasUnrecorded);
        if (jobId == 0) return;
        (, uint32 round,) = _findRoundSlot(jobId, roundSeed, 0, _isUnrecorded);
        _doRecordReliability(jobId, round);
        _succeeded(Action.RecordReliability);
    }

    /// @notice Anyone expires a round whose finalization deadline passed.
    function expire(uint256 jobSeed) external {
        _called(Action.Expire);
        uint256 jobId = _pickJob(jobSeed, _canExpire);
        if (jobId == 0) return;
        _doExpire(jobId);
        _succeeded(Action.Expire);
    }

    /// @notice The owner recovers the unallocated budget of an ended job.
    function recover(uint256 jobSeed) external {
        _called(Action.Recover);
        uint256 jobId = _pickJob(jobSeed, _canRecover);
        if (jobId == 0) return;
        _doRecover(jobId);
        _succeeded(Action.Recover);
    }

    /// @notice Anyone releases the rest of a completed job's bond after its last dispute window.
    function releaseBond(uint256 jobSeed) external {
        _called(Action.ReleaseBond);
        uint256 jobId = _pickJob(jobSeed, _canReleaseBond);
        if (jobId == 0) return;
        _doReleaseBond(jobId);
        _succeeded(Action.ReleaseBond);
    }

    /// @notice An actor owed something in ETH or the token withdraws it.
    function withdraw(uint256 actorSeed, uint256 tokenSeed) external {
        _called(Action.Withdraw);
        address[] memory all = allActors();
        for (uint256 k; k < 2 * all.length; ++k) {
            uint256 pick = actorSeed % all.length + k;
            address who = all[pick % all.length];
            address t = (tokenSeed % 2 + pick / all.length) % 2 == 0 ? address(0) : address(token);
            if (market.owed(t, who) == 0) continue;
            _doWithdraw(who, t);
            _succeeded(Action.Withdraw);
            return;
        }
    }

    // ================================================================ actions: time

    /// @notice Time passes: up to 60 s, at most the shortest window, so that each one is hit inside.
    function warp(uint256 dt) external {
        _called(Action.Warp);
        vm.warp(vm.getBlockTimestamp() + _bound(dt, 1, 60));
        _succeeded(Action.Warp);
    }

    /// @notice Time jumps to one job's next boundary: its start, the end of the current
    ///         round's submission window or of the last finalized round's dispute window; or,
    ///         one time in eight, just past the current round's finalization deadline (the round
    ///         may expire). The fine-grained `warp` alone would let rounds expire long before
    ///         expiries, evictions and bond releases are reached through every phase.
    function warpToDeadline(uint256 jobSeed, uint256 which) external {
        _called(Action.WarpToDeadline);
        uint256 count = market.jobCount();
        if (count == 0) return;
        uint256 jobId = 1 + jobSeed % count;
        uint256 t = which % 8 == 7 ? _expiryTime(jobId) : _nextBoundary(jobId);
        if (t <= vm.getBlockTimestamp()) return;
        vm.warp(t);
        _succeeded(Action.WarpToDeadline);
    }

    /// @dev The first moment the job's current round can expire (0 if it is not active).
    function _expiryTime(uint256 jobId) internal view returns (uint256) {
        JobMarket.State memory s = market.jobState(jobId);
        if (s.status != JobMarket.Status.Active) return 0;
        JobMarket.Config memory c = market.jobConfig(jobId);
        return uint256(s.roundStart) + c.submitWindow + c.finalizeWindow + 1;
    }

    /// @dev The earliest future boundary of an active or completed job (0 if none): its start,
    ///      the first moment after the current round's submission window, and the first moment
    ///      after the dispute window of the round finalized last.
    function _nextBoundary(uint256 jobId) internal view returns (uint256 next) {
        JobMarket.State memory s = market.jobState(jobId);
        JobMarket.Config memory c = market.jobConfig(jobId);
        uint256[3] memory boundaries;
        if (s.status == JobMarket.Status.Active) {
            boundaries[0] = c.startTime;
            boundaries[1] = uint256(s.roundStart) + c.submitWindow + 1;
        }
        if (s.round > 0 && s.status != JobMarket.Status.Expired) {
            boundaries[2] = uint256(s.roundStart) + c.disputeWindow + 1;
        }
        for (uint256 i; i < 3; ++i) {
            if (boundaries[i] > vm.getBlockTimestamp() && (next == 0 || boundaries[i] < next)) next = boundaries[i];
        }
    }

    // ================================================================ actions: what must be refused

    /// @notice A claimed slot is claimed again: refused with AlreadySettled (nobody is paid twice).
    function replayClaim(uint256 jobSeed, uint256 roundSeed, uint256 slotSeed) external {
        _called(Action.ReplayClaim);
        uint256 jobId = _pickJob(jobSeed, _hasClaimed);
        if (jobId == 0) return;
        (, uint32 round, uint256 slot) = _findRoundSlot(jobId, roundSeed, slotSeed, _isClaimed);
        JobMarket.RoundOutcome memory o = roundGhosts[jobId][round].outcome;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadySettled.selector, slot));
        market.claim(jobId, round, slot, o);
        _succeeded(Action.ReplayClaim);
    }

    /// @notice A disputed slot disputes again with a valid receipt: refused with AlreadySettled,
    ///         or DisputeWindowClosed once the window closed (no slot is paid twice).
    function replayDispute(uint256 jobSeed, uint256 roundSeed, uint256 slotSeed) external {
        _called(Action.ReplayDispute);
        uint256 jobId = _pickJob(jobSeed, _hasDisputed);
        if (jobId == 0) return;
        (, uint32 round, uint256 slot) = _findRoundSlot(jobId, roundSeed, slotSeed, _isDisputed);
        JobMarket.RoundOutcome memory o = roundGhosts[jobId][round].outcome;
        uint256 deadline = uint256(o.finalizedAt) + market.jobConfig(jobId).disputeWindow;
        bytes memory signature = _receiptSignature(jobId, round, slot);
        vm.expectRevert(
            vm.getBlockTimestamp() > deadline
                ? abi.encodeWithSelector(IJobMarketErrors.DisputeWindowClosed.selector, deadline, vm.getBlockTimestamp())
                : abi.encodeWithSelector(IJobMarketErrors.AlreadySettled.selector, slot)
        );
        market.dispute(jobId, round, slot, o, signature);
        _succeeded(Action.ReplayDispute);
    }

    // ================================================================ the drain (not fuzzed)

    /// @notice Ends every job and pays everyone out: active jobs are finalized round after round
    ///         (some expire their last round instead; jobs without a bond are cancelled), then
    ///         after every window closed each scored slot is claimed, every staked trainer
    ///         leaves, owners recover, bonds are released and every actor withdraws. Afterwards
    ///         the market must hold nothing (JobMarketInvariantTest.afterInvariant).
    function drain() external {
        uint256 count = market.jobCount();
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            _endJob(jobId);
        }
        vm.warp(vm.getBlockTimestamp() + 2 * uint256(MAX_TEST_WINDOW) + 1); // past every dispute window
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            _payOut(jobId);
        }
        address[] memory all = allActors();
        for (uint256 i; i < all.length; ++i) {
            if (market.owed(address(0), all[i]) != 0) _doWithdraw(all[i], address(0));
            if (market.owed(address(token), all[i]) != 0) _doWithdraw(all[i], address(token));
        }
    }

    /// @dev Finalizes the job's rounds until it ends; a job whose id is odd lets its last round
    ///      expire, so that the drain also ends jobs by expiry.
    function _endJob(uint256 jobId) internal {
        while (true) {
            JobMarket.State memory s = market.jobState(jobId);
            if (s.status != JobMarket.Status.Active) return;
            JobMarket.Config memory c = market.jobConfig(jobId);
            if (!s.bondPosted) {
                _doCancel(jobId);
                return;
            }
            if (s.bondShort) {
                _doTopUpBond(jobId);
                continue;
            }
            uint256 submitEnd = uint256(s.roundStart) + c.submitWindow;
            uint256 finalizeEnd = submitEnd + c.finalizeWindow;
            if (vm.getBlockTimestamp() > finalizeEnd || (jobId % 2 == 1 && s.round + 1 == c.rounds)) {
                if (vm.getBlockTimestamp() <= finalizeEnd) vm.warp(finalizeEnd + 1);
                _doExpire(jobId);
                return;
            }
            if (vm.getBlockTimestamp() <= submitEnd) vm.warp(submitEnd + 1);
            uint256 h = uint256(keccak256(abi.encode("drain", jobId, s.round)));
            _doFinalize(jobId, h, h % 3 == 0 ? h >> 8 : 0, 0);
        }
    }

    /// @dev Claims, recording of the rounds no claim recorded, leaves, recovery and bond release
    ///      of an ended job whose windows all closed.
    function _payOut(uint256 jobId) internal {
        JobMarket.State memory s = market.jobState(jobId);
        uint256 n = market.jobConfig(jobId).n;
        for (uint32 round; round < s.round; ++round) {
            for (uint256 slot; slot < n; ++slot) {
                if (_isClaimable(jobId, round, slot)) _doClaim(jobId, round, slot, address(this));
            }
            if (_isUnrecorded(jobId, round, 0)) _doRecordReliability(jobId, round);
        }
        for (uint256 i; i < TRAINERS; ++i) {
            if (_hasStake(jobId, trainers[i])) _doLeave(jobId, trainers[i]);
        }
        if (_canRecover(jobId)) _doRecover(jobId);
        if (_canReleaseBond(jobId)) _doReleaseBond(jobId);
    }

    // ================================================================ views for the test

    /// @notice The selectors the fuzzer calls, in `Action` order (the drain and views excluded).
    function actionSelectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](uint256(type(Action).max) + 1);
        s[uint256(Action.CreateJob)] = this.createJob.selector;
        s[uint256(Action.PostBond)] = this.postBond.selector;
        s[uint256(Action.TopUpBond)] = this.topUpBond.selector;
        s[uint256(Action.Join)] = this.join.selector;
        s[uint256(Action.Leave)] = this.leave.selector;
        s[uint256(Action.Evict)] = this.evict.selector;
        s[uint256(Action.Cancel)] = this.cancel.selector;
        s[uint256(Action.Submit)] = this.submit.selector;
        s[uint256(Action.Finalize)] = this.finalize.selector;
        s[uint256(Action.Claim)] = this.claim.selector;
        s[uint256(Action.Dispute)] = this.dispute.selector;
        s[uint256(Action.Expire)] = this.expire.selector;
        s[uint256(Action.Recover)] = this.recover.selector;
        s[uint256(Action.ReleaseBond)] = this.releaseBond.selector;
        s[uint256(Action.Withdraw)] = this.withdraw.selector;
        s[uint256(Action.Warp)] = this.warp.selector;
        s[uint256(Action.WarpToDeadline)] = this.warpToDeadline.selector;
        s[uint256(Action.ReplayClaim)] = this.replayClaim.selector;
        s[uint256(Action.ReplayDispute)] = this.replayDispute.selector;
        s[uint256(Action.RecordReliability)] = this.recordReliability.selector;
    }
}
