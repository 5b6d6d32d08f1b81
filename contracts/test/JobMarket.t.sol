// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MarketBase, RoundFixture} from "./utils/MarketBase.sol";
import {MockVerifier, TestToken, FeeToken, Reenterer} from "./utils/Mocks.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";

/// @notice Lifecycle, bad input and every revert path of JobMarket. Paths a real round-0 proof
///         reaches are covered in JobMarketProof.t.sol with the real verifier; here the
///         MockVerifier (see its NatSpec) stands in where a real proof cannot: later rounds,
///         unavailable or absent slots, arbitrary scores, and a verifier that answers false.
contract JobMarketTest is MarketBase {
    uint256 internal constant N = 4;
    MockVerifier internal mock;

    function setUp() public {
        _deployMarket();
        mock = new MockVerifier(N);
        market.setVerifierApproval(address(mock), true);
        vm.warp(1_000_000);
    }

    function test_OnlyApprovedVerifiers() public {
        MockVerifier rogue = new MockVerifier(N);
        JobMarket.JobParams memory p = _params(2);
        p.verifier = IRoundVerifier(address(rogue));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.VerifierNotApproved.selector, address(rogue)));
        market.createJob{value: p.budget}(p);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotGovernor.selector, owner));
        market.setVerifierApproval(address(rogue), true);
        vm.expectEmit(true, true, true, true, address(market));
        emit JobMarket.VerifierApproval(address(rogue), true);
        market.setVerifierApproval(address(rogue), true);
        assertTrue(market.approvedVerifier(address(rogue)), "approved");
        createEthJob(p);
        market.setVerifierApproval(address(rogue), false);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.VerifierNotApproved.selector, address(rogue)));
        market.createJob{value: p.budget}(p);
        vm.expectRevert(JobMarket.ZeroAddress.selector);
        new JobMarket(registry, address(0));
    }

    function _params(uint32 rounds) internal view returns (JobMarket.JobParams memory p) {
        RoundFixture memory f;
        f.n = N;
        f.params = 8;
        f.model = 12345;
        p = jobParams(f, IRoundVerifier(address(mock)), address(0), rounds);
    }

    /// @dev A job with the bond posted, all N slots joined, and round 0 open.
    function _job(uint32 rounds) internal returns (uint256 jobId) {
        jobId = createEthJob(_params(rounds));
        vm.prank(aggregator);
        market.postBond{value: BOND}(jobId);
        delete trainers;
        for (uint256 i; i < N; ++i) {
            trainers.push(_trainer(i));
            vm.deal(_trainer(i), 100 ether);
            vm.prank(_trainer(i));
            market.join{value: STAKE}(jobId);
        }
        vm.warp(block.timestamp + 100);
    }

    function _submit(uint256 jobId, uint32 round, uint256 mask) internal {
        for (uint256 i; i < N; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            vm.prank(trainers[i]);
            market.submitUpdate(jobId, round, 1000 + 10 * round + i, bytes32(i));
        }
    }

    /// @dev Scores 1..N for inliers in `inliers`, packed 5 per word.
    function _fin(uint64 inliers, uint64 unavailable) internal view returns (JobMarket.Finalization memory f) {
        f.newModel = 777;
        f.inlierBits = inliers;
        f.unavailableBits = unavailable;
        f.scoreWords = new uint256[]((N + 4) / 5);
        for (uint256 i; i < N; ++i) {
            if ((inliers >> i) & 1 == 1) f.scoreWords[i / 5] |= (i + 1) << (48 * (i % 5));
        }
        f.roster = trainers;
    }

    function _finalize(uint256 jobId, uint32 round, JobMarket.Finalization memory f) internal returns (uint40 at) {
        vm.prank(aggregator);
        market.finalizeRound(jobId, round, f);
        return uint40(block.timestamp);
    }

    // ---------------------------------------------------------------- createJob

    function test_CreateJobEscrowsEth() public {
        uint256 jobId = createEthJob(_params(3));
        assertEq(jobId, 1, "id");
        assertEq(address(market).balance, BUDGET, "escrowed");
        JobMarket.State memory s = market.jobState(jobId);
        assertEq(s.escrow, BUDGET, "escrow");
        assertEq(uint256(s.status), uint256(JobMarket.Status.Active), "active");
        JobMarket.Config memory c = market.jobConfig(jobId);
        assertEq(c.owner, owner, "owner");
        assertEq(c.roundBudget, BUDGET / 3, "round budget");
        assertEq(market.jobCount(), 1, "count");
    }

    function test_CreateJobEscrowsAnErc20() public {
        TestToken token = new TestToken();
        token.mint(owner, BUDGET);
        JobMarket.JobParams memory p = _params(2);
        p.token = address(token);
        vm.startPrank(owner);
        token.approve(address(market), BUDGET);
        uint256 jobId = market.createJob(p);
        vm.stopPrank();
        assertEq(token.balanceOf(address(market)), BUDGET, "escrowed");
        // Stake and bond are in the job's token too.
        token.mint(aggregator, BOND);
        vm.startPrank(aggregator);
        token.approve(address(market), BOND);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.WrongValue.selector, 1, 0));
        market.postBond{value: 1}(jobId);
        market.postBond(jobId);
        vm.stopPrank();
        address t = _trainer(0);
        token.mint(t, STAKE);
        vm.startPrank(t);
        token.approve(address(market), STAKE);
        market.join(jobId);
        market.leave(jobId);
        market.withdraw(address(token));
        vm.stopPrank();
        assertEq(token.balanceOf(t), STAKE, "stake back in tokens");
        assertEq(token.balanceOf(address(market)), BUDGET + BOND, "budget + bond held");
    }

    /// @dev A whole ERC-20 job: escrow, stakes, bond, a round, claims, recover, bond release,
    ///      leave, withdrawals; the market ends with a zero token balance.
    function test_Erc20JobEndToEnd() public {
        TestToken token = new TestToken();
        JobMarket.JobParams memory p = _params(1);
        p.token = address(token);
        token.mint(owner, BUDGET);
        vm.prank(owner);
        token.approve(address(market), BUDGET);
        vm.prank(owner);
        uint256 jobId = market.createJob(p);
        token.mint(aggregator, BOND);
        vm.prank(aggregator);
        token.approve(address(market), BOND);
        vm.prank(aggregator);
        market.postBond(jobId);
        delete trainers;
        for (uint256 i; i < N; ++i) {
            trainers.push(_trainer(i));
            token.mint(_trainer(i), STAKE);
            vm.prank(_trainer(i));
            token.approve(address(market), STAKE);
            vm.prank(_trainer(i));
            market.join(jobId);
        }
        vm.warp(block.timestamp + 100);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0xB, 0);
        uint40 t = _finalize(jobId, 0, f);
        for (uint256 i; i < N; ++i) {
            if (i != 2) market.claim(jobId, 0, i, outcome(f, t));
        }
        vm.prank(owner);
        market.recover(jobId);
        vm.warp(t + WINDOW + 1);
        market.releaseBond(jobId);
        address[] memory who = new address[](N + 2);
        for (uint256 i; i < N; ++i) {
            who[i] = trainers[i];
            vm.prank(trainers[i]);
            market.leave(jobId);
        }
        who[N] = owner;
        who[N + 1] = aggregator;
        for (uint256 i; i < who.length; ++i) {
            vm.prank(who[i]);
            market.withdraw(address(token));
        }
        assertEq(token.balanceOf(address(market)), 0, "all tokens paid out");
        // scores 1, 2, 0, 4 of 7
        assertEq(token.balanceOf(trainers[3]), STAKE + (BUDGET * 4) / 7, "pro rata in tokens");
        assertEq(token.balanceOf(aggregator), BOND, "bond back");
    }

    function test_CreateJobRefusesFeeOnTransferTokens() public {
        FeeToken token = new FeeToken();
        token.mint(owner, BUDGET);
        JobMarket.JobParams memory p = _params(2);
        p.token = address(token);
        vm.startPrank(owner);
        token.approve(address(market), BUDGET);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.UnsupportedToken.selector, BUDGET - BUDGET / 100, BUDGET));
        market.createJob(p);
        vm.stopPrank();
    }

    function test_CreateJobRevertsOnBadParams() public {
        JobMarket.JobParams memory p = _params(2);
        vm.startPrank(owner);
        p.budget = 0;
        vm.expectRevert(JobMarket.ZeroBudget.selector);
        market.createJob(p);
        p = _params(2);
        p.rounds = 0;
        vm.expectRevert(JobMarket.InvalidRounds.selector);
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.budget = 1;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.BudgetTooSmall.selector, 1, 2));
        market.createJob{value: 1}(p);
        p = _params(2);
        p.trainers = 0;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.InvalidSlots.selector, 0));
        market.createJob{value: p.budget}(p);
        p.trainers = 65;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.InvalidSlots.selector, 65));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.maxMalicious = uint8(N);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.InvalidMaxMalicious.selector, N, N));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.aggregator = address(0);
        vm.expectRevert(JobMarket.ZeroAddress.selector);
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.startTime = uint40(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.StartInPast.selector, block.timestamp, block.timestamp));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.submitWindow = 0;
        vm.expectRevert(JobMarket.InvalidWindow.selector);
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.lrDecay = 32;
        vm.expectRevert(JobMarket.InvalidLearningRate.selector);
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.initialModel = market.R();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.InvalidCommitment.selector, market.R()));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.trainers = 5;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.ShapeMismatch.selector, 9, 10));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.WrongValue.selector, p.budget - 1, p.budget));
        market.createJob{value: p.budget - 1}(p); // unfunded
        vm.stopPrank();
        assertEq(market.jobCount(), 0, "nothing created");
        assertEq(address(market).balance, 0, "nothing held");
    }

    // ---------------------------------------------------------------- bond, join, leave, cancel

    function test_PostBondReverts() public {
        uint256 jobId = createEthJob(_params(2));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotAggregator.selector, address(this)));
        market.postBond{value: BOND}(jobId);
        vm.startPrank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.UnknownJob.selector, 9));
        market.postBond{value: BOND}(9);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.WrongValue.selector, 1, BOND));
        market.postBond{value: 1}(jobId);
        market.postBond{value: BOND}(jobId);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.BondAlreadyPosted.selector, jobId));
        market.postBond{value: BOND}(jobId);
        vm.stopPrank();
        uint256 late = createEthJob(_params(2));
        vm.warp(block.timestamp + 100);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.AlreadyStarted.selector, late));
        market.postBond{value: BOND}(late);
    }

    function test_JoinAndLeave() public {
        uint256 jobId = createEthJob(_params(2));
        for (uint256 i; i < N; ++i) {
            vm.deal(_trainer(i), 10 ether);
            vm.prank(_trainer(i));
            market.join{value: STAKE}(jobId);
            (bool staked, uint256 slot) = market.slotOf(jobId, _trainer(i));
            assertTrue(staked && slot == i, "lowest free slot");
        }
        vm.deal(address(0xBEEF), 10 ether);
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobFull.selector, jobId));
        market.join{value: STAKE}(jobId);
        vm.prank(_trainer(1));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.AlreadyJoined.selector, _trainer(1)));
        market.join{value: STAKE}(jobId);
        // Slot 1 leaves before the start: its stake is owed back and the slot is reused.
        vm.prank(_trainer(1));
        market.leave(jobId);
        assertEq(market.owed(address(0), _trainer(1)), STAKE, "stake owed");
        assertEq(market.slotOwner(jobId, 1), address(0), "slot freed");
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.WrongValue.selector, 0, STAKE));
        market.join(jobId);
        vm.prank(address(0xBEEF));
        market.join{value: STAKE}(jobId);
        assertEq(market.slotOwner(jobId, 1), address(0xBEEF), "slot reused");
        vm.prank(_trainer(1));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotTrainer.selector, _trainer(1)));
        market.leave(jobId);
        // After the start nobody joins or leaves until the job ends.
        vm.warp(block.timestamp + 100);
        vm.deal(_trainer(7), 10 ether);
        vm.prank(_trainer(7));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.AlreadyStarted.selector, jobId));
        market.join{value: STAKE}(jobId);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.LeaveNotAllowed.selector, jobId));
        market.leave(jobId);
    }

    function test_CancelBeforeStart() public {
        uint256 jobId = _jobBeforeStart();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotOwner.selector, address(this)));
        market.cancel(jobId);
        vm.prank(owner);
        market.cancel(jobId);
        assertEq(market.owed(address(0), owner), BUDGET, "budget back");
        assertEq(market.owed(address(0), aggregator), BOND, "bond back");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotActive.selector, jobId, JobMarket.Status.Cancelled));
        market.cancel(jobId);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotActive.selector, jobId, JobMarket.Status.Cancelled));
        market.join{value: STAKE}(jobId);
        for (uint256 i; i < N; ++i) {
            vm.prank(_trainer(i));
            market.leave(jobId);
        }
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NothingToRecover.selector, jobId));
        market.recover(jobId);
        _withdrawAll();
        assertEq(address(market).balance, 0, "everything paid out");
    }

    function _jobBeforeStart() internal returns (uint256 jobId) {
        jobId = createEthJob(_params(2));
        vm.prank(aggregator);
        market.postBond{value: BOND}(jobId);
        delete trainers;
        for (uint256 i; i < N; ++i) {
            trainers.push(_trainer(i));
            vm.deal(_trainer(i), 100 ether);
            vm.prank(_trainer(i));
            market.join{value: STAKE}(jobId);
        }
    }

    function test_CancelAfterStartOnlyWithoutBond() public {
        uint256 jobId = _job(2);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.AlreadyStarted.selector, jobId));
        market.cancel(jobId);
        uint256 noBond = createEthJob(_params(2));
        vm.warp(block.timestamp + 100);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.AlreadyStarted.selector, noBond));
        market.join{value: STAKE}(noBond);
        vm.prank(owner);
        market.cancel(noBond);
        assertEq(market.owed(address(0), owner), BUDGET, "budget back");
    }

    // ---------------------------------------------------------------- submitUpdate

    function test_SubmitUpdateReverts() public {
        uint256 jobId = _jobBeforeStart();
        vm.prank(trainers[0]);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.RoundNotOpen.selector, block.timestamp + 100, block.timestamp));
        market.submitUpdate(jobId, 0, 1, 0);
        vm.warp(block.timestamp + 100);
        vm.startPrank(trainers[0]);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.WrongRound.selector, 1, 0));
        market.submitUpdate(jobId, 1, 1, 0);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.InvalidCommitment.selector, 0));
        market.submitUpdate(jobId, 0, 0, 0);
        uint256 r = market.R();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.InvalidCommitment.selector, r));
        market.submitUpdate(jobId, 0, r, 0);
        market.submitUpdate(jobId, 0, 5, 0);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.AlreadySubmitted.selector, 0));
        market.submitUpdate(jobId, 0, 6, 0);
        vm.stopPrank();
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotTrainer.selector, address(0xBAD)));
        market.submitUpdate(jobId, 0, 5, 0);
        uint256 deadline = block.timestamp + WINDOW;
        vm.warp(deadline + 1);
        vm.prank(trainers[1]);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.SubmissionClosed.selector, deadline, deadline + 1));
        market.submitUpdate(jobId, 0, 5, 0);
        assertEq(market.commitments(jobId, 0, 0), 5, "first submission kept");
        assertEq(market.commitments(jobId, 0, 1), 0, "late one not stored");
    }

    function test_SubmitNeedsTheBond() public {
        uint256 jobId = createEthJob(_params(2));
        vm.deal(_trainer(0), 10 ether);
        vm.prank(_trainer(0));
        market.join{value: STAKE}(jobId);
        vm.warp(block.timestamp + 100);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.BondNotPosted.selector, jobId));
        market.submitUpdate(jobId, 0, 5, 0);
    }

    function test_SubmitEmitsAndStores() public {
        uint256 jobId = _job(2);
        vm.expectEmit(true, true, true, true, address(market));
        emit JobMarket.UpdateSubmitted(jobId, 0, 2, trainers[2], 99, bytes32("blob"));
        vm.prank(trainers[2]);
        market.submitUpdate(jobId, 0, 99, bytes32("blob"));
        JobMarket.State memory s = market.jobState(jobId);
        assertEq(s.submittedBits, 4, "bit 2");
        assertEq(s.submittedCount, 1, "count");
        assertEq(market.roundHash(jobId, 0), bytes32(uint256(1)), "pending record");
    }

    // ---------------------------------------------------------------- finalizeRound

    function test_FinalizeReverts() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0x7); // slots 0..2; slot 3 has not submitted yet
        JobMarket.Finalization memory f = _fin(0x7, 0);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotAggregator.selector, address(this)));
        market.finalizeRound(jobId, 0, f);
        vm.startPrank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.SubmissionsStillOpen.selector, block.timestamp + WINDOW));
        market.finalizeRound(jobId, 0, f);
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.WrongRound.selector, 1, 0));
        market.finalizeRound(jobId, 1, f);
        f.scoreWords = new uint256[](2);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.LengthMismatch.selector, 2, 1));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0);
        f.roster = new address[](3);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.LengthMismatch.selector, 3, 4));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0);
        f.roster[1] = address(0xBAD);
        vm.expectRevert(JobMarket.RosterMismatch.selector);
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0x8); // slot 3 did not submit: it cannot be "unavailable"
        vm.expectRevert(abi.encodeWithSelector(JobMarket.BadUnavailableBits.selector, 0x8));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0xF, 0); // slot 3 is absent: it cannot be an inlier
        vm.expectRevert(abi.encodeWithSelector(JobMarket.BadInlierBits.selector, 0xF));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0x1); // slot 0 unavailable and inlier
        vm.expectRevert(abi.encodeWithSelector(JobMarket.BadInlierBits.selector, 0x7));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0);
        f.newModel = 0;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.InvalidCommitment.selector, 0));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x7, 0);
        f.scoreWords[0] |= 1 << 192; // a fifth score in a word of four slots
        vm.expectRevert(abi.encodeWithSelector(JobMarket.ScoreWordOutOfRange.selector, 0));
        market.finalizeRound(jobId, 0, f);
        f = _fin(0x3, 0);
        f.scoreWords[0] |= 9 << 96; // slot 2 is an outlier with a score
        vm.expectRevert(abi.encodeWithSelector(JobMarket.ScoreOfNonInlier.selector, 2));
        market.finalizeRound(jobId, 0, f);
        mock.setAnswer(false);
        vm.expectRevert(JobMarket.InvalidProof.selector);
        market.finalizeRound(jobId, 0, _fin(0x7, 0));
        mock.setAnswer(true);
        uint256 deadline = block.timestamp - 1 + WINDOW;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.FinalizationClosed.selector, deadline, deadline + 1));
        market.finalizeRound(jobId, 0, _fin(0x7, 0));
        vm.stopPrank();
        assertEq(market.jobState(jobId).round, 0, "nothing changed");
    }

    function test_FinalizeEarlyWhenEveryoneSubmitted() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0xF);
        _finalize(jobId, 0, _fin(0xF, 0));
        assertEq(market.jobState(jobId).round, 1, "advanced inside the submission window");
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
        vm.warp(block.timestamp + 10);
        _submit(jobId, 1, 0xB);
        vm.warp(block.timestamp + WINDOW + 1);
        f = _fin(0x9, 0x2);
        o1 = outcome(f, _finalize(jobId, 1, f));
        vm.warp(block.timestamp + WINDOW + 1);
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
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NothingToClaim.selector, 3));
        market.claim(jobId, 0, 3, o0);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NothingToClaim.selector, 1));
        market.claim(jobId, 1, 1, o1);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NothingToClaim.selector, 0));
        market.claim(jobId, 2, 0, o2);
        assertEq(market.owed(address(0), trainers[0]), roundBudget / 6 + roundBudget / 5, "slot 0");
        assertEq(market.owed(address(0), trainers[1]), (roundBudget * 2) / 6, "slot 1");
        assertEq(market.owed(address(0), trainers[2]), (roundBudget * 3) / 6, "slot 2");
        assertEq(market.owed(address(0), trainers[3]), (roundBudget * 4) / 5, "slot 3");
        // Reliability: round 0 shares (1/6, 2/6, 3/6, 0), then round 1 for the present slots 0, 3.
        ReliabilityRegistry.Record memory r = registry.get(bytes32(uint256(uint160(trainers[1]))));
        assertEq(r.observations, 1, "unavailable slot not observed");
        assertEq(r.score, uint256(2e18) / 6, "share");
        r = registry.get(bytes32(uint256(uint160(trainers[3]))));
        assertEq(r.observations, 2, "outlier then inlier");
        assertEq(r.score, (WEIGHT * 0.8e18) / 1e18, "EMA from 0 towards 4/5");
        assertEq(market.jobState(jobId).unclaimed, 0, "all claimed");
        _endOfJob(jobId, o2.finalizedAt);
    }

    /// @dev The owner recovers the unallocated rest (never what is owed), the bond is released
    ///      after the dispute window, stakes are freed, and everything is paid out exactly once.
    function _endOfJob(uint256 jobId, uint40 lastFinalized) internal {
        vm.prank(owner);
        market.recover(jobId);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.BondLocked.selector, lastFinalized + WINDOW));
        market.releaseBond(jobId);
        vm.warp(lastFinalized + WINDOW + 1);
        market.releaseBond(jobId);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NothingToSlash.selector, jobId));
        market.releaseBond(jobId);
        for (uint256 i; i < N; ++i) {
            vm.prank(trainers[i]);
            market.leave(jobId);
        }
        _withdrawAll();
        assertEq(address(market).balance, 0, "everything paid out, nothing twice");
    }

    function test_ClaimReverts() public {
        uint256 jobId = _job(2);
        JobMarket.Finalization memory f = _fin(0x3, 0);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.UnknownOutcome.selector, jobId, 0));
        market.claim(jobId, 0, 0, outcome(f, uint40(block.timestamp)));
        _submit(jobId, 0, 0xF);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.UnknownOutcome.selector, jobId, 0));
        market.claim(jobId, 0, 0, outcome(f, uint40(block.timestamp))); // pending, not finalized
        uint40 t = _finalize(jobId, 0, f);
        JobMarket.RoundOutcome memory o = outcome(f, t);
        o.scoreWords = new uint256[](1);
        o.scoreWords[0] = 1 << 200; // a forged outcome
        vm.expectRevert(abi.encodeWithSelector(JobMarket.UnknownOutcome.selector, jobId, 0));
        market.claim(jobId, 0, 0, o);
        market.claim(jobId, 0, 0, outcome(f, t));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.AlreadySettled.selector, 0));
        market.claim(jobId, 0, 0, outcome(f, t));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NothingToClaim.selector, 7));
        market.claim(jobId, 0, 7, outcome(f, t));
    }

    // ---------------------------------------------------------------- data availability

    function _receipt(uint256 key, uint256 jobId, uint256 round, uint256 slot, uint256 commitment)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, market.receiptDigest(jobId, round, slot, commitment));
        return abi.encodePacked(r, s, v);
    }

    function test_DisputeSlashesTheBond() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0x5, 0x2); // slot 1 "unavailable"
        o0 = outcome(f, _finalize(jobId, 0, f));
        _badReceipts(jobId);
        bytes memory sig = _receipt(AGG_KEY, jobId, 0, 1, market.commitments(jobId, 0, 1));
        vm.expectEmit(true, true, true, true, address(market));
        emit JobMarket.Disputed(jobId, 0, 1, trainers[1], BOND / N);
        market.dispute(jobId, 0, 1, o0, sig);
        assertEq(market.owed(address(0), trainers[1]), BOND / N, "slashed to the trainer");
        assertEq(market.jobState(jobId).bondHeld, BOND - BOND / N, "bond reduced");
        vm.expectRevert(abi.encodeWithSelector(JobMarket.AlreadySettled.selector, 1));
        market.dispute(jobId, 0, 1, o0, sig);
    }

    function _badReceipts(uint256 jobId) internal {
        uint256 commitment = market.commitments(jobId, 0, 1);
        bytes memory sig0 = _receipt(AGG_KEY, jobId, 0, 0, market.commitments(jobId, 0, 0));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.SlotNotUnavailable.selector, 0));
        market.dispute(jobId, 0, 0, o0, sig0);
        bytes memory wrongSigner = _receipt(0xBEEF, jobId, 0, 1, commitment);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.InvalidReceipt.selector, vm.addr(0xBEEF)));
        market.dispute(jobId, 0, 1, o0, wrongSigner);
        bytes memory wrongCommitment = _receipt(AGG_KEY, jobId, 0, 1, commitment + 1);
        vm.expectRevert(); // recovers some other address
        market.dispute(jobId, 0, 1, o0, wrongCommitment);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.InvalidReceipt.selector, address(0)));
        market.dispute(jobId, 0, 1, o0, hex"1234");
    }

    function test_DisputeWindowCloses() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0x1, 0x2);
        uint40 t = _finalize(jobId, 0, f);
        bytes memory sig = _receipt(AGG_KEY, jobId, 0, 1, market.commitments(jobId, 0, 1));
        vm.warp(t + WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.DisputeWindowClosed.selector, t + WINDOW, t + WINDOW + 1));
        market.dispute(jobId, 0, 1, outcome(f, t), sig);
    }

    function test_DisputeAfterTheBondIsGone() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0x1, 0x2);
        uint40 t = _finalize(jobId, 0, f);
        // Round 1 expires: the bond goes to round 1's submitters, nothing is left to slash.
        vm.warp(block.timestamp + 2 * WINDOW + 1);
        market.expireRound(jobId);
        vm.warp(t + 10);
        bytes memory sig = _receipt(AGG_KEY, jobId, 0, 1, market.commitments(jobId, 0, 1));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NothingToSlash.selector, jobId));
        market.dispute(jobId, 0, 1, outcome(f, t), sig);
    }

    // ---------------------------------------------------------------- liveness

    function test_ExpireRound() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0x5); // slots 0 and 2 submitted
        uint256 deadline = block.timestamp + 2 * WINDOW;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.DeadlineNotPassed.selector, deadline, block.timestamp));
        market.expireRound(jobId);
        vm.warp(deadline + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit JobMarket.RoundExpired(jobId, 0, BUDGET / 2, BOND, 0x5);
        market.expireRound(jobId);
        assertEq(market.owed(address(0), owner), BUDGET / 2, "round budget back");
        assertEq(market.owed(address(0), trainers[0]), BOND / 2, "bond to submitters");
        assertEq(market.owed(address(0), trainers[2]), BOND / 2, "bond to submitters");
        assertEq(market.owed(address(0), trainers[1]), 0, "not to absent trainers");
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotActive.selector, jobId, JobMarket.Status.Expired));
        market.expireRound(jobId);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotActive.selector, jobId, JobMarket.Status.Expired));
        market.finalizeRound(jobId, 0, _fin(0x5, 0));
        vm.prank(owner);
        market.recover(jobId);
        assertEq(market.owed(address(0), owner), BUDGET, "the rest recovered");
        for (uint256 i; i < N; ++i) {
            vm.prank(trainers[i]);
            market.leave(jobId);
        }
        _withdrawAll();
        assertEq(address(market).balance, 0, "everything paid out");
    }

    function test_ExpireWithoutSubmittersGivesTheBondToTheOwner() public {
        uint256 jobId = _job(1);
        vm.warp(block.timestamp + 2 * WINDOW + 1);
        market.expireRound(jobId);
        assertEq(market.owed(address(0), owner), BUDGET + BOND, "budget and bond");
    }

    function test_RecoverReverts() public {
        uint256 jobId = _job(2);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotEnded.selector, jobId));
        market.recover(jobId);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotOwner.selector, address(this)));
        market.recover(jobId);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.NotEnded.selector, jobId));
        market.releaseBond(jobId);
    }

    // ---------------------------------------------------------------- withdraw

    function test_WithdrawReverts() public {
        vm.expectRevert(JobMarket.NothingToWithdraw.selector);
        market.withdraw(address(0));
    }

    function test_WithdrawIsReentrancySafe() public {
        Reenterer attacker = new Reenterer(address(market));
        uint256 jobId = createEthJob(_params(2));
        vm.deal(address(attacker), 10 ether);
        attacker.call{value: STAKE}(abi.encodeCall(JobMarket.join, (jobId)));
        attacker.call(abi.encodeCall(JobMarket.leave, (jobId)));
        uint256 before = address(attacker).balance;
        attacker.call(abi.encodeCall(JobMarket.withdraw, (address(0))));
        assertTrue(attacker.reentered(), "re-entry attempted");
        assertEq(address(attacker).balance, before + STAKE, "paid once");
        assertEq(market.owed(address(0), address(attacker)), 0, "nothing left");
    }

    function test_WithdrawFailsForARefusingReceiver() public {
        uint256 jobId = createEthJob(_params(2));
        vm.prank(owner);
        market.cancel(jobId);
        vm.etch(owner, hex"5f5ffd"); // PUSH0 PUSH0 REVERT: refuses ETH
        vm.prank(owner);
        vm.expectRevert(JobMarket.TransferFailed.selector);
        market.withdraw(address(0));
        assertEq(market.owed(address(0), owner), BUDGET, "still owed");
    }

    function _withdrawAll() internal {
        address[] memory who = new address[](N + 2);
        for (uint256 i; i < N; ++i) {
            who[i] = _trainer(i);
        }
        who[N] = owner;
        who[N + 1] = aggregator;
        for (uint256 i; i < who.length; ++i) {
            if (market.owed(address(0), who[i]) == 0) continue;
            vm.prank(who[i]);
            market.withdraw(address(0));
        }
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev Pro-rata shares never exceed the round budget and leave less than n wei of dust.
    function testFuzz_AllocationIsProRata(uint256[4] memory raw, uint8 inliers) public {
        uint256 jobId = _job(1);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(uint64(inliers & 0xF), 0);
        f.scoreWords[0] = 0;
        uint256 total;
        for (uint256 i; i < N; ++i) {
            if ((inliers >> i) & 1 == 0) continue;
            uint256 sc = bound(raw[i], 0, (1 << 48) - 1);
            f.scoreWords[0] |= sc << (48 * i);
            total += sc;
        }
        uint40 t = _finalize(jobId, 0, f);
        uint256 paid;
        for (uint256 i; i < N; ++i) {
            uint256 sc = (f.scoreWords[0] >> (48 * i)) & ((1 << 48) - 1);
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

    /// @dev Any ETH amount other than the stake is refused and changes nothing.
    function testFuzz_JoinNeedsTheExactStake(uint256 value) public {
        value = bound(value, 0, 100 ether);
        vm.assume(value != STAKE);
        uint256 jobId = createEthJob(_params(2));
        vm.deal(_trainer(0), 100 ether);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.WrongValue.selector, value, STAKE));
        market.join{value: value}(jobId);
        (bool staked,) = market.slotOf(jobId, _trainer(0));
        assertTrue(!staked, "not joined");
    }

    /// @dev The context packs every field at its documented offset.
    function testFuzz_ContextLayout(uint8 f, uint32 tau, uint32 lr, uint32 dupTol) public {
        vm.assume(lr > 2);
        JobMarket.JobParams memory p = _params(2);
        p.maxMalicious = uint8(bound(f, 0, N - 1));
        p.tau = tau;
        p.lr = lr;
        p.lrDecay = 1;
        p.dupTol = dupTol;
        uint256 jobId = createEthJob(p);
        uint256 c = market.context(jobId, 1);
        assertEq(c & type(uint64).max, jobId, "job");
        assertEq((c >> 64) & type(uint32).max, 1, "round");
        assertEq((c >> 96) & 0xFF, p.maxMalicious, "f");
        assertEq((c >> 104) & type(uint32).max, tau, "tau");
        assertEq((c >> 136) & type(uint32).max, lr - 1, "lr of round 1");
        assertEq((c >> 168) & type(uint32).max, lr - 2, "next lr");
        assertEq((c >> 200) & type(uint32).max, dupTol, "dup_tol");
        assertEq(c >> 232, 0, "nothing above");
    }
}
