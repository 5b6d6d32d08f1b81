// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MockMarketBase} from "./utils/MarketBase.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IJobMarketErrors} from "../src/IJobMarket.sol";
import {IJobMarketEvents} from "../src/IJobMarketEvents.sol";
import {
    PublicInputs,
    SCORE_BITS,
    SCORE_MASK,
    ORDER_RANK_BITS,
    CONTEXT_INPUT,
    DOMAIN_INPUT
} from "../src/market/PublicInputs.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {LinearMockVerifier} from "./utils/Mocks.sol";
import {G1} from "./utils/G1.sol";
import {SCALAR_FIELD as R, OUTCOME_HASH_MASK} from "../src/market/MarketStorage.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";

/// @notice Rounds of JobMarket (market/RoundSettlement.sol): submissions, finalization, allocation,
///         reliability and claims, with bad input and every revert path.
///         Where a real round-0 proof cannot reach (later rounds, unavailable or absent slots,
///         arbitrary scores, a verifier answering false) the MockVerifier stands in; real proofs
///         are in JobMarketProof.t.sol.
contract JobMarketSettlementTest is MockMarketBase {
    // ---------------------------------------------------------------- submitUpdate

    function test_SubmitUpdateReverts() public {
        uint256 jobId = _jobBeforeStart(2);
        vm.prank(trainers[0]);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketErrors.RoundNotOpen.selector, _now() + 100, _now())
        );
        market.submitUpdate(jobId, 0, 1, "b");
        vm.warp(_now() + 100);
        vm.startPrank(trainers[0]);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongRound.selector, 1, 0));
        market.submitUpdate(jobId, 1, 1, "b");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidCommitment.selector, 0));
        market.submitUpdate(jobId, 0, 0, "b");
        uint256 r = market.R();
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidCommitment.selector, r));
        market.submitUpdate(jobId, 0, r, "b");
        vm.expectRevert(IJobMarketErrors.ZeroBlobRef.selector);
        market.submitUpdate(jobId, 0, 5, 0);
        market.submitUpdate(jobId, 0, 5, "b");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadySubmitted.selector, 0));
        market.submitUpdate(jobId, 0, 6, "b");
        vm.stopPrank();
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotTrainer.selector, address(0xBAD)));
        market.submitUpdate(jobId, 0, 5, "b");
        uint256 deadline = _now() + WINDOW;
        vm.warp(deadline + 1);
        vm.prank(trainers[1]);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SubmissionClosed.selector, deadline, deadline + 1));
        market.submitUpdate(jobId, 0, 5, "b");
        assertEq(market.commitments(jobId, 0, 0), 5, "first submission kept");
        assertEq(market.blobRefs(jobId, 0, 0), "b", "and its blob reference");
        assertEq(market.commitments(jobId, 0, 1), 0, "late one not stored");
        assertEq(market.blobRefs(jobId, 0, 1), 0, "nor its blob reference");
    }

    function test_SubmitNeedsTheBond() public {
        uint256 jobId = createEthJob(_params(2));
        vm.deal(_trainer(0), 10 ether);
        vm.prank(_trainer(0));
        market.join{value: STAKE}(jobId);
        vm.warp(_now() + 100);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BondNotPosted.selector, jobId));
        market.submitUpdate(jobId, 0, 5, "b");
    }

    function test_SubmitEmitsAndStores() public {
        uint256 jobId = _job(2);
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.UpdateSubmitted(jobId, 0, 2, trainers[2], 99, bytes32("blob"));
        vm.prank(trainers[2]);
        market.submitUpdate(jobId, 0, 99, bytes32("blob"));
        JobMarket.State memory s = market.jobState(jobId);
        assertEq(market.submittedBits(jobId, 0), 4, "bit 2");
        assertEq(s.submittedCount, 1, "count");
        assertEq(market.roundHash(jobId, 0), bytes32(uint256(1)), "pending record");
        assertEq(market.blobRefs(jobId, 0, 2), bytes32("blob"), "blob reference stored");
    }

    /// @dev The accumulator after submissions holds the verifier terms of the head (context,
    ///      domain), of each commitment and of each submitter's rank in its order word, for
    ///      a shuffled submission order: with LinearMockVerifier (inputPoint(i, v) = v (i + 1) G)
    ///      it is E G, E the sum of value (index + 1) over the inputs the circuit reads, the order
    ///      word being slot i's rank (1 = first) at byte i.
    function test_SubmissionsFoldRanksInSubmissionOrder() public {
        LinearMockVerifier lin = new LinearMockVerifier(N);
        market.setVerifierApproval(address(lin), true);
        JobMarket.JobParams memory p = _params(1);
        p.verifier = IRoundVerifier(address(lin));
        uint256 jobId = createEthJob(p);
        bondAndJoinAll(jobId, N);
        vm.warp(_now() + 100);
        uint256[4] memory order = [uint256(2), 0, 3, 1];
        for (uint256 k; k < N; ++k) {
            vm.prank(trainers[order[k]]);
            market.submitUpdate(jobId, 0, 100 + order[k], _blob(0, order[k]));
        }
        // Slot 2 first, then slots 0, 3 and 1: ranks 2, 4, 1, 3 at slots 0..3.
        uint256 orderWord = 2 | (4 << ORDER_RANK_BITS) | (1 << (2 * ORDER_RANK_BITS)) | (3 << (3 * ORDER_RANK_BITS));
        uint256 e = lin.scalarOf(CONTEXT_INPUT, market.context(jobId, 0));
        e = addmod(e, lin.scalarOf(DOMAIN_INPUT, market.domain(jobId)), R);
        for (uint256 i; i < N; ++i) {
            e = addmod(e, lin.scalarOf(PublicInputs.updateIndex(i), 100 + i), R);
        }
        e = addmod(e, lin.scalarOf(PublicInputs.orderIndex(N, 0), orderWord), R);
        (uint256 x, uint256 y) = G1.mul(G1.GX, G1.GY, e);
        JobMarket.State memory s = market.jobState(jobId);
        assertEq(s.accX, x, "accumulator x");
        assertEq(s.accY, y, "accumulator y");
    }

    /// @dev The domain hashes the chain id, the market, the job and its roster.
    function test_DomainBindsChainMarketJobAndRoster() public {
        uint256 jobId = _job(1);
        bytes32 roster = market.jobState(jobId).rosterHash;
        uint256 expected = uint256(keccak256(abi.encode(block.chainid, address(market), jobId, roster))) % market.R();
        assertEq(market.domain(jobId), expected, "keccak256(chain id, market, job, roster hash) mod r");
        uint256 other = createEthJob(_params(1)); // same terms, another job id and an empty roster
        assertTrue(market.domain(other) != market.domain(jobId), "another job, another domain");
        vm.chainId(5);
        assertTrue(market.domain(jobId) != expected, "another chain, another domain");
    }

    // ---------------------------------------------------------------- finalizeRound

    function test_FinalizeReverts() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0x7); // slots 0..2; slot 3 has not submitted yet
        JobMarket.Finalization memory f = _fin(0x7, 0);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotAggregator.selector, address(this)));
        market.finalizeRound(jobId, 0, f);
        vm.startPrank(aggregator);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketErrors.SubmissionsStillOpen.selector, _now() + WINDOW)
        );
        market.finalizeRound(jobId, 0, f);
        vm.warp(_now() + WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongRound.selector, 1, 0));
        market.finalizeRound(jobId, 1, f);
        f.scoreWords = new uint256[](2);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.LengthMismatch.selector, 2, 1));
        market.finalizeRound(jobId, 0, f);
        // Bits at or above n: no flags word of the circuit has them.
        f = _fin(0x7, 1 << N);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BadUnavailableBits.selector, 1 << N));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 1 << 255);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BadUnavailableBits.selector, 1 << 255));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7 | (1 << N), 0);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BadInlierBits.selector, 0x7 | (1 << N)));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0x1); // slot 0 unavailable and inlier
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BadInlierBits.selector, 0x7));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0);
        f.aggregateNormSq = uint128(1 << 96); // does not fit bits 128..224 of the flags
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AggregateNormOutOfRange.selector, 1 << 96));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0);
        f.newModel = 0;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidCommitment.selector, 0));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0);
        f.scoreWords[0] |= 1 << (4 * SCORE_BITS); // a fifth score in a word of four slots
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ScoreWordOutOfRange.selector, 0));
        market.finalizeRound(jobId, 0, f);
        mock.setAnswer(false);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, _fin(0x7, 0));
        mock.setAnswer(true);
        uint256 deadline = _now() - 1 + WINDOW;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.FinalizationClosed.selector, deadline, deadline + 1));
        market.finalizeRound(jobId, 0, _fin(0x7, 0));
        vm.stopPrank();
        assertEq(market.jobState(jobId).round, 0, "nothing changed");
    }

    function test_FinalizeEarlyWhenEveryoneSubmitted() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0xF, 0);
        vm.record();
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.RoundFinalized(jobId, 0, 12345, 777, 0xF, 0, uint40(_now()), NORM, f.scoreWords);
        _finalize(jobId, 0, f);
        (bytes32[] memory reads, bytes32[] memory writes) = vm.accesses(address(market));
        assertEq(market.jobState(jobId).round, 1, "advanced inside the submission window");
        // The storage a finalization touches (each a cold slot in a real transaction): config
        // slots 0 and 1, state slot 0, the model, the two accumulator words and the outcome
        // slot; not the submitted bitmap, the joined bitmap or the config slot with f.
        assertEq(touched(reads, writes), 7, "seven slots");
        assertEq(distinct(writes), 3, "writes: state slot 0, the model, the outcome slot");
    }

    /// @dev Which slots submitted is the proof's to check, not the contract's: the circuit
    ///      derives presence as (C_i != 0 and not unavailable_i) and proves unavailable_i =>
    ///      C_i != 0 and inlier_i => present_i. So finalization reads no submitted bitmap, and a
    ///      finalization declaring a non-submitter unavailable (or an inlier) reaches the
    ///      verifier, whose answer decides (a real verifier: JobMarketProofTest's
    ///      test_Attack_UnavailableNonSubmitterIsRefusedByTheProof). The submitted bitmap stays
    ///      per round after finalization.
    function test_NonSubmitterBitsAreTheProofsToRefuse() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0x7); // slot 3 does not submit
        vm.warp(_now() + WINDOW + 1);
        mock.setAnswer(false);
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, _fin(0x3, 0x8)); // slot 3 "unavailable"
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, _fin(0xF, 0)); // slot 3 an "inlier"
        mock.setAnswer(true);
        _finalize(jobId, 0, _fin(0x7, 0));
        assertEq(market.submittedBits(jobId, 0), 0x7, "round 0's submitters, kept after finalization");
        assertEq(market.submittedBits(jobId, 1), 0, "round 1 starts with none");
        assertEq(market.jobState(jobId).submittedCount, 0, "the count restarts");
    }

    JobMarket.RoundOutcome internal o0;
    JobMarket.RoundOutcome internal o1;
    JobMarket.RoundOutcome internal o2;

    /// @dev Round 0: all submit, slot 3 is an outlier, scores 1, 2, 3. Round 1: slot 2 absent,
    ///      slot 1 declared unavailable, scores 1 and 4. Round 2: nobody submits; the aggregator
    ///      proves an empty round (context and C(w) are passed as inputs, not accumulated).
    function _threeRounds(uint256 jobId) internal {
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0x7, 0);
        o0 = outcome(f, _finalize(jobId, 0, f));
        vm.warp(_now() + 10);
        _submit(jobId, 1, 0xB);
        vm.warp(_now() + WINDOW + 1);
        f = _fin(0x9, 0x2);
        o1 = outcome(f, _finalize(jobId, 1, f));
        vm.warp(_now() + WINDOW + 1);
        f = _fin(0, 0);
        o2 = outcome(f, _finalize(jobId, 2, f));
    }

    function test_RoundsPaymentsAndReliability() public {
        uint256 jobId = _job(3);
        uint256 roundBudget = BUDGET / 3;
        _threeRounds(jobId);
        assertEq(uint256(market.jobState(jobId).status), uint256(JobMarket.Status.Completed), "completed");
        assertEq(market.jobState(jobId).model, 777, "model");

        for (uint256 i; i < 3; ++i) {
            market.claim(jobId, 0, i, o0);
        }
        market.claim(jobId, 1, 0, o1);
        market.claim(jobId, 1, 3, o1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToClaim.selector, 3));
        market.claim(jobId, 0, 3, o0);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToClaim.selector, 1));
        market.claim(jobId, 1, 1, o1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToClaim.selector, 0));
        market.claim(jobId, 2, 0, o2);
        assertEq(market.owed(address(0), trainers[0]), roundBudget / 6 + roundBudget / 5, "slot 0");
        assertEq(market.owed(address(0), trainers[1]), (roundBudget * 2) / 6, "slot 1");
        assertEq(market.owed(address(0), trainers[2]), (roundBudget * 3) / 6, "slot 2");
        assertEq(market.owed(address(0), trainers[3]), (roundBudget * 4) / 5, "slot 3");
        _checkReliability(jobId, roundBudget / N + STAKE);
        assertEq(market.jobState(jobId).unclaimed, 0, "all claimed");
        _endOfJob(jobId, o2.finalizedAt);
    }

    /// @dev Reliability of `_threeRounds`, written by the first claim of rounds 0 and 1 and by
    ///      `recordReliability` for round 2 (nobody can claim it), each observation `score /
    ///      ||S||^2` (NORM = 4) with weight `w`: round 0 observes 1/4, 2/4, 3/4 and 0 (outlier);
    ///      round 1 observes 1/4 for slot 0 and 4/4 for slot 3 (slot 1 unavailable, slot 2 absent).
    function _checkReliability(uint256 jobId, uint256 w) internal {
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ReliabilityAlreadyRecorded.selector, jobId, 0));
        market.recordReliability(jobId, 0, o0);
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.ReliabilityRecorded(jobId, 2);
        market.recordReliability(jobId, 2, o2); // an empty round: nothing to observe
        uint256[2][4] memory obs = [[uint256(0.25e18), 0.25e18], [uint256(0.5e18), 0], [uint256(0.75e18), 0], [uint256(0), 1e18]];
        uint256[4] memory count = [uint256(2), 1, 1, 2];
        for (uint256 i; i < N; ++i) {
            ReliabilityRegistry.Evidence memory e = registry.evidence(idOf(trainers[i]), address(0));
            assertEq(e.observations, count[i], "observed in the rounds it was present");
            assertEq(e.weight, count[i] * w, "each observation weighs the stake plus the equal share");
            assertEq(e.weightedSum, (w * obs[i][0]) / 1e18 + (w * obs[i][1]) / 1e18, "score / ||S||^2, weighted");
        }
        (uint256 mean,) = registry.weightedMean(idOf(trainers[3]), address(0));
        assertEq(mean, 0.5e18, "outlier, then a perfect inlier");
        assertEq(registry.get(idOf(trainers[0])).observations, 0, "the moving average is not the market's");
    }

    /// @dev Attack: the owner of an ended job recovers before anyone claimed, to take the
    ///      trainers' shares, which finalization left in escrow. `recover` waits until every
    ///      finalized round is recorded; recording moves the shares out of escrow first, so the
    ///      owner only ever gets the dust and the unplayed rounds' budgets.
    function test_Attack_OwnerRecoversBeforeClaims() public {
        uint256 jobId = _job(3);
        uint256 roundBudget = BUDGET / 3;
        _threeRounds(jobId);
        JobMarket.State memory s = market.jobState(jobId);
        assertEq(s.escrow, BUDGET, "finalization allocated nothing yet");
        assertEq(s.unrecorded, 3, "three rounds to record");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.RoundsNotRecorded.selector, jobId, 3));
        market.recover(jobId);
        // The owner records the rounds itself (anyone may); round 0's shares: 1, 2, 3 of 6.
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.RoundAllocated(jobId, 0, 6, roundBudget / 6 + (roundBudget * 2) / 6 + roundBudget / 2);
        market.recordReliability(jobId, 0, o0);
        market.recordReliability(jobId, 1, o1);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.RoundsNotRecorded.selector, jobId, 1));
        market.recover(jobId);
        market.recordReliability(jobId, 2, o2);
        s = market.jobState(jobId);
        uint256 owedToTrainers = roundBudget / 6 + (roundBudget * 2) / 6 + roundBudget / 2 + roundBudget / 5
            + (roundBudget * 4) / 5;
        assertEq(s.unclaimed, owedToTrainers, "rounds 0 and 1 allocated");
        vm.prank(owner);
        market.recover(jobId);
        assertEq(market.owed(address(0), owner), BUDGET - owedToTrainers, "the owner gets the rest only");
        for (uint256 i; i < 3; ++i) {
            market.claim(jobId, 0, i, o0);
        }
        market.claim(jobId, 1, 0, o1);
        market.claim(jobId, 1, 3, o1);
        assertEq(market.jobState(jobId).unclaimed, 0, "every share still paid");
    }

    /// @dev The owner recovers the unallocated rest (never what is owed), the bond is released
    ///      after the dispute window, stakes are freed, and everything is paid out exactly once.
    function _endOfJob(uint256 jobId, uint40 lastFinalized) internal {
        vm.prank(owner);
        market.recover(jobId);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BondLocked.selector, lastFinalized + WINDOW));
        market.releaseBond(jobId);
        vm.warp(lastFinalized + WINDOW + 1);
        market.releaseBond(jobId);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToSlash.selector, jobId));
        market.releaseBond(jobId);
        _leaveAll(jobId);
        _withdrawAll();
        assertEq(address(market).balance, 0, "everything paid out, nothing twice");
    }

    /// @dev Pro-rata shares never exceed the round budget and leave less than n wei of dust.
    function testFuzz_AllocationIsProRata(uint256[4] memory raw, uint8 inliers) public {
        uint256 jobId = _job(1);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(uint256(inliers & 0xF), 0);
        f.scoreWords[0] = 0;
        uint256 total;
        for (uint256 i; i < N; ++i) {
            if ((inliers >> i) & 1 == 0) continue;
            uint256 sc = bound(raw[i], 0, SCORE_MASK);
            f.scoreWords[0] |= sc << (SCORE_BITS * i); // N < SCORES_PER_WORD: one word
            total += sc;
        }
        uint40 t = _finalize(jobId, 0, f);
        uint256 paid;
        for (uint256 i; i < N; ++i) {
            uint256 sc = (f.scoreWords[0] >> (SCORE_BITS * i)) & SCORE_MASK;
            if (sc == 0) continue;
            market.claim(jobId, 0, i, outcome(f, t));
            assertEq(market.owed(address(0), trainers[i]), (BUDGET * sc) / total, "share");
            paid += (BUDGET * sc) / total;
        }
        assertLe(paid, BUDGET, "within budget");
        if (total != 0) assertLe(BUDGET - paid, N, "dust below n wei");
        assertEq(market.jobState(jobId).escrow, BUDGET - paid, "dust stays in escrow");
        assertEq(market.jobState(jobId).unclaimed, 0, "all claimed");
    }

    /// @dev The context packs every field at its documented offset.
    function testFuzz_ContextLayout(uint8 f, uint32 tau, uint32 lr, uint32 dupTol) public {
        lr = uint32(bound(lr, 3, (1 << 16) - 1)); // createJob refuses lr >= 2^16
        JobMarket.JobParams memory p = _params(2);
        p.maxMalicious = uint8(bound(f, 0, N - 1));
        tau = uint32(bound(tau, 1 << 16, type(uint32).max)); // createJob refuses tau < 1.0
        p.tau = tau;
        p.lr = lr;
        p.lrDecay = 1;
        p.dupTol = dupTol;
        uint256 jobId = createEthJob(p);
        uint256 c = market.context(jobId, 1);
        assertTrue(lr < 1 << 16, "createJob refuses lr >= 2^16");
        assertEq(c & type(uint64).max, jobId, "job");
        assertEq((c >> 64) & type(uint32).max, 1, "round");
        assertEq((c >> 96) & 0xFF, p.maxMalicious, "f");
        assertEq((c >> 104) & type(uint32).max, tau, "tau");
        assertEq((c >> 136) & type(uint32).max, lr - 1, "lr of round 1");
        assertEq((c >> 168) & type(uint32).max, lr - 2, "next lr");
        assertEq((c >> 200) & type(uint32).max, dupTol, "dup_tol");
        assertEq(c >> 232, 0, "nothing above");
    }

    // ---------------------------------------------------------------- claim

    /// @dev A round's outcome slot holds keccak256 of its outcome with the top two bits cleared
    ///      (OUTCOME_HASH_MASK) and the recorded/refuted marks in those two bits. A claim compares
    ///      the 254 hash bits and nothing else: with the slot's top hash bit (253) flipped the
    ///      true outcome is refused, while bits 254 and 255 are read as marks, never as hash.
    ///      (An outcome whose keccak differs from the true one's only in the top two bits would
    ///      be a 254-bit near-collision of keccak, which nobody can produce; the slot is written
    ///      with vm.store instead.)
    function test_ClaimComparesTheOutcomeHashBelowTheMarks() public {
        uint256 jobId = _job(1);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0xF, 0);
        JobMarket.RoundOutcome memory o = outcome(f, _finalize(jobId, 0, f));
        uint256 full =
            uint256(keccak256(abi.encode(o.unavailableBits, o.finalizedAt, o.aggregateNormSq, o.scoreWords)));
        vm.record();
        uint256 stored = uint256(market.roundHash(jobId, 0));
        (bytes32[] memory reads,) = vm.accesses(address(market));
        bytes32 slot = reads[0];
        assertEq(stored, full & OUTCOME_HASH_MASK, "the keccak with its top two bits cleared");
        assertEq(OUTCOME_HASH_MASK, type(uint256).max >> 2, "254 bits of hash");

        // The top hash bit differs: refused.
        vm.store(address(market), slot, bytes32(stored ^ (1 << 253)));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownOutcome.selector, jobId, 0));
        market.claim(jobId, 0, 0, o);
        // An outcome that differs from the true one is refused whatever the marks say.
        JobMarket.RoundOutcome memory forged = outcome(f, o.finalizedAt);
        forged.unavailableBits = 1 << 255;
        vm.store(address(market), slot, bytes32(stored | (3 << 254)));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownOutcome.selector, jobId, 0));
        market.claim(jobId, 0, 0, forged);

        // Only the top two bits differ: they are the marks, not hash bits. With the recorded mark
        // set the true outcome matches and the claim pays without recording the round again.
        vm.store(address(market), slot, bytes32(stored));
        market.claim(jobId, 0, 0, o);
        assertEq(uint256(market.roundHash(jobId, 0)), stored | (1 << 255), "the first claim sets the recorded mark");
        market.claim(jobId, 0, 1, o);
        assertEq(market.claimedBits(jobId, 0), 0x3, "slots 0 and 1 claimed");
        (bool recorded, bool refuted) = market.roundMarks(jobId, 0);
        assertTrue(recorded && !refuted, "marks");
    }

    function test_ClaimReverts() public {
        uint256 jobId = _job(2);
        JobMarket.Finalization memory f = _fin(0x3, 0);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownOutcome.selector, jobId, 0));
        market.claim(jobId, 0, 0, outcome(f, uint40(_now())));
        _submit(jobId, 0, 0xF);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownOutcome.selector, jobId, 0));
        market.claim(jobId, 0, 0, outcome(f, uint40(_now()))); // pending, not finalized
        uint40 t = _finalize(jobId, 0, f);
        JobMarket.RoundOutcome memory o = outcome(f, t);
        o.scoreWords = new uint256[](1);
        o.scoreWords[0] = 1 << 200; // a forged outcome
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownOutcome.selector, jobId, 0));
        market.claim(jobId, 0, 0, o);
        o = outcome(f, t);
        o.aggregateNormSq = 1; // a forged ||S||^2 (to inflate observations)
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownOutcome.selector, jobId, 0));
        market.claim(jobId, 0, 0, o);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownOutcome.selector, jobId, 0));
        market.recordReliability(jobId, 0, o);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownOutcome.selector, jobId, 1));
        market.recordReliability(jobId, 1, outcome(f, t)); // not finalized
        (bool recorded, bool refuted) = market.roundMarks(jobId, 0);
        assertTrue(!recorded && !refuted, "no marks before the first claim");
        market.claim(jobId, 0, 0, outcome(f, t));
        (recorded, refuted) = market.roundMarks(jobId, 0);
        assertTrue(recorded && !refuted, "the first claim records the round");
        assertEq(market.claimedBits(jobId, 0), 1, "slot 0 claimed");
        assertEq(market.disputedBits(jobId, 0), 0, "nothing disputed");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadySettled.selector, 0));
        market.claim(jobId, 0, 0, outcome(f, t));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToClaim.selector, 7));
        market.claim(jobId, 0, 7, outcome(f, t));
    }
}
