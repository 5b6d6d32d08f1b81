// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MarketBase, RoundFixture} from "./utils/MarketBase.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IJobMarketErrors} from "../src/IJobMarket.sol";
import {IJobMarketEvents} from "../src/IJobMarketEvents.sol";
import {PublicInputs, CONTEXT_INPUT, DOMAIN_INPUT} from "../src/market/PublicInputs.sol";
import {ExpectedInputs} from "./utils/ExpectedInputs.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {RoundVerifierDemo} from "../src/generated/RoundVerifierDemo.sol";

/// @notice JobMarket with the real generated verifiers and real proofs of the prover's fixture
///         rounds (n = 4, 10, 16 with 8 parameters, and the demo shape 10 x 2410).
contract JobMarketProofTest is MarketBase {
    function setUp() public {
        _deployMarket();
    }

    /// @dev Each fixture's context and domain are what the market computes for job 1 with the
    ///      fixture's terms, roster and address (a fresh market for each: a state snapshot).
    function test_ContextAndDomainMatchFixture() public {
        string[4] memory names = ["n4", "n10", "n16", "demo"];
        uint256 fresh = vm.snapshotState();
        for (uint256 k; k < 4; ++k) {
            vm.revertToState(fresh);
            RoundFixture memory f = loadFixture(names[k]);
            uint256 jobId = setUpJob(f, deployVerifier(names[k]), 1);
            assertEq(jobId, 1, "fixture job id");
            assertEq(market.context(jobId, 0), f.context, "context");
            assertEq(f.publicInputs[CONTEXT_INPUT], f.context, "fixture context input");
            assertEq(market.domain(jobId), f.publicInputs[DOMAIN_INPUT], "domain");
        }
    }

    function test_FinalizeAndPay_n4() public {
        _fullRound("n4");
    }

    function test_FinalizeAndPay_n10() public {
        _fullRound("n10");
    }

    function test_FinalizeAndPay_n16() public {
        _fullRound("n16");
    }

    function test_FinalizeAndPay_demo() public {
        _fullRound("demo");
    }

    /// @dev The generic verifier, deployed with the key at run time and approved, in place of
    ///      the generated one.
    function test_FinalizeAndPay_genericVerifier_n10() public {
        IRoundVerifier v = IRoundVerifier(address(deployGenericVerifier("n10")));
        market.setVerifierApproval(address(v), true);
        _fullRound("n10", v);
    }

    function _fullRound(string memory name) internal {
        _fullRound(name, deployVerifier(name));
    }

    function _fullRound(string memory name, IRoundVerifier verifier) internal {
        RoundFixture memory f = loadFixture(name);
        uint256 jobId = setUpJob(f, verifier, 1);
        assertEq(address(market), FIXTURE_MARKET, "the market the fixtures are proven for");
        assertEq(market.domain(jobId), f.publicInputs[DOMAIN_INPUT], "domain");
        submitAll(jobId, 0, f);
        JobMarket.Finalization memory fin = finalization(f);
        _assertFlagsWords(f, fin);
        uint256 total;
        for (uint256 i; i < f.n; ++i) {
            total += f.scores[i];
        }
        uint256 allocated;
        for (uint256 i; i < f.n; ++i) {
            allocated += (BUDGET * f.scores[i]) / total;
        }
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.RoundFinalized(
            jobId,
            0,
            f.model,
            f.newModel,
            fin.inlierBits,
            0,
            uint40(_now()),
            fin.aggregateNormSq,
            fin.scoreWords
        );
        vm.prank(aggregator);
        market.finalizeRound(jobId, 0, fin);

        JobMarket.State memory s = market.jobState(jobId);
        assertEq(uint256(s.status), uint256(JobMarket.Status.Completed), "completed");
        assertEq(s.model, f.newModel, "model advanced");
        assertEq(s.round, 1, "round advanced");
        assertEq(s.escrow, BUDGET, "finalization allocates nothing yet");
        assertEq(s.unrecorded, 1, "the round awaits its first claim");

        JobMarket.RoundOutcome memory o = outcome(fin, uint40(_now()));
        uint256 paid;
        bool first = true;
        for (uint256 i; i < f.n; ++i) {
            if (f.scores[i] == 0) {
                assertTrue(!f.inliers[i], "zero score only for outliers here");
                vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToClaim.selector, i));
                market.claim(jobId, 0, i, o);
                continue;
            }
            if (first) {
                // The first claim records the round: its shares move from escrow to unclaimed.
                vm.expectEmit(true, true, true, true, address(market));
                emit IJobMarketEvents.RoundAllocated(jobId, 0, total, allocated);
                first = false;
            }
            market.claim(jobId, 0, i, o);
            uint256 expected = (BUDGET * f.scores[i]) / total;
            assertEq(market.owed(address(0), trainers[i]), expected, "pro-rata share");
            paid += expected;
            vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadySettled.selector, i));
            market.claim(jobId, 0, i, o);
            uint256 before = trainers[i].balance;
            vm.prank(trainers[i]);
            market.withdraw(address(0));
            assertEq(trainers[i].balance - before, expected, "withdrawn");
        }
        _checkReliability(f);
        s = market.jobState(jobId);
        assertEq(s.unclaimed, 0, "all claimed");
        assertEq(s.escrow, BUDGET - paid, "dust stays in escrow");
        vm.prank(owner);
        market.recover(jobId);
        assertEq(market.owed(address(0), owner), BUDGET - paid, "owner recovers the dust");
        assertEq(address(market).balance, BUDGET - paid + BOND + f.n * STAKE, "balance = owed + bond + stakes");
    }

    /// @dev The first claim wrote one observation per trainer: score / ||S||^2 (cos^2 of its
    ///      update with the inliers' sum), weighted by its stake plus its share of the budget.
    function _checkReliability(RoundFixture memory f) internal view {
        for (uint256 i; i < f.n; ++i) {
            ReliabilityRegistry.Evidence memory e = registry.evidence(idOf(trainers[i]), address(0));
            uint256 w = BUDGET / f.n + STAKE;
            assertEq(e.observations, 1, "one observation");
            assertEq(e.weight, w, "weight");
            uint256 ob = (f.scores[i] * 1e18) / f.aggregateNormSq;
            assertLe(ob, 1e18, "score <= ||S||^2 (Cauchy-Schwarz)");
            assertEq(e.weightedSum, (w * ob) / 1e18, "observation = score / ||S||^2");
        }
    }

    /// @dev Two markets on one chain with the same job terms (both jobs are job 1 with the same
    ///      roster): before the domain, a proof for one settled the other. The domain hashes the
    ///      market's address, so the fixture's proof, made for the first market, fails on the
    ///      second.
    function test_Attack9_ProofForAnotherMarketFails() public {
        RoundFixture memory f = loadFixture("n4");
        IRoundVerifier v = deployVerifier("n4");
        JobMarket first = market;
        uint256 jobId = setUpJob(f, v, 1);
        JobMarket second = new JobMarket(registry, address(this));
        second.setVerifierApproval(address(v), true);
        market = second;
        uint256 otherJob = setUpJob(f, v, 1);
        assertEq(otherJob, jobId, "the same job id");
        assertEq(second.jobState(otherJob).rosterHash, first.jobState(jobId).rosterHash, "the same roster");
        assertEq(second.context(otherJob, 0), first.context(jobId, 0), "the same context");
        assertTrue(second.domain(otherJob) != first.domain(jobId), "another domain");
        submitAll(otherJob, 0, f);
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        second.finalizeRound(otherJob, 0, finalization(f));
        // The market it was made for accepts it.
        market = first;
        submitAll(jobId, 0, f);
        vm.prank(aggregator);
        first.finalizeRound(jobId, 0, finalization(f));
        assertEq(first.jobState(jobId).round, 1, "settled where it belongs");
    }

    function test_RejectsTamperedClaims() public {
        RoundFixture memory f = loadFixture("n4");
        uint256 jobId = setUpJob(f, deployVerifier("n4"), 1);
        submitAll(jobId, 0, f);
        vm.startPrank(aggregator);

        JobMarket.Finalization memory fin = finalization(f);
        fin.newModel += 1;
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);

        fin = finalization(f);
        fin.scoreWords[0] += 1; // slot 0's score + 1
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);

        fin = finalization(f);
        fin.inlierBits |= 2; // slot 1 is an outlier with score 0: claim it is an inlier
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);

        fin = finalization(f);
        fin.aggregateNormSq += 1; // a larger ||S||^2
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);

        fin = finalization(f);
        fin.unavailableBits = 2; // declare outlier slot 1 unavailable: flags word 0's bit 1 changes
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);

        fin = finalization(f);
        fin.proof[0] = f.proof[6];
        fin.proof[1] = f.proof[7];
        fin.proof[6] = f.proof[0];
        fin.proof[7] = f.proof[1];
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);
        vm.stopPrank();

        // The untampered proof still goes through.
        vm.prank(aggregator);
        market.finalizeRound(jobId, 0, finalization(f));
    }

    /// @dev The aggregator declares unavailable a slot that did not submit (to make it look
    ///      excluded for a reason, or to set up a dispute). The contract no longer refuses it
    ///      (it does not read which slots submitted): the circuit proves unavailable_i =>
    ///      C_i != 0, so no proof of such flags exists: the finalization reaches the real
    ///      verifier, which refuses it. Slot 3 of the n = 4 fixture does not submit here (so
    ///      the fixture's own proof, made with every slot present, does not fit either; the
    ///      circuit's side is prover/tests' concern).
    function test_Attack_UnavailableNonSubmitterIsRefusedByTheProof() public {
        RoundFixture memory f = loadFixture("n4");
        uint256 jobId = setUpJob(f, deployVerifier("n4"), 1);
        for (uint256 rank = 1; rank <= f.n; ++rank) {
            for (uint256 i; i < 3; ++i) {
                if (rankOf(f, i) != rank) continue;
                vm.prank(trainers[i]);
                market.submitUpdate(jobId, 0, f.commitments[i], keccak256(abi.encode(i)));
            }
        }
        vm.warp(_now() + WINDOW + 1);
        JobMarket.Finalization memory fin = finalization(f);
        fin.inlierBits &= ~uint256(1 << 3);
        fin.unavailableBits = 1 << 3;
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, fin);
        assertEq(market.jobState(jobId).round, 0, "not finalized");
    }

    /// @dev The fixture's flags words (statement v4: unavailable bits, inlier bits, ||S||^2)
    ///      are what ExpectedInputs restates for the finalization's bits, and the prover's
    ///      input count is PublicInputs.count(n).
    function _assertFlagsWords(RoundFixture memory f, JobMarket.Finalization memory fin) internal pure {
        (uint256[] memory indices, uint256[] memory values) =
            ExpectedInputs.flagsInputs(f.n, fin.inlierBits, fin.unavailableBits, fin.aggregateNormSq);
        assertEq(f.publicInputs.length, PublicInputs.count(f.n), "input count");
        for (uint256 k; k < indices.length; ++k) {
            assertEq(indices[k], PublicInputs.flagsIndex(f.n, k), "flags index");
            assertEq(f.publicInputs[indices[k]], values[k], "flags word");
        }
    }

    function test_RejectsAProofForADifferentCommitment() public {
        RoundFixture memory f = loadFixture("n4");
        uint256 jobId = setUpJob(f, deployVerifier("n4"), 1);
        f.commitments[2] += 1;
        _submitAndExpectInvalidProof(jobId, f);
    }

    function test_RejectsAProofForADifferentContext() public {
        RoundFixture memory f = loadFixture("n4");
        IRoundVerifier v = deployVerifier("n4");
        JobMarket.JobParams memory p = jobParams(f, v, address(0), 1);
        p.tau += 1; // the owner's hyper-parameters are not the proven ones
        uint256 jobId = createEthJob(p);
        bondAndJoinAll(jobId, f.n);
        vm.warp(_now() + 100);
        _submitAndExpectInvalidProof(jobId, f);
    }

    function test_NextRoundStartsFromTheProvenModel() public {
        RoundFixture memory f = loadFixture("n4");
        uint256 jobId = setUpJob(f, deployVerifier("n4"), 3);
        submitAll(jobId, 0, f);
        vm.prank(aggregator);
        market.finalizeRound(jobId, 0, finalization(f));
        JobMarket.State memory s = market.jobState(jobId);
        assertEq(uint256(s.status), uint256(JobMarket.Status.Active), "still active");
        assertEq(s.model, f.newModel, "the job's model word is round 0's C(S)");
        assertEq(s.escrow, BUDGET, "nothing allocated before the round is recorded");
        assertEq(s.unrecorded, 1, "one round to record");
        // Round 0 cannot be finalized twice, and round 1 needs its own submissions.
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongRound.selector, 0, 1));
        market.finalizeRound(jobId, 0, finalization(f));
    }

    // ---------------------------------------------------------------- the committed demo verifier

    /// @dev The demo shape's public inputs: PublicInputs.count(10) = 4 + 10 + 1 + 1 + 2.
    uint256 internal constant DEMO_INPUTS = 18;

    function _demoInputs(RoundFixture memory f) internal pure returns (uint256[DEMO_INPUTS] memory x) {
        for (uint256 i; i < DEMO_INPUTS; ++i) {
            x[i] = f.publicInputs[i];
        }
    }

    function test_DemoVerifierAcceptsTheFixture() public {
        RoundFixture memory f = loadFixture("demo");
        assertEq(f.publicInputs.length, DEMO_INPUTS, "demo shape has 18 inputs");
        assertEq(PublicInputs.count(10), DEMO_INPUTS, "n = 10");
        RoundVerifierDemo v = new RoundVerifierDemo();
        assertTrue(v.verifyProof(f.proof, _demoInputs(f)), "fixture rejected");
    }

    function test_DemoVerifierRejectsATamperedProof() public {
        RoundFixture memory f = loadFixture("demo");
        RoundVerifierDemo v = new RoundVerifierDemo();
        uint256[8] memory p = f.proof;
        (p[0], p[1], p[6], p[7]) = (f.proof[6], f.proof[7], f.proof[0], f.proof[1]);
        assertTrue(!v.verifyProof(p, _demoInputs(f)), "swapped proof accepted");
        p = f.proof;
        p[0] = (p[0] + 1) % 21888242871839275222246405745257275088696311157297823662689037894645226208583;
        vm.expectRevert(abi.encodeWithSelector(RoundVerifierDemo.PrecompileFailed.selector, 8));
        v.verifyProof(p, _demoInputs(f));
    }

    function test_DemoVerifierRejectsATamperedInput() public {
        RoundFixture memory f = loadFixture("demo");
        RoundVerifierDemo v = new RoundVerifierDemo();
        for (uint256 i; i < DEMO_INPUTS; ++i) {
            uint256[DEMO_INPUTS] memory x = _demoInputs(f);
            x[i] = (x[i] + 1) % market.R();
            assertTrue(!v.verifyProof(f.proof, x), "tampered input accepted");
        }
    }

    function test_DemoVerifierRevertsOnAnInputNotInField() public {
        RoundFixture memory f = loadFixture("demo");
        RoundVerifierDemo v = new RoundVerifierDemo();
        uint256[DEMO_INPUTS] memory x = _demoInputs(f);
        x[7] += market.R();
        vm.expectRevert(abi.encodeWithSelector(RoundVerifierDemo.PublicInputNotInField.selector, 7));
        v.verifyProof(f.proof, x);
    }

    /// @dev The trainers submit `f`'s commitments in round 0; the aggregator's finalization with
    ///      `f`'s outputs and proof must be refused by the verifier.
    function _submitAndExpectInvalidProof(uint256 jobId, RoundFixture memory f) internal {
        submitAll(jobId, 0, f);
        vm.prank(aggregator);
        vm.expectRevert(IJobMarketErrors.InvalidProof.selector);
        market.finalizeRound(jobId, 0, finalization(f));
    }
}
