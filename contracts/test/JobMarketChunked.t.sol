// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MarketBase, RoundFixture, ChunkedFixture} from "./utils/MarketBase.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IJobMarketErrors} from "../src/IJobMarket.sol";
import {IJobMarketEvents} from "../src/IJobMarketEvents.sol";
import {ChunkedRoundVerifier} from "../src/ChunkedRoundVerifier.sol";

/// @dev Settlement and challenges of a chunked round with real proofs: the n = 4, 24-parameter
///      round of test/fixtures/round_chunked_n4.json cut into 3 chunks of 8 (a digest tree of
///      depth 2), its final proof and every chunk's proof.
contract JobMarketChunkedTest is MarketBase {
    address internal challenger = address(0xC4A11);
    RoundFixture internal f;
    ChunkedFixture internal c;
    ChunkedRoundVerifier internal verifier;
    uint256 internal jobId;

    function setUp() public {
        _deployMarket();
        vm.warp(1_000_000);
        f = loadFixture("chunked_n4");
        c = loadChunked("chunked_n4");
        verifier = deployChunkedVerifier("chunked_n4", c.chunks);
        jobId = setUpJob(f, verifier, 1);
        vm.deal(challenger, 1e6 ether);
    }

    function chunkedFinalization() internal view returns (JobMarket.Finalization memory fin) {
        fin = finalization(f); // newModel is the fixture's C(S)
        fin.digest = c.digest;
    }

    /// @dev Submits the fixture's commitments and finalizes; returns the finalization time.
    function finalizeChunked() internal returns (uint40 at) {
        submitAll(jobId, 0, f);
        JobMarket.Finalization memory fin = chunkedFinalization();
        vm.prank(aggregator);
        market.finalizeRound(jobId, 0, fin);
        return uint40(_now());
    }

    function answer(uint256 chunk, uint40 at) internal view returns (JobMarket.ChunkAnswer memory a) {
        a.digest = c.digest;
        a.finalizedAt = at;
        a.chunkDigest = c.chunkDigests[chunk];
        a.siblings = new uint256[](c.depth);
        for (uint256 i; i < c.depth; ++i) {
            a.siblings[i] = c.chunkPaths[chunk * c.depth + i];
        }
        for (uint256 i; i < 8; ++i) {
            a.proof[i] = c.chunkProofs[chunk * 8 + i];
        }
    }

    function challenge(uint256 chunk, uint40 at) internal {
        uint256 bond = (BOND + f.n - 1) / f.n;
        vm.prank(challenger);
        market.challengeChunk{value: bond}(jobId, 0, chunk, c.digest, at);
    }

    /// @dev The first inlier's slot (it has a score to claim).
    function payee() internal view returns (uint256 slot) {
        while (f.scores[slot] == 0) ++slot;
    }

    function test_ChunkedRoundSettlesOnItsFinalProofAndPaysAfterTheChallengeWindow() public {
        assertEq(market.jobConfig(jobId).chunks, c.chunks, "the job is chunked");
        submitAll(jobId, 0, f);
        JobMarket.Finalization memory fin = chunkedFinalization();
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.ChunkedRoundFinalized(jobId, 0, c.digest);
        vm.prank(aggregator);
        market.finalizeRound(jobId, 0, fin);
        uint40 at = uint40(_now());
        assertEq(market.jobState(jobId).model, f.newModel, "C(S) stored");

        JobMarket.RoundOutcome memory o = outcome(fin, at);
        uint256 slot = payee();
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ChallengeWindowOpen.selector, at + WINDOW));
        market.claim(jobId, 0, slot, o);
        vm.warp(at + WINDOW + 1);
        market.claim(jobId, 0, slot, o);
        assertTrue(market.owed(address(0), trainers[slot]) > 0, "paid once the window closed");
    }

    function test_Attack_ChunkedFinalizationWithAnotherDigestFails() public {
        submitAll(jobId, 0, f);
        JobMarket.Finalization memory fin = chunkedFinalization();
        fin.digest = c.digest + 1;
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);
        fin.digest = 0;
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidDigest.selector, 0));
        market.finalizeRound(jobId, 0, fin);
        // C(S) of another aggregate.
        fin = chunkedFinalization();
        fin.newModel += 1;
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);
    }

    function test_AnsweredChallengePaysTheAggregatorAndReleasesTheClaims() public {
        uint40 at = finalizeChunked();
        for (uint256 k; k < c.chunks; ++k) {
            challenge(k, at);
        }
        JobMarket.RoundOutcome memory o = outcome(chunkedFinalization(), at);
        vm.warp(at + WINDOW + 1);
        uint256 slot = payee();
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ChallengesOpen.selector, jobId, 0));
        market.claim(jobId, 0, slot, o);
        uint256 bond = (BOND + f.n - 1) / f.n;
        for (uint256 k; k < c.chunks; ++k) {
            vm.expectEmit(true, true, true, true, address(market));
            emit IJobMarketEvents.ChunkAnswered(jobId, 0, k, challenger, aggregator, bond);
            market.answerChunk(jobId, 0, k, answer(k, at));
        }
        assertEq(market.owed(address(0), aggregator), c.chunks * bond, "every challenge bond to the aggregator");
        market.claim(jobId, 0, slot, o);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NoOpenChallenge.selector, 0));
        market.answerChunk(jobId, 0, 0, answer(0, at));
    }

    function test_Attack_AForgedAnswerIsRefused() public {
        uint40 at = finalizeChunked();
        challenge(1, at);
        JobMarket.ChunkAnswer memory a = answer(1, at);
        a.siblings[0] += 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidChunkAnswer.selector, 1));
        market.answerChunk(jobId, 0, 1, a);
        // Another chunk's valid digest, path and proof do not answer for chunk 1.
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidChunkAnswer.selector, 1));
        market.answerChunk(jobId, 0, 1, answer(0, at));
        // The right digest and path with another chunk's proof.
        a = answer(1, at);
        for (uint256 i; i < 8; ++i) {
            a.proof[i] = c.chunkProofs[2 * 8 + i];
        }
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidChunkAnswer.selector, 1));
        market.answerChunk(jobId, 0, 1, a);
        // Another H.
        a = answer(1, at);
        a.digest += 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownDigest.selector, jobId, 0));
        market.answerChunk(jobId, 0, 1, a);
        market.answerChunk(jobId, 0, 1, answer(1, at));
    }

    function test_Attack_WithheldChunkProofRefutesTheRoundAndSlashesTheBond() public {
        uint40 at = finalizeChunked();
        challenge(2, at);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.DeadlineNotPassed.selector, at + 2 * WINDOW, _now()));
        market.refuteRound(jobId, 0, 2, at, c.digest);
        vm.warp(at + 2 * WINDOW + 1);
        uint256 bond = (BOND + f.n - 1) / f.n;
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.RoundRefuted(jobId, 0, 2, challenger, BOND);
        market.refuteRound(jobId, 0, 2, at, c.digest);
        assertEq(market.owed(address(0), challenger), bond + BOND, "challenge bond back and the aggregator's bond");
        JobMarket.State memory s = market.jobState(jobId);
        assertEq(uint256(s.status), uint256(JobMarket.Status.Expired), "the job ends");
        assertEq(s.bondHeld, 0, "bond slashed");
        assertEq(s.unrecorded, 0, "the refuted round is recorded with nothing allocated");
        JobMarket.RoundOutcome memory o = outcome(chunkedFinalization(), at);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.Refuted.selector, jobId, 0));
        market.claim(jobId, 0, payee(), o);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NoOpenChallenge.selector, 2));
        market.refuteRound(jobId, 0, 2, at, c.digest);
        // The owner takes the whole budget back.
        vm.prank(owner);
        market.recover(jobId);
        assertEq(market.owed(address(0), owner), BUDGET, "budget recovered");
    }

    function test_Attack_BondIsNotReleasedWhileAChallengeIsOpen() public {
        uint40 at = finalizeChunked();
        challenge(0, at);
        vm.warp(at + 2 * WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ChallengesOpen.selector, jobId, 0));
        market.releaseBond(jobId);
        market.answerChunk(jobId, 0, 0, answer(0, at));
        market.releaseBond(jobId);
        assertEq(market.owed(address(0), aggregator), BOND + (BOND + f.n - 1) / f.n, "bond and challenge bond");
    }

    function test_BondOfAChunkedJobWaitsTwoDisputeWindows() public {
        uint40 at = finalizeChunked();
        vm.warp(at + WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BondLocked.selector, at + 2 * WINDOW));
        market.releaseBond(jobId);
    }

    function test_ChallengesOutsideTheRulesAreRefused() public {
        uint40 at = finalizeChunked();
        uint256 bond = (BOND + f.n - 1) / f.n;
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ChunkOutOfRange.selector, c.chunks, c.chunks));
        market.challengeChunk{value: bond}(jobId, 0, c.chunks, c.digest, at);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongValue.selector, bond - 1, bond));
        market.challengeChunk{value: bond - 1}(jobId, 0, 0, c.digest, at);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownDigest.selector, jobId, 0));
        market.challengeChunk{value: bond}(jobId, 0, 0, c.digest, at + 1);
        challenge(0, at);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadyChallenged.selector, 0));
        market.challengeChunk{value: bond}(jobId, 0, 0, c.digest, at);
        vm.warp(at + WINDOW + 1);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ChallengeWindowClosed.selector, at + WINDOW, _now()));
        market.challengeChunk{value: bond}(jobId, 0, 1, c.digest, at);
    }

    function test_Attack_AnUnchunkedJobTakesNoDigest() public {
        RoundFixture memory r = loadFixture("n4");
        uint256 plain = setUpJob(r, deployVerifier("n4"), 1);
        assertEq(market.jobConfig(plain).chunks, 0, "a generated round verifier has no chunks");
        submitAll(plain, 0, r);
        JobMarket.Finalization memory fin = finalization(r);
        fin.digest = 1;
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidDigest.selector, 1));
        market.finalizeRound(plain, 0, fin);
    }
}
