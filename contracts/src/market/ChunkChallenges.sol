// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JobMarket} from "../JobMarket.sol";
import {IChunkedRoundVerifier} from "../IChunkedRoundVerifier.sol";
import {IJobMarketErrors} from "../IJobMarket.sol";
import {IJobMarketEvents} from "../IJobMarketEvents.sol";
import {MarketStorage, MarketLookup, RECORDED_BIT, REFUTED_BIT} from "./MarketStorage.sol";
import {JobEscrow} from "./JobEscrow.sol";

/// @dev JobMarket's challenges of chunked rounds (contracts/README.md, "Chunked rounds"). A
///      chunked round settles on its final proof alone, which binds every chunk proof's public
///      input through H, the root of the chunk digest tree; the chunk proofs stay off chain. For
///      one dispute window after the finalization anyone may challenge a chunk, posting a
///      challenge bond of bond / n (rounded up), what one data-availability dispute takes from the aggregator. Anyone holding the chunk's proof answers: the contract checks
///      the chunk's digest opens in H and its proof verifies, and the challenger's bond pays the
///      aggregator for the trouble. A challenge still unanswered one more dispute window later
///      refutes the round: the challenger takes the aggregator's whole bond and its own bond
///      back, the round pays nobody (its budget stays in escrow for the owner) and the job ends.
///      Claims of a chunked round wait until its challenge window closed and no challenge of it
///      is open, so nothing is paid out of a round that could still be refuted.
library ChunkChallenges {
    using MarketLookup for MarketStorage;

    /// @dev challengeChunk: opens a challenge of `chunk` of a finalized chunked round.
    function challengeChunk(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        uint256 chunk,
        uint256 digest,
        uint40 finalizedAt
    ) internal {
        JobMarket.Job storage j = $.job(jobId);
        _checkDigest($, jobId, round, digest, finalizedAt);
        uint256 deadline = uint256(finalizedAt) + j.c.disputeWindow;
        if (block.timestamp > deadline) revert IJobMarketErrors.ChallengeWindowClosed(deadline, block.timestamp);
        if (chunk >= j.c.chunks) revert IJobMarketErrors.ChunkOutOfRange(chunk, j.c.chunks);
        if ($.challenger[jobId][round][chunk] != address(0)) revert IJobMarketErrors.AlreadyChallenged(chunk);
        uint256 bond = challengeBond(j);
        $.challenger[jobId][round][chunk] = msg.sender;
        $.roundChallenges[jobId][round] += 1;
        $.jobChallenges[jobId] += 1;
        emit IJobMarketEvents.ChunkChallenged(jobId, round, chunk, msg.sender, bond);
        JobEscrow.pull(j.c.token, bond);
    }

    /// @dev answerChunk: closes a challenge with the chunk's digest, its path to H and its proof.
    function answerChunk(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        uint256 chunk,
        JobMarket.ChunkAnswer calldata a
    ) internal {
        JobMarket.Job storage j = $.job(jobId);
        _checkDigest($, jobId, round, a.digest, a.finalizedAt);
        address challenger = _openChallenger($, jobId, round, chunk);
        bool valid = IChunkedRoundVerifier(address(j.c.verifier)).verifyChunk(
            chunk, a.chunkDigest, a.siblings, a.digest, a.proof
        );
        if (!valid) revert IJobMarketErrors.InvalidChunkAnswer(chunk);
        _close($, jobId, round, chunk);
        uint256 bond = challengeBond(j);
        address aggregator = j.c.aggregator;
        $.owed[j.c.token][aggregator] += bond;
        emit IJobMarketEvents.ChunkAnswered(jobId, round, chunk, challenger, aggregator, bond);
    }

    /// @dev refuteRound: settles a challenge left unanswered past its answer deadline.
    function refuteRound(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        uint256 chunk,
        uint40 finalizedAt,
        uint256 digest
    ) internal {
        JobMarket.Job storage j = $.job(jobId);
        _checkDigest($, jobId, round, digest, finalizedAt);
        address challenger = _openChallenger($, jobId, round, chunk);
        uint256 deadline = uint256(finalizedAt) + 2 * uint256(j.c.disputeWindow);
        if (block.timestamp <= deadline) revert IJobMarketErrors.DeadlineNotPassed(deadline, block.timestamp);
        _close($, jobId, round, chunk);
        JobMarket.State storage s = j.s;
        // The round's outcome slot (its masked outcome hash and marks): the round is finalized
        // (its digest checked), so it holds the hash, and the marks go above it.
        uint256 stored = uint256($.roundHash[jobId][round]);
        if ((stored >> REFUTED_BIT) & 1 == 0) {
            // The first refutation of the round: it is recorded with nothing allocated (no claim
            // could record it while challenged), and the job ends.
            $.roundHash[jobId][round] = bytes32(stored | (1 << RECORDED_BIT) | (1 << REFUTED_BIT));
            s.unrecorded -= 1;
            if (s.status == JobMarket.Status.Active || s.status == JobMarket.Status.Completed) {
                s.status = JobMarket.Status.Expired;
            }
            emit IJobMarketEvents.RoundAllocated(jobId, round, 0, 0);
        }
        uint128 slashed = s.bondHeld;
        s.bondHeld = 0;
        uint256 paid = challengeBond(j) + slashed;
        $.owed[j.c.token][challenger] += paid;
        emit IJobMarketEvents.RoundRefuted(jobId, round, chunk, challenger, slashed);
    }

    /// @dev Reverts unless a chunked round's claims may be paid: its challenge window closed,
    ///      no challenge of it open and it was not refuted (`stored`: the round's outcome slot,
    ///      as `RoundSettlement.checkOutcome` read it). Nothing for an unchunked job.
    function requireSettled(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        JobMarket.Job storage j,
        uint40 finalizedAt,
        uint256 stored
    ) internal view {
        if (j.c.chunks == 0) return;
        uint256 until = uint256(finalizedAt) + j.c.disputeWindow;
        if (block.timestamp <= until) revert IJobMarketErrors.ChallengeWindowOpen(until);
        if ($.roundChallenges[jobId][round] != 0) revert IJobMarketErrors.ChallengesOpen(jobId, round);
        if ((stored >> REFUTED_BIT) & 1 == 1) revert IJobMarketErrors.Refuted(jobId, round);
    }

    /// @dev What a challenger posts: bond / n rounded up (never 0, so no challenge is free).
    function challengeBond(JobMarket.Job storage j) internal view returns (uint256) {
        return (uint256(j.c.bond) + j.c.n - 1) / j.c.n;
    }

    /// @dev The digest a chunked round's finalization stored, with its finalization time.
    function _checkDigest(MarketStorage storage $, uint256 jobId, uint32 round, uint256 digest, uint40 finalizedAt)
        private
        view
    {
        bytes32 h = $.chunkDigest[jobId][round];
        if (h == bytes32(0) || h != keccak256(abi.encode(digest, finalizedAt))) {
            revert IJobMarketErrors.UnknownDigest(jobId, round);
        }
    }

    /// @dev The challenger of an open challenge.
    function _openChallenger(MarketStorage storage $, uint256 jobId, uint32 round, uint256 chunk)
        private
        view
        returns (address challenger)
    {
        challenger = $.challenger[jobId][round][chunk];
        if (challenger == address(0) || challenger == CLOSED) revert IJobMarketErrors.NoOpenChallenge(chunk);
    }

    /// @dev Marks a challenge closed (a chunk is challenged at most once a round).
    function _close(MarketStorage storage $, uint256 jobId, uint32 round, uint256 chunk) private {
        $.challenger[jobId][round][chunk] = CLOSED;
        $.roundChallenges[jobId][round] -= 1;
        $.jobChallenges[jobId] -= 1;
    }
}

/// @dev A closed challenge's challenger slot.
address constant CLOSED = address(1);
