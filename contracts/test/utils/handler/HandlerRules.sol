// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "../Vm.sol";
import {JobMarket} from "../../../src/JobMarket.sol";
import {PublicInputs, SCORES_PER_WORD, SCORE_BITS, SCORE_MASK, NORM_BITS} from "../../../src/market/PublicInputs.sol";
import {HandlerState, RoundGhost} from "./HandlerState.sol";

/// @title HandlerRules
/// @notice What MarketHandler may call: `_is*`/`_can*`/`_has*` restate the market's
///         preconditions, and the argument choice picks a job, round and slot for which they hold
///         (or terms and outcomes inside what the market accepts).
abstract contract HandlerRules is HandlerState {
    // ================================================================ preconditions

    function _canPostBond(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        return _beforeStart(jobId, s) && !s.bondPosted;
    }

    function _canTopUpBond(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        return s.status == JobMarket.Status.Active && s.bondShort;
    }

    function _canJoin(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        return _beforeStart(jobId, s) && s.joinedCount < market.jobConfig(jobId).n;
    }

    /// @dev Leaving is allowed before the start or once the job ended, to a trainer with a stake.
    function _canLeave(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        bool allowed = s.status != JobMarket.Status.Active || vm.getBlockTimestamp() < market.jobConfig(jobId).startTime;
        return allowed && ghosts[jobId].stakedBits != 0;
    }

    /// @dev Before the start, or at any time while no bond was posted.
    function _canCancel(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        return
            s.status == JobMarket.Status.Active
                && (vm.getBlockTimestamp() < market.jobConfig(jobId).startTime || !s.bondPosted);
    }

    /// @dev Inside the open round's submission window, with someone left to submit.
    function _canSubmit(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        if (s.status != JobMarket.Status.Active || !s.bondPosted || vm.getBlockTimestamp() < s.roundStart) return false;
        if (vm.getBlockTimestamp() > uint256(s.roundStart) + market.jobConfig(jobId).submitWindow) return false;
        return ghosts[jobId].stakedBits & ~market.submittedBits(jobId, s.round) != 0;
    }

    /// @dev After the submission window (or once every joined slot submitted), before the
    ///      finalization deadline, with the bond posted and whole.
    function _canFinalize(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        JobMarket.Config memory c = market.jobConfig(jobId);
        if (s.status != JobMarket.Status.Active || !s.bondPosted || s.bondShort) return false;
        if (vm.getBlockTimestamp() < s.roundStart) return false;
        uint256 submitEnd = uint256(s.roundStart) + c.submitWindow;
        if (vm.getBlockTimestamp() <= submitEnd && s.submittedCount < s.joinedCount) return false;
        return vm.getBlockTimestamp() <= submitEnd + c.finalizeWindow;
    }

    function _canExpire(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        JobMarket.Config memory c = market.jobConfig(jobId);
        return s.status == JobMarket.Status.Active
            && vm.getBlockTimestamp() > uint256(s.roundStart) + c.submitWindow + c.finalizeWindow;
    }

    /// @dev Ended, every finalized round recorded (else RoundsNotRecorded), something left.
    function _canRecover(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        return s.status != JobMarket.Status.Active && s.unrecorded == 0 && s.escrow != 0;
    }

    /// @dev Completed, past the dispute window of the last round, with some bond left.
    function _canReleaseBond(uint256 jobId) internal view returns (bool) {
        JobMarket.State memory s = market.jobState(jobId);
        return s.status == JobMarket.Status.Completed
            && vm.getBlockTimestamp() > uint256(s.roundStart) + market.jobConfig(jobId).disputeWindow && s.bondHeld != 0;
    }

    /// @dev The slot's trainer has a live stake and no commitment for `round`, whose submission
    ///      window closed: an earlier round, or the current one once expired or past its window.
    ///      (An evicted slot has no live stake.)
    function _isEvictable(uint256 jobId, uint256 round, uint256 slot) internal view returns (bool) {
        if ((ghosts[jobId].stakedBits >> slot) & 1 == 0 || uploads[jobId][round][slot].commitment != 0) return false;
        JobMarket.State memory s = market.jobState(jobId);
        if (!s.bondPosted || round > s.round) return false;
        if (round < s.round || s.status == JobMarket.Status.Expired) return true;
        return s.status == JobMarket.Status.Active
            && vm.getBlockTimestamp() > uint256(s.roundStart) + market.jobConfig(jobId).submitWindow;
    }

    function _isClaimable(uint256 jobId, uint256 round, uint256 slot) internal view returns (bool) {
        RoundGhost storage r = roundGhosts[jobId][round];
        return r.finalized && (r.scoredBits >> slot) & 1 == 1 && (r.claimedBits >> slot) & 1 == 0;
    }

    /// @dev Declared unavailable, not yet disputed, inside the dispute window, bond to slash.
    function _isDisputable(uint256 jobId, uint256 round, uint256 slot) internal view returns (bool) {
        RoundGhost storage r = roundGhosts[jobId][round];
        if (!r.finalized || (r.outcome.unavailableBits >> slot) & 1 == 0 || (r.disputedBits >> slot) & 1 == 1) {
            return false;
        }
        uint256 deadline = uint256(r.outcome.finalizedAt) + market.jobConfig(jobId).disputeWindow;
        return vm.getBlockTimestamp() <= deadline && _slashAmount(jobId) != 0;
    }

    function _isClaimed(uint256 jobId, uint256 round, uint256 slot) internal view returns (bool) {
        return (roundGhosts[jobId][round].claimedBits >> slot) & 1 == 1;
    }

    function _isDisputed(uint256 jobId, uint256 round, uint256 slot) internal view returns (bool) {
        return (roundGhosts[jobId][round].disputedBits >> slot) & 1 == 1;
    }

    function _hasEvictable(uint256 jobId) internal view returns (bool found) {
        (found,,) = _findRoundSlot(jobId, 0, 0, _isEvictable);
    }

    function _hasClaimable(uint256 jobId) internal view returns (bool found) {
        (found,,) = _findRoundSlot(jobId, 0, 0, _isClaimable);
    }

    function _hasDisputable(uint256 jobId) internal view returns (bool found) {
        (found,,) = _findRoundSlot(jobId, 0, 0, _isDisputable);
    }

    function _hasClaimed(uint256 jobId) internal view returns (bool found) {
        (found,,) = _findRoundSlot(jobId, 0, 0, _isClaimed);
    }

    function _hasDisputed(uint256 jobId) internal view returns (bool found) {
        (found,,) = _findRoundSlot(jobId, 0, 0, _isDisputed);
    }

    /// @dev A finalized round whose reliability nobody recorded (`slot` is not used).
    function _isUnrecorded(uint256 jobId, uint256 round, uint256) internal view returns (bool) {
        RoundGhost storage r = roundGhosts[jobId][round];
        return r.finalized && !r.recorded;
    }

    function _hasUnrecorded(uint256 jobId) internal view returns (bool found) {
        (found,,) = _findRoundSlot(jobId, 0, 0, _isUnrecorded);
    }

    function _beforeStart(uint256 jobId, JobMarket.State memory s) internal view returns (bool) {
        return s.status == JobMarket.Status.Active && vm.getBlockTimestamp() < market.jobConfig(jobId).startTime;
    }

    function _hasStake(uint256 jobId, address trainer) internal view returns (bool staked) {
        (staked,) = market.slotOf(jobId, trainer);
    }

    // ================================================================ argument choice

    /// @dev The first job from `seed` on (cyclically) that `eligible` accepts; 0 if none does.
    function _pickJob(uint256 seed, function(uint256) internal view returns (bool) eligible)
        internal
        view
        returns (uint256)
    {
        uint256 count = market.jobCount();
        for (uint256 k; k < count; ++k) {
            uint256 jobId = 1 + (seed % count + k) % count;
            if (eligible(jobId)) return jobId;
        }
        return 0;
    }

    /// @dev The first (round, slot) from the seeds on that `ok` accepts, over the job's rounds so
    ///      far (finalized ones and the current one) and its slots.
    function _findRoundSlot(
        uint256 jobId,
        uint256 roundSeed,
        uint256 slotSeed,
        function(uint256, uint256, uint256) internal view returns (bool) ok
    ) internal view returns (bool found, uint32 round, uint256 slot) {
        uint256 rounds = uint256(market.jobState(jobId).round) + 1;
        uint256 n = market.jobConfig(jobId).n;
        for (uint256 i; i < rounds; ++i) {
            round = uint32((roundSeed % rounds + i) % rounds);
            for (uint256 k; k < n; ++k) {
                slot = (slotSeed % n + k) % n;
                if (ok(jobId, round, slot)) return (true, round, slot);
            }
        }
        return (false, 0, 0);
    }

    /// @dev The first trainer from `seed` on whose stake in the job is `staked`; address(0) if none.
    function _trainerWithStake(uint256 jobId, uint256 seed, bool staked) internal view returns (address) {
        for (uint256 k; k < TRAINERS; ++k) {
            address t = trainers[(seed % TRAINERS + k) % TRAINERS];
            if (_hasStake(jobId, t) == staked) return t;
        }
        return address(0);
    }

    /// @dev Slots whose trainer has a live stake and has not submitted in the current round.
    function _submittableBits(uint256 jobId) internal view returns (uint256) {
        return ghosts[jobId].stakedBits & ~market.submittedBits(jobId, market.jobState(jobId).round);
    }

    function _activeJobs() internal view returns (uint256 active) {
        uint256 count = market.jobCount();
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            if (market.jobState(jobId).status == JobMarket.Status.Active) ++active;
        }
    }

    function _actor(uint256 seed) internal view returns (address) {
        address[] memory all = allActors();
        return all[seed % all.length];
    }

    /// @dev Terms of a new job (see `createJob`), every field createJob checks but the schedule.
    function _jobTerms(uint256 choice, uint256 h, uint256 budgetSeed, uint256 stakeSeed, uint256 bondSeed)
        internal
        view
        returns (JobMarket.JobParams memory p)
    {
        uint256 n = (choice >> 1) & 1 == 0 ? 4 : 7;
        p.token = choice & 1 == 0 ? address(0) : address(token);
        p.trainers = uint16(n);
        p.verifier = n == 4 ? verifier4 : verifier7;
        p.aggregator = aggregator;
        p.rounds = uint32(1 + (choice >> 2) % 3);
        p.budget = uint128(
            budgetSeed % 4 == 0
                ? _bound(budgetSeed >> 2, p.rounds, 100 * uint256(p.rounds))
                : _bound(budgetSeed >> 2, p.rounds, 1e24)
        );
        p.stake = uint128(stakeSeed % 5 == 0 ? 0 : _bound(stakeSeed, 1, 1e20));
        p.bond = uint128(p.budget / p.rounds + (bondSeed % 3 == 0 ? 0 : _bound(bondSeed, 0, 1e21)));
        p.maxMalicious = uint8(h % n);
        p.tau = uint32((1 << 16) + (h >> 8) % (1 << 16));
        p.lrDecay = uint32((h >> 24) % 8);
        p.lr = uint32(p.rounds * p.lrDecay + 1 + (h >> 32) % 1000);
        p.dupTol = uint32(h >> 48);
        p.initialModel = _bound(uint256(keccak256(abi.encode(h, "model"))), 1, R - 1);
        p.specHash = bytes32(h);
        p.specURI = "ipfs://spec";
    }

    /// @dev Start within 300 s; windows in [60, MAX_TEST_WINDOW]; a dispute window of at most
    ///      submit + finalize windows, as createJob requires.
    function _schedule(JobMarket.JobParams memory p, uint256 seed) internal view {
        uint256 span = MAX_TEST_WINDOW - 60 + 1;
        p.startTime = uint40(vm.getBlockTimestamp() + 1 + seed % 300);
        p.submitWindow = uint32(60 + (seed >> 16) % span);
        p.finalizeWindow = uint32(60 + (seed >> 32) % span);
        p.disputeWindow = uint32(60 + (seed >> 48) % (uint256(p.submitWindow) + p.finalizeWindow - 59));
    }

    /// @dev Arbitrary claims the mock verifier accepts, within what the circuit proves (the
    ///      contract no longer checks it): the `submitted` slots in `unavailable` are declared
    ///      unavailable, the other submitted slots are present, those not in `outliers` are
    ///      inliers, and the inliers get scores (see `_scoreWords`).
    function _finalization(uint256 jobId, uint256 seed, uint256 submitted, uint256 unavailable, uint256 outliers)
        internal
        view
        returns (JobMarket.Finalization memory f)
    {
        uint256 n = market.jobConfig(jobId).n;
        f.newModel = _bound(seed, 1, R - 1);
        f.unavailableBits = submitted & unavailable;
        f.inlierBits = submitted & ~unavailable & ~outliers;
        f.scoreWords = _scoreWords(f.inlierBits, n, seed >> 128);
        // ||S||^2 below 2^NORM_BITS: sometimes 0, sometimes below some scores (capped observations).
        f.aggregateNormSq = uint128((seed >> 64) % 4 == 0 ? 0 : (seed >> 96) % (1 << NORM_BITS));
    }

    /// @dev Inliers' scores packed SCORES_PER_WORD per word: small (8-bit) or full 48-bit ones,
    ///      a fifth of them 0 (an inlier may score 0; a round may have a total of 0).
    function _scoreWords(uint256 inliers, uint256 n, uint256 seed) internal pure returns (uint256[] memory words) {
        words = new uint256[](PublicInputs.scoreWords(n));
        uint256 mask = seed & 1 == 0 ? 0xFF : SCORE_MASK;
        for (uint256 i; i < n; ++i) {
            if ((inliers >> i) & 1 == 0) continue;
            uint256 h = uint256(keccak256(abi.encode(seed, i)));
            uint256 score = h % 5 == 0 ? 0 : (h >> 8) & mask;
            words[i / SCORES_PER_WORD] |= score << (SCORE_BITS * (i % SCORES_PER_WORD));
        }
    }
}
