// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Bn254} from "../Bn254.sol";
import {IRoundVerifier} from "../IRoundVerifier.sol";
import {ReliabilityRegistry} from "../ReliabilityRegistry.sol";
import {JobMarket} from "../JobMarket.sol";
import {IJobMarketErrors} from "../IJobMarket.sol";
import {IJobMarketEvents} from "../IJobMarketEvents.sol";
import {
    MarketStorage,
    MarketLookup,
    FIXED_ONE,
    PENDING,
    SCALAR_FIELD,
    RECORDED_BIT,
    OUTCOME_HASH_MASK
} from "./MarketStorage.sol";
import {ChunkChallenges} from "./ChunkChallenges.sol";
import {
    PublicInputs,
    CONTEXT_INPUT,
    DOMAIN_INPUT,
    AGGREGATE_INPUT,
    DIGEST_INPUT,
    NORM_BITS,
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
///      finalization (allocation), claims of the allocated shares, and the reliability
///      observations of a finalized round (written by its first claim or `recordReliability`).
///      Internal functions run in JobMarket's context; see JobMarket for each entry point's
///      notice.
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
        uint256 bits = $.submittedBits[jobId][round];
        if ((bits >> slot) & 1 == 1) revert IJobMarketErrors.AlreadySubmitted(slot);
        if (commitment == 0 || commitment >= SCALAR_FIELD) revert IJobMarketErrors.InvalidCommitment(commitment);
        if (blobRef == bytes32(0)) revert IJobMarketErrors.ZeroBlobRef();

        uint16 rank = s.submittedCount + 1; // at most n <= 256
        _accumulate($, jobId, round, j, slot, commitment, rank);
        $.submittedBits[jobId][round] = bits | (1 << slot); // slot < n <= 256
        s.submittedCount = rank;
        $.commitments[jobId][round][slot] = commitment;
        $.blobRefs[jobId][round][slot] = blobRef;
        emit IJobMarketEvents.UpdateSubmitted(jobId, round, slot, msg.sender, commitment, blobRef);
    }

    /// @dev finalizeRound: checks the claims, verifies the proof, stores the outcome. It neither
    ///      allocates the budget nor writes reliability: the round's first claim or
    ///      `recordReliability` records the round (`_allocate`, then `_writeReliability`), so
    ///      that finalization's gas does not grow with the slots' shares or a registry write per
    ///      trainer.
    function finalizeRound(MarketStorage storage $, uint256 jobId, uint32 round, JobMarket.Finalization calldata f)
        internal
    {
        JobMarket.Job storage j = $.job(jobId);
        uint256 n = _checkFinalizer(jobId, round, j);
        uint256 words = PublicInputs.scoreWords(n);
        _checkClaims(j, f, n, words);
        _verify($, jobId, round, j, f, n, words);
        _settle($, jobId, round, j, f);
    }

    /// @dev claim: credits a slot's share of a finalized round to its trainer; the round's first
    ///      claim also records the round: its allocation (`_allocate`) and, after every effect,
    ///      its reliability observations (`_writeReliability`).
    function claim(
        MarketStorage storage $,
        ReliabilityRegistry registry,
        uint256 jobId,
        uint32 round,
        uint256 slot,
        JobMarket.RoundOutcome calldata o
    ) internal {
        JobMarket.Job storage j = $.job(jobId);
        uint256 stored = checkOutcome($, jobId, round, o);
        ChunkChallenges.requireSettled($, jobId, round, j, o.finalizedAt, stored);
        uint256 claimed = $.claimedBits[jobId][round];
        if ((claimed >> slot) & 1 == 1) revert IJobMarketErrors.AlreadySettled(slot);
        (uint256 score, uint256 total) = _scoreOf(o.scoreWords, slot, j.c.n);
        if (score == 0) revert IJobMarketErrors.NothingToClaim(slot);
        bool recorded = (stored >> RECORDED_BIT) & 1 == 1;
        if (!recorded) {
            // The outcome slot was read by checkOutcome: marking it is a warm write.
            $.roundHash[jobId][round] = bytes32(stored | (1 << RECORDED_BIT));
            _allocate(jobId, round, j, o.scoreWords, total);
        }
        uint256 amount = (uint256(j.c.roundBudget) * score) / total;
        address trainer = $.slotOwner[jobId][slot];
        $.claimedBits[jobId][round] = claimed | (1 << slot); // slot < n <= 256 (_scoreOf)
        j.s.unclaimed -= uint128(amount);
        $.owed[j.c.token][trainer] += amount;
        emit IJobMarketEvents.Claimed(jobId, round, slot, trainer, amount);
        if (!recorded) _writeReliability($, registry, jobId, round, j, o);
    }

    /// @dev recordReliability: anyone records a finalized round nobody has claimed (a round
    ///      whose scores are all 0 has no claim), once per round: its allocation, then its
    ///      reliability observations.
    function recordReliability(
        MarketStorage storage $,
        ReliabilityRegistry registry,
        uint256 jobId,
        uint32 round,
        JobMarket.RoundOutcome calldata o
    ) internal {
        JobMarket.Job storage j = $.job(jobId);
        uint256 stored = checkOutcome($, jobId, round, o);
        ChunkChallenges.requireSettled($, jobId, round, j, o.finalizedAt, stored);
        if ((stored >> RECORDED_BIT) & 1 == 1) revert IJobMarketErrors.ReliabilityAlreadyRecorded(jobId, round);
        $.roundHash[jobId][round] = bytes32(stored | (1 << RECORDED_BIT));
        _allocate(jobId, round, j, o.scoreWords, _totalScore(o.scoreWords, j.c.n));
        _writeReliability($, registry, jobId, round, j, o);
    }

    /// @dev The domain public input of a job: keccak256(abi.encode(chain id, this market, job,
    ///      roster hash)) mod r. The roster hash is fixed once the job starts (slots change only
    ///      before), so the domain binds a round's proof to this chain, this market and the
    ///      job's trainers; the prover hashes it into every update commitment too.
    function domain(MarketStorage storage $, uint256 jobId) internal view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), jobId, $.jobs[jobId].s.rosterHash)))
            % SCALAR_FIELD;
    }

    /// @dev The packed context public input of (job, round); see JobMarket.context.
    function context(JobMarket.Config storage c, uint256 jobId, uint256 round) internal view returns (uint256) {
        uint256 lr = uint256(c.lr) - round * c.lrDecay;
        uint256 nextLr = uint256(c.lr) - (round + 1) * c.lrDecay;
        return jobId | (round << CTX_ROUND_OFFSET) | (uint256(c.maxMalicious) << CTX_MAX_MALICIOUS_OFFSET)
            | (uint256(c.tau) << CTX_TAU_OFFSET) | (lr << CTX_LR_OFFSET) | (nextLr << CTX_NEXT_LR_OFFSET)
            | (uint256(c.dupTol) << CTX_DUP_TOL_OFFSET);
    }

    /// @dev Reverts with UnknownOutcome unless `o` is what RoundFinalized logged for the round;
    ///      returns the round's outcome slot (its masked hash and its RECORDED_BIT and
    ///      REFUTED_BIT marks). The hashes are compared masked to their low 254 bits
    ///      (OUTCOME_HASH_MASK): the marks live in the top two.
    function checkOutcome(MarketStorage storage $, uint256 jobId, uint32 round, JobMarket.RoundOutcome calldata o)
        internal
        view
        returns (uint256 stored)
    {
        stored = uint256($.roundHash[jobId][round]);
        if (
            stored == 0 || stored == uint256(PENDING)
                || stored & OUTCOME_HASH_MASK
                    != outcomeHash(o.unavailableBits, o.finalizedAt, o.aggregateNormSq, o.scoreWords)
        ) {
            revert IJobMarketErrors.UnknownOutcome(jobId, round);
        }
    }

    /// @dev keccak256(abi.encode(unavailableBits, finalizedAt, aggregateNormSq, scoreWords)) of
    ///      a round's outcome, masked with OUTCOME_HASH_MASK (what its outcome slot stores below
    ///      the marks).
    function outcomeHash(
        uint256 unavailableBits,
        uint40 finalizedAt,
        uint128 aggregateNormSq,
        uint256[] calldata scoreWords
    ) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(unavailableBits, finalizedAt, aggregateNormSq, scoreWords)))
            & OUTCOME_HASH_MASK;
    }

    /// @dev Folds the verifier terms of C_slot and of the slot's submission rank (its share of
    ///      its order word) into the round's accumulator; the round's first submitter starts it
    ///      from the context, domain and C(w) terms (overwriting the previous round's value).
    function _accumulate(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        JobMarket.Job storage j,
        uint256 slot,
        uint256 commitment,
        uint256 rank
    ) private {
        JobMarket.State storage s = j.s;
        (uint256 x, uint256 y) = _slotTerm(j, slot, commitment, rank);
        uint256 ax;
        uint256 ay;
        if (rank == 1) {
            (ax, ay) = _headTerm($, jobId, round, j);
            $.roundHash[jobId][round] = PENDING;
        } else {
            (ax, ay) = (s.accX, s.accY);
        }
        (x, y) = _ecAdd(x, y, ax, ay);
        s.accX = x;
        s.accY = y;
    }

    /// @dev The verifier terms of C_slot and of the slot's rank in its order word, added.
    function _slotTerm(JobMarket.Job storage j, uint256 slot, uint256 commitment, uint256 rank)
        private
        view
        returns (uint256 x, uint256 y)
    {
        IRoundVerifier verifier = j.c.verifier;
        (x, y) = verifier.inputPoint(PublicInputs.updateIndex(slot), commitment);
        (uint256 ox, uint256 oy) =
            verifier.inputPoint(PublicInputs.orderIndex(j.c.n, slot), PublicInputs.orderTerm(slot, rank));
        (x, y) = _ecAdd(x, y, ox, oy);
    }

    /// @dev The verifier terms of the context and the domain, added: what a round's first
    ///      submitter folds in for the round. The round's outputs C(S) and H are the
    ///      finalization's to pass.
    function _headTerm(MarketStorage storage $, uint256 jobId, uint32 round, JobMarket.Job storage j)
        private
        view
        returns (uint256 x, uint256 y)
    {
        IRoundVerifier verifier = j.c.verifier;
        (x, y) = verifier.inputPoint(CONTEXT_INPUT, context(j.c, jobId, round));
        (uint256 tx_, uint256 ty) = verifier.inputPoint(DOMAIN_INPUT, domain($, jobId));
        (x, y) = _ecAdd(x, y, tx_, ty);
    }

    /// @dev Caller, status, round and time checks of `finalizeRound`; returns n.
    function _checkFinalizer(uint256 jobId, uint32 round, JobMarket.Job storage j) private view returns (uint256) {
        JobMarket.State storage s = j.s;
        JobMarket.Config storage c = j.c;
        if (msg.sender != c.aggregator) revert IJobMarketErrors.NotAggregator(msg.sender);
        if (s.status != JobMarket.Status.Active) revert IJobMarketErrors.NotActive(jobId, s.status);
        if (round != s.round) revert IJobMarketErrors.WrongRound(round, s.round);
        // Without a bond nobody could submit, but an unbonded aggregator could still settle
        // empty rounds and end the job; settlement is for a bonded aggregator only.
        if (!s.bondPosted) revert IJobMarketErrors.BondNotPosted(jobId);
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

    /// @dev Shape and consistency checks of the claimed outputs. Which slots submitted is not
    ///      read: the circuit derives presence as (C_i != 0 and not unavailable_i) and proves
    ///      unavailable_i => C_i != 0 and inlier_i => present_i, so a proof for unavailable or
    ///      inlier bits on a slot that did not submit does not verify. What is checked here is
    ///      what the flags words cannot express: bits at or above n (the verifier would be given
    ///      a word the circuit cannot have) and a slot both unavailable and an inlier.
    function _checkClaims(JobMarket.Job storage j, JobMarket.Finalization calldata f, uint256 n, uint256 words)
        private
        view
    {
        if (f.scoreWords.length != words) revert IJobMarketErrors.LengthMismatch(f.scoreWords.length, words);
        uint256 unavailable = f.unavailableBits;
        uint256 inliers = f.inlierBits;
        // n <= 256, and a shift by 256 yields 0 (no bit can lie above a 256-slot job's slots).
        if (unavailable >> n != 0) revert IJobMarketErrors.BadUnavailableBits(unavailable);
        if (inliers >> n != 0 || inliers & unavailable != 0) revert IJobMarketErrors.BadInlierBits(inliers);
        if (f.newModel == 0 || f.newModel >= SCALAR_FIELD) revert IJobMarketErrors.InvalidCommitment(f.newModel);
        if (j.c.chunks == 0 ? f.digest != 0 : (f.digest == 0 || f.digest >= SCALAR_FIELD)) {
            revert IJobMarketErrors.InvalidDigest(f.digest);
        }
        uint256 norm = f.aggregateNormSq;
        if (norm >> NORM_BITS != 0) revert IJobMarketErrors.AggregateNormOutOfRange(norm);
    }

    /// @dev Effects of a verified finalization: the outcome's hash, the new model and the next
    ///      round. The round counts as unrecorded until its first claim or `recordReliability`
    ///      allocates its budget (`recover` waits for every round to be recorded).
    function _settle(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        JobMarket.Job storage j,
        JobMarket.Finalization calldata f
    ) private {
        JobMarket.State storage s = j.s;
        uint256 oldModel = s.model;
        uint40 nowTs = uint40(block.timestamp);
        s.model = f.newModel;
        s.round = round + 1;
        s.roundStart = nowTs;
        s.submittedCount = 0; // the round's submittedBits stay (expiry reads a round's own)
        s.unrecorded += 1; // at most MAX_ROUNDS (createJob), so a uint16 holds it
        if (round + 1 == j.c.rounds) s.status = JobMarket.Status.Completed;
        // No marks yet: the round is neither recorded nor refuted.
        $.roundHash[jobId][round] = bytes32(outcomeHash(f.unavailableBits, nowTs, f.aggregateNormSq, f.scoreWords));
        if (j.c.chunks != 0) {
            $.chunkDigest[jobId][round] = keccak256(abi.encode(f.digest, nowTs));
            emit IJobMarketEvents.ChunkedRoundFinalized(jobId, round, f.digest);
        }
        emit IJobMarketEvents.RoundFinalized(
            jobId, round, oldModel, f.newModel, f.inlierBits, f.unavailableBits, nowTs, f.aggregateNormSq, f.scoreWords
        );
    }

    /// @dev Passes C(S), the flags words, the score words and H for a chunked round (plus context
    ///      and domain if nobody submitted: the C_i and order words are then 0), to the verifier
    ///      with the round's accumulator. An unchunked round's H is 0 (`_checkClaims`), whose
    ///      verifier term is the identity, so it is not passed; every flags and score word is
    ///      (the verifier does not skip zero values either). Reverts with InvalidProof on `false`.
    function _verify(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        JobMarket.Job storage j,
        JobMarket.Finalization calldata f,
        uint256 n,
        uint256 words
    ) private view {
        JobMarket.State storage s = j.s;
        bool empty = s.submittedCount == 0;
        bool chunked = j.c.chunks != 0;
        // C(S) and H if chunked, then the flags words (at `head`), the score words (at `fixed_`),
        // and the context and domain if nobody submitted. At most 2 + 4 + 52 + 2 inputs.
        uint256 head = chunked ? 2 : 1;
        uint256 flagsWords = PublicInputs.flagsWords(n);
        uint256 fixed_;
        uint256 count;
        unchecked {
            fixed_ = head + flagsWords;
            count = fixed_ + words + (empty ? 2 : 0);
        }
        uint256[] memory indices = new uint256[](count);
        uint256[] memory values = new uint256[](count);
        (indices[0], values[0]) = (AGGREGATE_INPUT, f.newModel);
        if (chunked) (indices[1], values[1]) = (DIGEST_INPUT, f.digest);
        for (uint256 k; k < flagsWords; ++k) {
            indices[head + k] = PublicInputs.flagsIndex(n, k);
            values[head + k] = PublicInputs.flagsWord(k, f.unavailableBits, f.inlierBits, f.aggregateNormSq);
        }
        for (uint256 k; k < words; ++k) {
            uint256 w = f.scoreWords[k];
            if (w >> (SCORE_BITS * PublicInputs.scoresInWord(n, k)) != 0) {
                revert IJobMarketErrors.ScoreWordOutOfRange(k);
            }
            indices[fixed_ + k] = PublicInputs.scoreIndex(n, k);
            values[fixed_ + k] = w;
        }
        uint256[2] memory acc;
        if (empty) {
            uint256 at = fixed_ + words;
            (indices[at], values[at]) = (CONTEXT_INPUT, context(j.c, jobId, round));
            (indices[at + 1], values[at + 1]) = (DOMAIN_INPUT, domain($, jobId));
        } else {
            acc[0] = s.accX;
            acc[1] = s.accY;
        }
        if (!j.c.verifier.verifyProofWithPartialInputs(f.proof, acc, indices, values)) {
            revert IJobMarketErrors.InvalidProof();
        }
    }

    /// @dev Moves a finalized round's allocation, the sum of its pro-rata shares
    ///      `roundBudget * score / total` (floored; the dust stays in escrow, and all of it if
    ///      every score is 0), from escrow to unclaimed, once per round (the caller sets the
    ///      round's RECORDED_BIT). The circuit proves an outlier's score 0, so only inliers share.
    function _allocate(uint256 jobId, uint32 round, JobMarket.Job storage j, uint256[] calldata words, uint256 total)
        private
    {
        uint256 allocated;
        if (total != 0) {
            uint256 roundBudget = j.c.roundBudget;
            uint256 n = j.c.n;
            unchecked {
                for (uint256 i; i < n; ++i) {
                    uint256 sc = ((words[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) & SCORE_MASK);
                    allocated += (roundBudget * sc) / total; // < 2^128 * 2^48; the sum is <= roundBudget
                }
            }
        }
        JobMarket.State storage s = j.s;
        s.escrow -= uint128(allocated);
        s.unclaimed += uint128(allocated);
        s.unrecorded -= 1;
        emit IJobMarketEvents.RoundAllocated(jobId, round, total, allocated);
    }

    /// @dev Writes one observation per present slot (submitted, not declared unavailable) of a
    ///      finalized round, weighted by what the slot had at stake, in one batch. The registry's
    ///      admin can revoke the market's writer role, so a refused write must not undo the
    ///      caller's claim: it is logged (`ReliabilityWriteFailed`). A write that failed for lack
    ///      of gas (the registry left less than 1/64 of the gas given, as the 63/64 rule leaves
    ///      after an out-of-gas) reverts the whole call instead, so that no caller can skip the
    ///      write by sending too little gas. The caller marked the round recorded before.
    function _writeReliability(
        MarketStorage storage $,
        ReliabilityRegistry registry,
        uint256 jobId,
        uint32 round,
        JobMarket.Job storage j,
        JobMarket.RoundOutcome calldata o
    ) private {
        (bytes32[] memory ids, uint256[] memory obs, uint256[] memory weights) = _observations($, jobId, round, j, o);
        if (ids.length == 0) {
            // Nobody present (an empty round, or every submitter declared unavailable).
            emit IJobMarketEvents.ReliabilityRecorded(jobId, round);
            return;
        }
        uint256 gasBefore = gasleft();
        try registry.recordEvidence(j.c.token, ids, obs, weights) {
            emit IJobMarketEvents.ReliabilityRecorded(jobId, round);
        } catch {
            if (gasleft() <= gasBefore / 64) revert IJobMarketErrors.ReliabilityOutOfGas();
            emit IJobMarketEvents.ReliabilityWriteFailed(jobId, round);
        }
    }

    /// @dev The observations of a finalized round's present slots: the trainer's id, its
    ///      observation `score * ONE / aggregateNormSq` (cos^2 of the angle between its update and
    ///      the inliers' sum S, in [0, ONE] by Cauchy-Schwarz; 0 for an outlier, whose score is 0,
    ///      and for S = 0) and its weight, `roundBudget / n + stake`: the slot's stake and equal
    ///      share of the round budget, the value behind the observation (contracts/README.md,
    ///      "Threat model", 5). A slot is present if it has a commitment for the round and is
    ///      not in the outcome's unavailable bits.
    function _observations(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        JobMarket.Job storage j,
        JobMarket.RoundOutcome calldata o
    ) private view returns (bytes32[] memory ids, uint256[] memory obs, uint256[] memory weights) {
        uint256 n = j.c.n;
        (uint256 present, uint256 count) = _present($.commitments[jobId][round], n, o.unavailableBits);
        ids = new bytes32[](count);
        obs = new uint256[](count);
        weights = new uint256[](count);
        uint256 weight = uint256(j.c.roundBudget) / n + j.c.stake;
        mapping(uint256 => address) storage owners = $.slotOwner[jobId];
        uint256 k;
        unchecked {
            for (uint256 i; present >> i != 0; ++i) {
                if ((present >> i) & 1 == 0) continue;
                ids[k] = bytes32(uint256(uint160(owners[i])));
                obs[k] = _observation(o, i);
                weights[k] = weight;
                ++k;
            }
        }
    }

    /// @dev The slots with a commitment for the round that the outcome does not declare
    ///      unavailable (bit i for slot i), and how many they are: the circuit's presence.
    function _present(mapping(uint256 => uint256) storage roundCommitments, uint256 n, uint256 unavailable)
        private
        view
        returns (uint256 present, uint256 count)
    {
        unchecked {
            for (uint256 i; i < n; ++i) {
                if (roundCommitments[i] != 0 && (unavailable >> i) & 1 == 0) {
                    present |= 1 << i;
                    ++count;
                }
            }
        }
    }

    /// @dev Slot i's observation, `score * ONE / aggregateNormSq`, at most ONE (Cauchy-Schwarz
    ///      bounds it so; the cap guards against the circuit's rounding), 0 if ||S||^2 = 0.
    function _observation(JobMarket.RoundOutcome calldata o, uint256 i) private pure returns (uint256 ob) {
        uint256 norm = o.aggregateNormSq;
        if (norm == 0) return 0;
        unchecked {
            // score < 2^48, so score * 1e18 < 2^108
            ob = (((o.scoreWords[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) & SCORE_MASK) * FIXED_ONE)
                / norm;
        }
        if (ob > FIXED_ONE) ob = FIXED_ONE;
    }

    /// @dev A slot's score and the total score of a round's score words.
    function _scoreOf(uint256[] calldata words, uint256 slot, uint256 n)
        private
        pure
        returns (uint256 score, uint256 total)
    {
        if (slot >= n) revert IJobMarketErrors.NothingToClaim(slot);
        score = (words[slot / SCORES_PER_WORD] >> (SCORE_BITS * (slot % SCORES_PER_WORD))) & SCORE_MASK;
        total = _totalScore(words, n);
    }

    /// @dev The sum of a round's n scores (at most 256 scores of 48 bits: it cannot overflow).
    function _totalScore(uint256[] calldata words, uint256 n) private pure returns (uint256 total) {
        unchecked {
            for (uint256 i; i < n; ++i) {
                total += ((words[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) & SCORE_MASK);
            }
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
