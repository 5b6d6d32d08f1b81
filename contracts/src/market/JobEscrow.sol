// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {JobMarket} from "../JobMarket.sol";
import {IJobMarketErrors} from "../IJobMarket.sol";
import {IJobMarketEvents} from "../IJobMarketEvents.sol";
import {IRoundVerifier} from "../IRoundVerifier.sol";
import {IChunkedRoundVerifier} from "../IChunkedRoundVerifier.sol";
import {
    MarketStorage,
    MarketLookup,
    MAX_SLOTS,
    MAX_ROUNDS,
    SCALAR_FIELD,
    MIN_SUBMIT_WINDOW,
    MIN_FINALIZE_WINDOW,
    MIN_DISPUTE_WINDOW,
    MAX_WINDOW,
    TAU_ONE,
    LR_LIMIT,
    MAX_CHUNKS
} from "./MarketStorage.sol";
import {PublicInputs} from "./PublicInputs.sol";

/// @dev JobMarket's money in and out and its membership: job creation with the escrowed budget,
///      the aggregator's bond, trainers joining and leaving with their stake, eviction of a
///      trainer that missed a round (its stake forfeited), cancellation, and
///      withdrawal of what is owed. Internal functions run in JobMarket's context (msg.sender,
///      msg.value and storage are JobMarket's); see JobMarket for each entry point's notice.
library JobEscrow {
    using SafeERC20 for IERC20;
    using MarketLookup for MarketStorage;

    /// @dev createJob: checks the terms, stores the job, escrows the budget.
    function createJob(MarketStorage storage $, JobMarket.JobParams calldata p) internal returns (uint256 jobId) {
        checkParams($, p);
        jobId = ++$.jobCount;
        JobMarket.Job storage j = $.jobs[jobId];
        JobMarket.Config storage c = j.c;
        c.aggregator = p.aggregator;
        c.n = p.trainers;
        c.maxMalicious = p.maxMalicious;
        c.rounds = p.rounds;
        c.submitWindow = p.submitWindow;
        c.verifier = p.verifier;
        c.finalizeWindow = p.finalizeWindow;
        c.disputeWindow = p.disputeWindow;
        c.tau = p.tau;
        c.owner = msg.sender;
        c.lr = p.lr;
        c.lrDecay = p.lrDecay;
        c.dupTol = p.dupTol;
        c.token = p.token;
        c.startTime = p.startTime;
        c.chunks = _chunks(p.verifier);
        uint128 roundBudget = p.budget / p.rounds;
        c.roundBudget = roundBudget;
        c.bond = p.bond;
        c.stake = p.stake;
        JobMarket.State storage s = j.s;
        s.roundStart = p.startTime;
        s.status = JobMarket.Status.Active;
        s.escrow = p.budget;
        s.model = p.initialModel;
        s.rosterHash = $.rosterHash(jobId, p.trainers);
        emit IJobMarketEvents.JobCreated(jobId, msg.sender, p.aggregator, p, roundBudget);
        pull(p.token, p.budget);
    }

    /// @dev postBond: the aggregator posts its bond before the first round.
    function postBond(MarketStorage storage $, uint256 jobId) internal {
        JobMarket.Job storage j = $.job(jobId);
        MarketLookup.requireAggregator(j);
        MarketLookup.requireBeforeStart(jobId, j);
        if (j.s.bondPosted) revert IJobMarketErrors.BondAlreadyPosted(jobId);
        uint128 bond = j.c.bond;
        j.s.bondPosted = true;
        j.s.bondHeld = bond;
        emit IJobMarketEvents.BondPosted(jobId, msg.sender, bond);
        pull(j.c.token, bond);
    }

    /// @dev topUpBond: the aggregator restores the bond a dispute cut into.
    function topUpBond(MarketStorage storage $, uint256 jobId) internal {
        JobMarket.Job storage j = $.job(jobId);
        MarketLookup.requireAggregator(j);
        MarketLookup.requireActive(jobId, j);
        if (!j.s.bondShort) revert IJobMarketErrors.BondNotShort(jobId);
        uint128 bond = j.c.bond;
        uint128 amount = bond - j.s.bondHeld;
        j.s.bondHeld = bond;
        j.s.bondShort = false;
        emit IJobMarketEvents.BondToppedUp(jobId, msg.sender, amount);
        pull(j.c.token, amount);
    }

    /// @dev join: the caller takes the lowest free slot and stakes.
    function join(MarketStorage storage $, uint256 jobId) internal {
        JobMarket.Job storage j = $.job(jobId);
        MarketLookup.requireBeforeStart(jobId, j);
        if ($.slotPlusOne[jobId][msg.sender] != 0) revert IJobMarketErrors.AlreadyJoined(msg.sender);
        uint256 n = j.c.n;
        uint256 joined = j.s.joinedBits;
        uint256 slot;
        while (slot < n && (joined >> slot) & 1 == 1) ++slot;
        if (slot == n) revert IJobMarketErrors.JobFull(jobId);
        uint128 stake = j.c.stake;
        $.slotOwner[jobId][slot] = msg.sender;
        $.slotPlusOne[jobId][msg.sender] = slot + 1;
        j.s.joinedBits = joined | (1 << slot); // slot < n <= 256
        j.s.joinedCount += 1;
        j.s.stakesHeld += stake;
        j.s.rosterHash = $.rosterHash(jobId, n);
        emit IJobMarketEvents.Joined(jobId, msg.sender, slot, stake);
        pull(j.c.token, stake);
    }

    /// @dev leave: frees the caller's stake (and its slot before the first round).
    function leave(MarketStorage storage $, uint256 jobId) internal {
        JobMarket.Job storage j = $.job(jobId);
        uint256 slotP1 = $.slotPlusOne[jobId][msg.sender];
        if (slotP1 == 0) revert IJobMarketErrors.NotTrainer(msg.sender);
        uint256 slot = slotP1 - 1;
        JobMarket.Status status = j.s.status;
        uint128 stake = j.c.stake;
        $.slotPlusOne[jobId][msg.sender] = 0;
        if (status == JobMarket.Status.Active) {
            if (block.timestamp >= j.c.startTime) revert IJobMarketErrors.LeaveNotAllowed(jobId);
            $.slotOwner[jobId][slot] = address(0);
            j.s.joinedBits &= ~(1 << slot); // slot < n <= 256
            j.s.joinedCount -= 1;
            j.s.rosterHash = $.rosterHash(jobId, j.c.n);
        }
        j.s.stakesHeld -= stake;
        $.owed[j.c.token][msg.sender] += stake;
        emit IJobMarketEvents.Left(jobId, msg.sender, slot, stake);
    }

    /// @dev evict: anyone removes the trainer of `slot` for missing `round`, whose submission
    ///      window has closed (the round is still open for finalization, was finalized, or
    ///      expired) without a commitment from the slot. The stake goes to the job's owner, not
    ///      to the round's submitters: the squatter's harm is the owner's (its job runs short of
    ///      trainers or stalls), a round may have no submitter to pay, and a credit to one
    ///      account keeps eviction O(1). The point is that squatting costs the stake (README,
    ///      "Threat model", 6). The trainer loses its live stake (`slotPlusOne` = 0: no
    ///      `submitUpdate`, no `leave`) but keeps its slot in the roster, so the roster hash,
    ///      `finalizeRound` and claims of rounds it earned in are untouched. `joinedCount` is
    ///      left as is: a trainer evicted for an earlier round may have submitted in the current
    ///      one, and lowering the count would then let the aggregator finalize before the others
    ///      submitted; a round with an evicted slot is finalized at the end of its window.
    function evict(MarketStorage storage $, uint256 jobId, uint32 round, uint256 slot) internal {
        JobMarket.Job storage j = $.job(jobId);
        JobMarket.State storage s = j.s;
        JobMarket.Status status = s.status;
        uint256 current = s.round;
        // A round's window closed: an earlier round (finalized), or the current one once it
        // expired or (still active) its window ended. A cancelled job ran no round (its `round`
        // is 0 and it is not Expired), nor did one whose bond was never posted; a completed
        // job's `round` is past its last one.
        uint256 deadline = uint256(s.roundStart) + j.c.submitWindow;
        if (
            !s.bondPosted || round > current
                || (round == current
                    && status != JobMarket.Status.Expired
                    && (status != JobMarket.Status.Active || block.timestamp <= deadline))
        ) {
            revert IJobMarketErrors.SubmitWindowNotClosed(deadline, block.timestamp);
        }
        uint256 evicted = j.evictedBits;
        if ((evicted >> slot) & 1 == 1) revert IJobMarketErrors.AlreadyEvicted(slot);
        // A slot past n has no owner; a trainer that left after the job ended has no live stake.
        address trainer = $.slotOwner[jobId][slot];
        if (trainer == address(0) || $.slotPlusOne[jobId][trainer] == 0) revert IJobMarketErrors.NotMember(slot);
        if ($.commitments[jobId][round][slot] != 0) revert IJobMarketErrors.SlotSubmitted(slot, round);
        uint128 stake = j.c.stake;
        j.evictedBits = evicted | (1 << slot); // slot < n <= 256: it has an owner
        $.slotPlusOne[jobId][trainer] = 0;
        s.stakesHeld -= stake;
        $.owed[j.c.token][j.c.owner] += stake;
        emit IJobMarketEvents.Evicted(jobId, round, slot, trainer, stake);
    }

    /// @dev cancel: the owner ends the job before its first round (or if no bond was posted).
    function cancel(MarketStorage storage $, uint256 jobId) internal {
        JobMarket.Job storage j = $.job(jobId);
        if (msg.sender != j.c.owner) revert IJobMarketErrors.NotOwner(msg.sender);
        MarketLookup.requireActive(jobId, j);
        if (block.timestamp >= j.c.startTime && j.s.bondPosted) revert IJobMarketErrors.AlreadyStarted(jobId);
        address token = j.c.token;
        uint128 escrow = j.s.escrow;
        uint128 bond = j.s.bondHeld;
        j.s.status = JobMarket.Status.Cancelled;
        j.s.escrow = 0;
        j.s.bondHeld = 0;
        $.owed[token][msg.sender] += escrow;
        if (bond != 0) $.owed[token][j.c.aggregator] += bond;
        emit IJobMarketEvents.JobCancelled(jobId, escrow);
    }

    /// @dev withdraw: pays the caller everything owed to it in `token`.
    function withdraw(MarketStorage storage $, address token) internal {
        uint256 amount = $.owed[token][msg.sender];
        if (amount == 0) revert IJobMarketErrors.NothingToWithdraw();
        $.owed[token][msg.sender] = 0;
        emit IJobMarketEvents.Withdrawn(token, msg.sender, amount);
        if (token == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert IJobMarketErrors.TransferFailed();
        } else {
            IERC20(token).safeTransfer(msg.sender, amount);
        }
    }

    /// @dev The terms createJob accepts. The owner may not be its own aggregator, and the bond
    ///      must cover a round's budget (`bond >= roundBudget`, so never 0): a dispute pays
    ///      `bond / n >= roundBudget / n`, a slot's equal share, to each trainer wrongly declared
    ///      unavailable, and declaring every slot unavailable (the only way an aggregator
    ///      working for the owner keeps a round's budget unallocated) costs the whole bond,
    ///      at least the budget it keeps (contracts/README.md, "Threat model").
    function checkParams(MarketStorage storage $, JobMarket.JobParams calldata p) internal view {
        if (p.budget == 0) revert IJobMarketErrors.ZeroBudget();
        if (p.rounds == 0) revert IJobMarketErrors.InvalidRounds();
        if (p.rounds > MAX_ROUNDS) revert IJobMarketErrors.TooManyRounds(p.rounds, MAX_ROUNDS);
        if (p.budget < p.rounds) revert IJobMarketErrors.BudgetTooSmall(p.budget, p.rounds);
        if (p.trainers == 0 || p.trainers > MAX_SLOTS) revert IJobMarketErrors.InvalidSlots(p.trainers);
        if (p.maxMalicious >= p.trainers) revert IJobMarketErrors.InvalidMaxMalicious(p.maxMalicious, p.trainers);
        if (p.aggregator == address(0) || address(p.verifier) == address(0)) revert IJobMarketErrors.ZeroAddress();
        if (p.aggregator == msg.sender) revert IJobMarketErrors.AggregatorIsOwner(msg.sender);
        uint256 roundBudget = p.budget / p.rounds;
        if (p.bond < roundBudget) revert IJobMarketErrors.BondTooSmall(p.bond, roundBudget);
        if (!$.approvedVerifier[address(p.verifier)]) revert IJobMarketErrors.VerifierNotApproved(address(p.verifier));
        if (p.startTime <= block.timestamp) revert IJobMarketErrors.StartInPast(p.startTime, block.timestamp);
        checkWindows(p);
        if (p.tau < TAU_ONE) revert IJobMarketErrors.TauBelowOne(p.tau);
        if (p.lr >= LR_LIMIT) revert IJobMarketErrors.LearningRateTooLarge(p.lr, LR_LIMIT);
        if (uint256(p.rounds) * p.lrDecay >= p.lr) revert IJobMarketErrors.InvalidLearningRate();
        if (p.initialModel == 0 || p.initialModel >= SCALAR_FIELD) {
            revert IJobMarketErrors.InvalidCommitment(p.initialModel);
        }
        uint256 expected = PublicInputs.count(p.trainers);
        uint256 got = p.verifier.N_PUBLIC();
        if (got != expected) revert IJobMarketErrors.ShapeMismatch(got, expected);
    }

    /// @dev Each window within [MIN_*_WINDOW, MAX_WINDOW] (MarketStorage.sol), and the dispute
    ///      window at most submitWindow + finalizeWindow.
    function checkWindows(JobMarket.JobParams calldata p) internal pure {
        uint32 w = p.submitWindow;
        if (w < MIN_SUBMIT_WINDOW || w > MAX_WINDOW) {
            revert IJobMarketErrors.SubmitWindowOutOfRange(w, MIN_SUBMIT_WINDOW, MAX_WINDOW);
        }
        w = p.finalizeWindow;
        if (w < MIN_FINALIZE_WINDOW || w > MAX_WINDOW) {
            revert IJobMarketErrors.FinalizeWindowOutOfRange(w, MIN_FINALIZE_WINDOW, MAX_WINDOW);
        }
        // A dispute window no longer than a round's submit + finalize windows: every dispute of
        // a finalized round closes by the time the next round can expire (its deadline is
        // `roundStart + submitWindow + finalizeWindow`, and `roundStart` is the previous round's
        // finalization), so the bond expiry splits is never one a dispute could still claim.
        uint256 maxDispute = uint256(p.submitWindow) + w;
        if (maxDispute > MAX_WINDOW) maxDispute = MAX_WINDOW;
        w = p.disputeWindow;
        if (w < MIN_DISPUTE_WINDOW || w > maxDispute) {
            revert IJobMarketErrors.DisputeWindowOutOfRange(w, MIN_DISPUTE_WINDOW, maxDispute);
        }
    }

    /// @dev K of a chunked verifier (`IChunkedRoundVerifier.CHUNKS`), 0 for a generated round
    ///      verifier, which has no such function and no fallback (the call reverts).
    function _chunks(IRoundVerifier verifier) private view returns (uint16) {
        try IChunkedRoundVerifier(address(verifier)).CHUNKS() returns (uint256 k) {
            if (k == 0 || k > MAX_CHUNKS) revert IJobMarketErrors.ChunkOutOfRange(k, MAX_CHUNKS);
            return uint16(k);
        } catch {
            return 0;
        }
    }

    /// @dev Takes `amount` of `token` from the caller: exactly `amount` wei for ETH, or an ERC-20
    ///      transfer whose received amount must be exactly `amount`.
    function pull(address token, uint256 amount) internal {
        if (token == address(0)) {
            if (msg.value != amount) revert IJobMarketErrors.WrongValue(msg.value, amount);
            return;
        }
        if (msg.value != 0) revert IJobMarketErrors.WrongValue(msg.value, 0);
        if (amount == 0) return;
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert IJobMarketErrors.UnsupportedToken(received, amount);
    }
}
