// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MockMarketBase} from "./utils/MarketBase.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {PublicInputs, SCORES_PER_WORD, SCORE_BITS} from "../src/market/PublicInputs.sol";
import {MockVerifier} from "./utils/Mocks.sol";
import {IJobMarketErrors, IJobMarketEvents} from "../src/IJobMarket.sol";

/// @notice The on-chain deviations of contracts/README.md ("Threat model: on-chain deviations"):
///         each test performs an attack by one role and shows that the market now refuses it
///         (with the named error) or that it costs the attacker more than it gains.
contract JobMarketAttacksTest is MockMarketBase {
    /// @dev The aggregator's EIP-712 upload receipt for (job, round, slot)'s commitment.
    function _receipt(uint256 jobId, uint32 round, uint256 slot) internal view returns (bytes memory) {
        bytes32 digest = market.receiptDigest(jobId, round, slot, market.commitments(jobId, round, slot));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(AGG_KEY, digest);
        return abi.encodePacked(r, s, v);
    }

    // ---------------------------------------------------------------- 3. owner as aggregator

    /// @dev The owner names itself aggregator, to declare every trainer unavailable and keep
    ///      the budget: refused.
    function test_Attack_OwnerAsAggregatorIsRefused() public {
        JobMarket.JobParams memory p = _params(2);
        p.aggregator = owner;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AggregatorIsOwner.selector, owner));
        createEthJob(p);
        assertEq(market.jobCount(), 0, "no job");
    }

    /// @dev An aggregator without a bond (or with less than a round's budget) has nothing to
    ///      lose by excluding trainers: refused.
    function test_Attack_ZeroBondIsRefused() public {
        JobMarket.JobParams memory p = _params(2);
        uint256 roundBudget = BUDGET / 2;
        p.bond = 0;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BondTooSmall.selector, 0, roundBudget));
        createEthJob(p);
        p.bond = uint128(roundBudget - 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BondTooSmall.selector, roundBudget - 1, roundBudget));
        createEthJob(p);
        p.bond = uint128(roundBudget);
        createEthJob(p);
        assertEq(market.jobCount(), 1, "the minimum bond is accepted");
    }

    /// @dev With the minimum bond, an aggregator (working for the owner) that declares every
    ///      slot unavailable keeps the round budget in escrow for the owner, but the trainers'
    ///      disputes take the whole bond: the pair loses at least as much as it kept.
    function test_Attack_ExcludingEveryoneCostsTheBond() public {
        JobMarket.JobParams memory p = _params(2);
        uint256 roundBudget = BUDGET / 2;
        p.bond = uint128(roundBudget);
        uint256 jobId = createEthJob(p);
        vm.prank(aggregator);
        market.postBond{value: roundBudget}(jobId);
        for (uint256 i; i < N; ++i) {
            trainers.push(_trainer(i));
            vm.deal(_trainer(i), 10 ether);
            vm.prank(_trainer(i));
            market.join{value: STAKE}(jobId);
        }
        vm.warp(_now() + 100);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0, 0xF); // everyone "unavailable"
        JobMarket.RoundOutcome memory o = outcome(f, _finalize(jobId, 0, f));
        assertEq(market.jobState(jobId).escrow, BUDGET, "the round budget stayed in escrow");
        for (uint256 i; i < N; ++i) {
            market.dispute(jobId, 0, i, o, _receipt(jobId, 0, i));
            assertEq(market.owed(address(0), trainers[i]), roundBudget / N, "each trainer recovers its equal share");
        }
        uint256 kept = market.jobState(jobId).escrow - (BUDGET - roundBudget); // round 0's budget
        uint256 lost = roundBudget - market.jobState(jobId).bondHeld;
        assertLe(kept, lost, "the pair lost at least what it kept");
    }

    // ---------------------------------------------------------------- 8. unbounded windows

    function _refused(JobMarket.JobParams memory p, bytes memory err) internal {
        vm.expectRevert(err);
        createEthJob(p);
    }

    /// @dev A 1-second submission window (no trainer can submit: the owner keeps the budget)
    ///      and a century-long one (every stake locked) are refused; the bounds are accepted.
    function test_Attack_SubmitWindowOutOfRangeIsRefused() public {
        JobMarket.JobParams memory p = _params(2);
        bytes4 e = IJobMarketErrors.SubmitWindowOutOfRange.selector;
        p.submitWindow = 1;
        _refused(p, abi.encodeWithSelector(e, 1, 60, 30 days));
        p.submitWindow = type(uint32).max;
        _refused(p, abi.encodeWithSelector(e, type(uint32).max, 60, 30 days));
        p.submitWindow = market.MIN_SUBMIT_WINDOW();
        createEthJob(p);
        p.submitWindow = market.MAX_WINDOW();
        p.finalizeWindow = market.MAX_WINDOW();
        createEthJob(p);
        assertEq(market.jobCount(), 2, "the bounds are accepted");
    }

    /// @dev finalizeWindow = 2^32 - 1 would let a silent aggregator lock stakes, bond and
    ///      budget for a century before the round can expire: refused.
    function test_Attack_FinalizeWindowOutOfRangeIsRefused() public {
        JobMarket.JobParams memory p = _params(2);
        bytes4 e = IJobMarketErrors.FinalizeWindowOutOfRange.selector;
        p.finalizeWindow = type(uint32).max;
        _refused(p, abi.encodeWithSelector(e, type(uint32).max, 60, 30 days));
        p.finalizeWindow = 30 days + 1;
        _refused(p, abi.encodeWithSelector(e, 30 days + 1, 60, 30 days));
        p.finalizeWindow = 59;
        _refused(p, abi.encodeWithSelector(e, 59, 60, 30 days));
        p.finalizeWindow = 60;
        createEthJob(p);
        assertEq(market.jobCount(), 1, "60 s is accepted");
    }

    /// @dev disputeWindow = 0 makes every dispute impossible, so the bond is never at risk and
    ///      the aggregator could declare anyone unavailable for free: refused.
    function test_Attack_ZeroDisputeWindowIsRefused() public {
        JobMarket.JobParams memory p = _params(2);
        bytes4 e = IJobMarketErrors.DisputeWindowOutOfRange.selector;
        p.disputeWindow = 0;
        _refused(p, abi.encodeWithSelector(e, 0, 60, 2 * WINDOW));
        p.disputeWindow = 59;
        _refused(p, abi.encodeWithSelector(e, 59, 60, 2 * WINDOW));
        p.disputeWindow = 60;
        createEthJob(p);
        assertEq(market.jobCount(), 1, "60 s is accepted");
    }

    // ---------------------------------------------------------------- 11. tau below 1

    /// @dev tau < 1.0 would make honest trainers near the median outliers (scored 0): refused.
    function test_Attack_TauBelowOneIsRefused() public {
        JobMarket.JobParams memory p = _params(2);
        p.tau = 0;
        _refused(p, abi.encodeWithSelector(IJobMarketErrors.TauBelowOne.selector, 0));
        p.tau = (1 << 16) - 1;
        _refused(p, abi.encodeWithSelector(IJobMarketErrors.TauBelowOne.selector, (1 << 16) - 1));
        p.tau = 1 << 16;
        createEthJob(p);
        assertEq(market.jobCount(), 1, "tau = 1.0 is accepted");
    }

    // ---------------------------------------------------------------- 7. registry admin

    /// @dev The registry's admin revokes the market's writer role to stop every settlement:
    ///      the round is finalized all the same (the failed write is logged) and paid.
    function test_Attack_RevokedWriterCannotBlockSettlement() public {
        uint256 jobId = _job(2);
        registry.revokeRole(registry.WRITER_ROLE(), address(market));
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0xF, 0);
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.ReliabilityWriteFailed(jobId, 0);
        JobMarket.RoundOutcome memory o = outcome(f, _finalize(jobId, 0, f));
        assertEq(market.jobState(jobId).round, 1, "the round was settled");
        uint256 roundBudget = BUDGET / 2;
        for (uint256 i; i < N; ++i) {
            market.claim(jobId, 0, i, o);
            // scores 1..N, total N(N+1)/2
            assertEq(market.owed(address(0), trainers[i]), roundBudget * (i + 1) / 10, "the trainer is paid");
        }
        assertEq(registry.get(bytes32(uint256(uint160(trainers[0])))).observations, 0, "no reliability written");
    }

    /// @dev The aggregator cannot skip the reliability write by starving the registry of gas:
    ///      with 64 trainers the registry needs ~1.6M gas, so the 1/64 left after it runs out
    ///      would be enough to finish the finalization; the market reverts it instead.
    function test_Attack_StarvedReliabilityWriteReverts() public {
        uint256 n = 64;
        MockVerifier v = new MockVerifier(n);
        market.setVerifierApproval(address(v), true);
        JobMarket.JobParams memory p = _params(2);
        p.verifier = IRoundVerifier(address(v));
        p.trainers = uint8(n);
        uint256 jobId = createEthJob(p);
        vm.prank(aggregator);
        market.postBond{value: BOND}(jobId);
        JobMarket.Finalization memory f;
        f.newModel = 777;
        f.inlierBits = type(uint64).max;
        f.scoreWords = new uint256[](PublicInputs.scoreWords(n));
        f.roster = new address[](n);
        for (uint256 i; i < n; ++i) {
            f.roster[i] = _trainer(i);
            vm.deal(_trainer(i), 10 ether);
            vm.prank(_trainer(i));
            market.join{value: STAKE}(jobId);
            f.scoreWords[i / SCORES_PER_WORD] |= 1 << (SCORE_BITS * (i % SCORES_PER_WORD));
        }
        vm.warp(_now() + 100);
        for (uint256 i; i < n; ++i) {
            vm.prank(_trainer(i));
            market.submitUpdate(jobId, 0, 1 + i, bytes32(i));
        }
        bytes memory data = abi.encodeCall(JobMarket.finalizeRound, (jobId, 0, f));
        // From "runs out before the registry" to "enough for everything": no gas limit may
        // settle the round without the write.
        bool settled;
        for (uint256 g = 1_000_000; g < 2_400_000 && !settled; g += 20_000) {
            vm.prank(aggregator);
            (settled,) = address(market).call{gas: g}(data);
        }
        assertTrue(settled, "enough gas settles");
        for (uint256 i; i < n; ++i) {
            assertEq(registry.get(bytes32(uint256(uint160(_trainer(i))))).observations, 1, "reliability written");
        }
    }

    // ---------------------------------------------------------------- 13. expiry and open disputes

    /// @dev The aggregator wrongly declares slot 1 unavailable in round 0, then lets round 1
    ///      expire so that expiry hands the whole bond to round 1's submitters before slot 1
    ///      disputes. A dispute window longer than submit + finalize is refused, and with the
    ///      longest one accepted every dispute of round 0 closes before round 1 can expire: the
    ///      dispute is paid, and expiry splits what is left.
    function test_Attack_ExpiryCannotStrandAnOpenDispute() public {
        JobMarket.JobParams memory p = _params(2);
        p.disputeWindow = 2 * WINDOW + 1;
        _refused(
            p,
            abi.encodeWithSelector(
                IJobMarketErrors.DisputeWindowOutOfRange.selector, 2 * WINDOW + 1, 60, 2 * WINDOW
            )
        );
        p.disputeWindow = 2 * WINDOW;
        uint256 jobId = createEthJob(p);
        bondAndJoinAll(jobId, N);
        vm.warp(_now() + 100);
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0xD, 0x2); // slot 1 "unavailable"
        JobMarket.RoundOutcome memory o = outcome(f, _finalize(jobId, 0, f));
        _submit(jobId, 1, 0xD); // round 1: slots 0, 2, 3 submit; the aggregator stalls
        uint256 deadline = uint256(o.finalizedAt) + 2 * WINDOW;
        vm.warp(deadline); // the last second of round 0's dispute window
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.DeadlineNotPassed.selector, deadline, deadline));
        market.expireRound(jobId);
        market.dispute(jobId, 0, 1, o, _receipt(jobId, 0, 1));
        assertEq(market.owed(address(0), trainers[1]), BOND / N, "the dispute is paid");
        vm.warp(deadline + 1);
        market.expireRound(jobId);
        uint256 rest = BOND - BOND / N;
        assertEq(market.owed(address(0), trainers[0]), rest / 3 + rest % 3, "expiry splits the rest");
        assertEq(market.owed(address(0), trainers[2]), rest / 3, "expiry splits the rest");
        assertEq(market.jobState(jobId).bondHeld, 0, "nothing stranded");
    }

    // ---------------------------------------------------------------- 4. recycling the bond

    /// @dev The aggregator holds slot 3 (a Sybil trainer), declares it unavailable and disputes
    ///      itself for bond / n, draining its bond round by round until excluding honest trainers
    ///      costs nothing. Now the next round cannot be finalized until the bond is topped up,
    ///      so each self-dispute costs the aggregator exactly what its Sybil receives.
    function test_Attack_BondCannotBeRecycled() public {
        uint256 jobId = _job(3);
        address sybil = trainers[3];
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0x7, 0x8); // slot 3 "unavailable"
        JobMarket.RoundOutcome memory o = outcome(f, _finalize(jobId, 0, f));
        market.dispute(jobId, 0, 3, o, _receipt(jobId, 0, 3));
        uint256 slash = BOND / N;
        assertEq(market.owed(address(0), sybil), slash, "the Sybil took bond / n");
        _submit(jobId, 1, 0xF);
        f = _fin(0x7, 0x8);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BondNotFull.selector, jobId, BOND - slash, BOND));
        vm.prank(aggregator);
        market.finalizeRound(jobId, 1, f);
        // Topping up costs what the Sybil took.
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.WrongValue.selector, slash - 1, slash));
        vm.prank(aggregator);
        market.topUpBond{value: slash - 1}(jobId);
        uint256 before = aggregator.balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.BondToppedUp(jobId, aggregator, slash);
        vm.prank(aggregator);
        market.topUpBond{value: slash}(jobId);
        assertEq(before - aggregator.balance, slash, "the aggregator paid back what its Sybil took");
        assertEq(market.jobState(jobId).bondHeld, BOND, "full bond at stake again");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BondNotShort.selector, jobId));
        vm.prank(aggregator);
        market.topUpBond(jobId);
        _finalize(jobId, 1, f);
        assertEq(market.jobState(jobId).round, 2, "round 1 settled with the full bond held");
    }

    // ---------------------------------------------------------------- 6. slot squatting

    /// @dev A squatter takes slot 3 and never submits, to block the slot and take its stake back
    ///      when the job stalls or expires. Once round 0's submission window has closed anyone
    ///      evicts it: the stake is credited to the owner, and the squatter can neither submit
    ///      nor take the stake back with `leave`, even after the job expired.
    function test_Attack_SlotSquattingForfeitsTheStake() public {
        uint256 jobId = _job(2);
        address squatter = trainers[3];
        address bystander = address(0xB0B);
        _submit(jobId, 0, 0x7); // slots 0..2 submit, the squatter does not
        uint256 deadline = uint256(market.jobConfig(jobId).startTime) + WINDOW;
        vm.warp(deadline + 1);
        uint256 stakesBefore = market.jobState(jobId).stakesHeld;
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.Evicted(jobId, 0, 3, squatter, STAKE);
        vm.prank(bystander);
        market.evict(jobId, 0, 3);
        assertEq(market.owed(address(0), owner), STAKE, "the owner is credited the stake");
        assertEq(market.owed(address(0), bystander), 0, "the caller gains nothing");
        assertEq(market.jobState(jobId).stakesHeld, stakesBefore - STAKE, "the stake is no longer held");
        (bool staked,) = market.slotOf(jobId, squatter);
        assertTrue(!staked, "no live stake");
        assertEq(market.slotOwner(jobId, 3), squatter, "the roster is unchanged");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.AlreadyEvicted.selector, 3));
        market.evict(jobId, 0, 3);
        // Round 0 settles as if nothing happened (same roster); the squatter cannot submit in round 1.
        _finalize(jobId, 0, _fin(0x7, 0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotTrainer.selector, squatter));
        vm.prank(squatter);
        market.submitUpdate(jobId, 1, 4242, bytes32(0));
        // The job stalls and expires: the squatter still cannot take its stake back.
        vm.warp(_now() + 2 * WINDOW + 1);
        market.expireRound(jobId);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotTrainer.selector, squatter));
        vm.prank(squatter);
        market.leave(jobId);
        vm.expectRevert(IJobMarketErrors.NothingToWithdraw.selector);
        vm.prank(squatter);
        market.withdraw(address(0));
        // The honest trainers leave with their stakes; the squatter's went to the owner.
        for (uint256 i; i < 3; ++i) {
            vm.prank(trainers[i]);
            market.leave(jobId);
        }
        assertEq(market.jobState(jobId).stakesHeld, 0, "every stake accounted for");
        uint256 before = owner.balance;
        vm.prank(owner);
        market.withdraw(address(0));
        assertLe(STAKE, owner.balance - before, "the owner withdrew the forfeited stake (and its refund)");
    }

    /// @dev A trainer that submitted in the round cannot be evicted for it, nor for a round whose
    ///      window closed with its commitment in (finalized or expired).
    function test_Attack_SlotSquattingCannotEvictASubmitter() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0xF);
        vm.warp(uint256(market.jobConfig(jobId).startTime) + WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SlotSubmitted.selector, 2, 0));
        market.evict(jobId, 0, 2);
        _finalize(jobId, 0, _fin(0xF, 0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SlotSubmitted.selector, 2, 0));
        market.evict(jobId, 0, 2);
        _submit(jobId, 1, 0xF);
        vm.warp(_now() + 2 * WINDOW + 1);
        market.expireRound(jobId);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SlotSubmitted.selector, 2, 1));
        market.evict(jobId, 1, 2);
        assertEq(market.owed(address(0), owner), BUDGET / 2, "only the expired round's budget");
    }

    /// @dev No eviction while the trainer can still submit: before the round's submission window
    ///      closes (to its last second), for a later round, or in a job that never ran a round.
    ///      Free slots and trainers that already took their stake back are not members.
    function test_Attack_SlotSquattingNotBeforeTheWindowCloses() public {
        uint256 jobId = _job(2);
        uint256 deadline = uint256(market.jobConfig(jobId).startTime) + WINDOW;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SubmitWindowNotClosed.selector, deadline, deadline));
        market.evict(jobId, 0, 3);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SubmitWindowNotClosed.selector, deadline, deadline + 1));
        market.evict(jobId, 1, 3);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotMember.selector, N));
        market.evict(jobId, 0, N);
        // A job cancelled before its start never ran a round.
        uint256 cancelled = _jobBeforeStart(1);
        vm.prank(owner);
        market.cancel(cancelled);
        vm.warp(_now() + 3 * WINDOW);
        uint256 never = uint256(market.jobConfig(cancelled).startTime) + WINDOW;
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.SubmitWindowNotClosed.selector, never, _now()));
        market.evict(cancelled, 0, 0);
        // After the job ended, a trainer that left with its stake is no member any more.
        market.expireRound(jobId);
        vm.prank(trainers[3]);
        market.leave(jobId);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.NotMember.selector, 3));
        market.evict(jobId, 0, 3);
        market.evict(jobId, 0, 2); // the others are still evictable for the expired round
    }
}
