// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Bn254} from "../Bn254.sol";
import {IRoundVerifier} from "../IRoundVerifier.sol";
import {ReliabilityRegistry} from "../ReliabilityRegistry.sol";
import {JobMarket} from "../JobMarket.sol";
import {IJobMarketErrors, IJobMarketEvents} from "../IJobMarket.sol";
import {MarketStorage, MarketLookup, FIXED_ONE, PENDING, SCALAR_FIELD} from "./MarketStorage.sol";
import {
    PublicInputs,
    CONTEXT_INPUT,
    MODEL_INPUT,
    NEW_MODEL_INPUT,
    INLIER_FLAG_OFFSET,
    SCORES_PER_WORD,
    SCORE_BITS,
    SCORE_MASK,
    CTX_ROUND_OFFSET,
    CTX_MAX_MALICIOUS_OFFSET,
    CTX_TAU_OFFSET,
    CTX_LR_OFFSET,
    CTX_NEXT_LR_OFFSET,
    CTX_DUP_TOL_OFFSET
} from "./PublicInputs.sol";

/// @dev JobMarket's rounds: submissions (folded into the verifier accumulator), proof-verified
///      finalization (allocation and reliability), and claims of the allocated shares. Internal
///      functions run in JobMarket's context; see JobMarket for each entry point's notice.
library RoundSettlement {
    using MarketLookup for MarketStorage;

    /// @dev submitUpdate: a trainer commits to its update for the current round.
    function submitUpdate(MarketStorage storage $, uint256 jobId, uint32 round, uint256 commitment, bytes32 blobRef)
        internal
    {
        JobMarket.Job storage j = $.job(jobId);
        JobMarket.State storage s = j.s;
        if (s.status != JobMarket.Status.Active) revert IJobMarketErrors.NotActive(jobId, s.status);
        if (round != s.round) revert IJobMarketErrors.WrongRound(round, s.round);
        uint256 start = s.roundStart;
        if (block.timestamp < start) revert IJobMarketErrors.RoundNotOpen(start, block.timestamp);
        uint256 deadline = start + j.c.submitWindow;
        if (block.timestamp > deadline) revert IJobMarketErrors.SubmissionClosed(deadline, block.timestamp);
        if (!s.bondPosted) revert IJobMarketErrors.BondNotPosted(jobId);
        uint256 slotP1 = $.slotPlusOne[jobId][msg.sender];
        if (slotP1 == 0) revert IJobMarketErrors.NotTrainer(msg.sender);
        uint256 slot = slotP1 - 1;
        uint64 bits = s.submittedBits;
        if ((bits >> slot) & 1 == 1) revert IJobMarketErrors.AlreadySubmitted(slot);
        if (commitment == 0 || commitment >= SCALAR_FIELD) revert IJobMarketErrors.InvalidCommitment(commitment);

        _accumulate($, jobId, round, j, slot, commitment);
        s.submittedBits = bits | uint64(1 << slot);
        s.submittedCount += 1;
        $.commitments[jobId][round][slot] = commitment;
        emit IJobMarketEvents.UpdateSubmitted(jobId, round, slot, msg.sender, commitment, blobRef);
    }

    /// @dev finalizeRound: checks the claims, verifies the proof, allocates, writes reliability.
    function finalizeRound(
        MarketStorage storage $,
        ReliabilityRegistry registry,
        uint256 jobId,
        uint32 round,
        JobMarket.Finalization calldata f
    ) internal {
        JobMarket.Job storage j = $.job(jobId);
        uint256 n = _checkFinalizer(jobId, round, j);
        uint256 words = PublicInputs.scoreWords(n);
        (uint256 flags, uint64 presence) = _checkClaims(j, f, n, words);
        _verify(jobId, round, j, f, flags, words);
        uint256 total = _settle($, jobId, round, j, f, flags);
        _writeReliability(registry, jobId, round, f, presence, total, n);
    }

    /// @dev claim: credits a slot's share of a finalized round to its trainer.
    function claim(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        uint256 slot,
        JobMarket.RoundOutcome calldata o
    ) internal {
        JobMarket.Job storage j = $.job(jobId);
        checkOutcome($, jobId, round, o);
        uint256 settled = $.settledBits[jobId][round];
        if ((settled >> slot) & 1 == 1) revert IJobMarketErrors.AlreadySettled(slot);
        (uint256 score, uint256 total) = _scoreOf(o.scoreWords, slot, j.c.n);
        if (score == 0) revert IJobMarketErrors.NothingToClaim(slot);
        uint256 amount = (uint256(j.c.roundBudget) * score) / total;
        address trainer = $.slotOwner[jobId][slot];
        $.settledBits[jobId][round] = settled | (1 << slot);
        j.s.unclaimed -= uint128(amount);
        $.owed[j.c.token][trainer] += amount;
        emit IJobMarketEvents.Claimed(jobId, round, slot, trainer, amount);
    }

    /// @dev The packed context public input of (job, round); see JobMarket.context.
    function context(JobMarket.Config storage c, uint256 jobId, uint256 round) internal view returns (uint256) {
        uint256 lr = uint256(c.lr) - round * c.lrDecay;
        uint256 nextLr = uint256(c.lr) - (round + 1) * c.lrDecay;
        return jobId | (round << CTX_ROUND_OFFSET) | (uint256(c.maxMalicious) << CTX_MAX_MALICIOUS_OFFSET)
            | (uint256(c.tau) << CTX_TAU_OFFSET) | (lr << CTX_LR_OFFSET) | (nextLr << CTX_NEXT_LR_OFFSET)
            | (uint256(c.dupTol) << CTX_DUP_TOL_OFFSET);
    }

    /// @dev Reverts with UnknownOutcome unless `o` is what RoundFinalized logged for the round.
    function checkOutcome(MarketStorage storage $, uint256 jobId, uint32 round, JobMarket.RoundOutcome calldata o)
        internal
        view
    {
        bytes32 h = $.roundHash[jobId][round];
        if (
            h == bytes32(0) || h == PENDING
                || h != keccak256(abi.encode(o.unavailableBits, o.finalizedAt, o.scoreWords))
        ) {
            revert IJobMarketErrors.UnknownOutcome(jobId, round);
        }
    }

    /// @dev Folds C_slot's verifier term into the round's accumulator; the round's first submitter
    ///      starts it from the context and C(w) terms (overwriting the previous round's value).
    function _accumulate(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        JobMarket.Job storage j,
        uint256 slot,
        uint256 commitment
    ) private {
        JobMarket.State storage s = j.s;
        IRoundVerifier verifier = j.c.verifier;
        (uint256 x, uint256 y) = verifier.inputPoint(PublicInputs.updateIndex(slot), commitment);
        uint256 cx;
        uint256 cy;
        if (s.submittedCount == 0) {
            (cx, cy) = verifier.inputPoint(CONTEXT_INPUT, context(j.c, jobId, round));
            (x, y) = _ecAdd(x, y, cx, cy);
            (cx, cy) = verifier.inputPoint(MODEL_INPUT, s.model);
            $.roundHash[jobId][round] = PENDING;
        } else {
            (cx, cy) = (s.accX, s.accY);
        }
        (x, y) = _ecAdd(x, y, cx, cy);
        s.accX = x;
        s.accY = y;
    }

    /// @dev Caller, status, round and time checks of `finalizeRound`; returns n.
    function _checkFinalizer(uint256 jobId, uint32 round, JobMarket.Job storage j) private view returns (uint256) {
        JobMarket.State storage s = j.s;
        JobMarket.Config storage c = j.c;
        if (msg.sender != c.aggregator) revert IJobMarketErrors.NotAggregator(msg.sender);
        if (s.status != JobMarket.Status.Active) revert IJobMarketErrors.NotActive(jobId, s.status);
        if (round != s.round) revert IJobMarketErrors.WrongRound(round, s.round);
        if (s.bondShort) revert IJobMarketErrors.BondNotFull(jobId, s.bondHeld, c.bond);
        uint256 start = s.roundStart;
        uint256 submitDeadline = start + c.submitWindow;
        if (block.timestamp < start || (block.timestamp <= submitDeadline && s.submittedCount < s.joinedCount)) {
            revert IJobMarketErrors.SubmissionsStillOpen(submitDeadline);
        }
        uint256 finalizeDeadline = submitDeadline + c.finalizeWindow;
        if (block.timestamp > finalizeDeadline) {
            revert IJobMarketErrors.FinalizationClosed(finalizeDeadline, block.timestamp);
        }
        return c.n;
    }

    /// @dev Shape and consistency checks of the claimed outputs; returns the flags input and presence.
    function _checkClaims(JobMarket.Job storage j, JobMarket.Finalization calldata f, uint256 n, uint256 words)
        private
        view
        returns (uint256 flags, uint64 presence)
    {
        if (f.scoreWords.length != words) revert IJobMarketErrors.LengthMismatch(f.scoreWords.length, words);
        if (f.roster.length != n) revert IJobMarketErrors.LengthMismatch(f.roster.length, n);
        if (_calldataRosterHash(f.roster) != j.s.rosterHash) revert IJobMarketErrors.RosterMismatch();
        uint64 submitted = j.s.submittedBits;
        if (f.unavailableBits & ~submitted != 0) revert IJobMarketErrors.BadUnavailableBits(f.unavailableBits);
        presence = submitted & ~f.unavailableBits;
        if (f.inlierBits & ~presence != 0) revert IJobMarketErrors.BadInlierBits(f.inlierBits);
        if (f.newModel == 0 || f.newModel >= SCALAR_FIELD) revert IJobMarketErrors.InvalidCommitment(f.newModel);
        flags = uint256(presence) | (uint256(f.inlierBits) << INLIER_FLAG_OFFSET);
    }

    /// @dev Effects of a verified finalization; returns the total score.
    function _settle(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        JobMarket.Job storage j,
        JobMarket.Finalization calldata f,
        uint256 flags
    ) private returns (uint256 total) {
        JobMarket.State storage s = j.s;
        uint256 allocated;
        (total, allocated) = _allocate(j.c.roundBudget, f, j.c.n);
        uint256 oldModel = s.model;
        uint40 nowTs = uint40(block.timestamp);
        s.escrow -= uint128(allocated);
        s.unclaimed += uint128(allocated);
        s.model = f.newModel;
        s.round = round + 1;
        s.roundStart = nowTs;
        s.submittedBits = 0;
        s.submittedCount = 0;
        if (round + 1 == j.c.rounds) s.status = JobMarket.Status.Completed;
        $.roundHash[jobId][round] = keccak256(abi.encode(f.unavailableBits, nowTs, f.scoreWords));
        emit IJobMarketEvents.RoundFinalized(
            jobId, round, oldModel, f.newModel, flags, f.unavailableBits, nowTs, f.scoreWords, total, allocated
        );
    }

    /// @dev keccak256(abi.encodePacked(roster)) straight from calldata: abi.encodePacked pads each
    ///      address to 32 bytes, as the ABI encoding of the array does, so the bytes are the same
    ///      for clean addresses (dirty ones hash differently and are refused as a mismatch).
    function _calldataRosterHash(address[] calldata roster) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            let len := mul(roster.length, 0x20)
            calldatacopy(m, roster.offset, len)
            h := keccak256(m, len)
        }
    }

    /// @dev Passes C(w'), flags and the score words (plus context and C(w) if nobody submitted)
    ///      to the verifier with the round's accumulator; reverts with InvalidProof on `false`.
    function _verify(
        uint256 jobId,
        uint32 round,
        JobMarket.Job storage j,
        JobMarket.Finalization calldata f,
        uint256 flags,
        uint256 words
    ) private view {
        JobMarket.State storage s = j.s;
        uint256 n = j.c.n;
        bool empty = s.submittedCount == 0;
        uint256 extra = empty ? 2 : 0;
        uint256[] memory indices = new uint256[](2 + words + extra);
        uint256[] memory values = new uint256[](2 + words + extra);
        indices[0] = NEW_MODEL_INPUT;
        values[0] = f.newModel;
        indices[1] = PublicInputs.flagsIndex(n);
        values[1] = flags;
        for (uint256 k; k < words; ++k) {
            uint256 w = f.scoreWords[k];
            if (w >> (SCORE_BITS * PublicInputs.scoresInWord(n, k)) != 0) {
                revert IJobMarketErrors.ScoreWordOutOfRange(k);
            }
            indices[2 + k] = PublicInputs.scoreIndex(n, k);
            values[2 + k] = w;
        }
        uint256[2] memory acc;
        if (empty) {
            indices[2 + words] = CONTEXT_INPUT;
            values[2 + words] = context(j.c, jobId, round);
            indices[3 + words] = MODEL_INPUT;
            values[3 + words] = s.model;
        } else {
            acc[0] = s.accX;
            acc[1] = s.accY;
        }
        if (!j.c.verifier.verifyProofWithPartialInputs(f.proof, acc, indices, values)) {
            revert IJobMarketErrors.InvalidProof();
        }
    }

    /// @dev Total score and the sum of the pro-rata shares (the rounding dust stays in escrow).
    function _allocate(uint256 roundBudget, JobMarket.Finalization calldata f, uint256 n)
        private
        pure
        returns (uint256 total, uint256 allocated)
    {
        uint256 inliers = f.inlierBits;
        uint256[] calldata words = f.scoreWords; // length ceil(n/5), checked by _checkClaims
        unchecked {
            for (uint256 i; i < n; ++i) {
                uint256 sc = ((words[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) & SCORE_MASK);
                if (sc != 0 && (inliers >> i) & 1 == 0) revert IJobMarketErrors.ScoreOfNonInlier(i);
                total += sc; // at most 64 scores of 48 bits
            }
            if (total == 0) return (0, 0);
            for (uint256 i; i < n; ++i) {
                uint256 sc = ((words[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) & SCORE_MASK);
                allocated += (roundBudget * sc) / total; // < 2^128 * 2^48; the sum is <= roundBudget
            }
        }
    }

    /// @dev Every present slot's trainer gets its score share (0 for outliers) in one batch. The
    ///      registry's admin can revoke the market's writer role, so a refused write must not
    ///      undo the settlement: it is logged (`ReliabilityWriteFailed`) and the round stands.
    ///      A write that failed for lack of gas (the registry left less than 1/64 of the gas
    ///      given, as the 63/64 rule leaves after an out-of-gas) reverts the whole call instead,
    ///      so that the aggregator cannot skip the write by sending too little gas.
    function _writeReliability(
        ReliabilityRegistry registry,
        uint256 jobId,
        uint32 round,
        JobMarket.Finalization calldata f,
        uint64 presence,
        uint256 total,
        uint256 n
    ) private {
        uint256 count;
        for (uint64 p = presence; p != 0; p &= p - 1) {
            ++count;
        }
        if (count == 0) return;
        bytes32[] memory ids = new bytes32[](count);
        uint256[] memory obs = new uint256[](count);
        address[] calldata roster = f.roster; // length n, checked by _checkClaims
        uint256[] calldata words = f.scoreWords;
        uint256 k;
        unchecked {
            for (uint256 i; i < n; ++i) {
                if ((presence >> i) & 1 == 0) continue;
                ids[k] = bytes32(uint256(uint160(roster[i])));
                if (total != 0) {
                    // score <= total < 2^54, so score * 1e18 < 2^114
                    obs[k] =
                        (((words[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) & SCORE_MASK)
                                * FIXED_ONE) / total;
                }
                ++k;
            }
        }
        uint256 gasBefore = gasleft();
        try registry.updateBatch(ids, obs) {}
        catch {
            if (gasleft() <= gasBefore / 64) revert IJobMarketErrors.ReliabilityOutOfGas();
            emit IJobMarketEvents.ReliabilityWriteFailed(jobId, round);
        }
    }

    /// @dev A slot's score and the total score of a round's score words.
    function _scoreOf(uint256[] calldata words, uint256 slot, uint256 n)
        private
        pure
        returns (uint256 score, uint256 total)
    {
        if (slot >= n) revert IJobMarketErrors.NothingToClaim(slot);
        for (uint256 i; i < n; ++i) {
            uint256 sc = ((words[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) & SCORE_MASK);
            total += sc;
            if (i == slot) score = sc;
        }
    }

    /// @dev (ax, ay) + (bx, by); the precompile fails only on a point off the curve, which a
    ///      verifier's inputPoint never returns.
    function _ecAdd(uint256 ax, uint256 ay, uint256 bx, uint256 by) private view returns (uint256 x, uint256 y) {
        bool ok;
        (x, y, ok) = Bn254.add(ax, ay, bx, by);
        if (!ok) revert IJobMarketErrors.InvalidCommitment(0);
    }
}
