// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MarketBase, RoundFixture} from "./utils/MarketBase.sol";
import {MockVerifier, InputCheckingVerifier, MockChunkedVerifier} from "./utils/Mocks.sol";
import {ExpectedInputs} from "./utils/ExpectedInputs.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IJobMarketErrors} from "../src/IJobMarket.sol";
import {IJobMarketEvents} from "../src/IJobMarketEvents.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";
import {OUTCOME_HASH_MASK} from "../src/market/MarketStorage.sol";
import {
    PublicInputs,
    SCORES_PER_WORD,
    SCORE_BITS,
    NORM_BITS,
    CTX_MAX_MALICIOUS_OFFSET
} from "../src/market/PublicInputs.sol";

/// @notice Rounds of real size (issue "Rounds of real size", part 2): jobs of up to 256 slots,
///         whose slot bitmaps are uint256 and whose flags public input is ceil(n / 64) words
///         (statement v4). A mock verifier stands in for the proof (no 256-slot fixture exists);
///         InputCheckingVerifier checks the flags words the market passes against
///         ExpectedInputs' restatement of the layout.
contract JobMarketWideRoundsTest is MarketBase {
    uint256 internal constant WIDE = 256;
    /// @dev ||S||^2 of the rounds here: scores (slot + 1) stay well below it.
    uint128 internal constant WIDE_NORM = 1e6;

    MockVerifier internal mock;

    function setUp() public {
        _deployMarket();
        mock = new MockVerifier(WIDE);
        market.setVerifierApproval(address(mock), true);
        vm.warp(1_000_000);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Job terms of n slots for verifier `v`, `rounds` rounds, initial model 12345.
    function _wideParams(IRoundVerifier v, uint256 n, uint32 rounds)
        internal
        view
        returns (JobMarket.JobParams memory p)
    {
        RoundFixture memory f;
        f.n = n;
        f.params = 8;
        f.model = 12345;
        p = jobParams(f, v, address(0), rounds);
    }

    /// @dev A 256-slot job with its bond posted, every slot joined (trainer i in slot i) and
    ///      round 0 open.
    function _openWide(IRoundVerifier v, uint32 rounds) internal returns (uint256 jobId) {
        jobId = createEthJob(_wideParams(v, WIDE, rounds));
        bondAndJoinAll(jobId, WIDE);
        vm.warp(_now() + 100);
    }

    /// @dev The trainers of the slots in `mask` submit commitment 1000 + 10 * round + slot.
    function _submitWide(uint256 jobId, uint32 round, uint256 mask) internal {
        for (uint256 i; i < WIDE; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            vm.prank(trainers[i]);
            market.submitUpdate(jobId, round, 1000 + 10 * round + i, keccak256(abi.encode("blob", round, i)));
        }
    }

    /// @dev Inliers `inliers` score slot + 1, ||S||^2 = WIDE_NORM.
    function _finWide(uint256 inliers, uint256 unavailable) internal pure returns (JobMarket.Finalization memory f) {
        f.newModel = 777;
        f.aggregateNormSq = WIDE_NORM;
        f.inlierBits = inliers;
        f.unavailableBits = unavailable;
        f.scoreWords = new uint256[](PublicInputs.scoreWords(WIDE));
        for (uint256 i; i < WIDE; ++i) {
            if ((inliers >> i) & 1 == 1) {
                f.scoreWords[i / SCORES_PER_WORD] |= (i + 1) << (SCORE_BITS * (i % SCORES_PER_WORD));
            }
        }
    }

    function _finalizeWide(uint256 jobId, uint32 round, JobMarket.Finalization memory f) internal returns (uint40) {
        vm.prank(aggregator);
        market.finalizeRound(jobId, round, f);
        return uint40(_now());
    }

    /// @dev Sum of slot + 1 over the slots in `bits`.
    function _total(uint256 bits) internal pure returns (uint256 total) {
        for (uint256 i; i < WIDE; ++i) {
            if ((bits >> i) & 1 == 1) total += i + 1;
        }
    }

    function _assertMarks(uint256 jobId, uint256 round, bool recorded, bool refuted, string memory what) internal view {
        (bool rec, bool ref) = market.roundMarks(jobId, round);
        assertTrue(rec == recorded && ref == refuted, what);
    }

    // ---------------------------------------------------------------- createJob

    /// @dev n = 256 is the most a job may have (slot bitmaps are uint256); 257 is refused. The
    ///      config keeps n in a uint16 and f (up to 255) where the context reads it.
    function test_CreateJobRefuses257Slots() public {
        JobMarket.JobParams memory p = _wideParams(IRoundVerifier(address(mock)), WIDE + 1, 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidSlots.selector, WIDE + 1));
        createEthJob(p);
        p.trainers = type(uint16).max;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidSlots.selector, type(uint16).max));
        createEthJob(p);
        p = _wideParams(IRoundVerifier(address(mock)), WIDE, 1);
        p.maxMalicious = type(uint8).max; // f < n
        uint256 jobId = createEthJob(p);
        assertEq(market.jobConfig(jobId).n, WIDE, "n = 256 in a uint16");
        assertEq(market.jobConfig(jobId).maxMalicious, 255, "f");
        assertEq((market.context(jobId, 0) >> CTX_MAX_MALICIOUS_OFFSET) & 0xFF, 255, "f in the context");
        assertEq(mock.N_PUBLIC(), 4 + 256 + 10 + 4 + 52, "count(256) = 4 + n + ceil(n/28) + ceil(n/64) + ceil(n/5)");
    }

    // ---------------------------------------------------------------- a whole 256-slot job

    /// @dev 256 trainers join and 255 submit (slot 254 misses round 0); the aggregator
    ///      finalizes with inliers and unavailable slots in every flags word, slot 255 an
    ///      inlier and slot 200 unavailable; slot 255 claims its share (recording the round),
    ///      slot 200 wins its dispute, slot 254 is evicted; round 1 expires with slots 0 and
    ///      255 as its submitters.
    function test_A256SlotJobWorks() public {
        uint256 jobId = _openWide(IRoundVerifier(address(mock)), 2);
        JobMarket.State memory s = market.jobState(jobId);
        assertEq(s.joinedCount, WIDE, "256 joined");
        assertEq(s.joinedBits, type(uint256).max, "every slot taken");
        vm.deal(address(0xBEEF), 10 ether);
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadyStarted.selector, jobId));
        market.join{value: STAKE}(jobId);

        uint256 submitters = type(uint256).max & ~uint256(1 << 254);
        _submitWide(jobId, 0, submitters);
        assertEq(market.submittedBits(jobId, 0), submitters, "submitted bitmap");
        assertEq(market.jobState(jobId).submittedCount, 255, "submitted count");
        vm.prank(trainers[255]);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadySubmitted.selector, 255));
        market.submitUpdate(jobId, 0, 5, "b");
        vm.warp(uint256(s.roundStart) + WINDOW + 1);

        uint256 inliers = (1 << 0) | (1 << 1) | (1 << 63) | (1 << 64) | (1 << 127) | (1 << 128) | (1 << 191)
            | (1 << 192) | (1 << 253) | (1 << 255);
        uint256 unavailable = (1 << 130) | (1 << 200);
        JobMarket.Finalization memory f = _finWide(inliers, unavailable);
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.RoundFinalized(
            jobId, 0, 12345, 777, inliers, unavailable, uint40(_now()), WIDE_NORM, f.scoreWords
        );
        JobMarket.RoundOutcome memory o = outcome(f, _finalizeWide(jobId, 0, f));
        assertEq(market.submittedBits(jobId, 0), submitters, "finalization leaves the bitmap");

        // Slot 255 claims: the first claim records the round.
        uint256 roundBudget = BUDGET / 2;
        uint256 share = (roundBudget * 256) / _total(inliers);
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.Claimed(jobId, 0, 255, trainers[255], share);
        market.claim(jobId, 0, 255, o);
        assertEq(market.owed(address(0), trainers[255]), share, "slot 255's share");
        assertEq(market.claimedBits(jobId, 0), 1 << 255, "slot 255 claimed");
        _assertMarks(jobId, 0, true, false, "recorded by the first claim");
        ReliabilityRegistry.Evidence memory e = registry.evidence(idOf(trainers[255]), address(0));
        assertEq(e.observations, 1, "slot 255 observed");
        assertEq(e.weightedSum, ((BUDGET / 2 / WIDE + STAKE) * ((256 * 1e18) / WIDE_NORM)) / 1e18, "its observation");
        assertEq(registry.evidence(idOf(trainers[200]), address(0)).observations, 0, "unavailable: not observed");
        assertEq(registry.evidence(idOf(trainers[254]), address(0)).observations, 0, "absent: not observed");
        assertEq(registry.evidence(idOf(trainers[2]), address(0)).observations, 1, "present outlier: observed");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToClaim.selector, 200));
        market.claim(jobId, 0, 200, o);

        // Slot 200 disputes with the aggregator's receipt.
        bytes memory sig = receipt(jobId, 0, 200);
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.Disputed(jobId, 0, 200, trainers[200], BOND / WIDE);
        market.dispute(jobId, 0, 200, o, sig);
        assertEq(market.disputedBits(jobId, 0), 1 << 200, "slot 200 disputed");
        assertEq(market.owed(address(0), trainers[200]), BOND / WIDE, "bond / 256 to slot 200");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadySettled.selector, 200));
        market.dispute(jobId, 0, 200, o, sig);
        _assertMarks(jobId, 0, true, false, "a dispute leaves the marks");

        // Slot 254 missed round 0: evicted, its stake to the owner.
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.Evicted(jobId, 0, 254, trainers[254], STAKE);
        market.evict(jobId, 0, 254);
        assertEq(market.owed(address(0), owner), STAKE, "the stake to the owner");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadyEvicted.selector, 254));
        market.evict(jobId, 0, 254);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SlotSubmitted.selector, 255, 0));
        market.evict(jobId, 0, 255);

        // Round 1: slots 0 and 255 submit, nobody finalizes; expiry splits the bond between them.
        _submitWide(jobId, 1, 1 | (1 << 255));
        vm.warp(_now() + 2 * WINDOW + 1);
        uint256 held = market.jobState(jobId).bondHeld;
        uint256 before0 = market.owed(address(0), trainers[0]);
        uint256 before255 = market.owed(address(0), trainers[255]);
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.RoundExpired(jobId, 1, roundBudget, held, 1 | (1 << 255));
        market.expireRound(jobId);
        assertEq(market.owed(address(0), trainers[0]) - before0, held / 2 + held % 2, "slot 0: half and the dust");
        assertEq(market.owed(address(0), trainers[255]) - before255, held / 2, "slot 255: half");
        assertEq(market.submittedBits(jobId, 0), submitters, "round 0's bitmap is kept");
        assertEq(market.submittedBits(jobId, 1), 1 | (1 << 255), "round 1's");
    }

    // ---------------------------------------------------------------- the flags words

    /// @dev For n = 256 the market passes four flags words at PublicInputs.flagsIndex(256, k),
    ///      k < 4, right after the 10 order words, each exactly what ExpectedInputs restates
    ///      (unavailable bit of slot 64k + t at bit t, inlier bit at 64 + t, ||S||^2 at 128 in
    ///      word 0 only). A verifier told to expect one other bit refuses. Finalization touches
    ///      the same 7 storage slots as for a small job: the flags words cost no storage.
    function test_FlagsWordsOf256SlotsAreWhatExpectedInputsComputes() public {
        assertEq(PublicInputs.flagsWords(64), 1, "one flags word up to 64 slots");
        assertEq(PublicInputs.flagsWords(65), 2, "two from 65");
        assertEq(PublicInputs.flagsWords(WIDE), 4, "four for 256");
        assertEq(PublicInputs.orderWords(WIDE), 10, "ceil(256 / 28) order words");
        assertEq(PublicInputs.flagsIndex(WIDE, 0), 4 + 256 + 10, "after the order words");
        assertEq(PublicInputs.scoreIndex(WIDE, 0), 4 + 256 + 10 + 4, "scores after the flags words");
        assertEq(PublicInputs.count(WIDE), 326, "count(256)");
        assertEq(PublicInputs.count(10), 18, "count(10): one order and one flags word");

        InputCheckingVerifier checker = new InputCheckingVerifier(WIDE);
        market.setVerifierApproval(address(checker), true);
        uint256 jobId = _openWide(IRoundVerifier(address(checker)), 1);
        _submitWide(jobId, 0, type(uint256).max);
        uint256 unavailable = (1 << 1) | (1 << 65) | (1 << 130) | (1 << 200) | (1 << 253);
        uint256 inliers = (1 << 0) | (1 << 5) | (1 << 63) | (1 << 64) | (1 << 100) | (1 << 127) | (1 << 128)
            | (1 << 129) | (1 << 191) | (1 << 192) | (1 << 254) | (1 << 255);
        JobMarket.Finalization memory f = _finWide(inliers, unavailable);
        f.aggregateNormSq = uint128((1 << NORM_BITS) - 1);
        (uint256[] memory indices, uint256[] memory values) =
            ExpectedInputs.flagsInputs(WIDE, inliers, unavailable, f.aggregateNormSq);
        assertEq(indices.length, 4, "four words");
        for (uint256 k; k < 4; ++k) {
            assertEq(indices[k], PublicInputs.flagsIndex(WIDE, k), "flags index");
            if (k != 0) assertEq(values[k] >> 128, 0, "nothing above bit 127 but in word 0");
        }
        assertEq((values[3] >> 127) & 1, 1, "slot 255's inlier bit: word 3, bit 64 + 63");
        assertEq((values[3] >> 61) & 1, 1, "slot 253's unavailable bit: word 3, bit 61");
        assertEq(values[0] >> 128, (1 << NORM_BITS) - 1, "||S||^2 in word 0");

        uint256[] memory wrong = new uint256[](4);
        for (uint256 k; k < 4; ++k) {
            wrong[k] = values[k];
        }
        wrong[3] ^= 1; // slot 192 "unavailable"
        checker.expectInputs(indices, wrong);
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, f);

        checker.expectInputs(indices, values);
        vm.record();
        _finalizeWide(jobId, 0, f);
        (bytes32[] memory reads, bytes32[] memory writes) = vm.accesses(address(market));
        assertEq(market.jobState(jobId).round, 1, "finalized");
        assertEq(touched(reads, writes), 7, "config 0 and 1, state 0, the model, the accumulator, the outcome slot");
        assertEq(distinct(writes), 3, "writes: state 0, the model, the outcome slot");
    }

    // ---------------------------------------------------------------- the round marks

    /// @dev The marks sit in the round's outcome slot (bits 255 and 254), the claimed and
    ///      disputed bits in bitmaps of their own: disputing slot 255, claiming slot 255 and
    ///      recording the round set exactly their own bits, and the outcome hash below the marks
    ///      does not change (later claims still match it).
    function test_Slot255ClaimAndDisputeDoNotTouchTheRoundMarks() public {
        uint256 jobId = _openWide(IRoundVerifier(address(mock)), 2);
        _submitWide(jobId, 0, type(uint256).max);
        JobMarket.Finalization memory f = _finWide(1 << 254, 1 << 255);
        JobMarket.RoundOutcome memory o = outcome(f, _finalizeWide(jobId, 0, f));
        uint256 stored = uint256(market.roundHash(jobId, 0));
        assertEq(
            stored,
            uint256(keccak256(abi.encode(o.unavailableBits, o.finalizedAt, o.aggregateNormSq, o.scoreWords)))
                & OUTCOME_HASH_MASK,
            "the outcome's keccak without its top two bits"
        );
        _assertMarks(jobId, 0, false, false, "no marks after finalization");

        market.dispute(jobId, 0, 255, o, receipt(jobId, 0, 255));
        assertEq(market.disputedBits(jobId, 0), 1 << 255, "slot 255 disputed");
        assertEq(uint256(market.roundHash(jobId, 0)), stored, "the outcome slot untouched");
        _assertMarks(jobId, 0, false, false, "a dispute of slot 255 sets no mark");

        market.recordReliability(jobId, 0, o);
        _assertMarks(jobId, 0, true, false, "recorded");
        assertEq(uint256(market.roundHash(jobId, 0)), stored | (1 << 255), "the recorded mark, bit 255");
        assertEq(market.disputedBits(jobId, 0), 1 << 255, "the disputed bit stays");
        market.claim(jobId, 0, 254, o); // the hash still matches below the mark
        assertEq(market.claimedBits(jobId, 0), 1 << 254, "slot 254 claimed");
        assertEq(uint256(market.roundHash(jobId, 0)), stored | (1 << 255), "a later claim writes no mark");

        vm.prank(aggregator);
        market.topUpBond{value: BOND / WIDE}(jobId);
        _submitWide(jobId, 1, type(uint256).max);
        f = _finWide(1 | (1 << 255), 0);
        o = outcome(f, _finalizeWide(jobId, 1, f));
        stored = uint256(market.roundHash(jobId, 1));
        market.claim(jobId, 1, 255, o);
        assertEq(market.claimedBits(jobId, 1), 1 << 255, "slot 255 claimed");
        assertEq(market.disputedBits(jobId, 1), 0, "nothing disputed");
        _assertMarks(jobId, 1, true, false, "the first claim records, nothing refutes");
        assertEq(uint256(market.roundHash(jobId, 1)), stored | (1 << 255), "only the recorded mark added");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadySettled.selector, 255));
        market.claim(jobId, 1, 255, o);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ReliabilityAlreadyRecorded.selector, jobId, 1));
        market.recordReliability(jobId, 1, o);
        market.claim(jobId, 1, 0, o);
        assertEq(market.claimedBits(jobId, 1), 1 | (1 << 255), "slots 0 and 255 claimed");
    }

    /// @dev A chunked 256-slot round with slot 255 disputed, then refuted: the refutation sets
    ///      both marks and leaves the disputed bitmap; the round can no longer be claimed.
    function test_RefutationMarksLeaveSlot255sDispute() public {
        MockChunkedVerifier chunked = new MockChunkedVerifier(WIDE, 4);
        market.setVerifierApproval(address(chunked), true);
        uint256 jobId = _openWide(IRoundVerifier(address(chunked)), 1);
        assertEq(market.jobConfig(jobId).chunks, 4, "a chunked job");
        _submitWide(jobId, 0, type(uint256).max);
        JobMarket.Finalization memory f = _finWide(1, 1 << 255);
        f.digest = 99;
        uint40 at = _finalizeWide(jobId, 0, f);
        JobMarket.RoundOutcome memory o = outcome(f, at);
        uint256 stored = uint256(market.roundHash(jobId, 0));
        market.dispute(jobId, 0, 255, o, receipt(jobId, 0, 255));
        address challenger = address(0xC4A11);
        vm.deal(challenger, 100 ether);
        vm.prank(challenger);
        market.challengeChunk{value: (BOND + WIDE - 1) / WIDE}(jobId, 0, 2, 99, at);
        vm.warp(uint256(at) + 2 * WINDOW + 1);
        market.refuteRound(jobId, 0, 2, at, 99);
        _assertMarks(jobId, 0, true, true, "recorded and refuted");
        assertEq(uint256(market.roundHash(jobId, 0)), stored | (3 << 254), "both marks, the hash below them kept");
        assertEq(market.disputedBits(jobId, 0), 1 << 255, "slot 255's dispute stays");
        assertEq(market.claimedBits(jobId, 0), 0, "nothing claimed");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.Refuted.selector, jobId, 0));
        market.claim(jobId, 0, 0, o);
    }
}
