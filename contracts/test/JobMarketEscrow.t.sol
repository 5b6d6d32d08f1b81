// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MockMarketBase} from "./utils/MarketBase.sol";
import {TestToken, FeeToken, Reenterer, MockVerifier} from "./utils/Mocks.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IJobMarketErrors} from "../src/IJobMarket.sol";
import {IJobMarketEvents} from "../src/IJobMarketEvents.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";

/// @notice Job creation and escrow, the bond, joining and leaving, cancellation and withdrawals of
///         JobMarket (market/JobEscrow.sol): lifecycle, bad input and every revert path.
///         Where a real round-0 proof cannot reach (later rounds, unavailable or absent slots,
///         arbitrary scores, a verifier answering false) the MockVerifier stands in; real proofs
///         are in JobMarketProof.t.sol.
contract JobMarketEscrowTest is MockMarketBase {
    // ---------------------------------------------------------------- approval and createJob

    function test_OnlyApprovedVerifiers() public {
        MockVerifier rogue = new MockVerifier(N);
        JobMarket.JobParams memory p = _params(2);
        p.verifier = IRoundVerifier(address(rogue));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.VerifierNotApproved.selector, address(rogue)));
        market.createJob{value: p.budget}(p);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotGovernor.selector, owner));
        market.setVerifierApproval(address(rogue), true);
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.VerifierApproval(address(rogue), true);
        market.setVerifierApproval(address(rogue), true);
        assertTrue(market.approvedVerifier(address(rogue)), "approved");
        createEthJob(p);
        market.setVerifierApproval(address(rogue), false);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.VerifierNotApproved.selector, address(rogue)));
        market.createJob{value: p.budget}(p);
        vm.expectRevert(IJobMarketErrors.ZeroAddress.selector);
        new JobMarket(registry, address(0));
    }

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
        JobMarket.JobParams memory p = _tokenParams(token, 2);
        vm.prank(owner);
        uint256 jobId = market.createJob(p);
        assertEq(token.balanceOf(address(market)), BUDGET, "escrowed");
        // Stake and bond are in the job's token too.
        token.mint(aggregator, BOND);
        vm.startPrank(aggregator);
        token.approve(address(market), BOND);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongValue.selector, 1, 0));
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
        vm.warp(_now() + 100);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0xB, 0);
        uint40 t = _finalize(jobId, 0, f);
        for (uint256 i; i < N; ++i) {
            if (i != 2) market.claim(jobId, 0, i, outcome(f, t));
        }
        assertEq(
            registry.evidence(idOf(trainers[0]), address(token)).weight, BUDGET / N + STAKE, "weighed in the job's token"
        );
        assertEq(registry.evidence(idOf(trainers[0]), address(0)).weight, 0, "not in ETH");
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
        JobMarket.JobParams memory p = _tokenParams(new FeeToken(), 2);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketErrors.UnsupportedToken.selector, BUDGET - BUDGET / 100, BUDGET)
        );
        market.createJob(p);
    }

    function test_CreateJobRevertsOnBadParams() public {
        JobMarket.JobParams memory p = _params(2);
        vm.startPrank(owner);
        p.budget = 0;
        vm.expectRevert(IJobMarketErrors.ZeroBudget.selector);
        market.createJob(p);
        p = _params(2);
        p.rounds = 0;
        vm.expectRevert(IJobMarketErrors.InvalidRounds.selector);
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.rounds = uint32(type(uint16).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.TooManyRounds.selector, p.rounds, type(uint16).max));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.budget = 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BudgetTooSmall.selector, 1, 2));
        market.createJob{value: 1}(p);
        p = _params(2);
        p.trainers = 0;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidSlots.selector, 0));
        market.createJob{value: p.budget}(p);
        p.trainers = 257; // MAX_SLOTS = 256
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidSlots.selector, 257));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.maxMalicious = uint8(N);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidMaxMalicious.selector, N, N));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.aggregator = address(0);
        vm.expectRevert(IJobMarketErrors.ZeroAddress.selector);
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.startTime = uint40(_now());
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.StartInPast.selector, _now(), _now()));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.submitWindow = 0;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SubmitWindowOutOfRange.selector, 0, 60, 30 days));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.lrDecay = 32;
        vm.expectRevert(IJobMarketErrors.InvalidLearningRate.selector);
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.lr = 1 << 16; // the circuit needs lr < 2^16
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.LearningRateTooLarge.selector, 1 << 16, 1 << 16));
        market.createJob{value: p.budget}(p);
        p.lr = type(uint32).max;
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketErrors.LearningRateTooLarge.selector, type(uint32).max, 1 << 16)
        );
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.initialModel = market.R();
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidCommitment.selector, market.R()));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        p.trainers = 5;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ShapeMismatch.selector, 11, 12));
        market.createJob{value: p.budget}(p);
        p = _params(2);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongValue.selector, p.budget - 1, p.budget));
        market.createJob{value: p.budget - 1}(p); // unfunded
        vm.stopPrank();
        assertEq(market.jobCount(), 0, "nothing created");
        assertEq(address(market).balance, 0, "nothing held");
    }

    // ---------------------------------------------------------------- bond, join, leave, cancel

    function test_PostBondReverts() public {
        uint256 jobId = createEthJob(_params(2));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotAggregator.selector, address(this)));
        market.postBond{value: BOND}(jobId);
        vm.startPrank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.UnknownJob.selector, 9));
        market.postBond{value: BOND}(9);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongValue.selector, 1, BOND));
        market.postBond{value: 1}(jobId);
        market.postBond{value: BOND}(jobId);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BondAlreadyPosted.selector, jobId));
        market.postBond{value: BOND}(jobId);
        vm.stopPrank();
        uint256 late = createEthJob(_params(2));
        vm.warp(_now() + 100);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadyStarted.selector, late));
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
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.JobFull.selector, jobId));
        market.join{value: STAKE}(jobId);
        vm.prank(_trainer(1));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadyJoined.selector, _trainer(1)));
        market.join{value: STAKE}(jobId);
        // Slot 1 leaves before the start: its stake is owed back and the slot is reused.
        vm.prank(_trainer(1));
        market.leave(jobId);
        assertEq(market.owed(address(0), _trainer(1)), STAKE, "stake owed");
        assertEq(market.slotOwner(jobId, 1), address(0), "slot freed");
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongValue.selector, 0, STAKE));
        market.join(jobId);
        vm.prank(address(0xBEEF));
        market.join{value: STAKE}(jobId);
        assertEq(market.slotOwner(jobId, 1), address(0xBEEF), "slot reused");
        vm.prank(_trainer(1));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotTrainer.selector, _trainer(1)));
        market.leave(jobId);
        // After the start nobody joins or leaves until the job ends.
        vm.warp(_now() + 100);
        vm.deal(_trainer(7), 10 ether);
        vm.prank(_trainer(7));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadyStarted.selector, jobId));
        market.join{value: STAKE}(jobId);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.LeaveNotAllowed.selector, jobId));
        market.leave(jobId);
    }

    function test_CancelBeforeStart() public {
        uint256 jobId = _jobBeforeStart(2);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotOwner.selector, address(this)));
        market.cancel(jobId);
        vm.prank(owner);
        market.cancel(jobId);
        assertEq(market.owed(address(0), owner), BUDGET, "budget back");
        assertEq(market.owed(address(0), aggregator), BOND, "bond back");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotActive.selector, jobId, JobMarket.Status.Cancelled));
        market.cancel(jobId);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotActive.selector, jobId, JobMarket.Status.Cancelled));
        market.join{value: STAKE}(jobId);
        _leaveAll(jobId);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NothingToRecover.selector, jobId));
        market.recover(jobId);
        _withdrawAll();
        assertEq(address(market).balance, 0, "everything paid out");
    }

    function test_CancelAfterStartOnlyWithoutBond() public {
        uint256 jobId = _job(2);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadyStarted.selector, jobId));
        market.cancel(jobId);
        uint256 noBond = createEthJob(_params(2));
        vm.warp(_now() + 100);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadyStarted.selector, noBond));
        market.join{value: STAKE}(noBond);
        vm.prank(owner);
        market.cancel(noBond);
        assertEq(market.owed(address(0), owner), BUDGET, "budget back");
    }

    /// @dev Any ETH amount other than the stake is refused and changes nothing.
    function testFuzz_JoinNeedsTheExactStake(uint256 value) public {
        value = bound(value, 0, 100 ether);
        vm.assume(value != STAKE);
        uint256 jobId = createEthJob(_params(2));
        vm.deal(_trainer(0), 100 ether);
        vm.prank(_trainer(0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongValue.selector, value, STAKE));
        market.join{value: value}(jobId);
        (bool staked,) = market.slotOf(jobId, _trainer(0));
        assertTrue(!staked, "not joined");
    }

    // ---------------------------------------------------------------- withdraw

    function test_WithdrawReverts() public {
        vm.expectRevert(IJobMarketErrors.NothingToWithdraw.selector);
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
        vm.expectRevert(IJobMarketErrors.TransferFailed.selector);
        market.withdraw(address(0));
        assertEq(market.owed(address(0), owner), BUDGET, "still owed");
    }
}
