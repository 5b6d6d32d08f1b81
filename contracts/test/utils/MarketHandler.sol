// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./Vm.sol";
import {G1} from "./G1.sol";
import {ExpectedInputs} from "./ExpectedInputs.sol";
import {LinearMockVerifier, TestToken} from "./Mocks.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {IJobMarketErrors} from "../../src/IJobMarket.sol";
import {IRoundVerifier} from "../../src/IRoundVerifier.sol";
import {PublicInputs, SCORES_PER_WORD, SCORE_BITS, SCORE_MASK, NORM_BITS} from "../../src/market/PublicInputs.sol";
import {SCALAR_FIELD, RECORDED_BIT} from "../../src/market/MarketStorage.sol";

/// @dev What the handler expects the market to hold for one job, updated by every action that
///      moves the job's money. The invariants compare it with `jobState`.
struct JobGhost {
    /// Expected `escrow`: the budget minus the allocations of recorded rounds and expired round
    /// budgets; 0 once cancelled or recovered.
    uint256 escrow;
    /// Shares allocated by recorded rounds and not yet claimed.
    uint256 unclaimed;
    /// Finalized rounds not yet recorded (first claim or recordReliability).
    uint256 unrecorded;
    /// Trainers with a live stake: joined - left - evicted.
    uint256 members;
    /// Their slots (bit i for slot i): the handler picks submitters and evictees from it.
    uint64 stakedBits;
    /// Bond money in: the posted bond, then every top-up.
    uint256 bondPosted;
    uint256 bondToppedUp;
    /// Bond money out: slashed to disputing trainers, split on expiry, released to the
    /// aggregator after the last dispute window, refunded by a cancellation.
    uint256 bondSlashed;
    uint256 bondSplit;
    uint256 bondReleased;
    uint256 bondRefunded;
    /// The current round's expected accumulator as a multiple of G (see LinearMockVerifier).
    uint256 accScalar;
}

/// @dev What the handler remembers of a finalized round: the outcome claims and disputes restate,
///      whether it was recorded (by its first claim or recordReliability: its allocation moved
///      out of escrow and its reliability written), what it allocates, and which slots were
///      scored, claimed and disputed.
struct RoundGhost {
    JobMarket.RoundOutcome outcome;
    bool finalized;
    bool recorded;
    uint256 allocated;
    uint64 scoredBits;
    uint64 claimedBits;
    uint64 disputedBits;
}

/// @dev A submission as the trainer made it: what the aggregator's receipt covers.
struct Upload {
    uint256 commitment;
    bytes32 blobRef;
}

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
///      Layout: external actions (what the fuzzer calls) pick arguments; `_do*` helpers make one
///      market call each and update the ghosts (the drain reuses them); `_is*`/`_can*` predicates
///      restate the market's preconditions. A change of the market's rules touches the matching
///      predicate; of its inputs, `_receiptSignature` or ExpectedInputs.openingInputs.
contract MarketHandler {
    /// @dev The fuzzed actions, in the order of `actionSelectors` and `actionName`.
    enum Action {
        CreateJob,
        PostBond,
        TopUpBond,
        Join,
        Leave,
        Evict,
        Cancel,
        Submit,
        Finalize,
        Claim,
        Dispute,
        Expire,
        Recover,
        ReleaseBond,
        Withdraw,
        Warp,
        WarpToDeadline,
        ReplayClaim,
        ReplayDispute,
        RecordReliability
    }

    uint256 internal constant AGG_KEY = 0xA66;
    uint256 internal constant R = SCALAR_FIELD;
    /// @dev Jobs per run, and at most MAX_ACTIVE_JOBS not ended at a time: more would make each
    ///      one progress less within a run's depth (and every invariant check reads every job).
    uint256 internal constant MAX_JOBS = 6;
    uint256 internal constant MAX_ACTIVE_JOBS = 3;
    /// @dev One more than the largest job (7 slots), so that someone is always free to join.
    uint256 internal constant TRAINERS = 8;
    /// @dev Every window is drawn in [60 s, MAX_TEST_WINDOW] (createJob's minimum is 60 s).
    uint32 internal constant MAX_TEST_WINDOW = 600;
    address internal constant OWNER_A = address(0x0A11CE);
    address internal constant OWNER_B = address(0x0B0B);

    JobMarket public immutable market;
    TestToken public immutable token;
    /// @dev Not immutable: the constructor reads it (allActors) to fund the aggregator.
    address public aggregator;
    IRoundVerifier internal immutable verifier4;
    IRoundVerifier internal immutable verifier7;
    address[] internal trainers;

    mapping(uint256 jobId => JobGhost) internal ghosts;
    mapping(uint256 jobId => mapping(uint256 round => RoundGhost)) internal roundGhosts;
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 slot => uint256))) internal shares;
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 slot => Upload))) internal uploads;
    /// @notice Money into and out of the market, by token (address(0) for ETH).
    mapping(address token => uint256) public deposited;
    mapping(address token => uint256) public withdrawn;
    /// @notice Calls of each action, and those that reached the market.
    mapping(Action => uint256) public called;
    mapping(Action => uint256) public succeeded;
    /// @notice Whether the last action called the market. If not, neither the market's state nor
    ///         the ghosts changed (a warp moves only the clock, which no invariant reads), and
    ///         the invariants need no new check.
    bool public lastActionCalledMarket;

    /// @dev Funds every payer in ETH and in the token (approved to the market once).
    constructor(JobMarket market_, TestToken token_, IRoundVerifier verifier4_, IRoundVerifier verifier7_) {
        market = market_;
        token = token_;
        verifier4 = verifier4_;
        verifier7 = verifier7_;
        aggregator = vm.addr(AGG_KEY);
        for (uint256 i; i < TRAINERS; ++i) {
            trainers.push(address(uint160(0x7000 + i)));
        }
        address[] memory all = allActors();
        for (uint256 i; i < all.length; ++i) {
            vm.deal(all[i], 1e30);
            token.mint(all[i], 1e30);
            vm.prank(all[i]);
            token.approve(address(market), type(uint256).max);
        }
    }

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
        uint64 submitting = _submittableBits(jobId);
        if (submitting & slotMask != 0) submitting &= uint64(slotMask);
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
    function finalize(uint256 jobSeed, uint256 choice, uint64 unavailableMask, uint64 outlierMask) external {
        _called(Action.Finalize);
        uint256 jobId = _pickJob(jobSeed, _canFinalize);
        if (jobId == 0) return;
        uint64 unavailable = choice % 3 == 0 ? unavailableMask : 0;
        uint64 outliers = (choice >> 2) % 4 == 1 ? outlierMask : 0;
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
            _doFinalize(jobId, h, h % 3 == 0 ? uint64(h >> 8) : 0, 0);
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
        ghosts[jobId].stakedBits |= uint64(1 << slot);
    }

    function _doLeave(uint256 jobId, address trainer) internal {
        (, uint256 slot) = market.slotOf(jobId, trainer);
        vm.prank(trainer);
        market.leave(jobId);
        ghosts[jobId].members -= 1;
        ghosts[jobId].stakedBits &= ~uint64(1 << slot);
    }

    /// @dev Also checks that the stake goes to the job's owner.
    function _doEvict(uint256 jobId, uint32 round, uint256 slot) internal {
        JobMarket.Config memory c = market.jobConfig(jobId);
        uint256 before = market.owed(c.token, c.owner);
        market.evict(jobId, round, slot);
        require(market.owed(c.token, c.owner) - before == c.stake, "evict: the stake did not go to the owner");
        ghosts[jobId].members -= 1;
        ghosts[jobId].stakedBits &= ~uint64(1 << slot);
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
        if (s.submittedCount == 0) g.accScalar = _openingScalar(jobId, s.round, s.model, s.rosterHash);
        g.accScalar = addmod(g.accScalar, _scalar(jobId, ExpectedInputs.updateIndex(slot), commitment), R);
        (uint256 index, uint256 value) =
            ExpectedInputs.orderInput(market.jobConfig(jobId).n, slot, uint256(s.submittedCount) + 1);
        g.accScalar = addmod(g.accScalar, _scalar(jobId, index, value), R);
        uploads[jobId][s.round][slot] = Upload(commitment, blobRef);
        address trainer = market.slotOwner(jobId, slot);
        vm.prank(trainer);
        market.submitUpdate(jobId, s.round, commitment, blobRef);
    }

    function _doFinalize(uint256 jobId, uint256 seed, uint64 unavailable, uint64 outliers) internal {
        JobMarket.State memory s = market.jobState(jobId);
        JobMarket.Finalization memory f = _finalization(jobId, seed, s.submittedBits, unavailable, outliers);
        vm.prank(aggregator);
        market.finalizeRound(jobId, s.round, f);
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
        roundGhosts[jobId][round].claimedBits |= uint64(1 << slot);
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

    function _recordedOnChain(uint256 jobId, uint256 round) internal view returns (bool) {
        return (market.settledBits(jobId, round) >> RECORDED_BIT) & 1 == 1;
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
        roundGhosts[jobId][round].disputedBits |= uint64(1 << slot);
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
        return ghosts[jobId].stakedBits & ~s.submittedBits != 0;
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
    function _submittableBits(uint256 jobId) internal view returns (uint64) {
        return ghosts[jobId].stakedBits & ~market.jobState(jobId).submittedBits;
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
        p.trainers = uint8(n);
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

    /// @dev Arbitrary claims the mock verifier accepts: the `submitted` slots in `unavailable`
    ///      are declared unavailable, the other submitted slots are present, those not in
    ///      `outliers` are inliers, and the inliers get scores (see `_scoreWords`).
    function _finalization(uint256 jobId, uint256 seed, uint64 submitted, uint64 unavailable, uint64 outliers)
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
    function _scoreWords(uint64 inliers, uint256 n, uint256 seed) internal pure returns (uint256[] memory words) {
        words = new uint256[](PublicInputs.scoreWords(n));
        uint256 mask = seed & 1 == 0 ? 0xFF : SCORE_MASK;
        for (uint256 i; i < n; ++i) {
            if ((inliers >> i) & 1 == 0) continue;
            uint256 h = uint256(keccak256(abi.encode(seed, i)));
            uint256 score = h % 5 == 0 ? 0 : (h >> 8) & mask;
            words[i / SCORES_PER_WORD] |= score << (SCORE_BITS * (i % SCORES_PER_WORD));
        }
    }

    // ================================================================ ghost bookkeeping

    /// @dev Computes the round's pro-rata shares as the market must (the rounding dust stays in
    ///      escrow; the shares leave it when the round is recorded) and remembers the outcome.
    function _recordFinalization(uint256 jobId, uint32 round, JobMarket.Finalization memory f) internal {
        JobMarket.Config memory c = market.jobConfig(jobId);
        RoundGhost storage r = roundGhosts[jobId][round];
        uint256 total;
        for (uint256 i; i < c.n; ++i) {
            total += _score(f.scoreWords, i);
        }
        uint256 allocated;
        for (uint256 i; i < c.n && total != 0; ++i) {
            uint256 score = _score(f.scoreWords, i);
            if (score == 0) continue;
            uint256 share = (uint256(c.roundBudget) * score) / total;
            shares[jobId][round][i] = share;
            allocated += share;
            r.scoredBits |= uint64(1 << i);
        }
        r.outcome =
            JobMarket.RoundOutcome(f.unavailableBits, uint40(vm.getBlockTimestamp()), f.aggregateNormSq, f.scoreWords);
        r.finalized = true;
        r.allocated = allocated;
        ghosts[jobId].unrecorded += 1;
    }

    /// @dev The aggregator's EIP-712 upload receipt for what the slot's trainer submitted: its
    ///      commitment and blob reference.
    function _receiptSignature(uint256 jobId, uint32 round, uint256 slot) internal view returns (bytes memory) {
        Upload memory u = uploads[jobId][round][slot];
        bytes32 digest = market.receiptDigest(jobId, round, slot, u.commitment, u.blobRef);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(AGG_KEY, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The scalar the accumulator starts from at a round's first submission.
    function _openingScalar(uint256 jobId, uint256 round, uint256 model, bytes32 rosterHash)
        internal
        view
        returns (uint256 acc)
    {
        uint256 domain = ExpectedInputs.domain(block.chainid, address(market), jobId, rosterHash);
        (uint256[] memory indices, uint256[] memory values) =
            ExpectedInputs.openingInputs(market.jobConfig(jobId), jobId, round, model, domain);
        for (uint256 k; k < indices.length; ++k) {
            acc = addmod(acc, _scalar(jobId, indices[k], values[k]), R);
        }
    }

    /// @dev inputPoint(index, value) of the job's LinearMockVerifier, as a multiple of G.
    function _scalar(uint256 jobId, uint256 index, uint256 value) internal view returns (uint256) {
        return LinearMockVerifier(address(market.jobConfig(jobId).verifier)).scalarOf(index, value);
    }

    /// @dev What a dispute slashes now: bond / n, at most what is left.
    function _slashAmount(uint256 jobId) internal view returns (uint256 slash) {
        JobMarket.Config memory c = market.jobConfig(jobId);
        uint256 held = market.jobState(jobId).bondHeld;
        slash = c.bond / c.n;
        if (slash > held) slash = held;
    }

    /// @dev Adds `amount` to the deposits in `t`; returns the msg.value that pays it.
    function _deposit(address t, uint256 amount) internal returns (uint256 value) {
        deposited[t] += amount;
        return t == address(0) ? amount : 0;
    }

    function _score(uint256[] memory words, uint256 i) internal pure returns (uint256) {
        return (words[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) & SCORE_MASK;
    }

    function _owedTotal(address t) internal view returns (uint256 sum) {
        address[] memory all = allActors();
        for (uint256 i; i < all.length; ++i) {
            sum += market.owed(t, all[i]);
        }
    }

    function _balanceOf(address t, address who) internal view returns (uint256) {
        return t == address(0) ? who.balance : token.balanceOf(who);
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }

    function _called(Action a) internal {
        ++called[a];
        lastActionCalledMarket = false;
    }

    function _succeeded(Action a) internal {
        ++succeeded[a];
        lastActionCalledMarket = a != Action.Warp && a != Action.WarpToDeadline;
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

    /// @notice The name of an action, for the report.
    function actionName(Action a) external pure returns (string memory) {
        string[20] memory names = [
            "createJob",
            "postBond",
            "topUpBond",
            "join",
            "leave",
            "evict",
            "cancel",
            "submitUpdate",
            "finalizeRound",
            "claim",
            "dispute",
            "expireRound",
            "recover",
            "releaseBond",
            "withdraw",
            "warp",
            "warpToDeadline",
            "replayClaim (refused)",
            "replayDispute (refused)",
            "recordReliability"
        ];
        return names[uint256(a)];
    }

    /// @notice The ghost accounting of a job.
    function ghost(uint256 jobId) external view returns (JobGhost memory) {
        return ghosts[jobId];
    }

    /// @notice The accumulator the job's current round must hold: accScalar * G.
    function expectedAccumulator(uint256 jobId) external view returns (uint256 x, uint256 y) {
        return G1.mul(G1.GX, G1.GY, ghosts[jobId].accScalar);
    }

    /// @notice Everyone who can be owed money: trainers, both owners, the aggregator.
    function allActors() public view returns (address[] memory all) {
        all = new address[](TRAINERS + 3);
        for (uint256 i; i < TRAINERS; ++i) {
            all[i] = trainers[i];
        }
        all[TRAINERS] = OWNER_A;
        all[TRAINERS + 1] = OWNER_B;
        all[TRAINERS + 2] = aggregator;
    }
}
