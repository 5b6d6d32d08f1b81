// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MockMarketBase} from "./utils/MarketBase.sol";
import {JobMarket} from "../src/JobMarket.sol";
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
        vm.warp(block.timestamp + 100);
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
        _refused(p, abi.encodeWithSelector(e, 0, 60, 30 days));
        p.disputeWindow = 59;
        _refused(p, abi.encodeWithSelector(e, 59, 60, 30 days));
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
}
