// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MockMarketBase} from "./utils/MarketBase.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {PublicInputs, SCORES_PER_WORD, SCORE_BITS} from "../src/market/PublicInputs.sol";
import {MockVerifier, TestToken} from "./utils/Mocks.sol";
import {IJobMarketErrors} from "../src/IJobMarket.sol";
import {IJobMarketEvents} from "../src/IJobMarketEvents.sol";

/// @notice The on-chain deviations of contracts/README.md ("Threat model: on-chain deviations"):
///         each test performs an attack by one role and shows that the market now refuses it
///         (with the named error) or that it costs the attacker more than it gains.
contract JobMarketAttacksTest is MockMarketBase {
    /// @dev The aggregator's EIP-712 upload receipt for what (job, round, slot) submitted.
    function _receipt(uint256 jobId, uint32 round, uint256 slot) internal view returns (bytes memory) {
        return receipt(jobId, round, slot);
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

    /// @dev An aggregator that never posts its bond settles the job's empty rounds to end it
    ///      (and free itself of the job) at no risk: refused until the bond is posted.
    function test_Attack_UnbondedAggregatorCannotFinalize() public {
        uint256 jobId = createEthJob(_params(2));
        vm.warp(_now() + 100 + WINDOW + 1); // round 0's submission window is over, nobody submitted
        JobMarket.Finalization memory f = _fin(0, 0);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.BondNotPosted.selector, jobId));
        market.finalizeRound(jobId, 0, f);
        assertEq(market.jobState(jobId).round, 0, "round 0 still open");
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
    ///      the round is finalized (it writes no reliability) and every claim is paid; the
    ///      first claim's failed reliability write is logged, and the round counts as recorded.
    function test_Attack_RevokedWriterCannotBlockSettlement() public {
        uint256 jobId = _job(2);
        registry.revokeRole(registry.WRITER_ROLE(), address(market));
        _submit(jobId, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0xF, 0);
        JobMarket.RoundOutcome memory o = outcome(f, _finalize(jobId, 0, f));
        assertEq(market.jobState(jobId).round, 1, "the round was settled");
        uint256 roundBudget = BUDGET / 2;
        vm.expectEmit(true, true, true, true, address(market));
        emit IJobMarketEvents.ReliabilityWriteFailed(jobId, 0);
        market.claim(jobId, 0, 0, o);
        for (uint256 i; i < N; ++i) {
            if (i != 0) market.claim(jobId, 0, i, o);
            // scores 1..N, total N(N+1)/2
            assertEq(market.owed(address(0), trainers[i]), roundBudget * (i + 1) / 10, "the trainer is paid");
        }
        assertEq(registry.evidence(idOf(trainers[0]), address(0)).observations, 0, "no reliability written");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.ReliabilityAlreadyRecorded.selector, jobId, 0));
        market.recordReliability(jobId, 0, o);
    }

    /// @dev The first claimant cannot skip the round's reliability write by starving the
    ///      registry of gas: with 64 trainers the registry needs ~1.5M gas, so the 1/64 left after
    ///      it runs out would be enough to finish the claim; the market reverts it instead.
    function test_Attack_StarvedReliabilityWriteReverts() public {
        uint256 n = 64;
        MockVerifier v = new MockVerifier(n);
        market.setVerifierApproval(address(v), true);
        JobMarket.JobParams memory p = _params(2);
        p.verifier = IRoundVerifier(address(v));
        p.trainers = uint16(n);
        uint256 jobId = createEthJob(p);
        vm.prank(aggregator);
        market.postBond{value: BOND}(jobId);
        JobMarket.Finalization memory f;
        f.newModel = 777;
        f.aggregateNormSq = 1;
        f.inlierBits = (1 << n) - 1;
        f.scoreWords = new uint256[](PublicInputs.scoreWords(n));
        for (uint256 i; i < n; ++i) {
            vm.deal(_trainer(i), 10 ether);
            vm.prank(_trainer(i));
            market.join{value: STAKE}(jobId);
            f.scoreWords[i / SCORES_PER_WORD] |= 1 << (SCORE_BITS * (i % SCORES_PER_WORD));
        }
        vm.warp(_now() + 100);
        for (uint256 i; i < n; ++i) {
            vm.prank(_trainer(i));
            market.submitUpdate(jobId, 0, 1 + i, _blob(0, i));
        }
        vm.prank(aggregator);
        market.finalizeRound(jobId, 0, f);
        JobMarket.RoundOutcome memory o = outcome(f, uint40(_now()));
        bytes memory data = abi.encodeCall(JobMarket.claim, (jobId, 0, 5, o));
        // From "runs out before the registry" to "enough for everything": no gas limit may
        // pay the claim without the write.
        bool paid;
        uint256 g = 600_000;
        for (; g < 3_000_000; g += 20_000) {
            (paid,) = address(market).call{gas: g}(data);
            if (paid) break;
        }
        assertTrue(paid, "enough gas pays");
        assertTrue(g > 1_000_000, "the write needs more than 1M gas: the loop started below it");
        for (uint256 i; i < n; ++i) {
            assertEq(registry.evidence(idOf(_trainer(i)), address(0)).observations, 1, "reliability written");
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

    // ---------------------------------------------------------------- 1. a receipt for another blob

    /// @dev A trainer submits a bogus blob reference (nothing the aggregator can fetch), uploads
    ///      a valid blob under another reference and gets the aggregator's receipt for that one.
    ///      Declared unavailable (rightly: the blob it committed to is not there), it disputes
    ///      with that receipt. The receipt names another blob than the one the slot submitted, so
    ///      it does not recover to the aggregator over the slot's receipt: InvalidReceipt, and the
    ///      bond is untouched. Only a receipt for the submitted blob wins a dispute.
    function test_Attack1_ReceiptForAnotherBlobDoesNotWinDispute() public {
        uint256 jobId = _job(2);
        _submit(jobId, 0, 0x7); // slots 0..2
        uint256 commitment = 4242;
        bytes32 bogus = keccak256("nothing there");
        bytes32 uploaded = keccak256("the valid blob, uploaded elsewhere");
        vm.expectRevert(IJobMarketErrors.ZeroBlobRef.selector);
        vm.prank(trainers[3]);
        market.submitUpdate(jobId, 0, commitment, bytes32(0));
        vm.prank(trainers[3]);
        market.submitUpdate(jobId, 0, commitment, bogus);
        assertEq(market.blobRefs(jobId, 0, 3), bogus, "the submitted blob reference is stored");
        // The aggregator received the valid blob and signed a receipt for it.
        bytes32 signed = market.receiptDigest(jobId, 0, 3, commitment, uploaded);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(AGG_KEY, signed);
        JobMarket.Finalization memory f = _fin(0x7, 0x8); // slot 3 unavailable
        JobMarket.RoundOutcome memory o = outcome(f, _finalize(jobId, 0, f));

        bytes32 slotReceipt = market.receiptDigest(jobId, 0, 3, commitment, bogus);
        address recovered = ecrecover(slotReceipt, v, r, s);
        assertTrue(recovered != aggregator, "the receipt does not recover to the aggregator");
        vm.expectRevert(abi.encodeWithSelector(IJobMarketErrors.InvalidReceipt.selector, recovered));
        market.dispute(jobId, 0, 3, o, abi.encodePacked(r, s, v));
        assertEq(market.jobState(jobId).bondHeld, BOND, "the bond is untouched");
        assertEq(market.owed(address(0), trainers[3]), 0, "the trainer gained nothing");
        // What wins is a receipt for the blob the slot submitted, which an aggregator that could
        // not fetch it does not sign.
        market.dispute(jobId, 0, 3, o, sign(AGG_KEY, slotReceipt));
        assertEq(market.owed(address(0), trainers[3]), BOND / N, "the submitted blob's receipt wins");
    }

    // ---------------------------------------------------------------- 5. farming reliability

    /// @dev Creates, bonds, joins (trainers 0..N-1, stake `p.stake`), runs and finalizes a
    ///      one-round job with `f`; its first claim (slot 0) writes the round's reliability.
    function _runJob(JobMarket.JobParams memory p, JobMarket.Finalization memory f) internal returns (uint256 jobId) {
        p.startTime = uint40(_now() + 100);
        uint256 value = p.token == address(0) ? p.budget : 0;
        vm.prank(owner);
        jobId = market.createJob{value: value}(p);
        vm.prank(aggregator);
        market.postBond{value: p.token == address(0) ? p.bond : 0}(jobId);
        for (uint256 i; i < N; ++i) {
            vm.prank(_trainer(i));
            market.join{value: p.token == address(0) ? p.stake : 0}(jobId);
        }
        vm.warp(p.startTime);
        _submit(jobId, 0, 0xF);
        market.claim(jobId, 0, 0, outcome(f, _finalize(jobId, 0, f)));
    }

    /// @dev The owner farms reliability for its own trainers with jobs that cost nothing: a
    ///      1-wei budget, no stake, where every trainer's update is a perfect observation. Each
    ///      observation weighs the slot's stake plus its share of the round budget,
    ///      `1 / 4 + 0 = 0` wei, next to `250 ETH + 1 ETH` in a real job: ten such jobs leave the
    ///      trainer's ETH evidence unchanged. A job in a worthless token with huge amounts
    ///      weighs in that token only, never in ETH.
    function test_Attack5_CheapJobMovesReliabilityLittle() public {
        // A real job: slot 0 scores 1 against ||S||^2 = 4, an observation of 1/4.
        uint256 real = _job(1);
        _submit(real, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0xF, 0);
        market.claim(real, 0, 0, outcome(f, _finalize(real, 0, f)));
        bytes32 id = idOf(trainers[0]);
        (uint256 mean, uint256 weight) = registry.weightedMean(id, address(0));
        assertEq(weight, BUDGET / N + STAKE, "weight: the slot's share of the round budget plus its stake");
        assertEq(mean, 0.25e18, "observation 1/4");

        JobMarket.JobParams memory p = _params(1);
        (p.budget, p.stake, p.bond) = (1, 0, 1);
        f.aggregateNormSq = 1; // slot 0's score 1 = ||S||^2: a perfect observation
        for (uint256 k; k < 10; ++k) {
            _runJob(p, f);
        }
        (uint256 mean2, uint256 weight2) = registry.weightedMean(id, address(0));
        assertEq(registry.evidence(id, address(0)).observations, 11, "every observation is recorded");
        assertEq(weight2, weight, "ten 1-wei jobs add no weight");
        assertEq(mean2, mean, "nor move the mean");

        // A worthless token with large amounts: its evidence is kept apart from ETH's.
        TestToken junk = new TestToken();
        p.token = address(junk);
        (p.budget, p.bond) = (1e30, 1e30);
        junk.mint(owner, p.budget);
        junk.mint(aggregator, p.bond);
        vm.prank(owner);
        junk.approve(address(market), p.budget);
        vm.prank(aggregator);
        junk.approve(address(market), p.bond);
        _runJob(p, f);
        (uint256 junkMean, uint256 junkWeight) = registry.weightedMean(id, address(junk));
        assertEq(junkMean, 1e18, "a perfect observation, in junk");
        assertEq(junkWeight, 1e30 / N, "weighed in junk");
        (mean2, weight2) = registry.weightedMean(id, address(0));
        assertEq(weight2, weight, "ETH evidence untouched");
        assertEq(mean2, mean, "ETH mean untouched");
    }

    /// @dev A trainer's observation is cos^2 of the angle between its update and the inliers' sum
    ///      S, `score / ||S||^2`: the same update quality gives the same observation with 4 or 16
    ///      trainers (its share of the total score would be 1/4 and 1/16).
    function test_ObservationIndependentOfTrainerCount() public {
        // 4 inliers, each with score 3 against ||S||^2 = 4: cos^2 = 0.75.
        uint256 small = _job(1);
        _submit(small, 0, 0xF);
        JobMarket.Finalization memory f = _fin(0xF, 0);
        f.scoreWords[0] = 0;
        for (uint256 i; i < N; ++i) {
            f.scoreWords[0] |= 3 << (SCORE_BITS * i);
        }
        f.aggregateNormSq = 4;
        market.claim(small, 0, 0, outcome(f, _finalize(small, 0, f)));
        (uint256 mean,) = registry.weightedMean(idOf(_trainer(0)), address(0));
        assertEq(mean, 0.75e18, "n = 4: 0.75");

        // 16 inliers with scores 3000 against ||S||^2 = 4000: cos^2 = 0.75 again.
        uint256 n = 16;
        MockVerifier v = new MockVerifier(n);
        market.setVerifierApproval(address(v), true);
        JobMarket.JobParams memory p = _params(1);
        p.verifier = IRoundVerifier(address(v));
        p.trainers = uint16(n);
        p.maxMalicious = 3;
        uint256 big = createEthJob(p);
        bondAndJoinAll(big, n);
        vm.warp(_now() + 100);
        f.inlierBits = (1 << n) - 1;
        f.aggregateNormSq = 4000;
        f.scoreWords = new uint256[](PublicInputs.scoreWords(n));
        for (uint256 i; i < n; ++i) {
            vm.prank(_trainer(i));
            market.submitUpdate(big, 0, 1 + i, _blob(0, i));
            f.scoreWords[i / SCORES_PER_WORD] |= 3000 << (SCORE_BITS * (i % SCORES_PER_WORD));
        }
        market.claim(big, 0, 15, outcome(f, _finalize(big, 0, f)));
        (uint256 mean16,) = registry.weightedMean(idOf(_trainer(15)), address(0));
        assertEq(mean16, 0.75e18, "n = 16: 0.75");
        (mean,) = registry.weightedMean(idOf(_trainer(0)), address(0));
        assertEq(mean, 0.75e18, "slot 0, observed in both jobs: still 0.75");
    }
}
