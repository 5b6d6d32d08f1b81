// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {Test} from "./utils/Test.sol";
import {LinearMockVerifier, TestToken} from "./utils/Mocks.sol";
import {MarketHandler} from "./utils/MarketHandler.sol";
import {HandlerState, JobGhost} from "./utils/handler/HandlerState.sol";
import {G1} from "./utils/G1.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";

/// @notice Money invariants of JobMarket over random sequences of every entry point, driven by
///         MarketHandler (test/utils/MarketHandler.sol) with jobs in ETH and in an ERC-20:
///         - per job, the books equal the handler's ghost: `unclaimed` = shares of recorded
///           rounds not yet claimed, `unrecorded` = finalized rounds not yet recorded,
///           `stakesHeld` = stake x live members, `escrow` = budget - recorded allocations -
///           expired round budgets (0 once cancelled or recovered) and, while active, at least
///           roundBudget x the rounds to come; the open round's accumulator folds exactly the
///           opening inputs and the submitted commitments and ranks;
///         - per job, the bond is conserved: posted + top-ups = held + slashed + split on expiry
///           + released + refunded on cancellation;
///         - for ETH and for the token, the market's balance = every job's escrow, unclaimed
///           shares, stakes and bond + every withdrawable balance = deposits - withdrawals;
///         - after each run, once every job is ended and everyone paid out, the market holds
///           exactly nothing (`afterInvariant`).
///         The handler checks each call's credits as it goes (a claim pays the pro-rata share,
///         a dispute the slash, an eviction the stake to the owner, an expiry the round budget
///         and the bond, a withdrawal what was owed) and that a claim or dispute is never paid
///         twice. foundry.toml: 40 runs x 256 calls, `fail_on_revert`: the handler only makes
///         calls that must succeed, so any revert is a finding.
contract JobMarketInvariantTest is Test {
    JobMarket internal market;
    TestToken internal token;
    MarketHandler internal handler;

    function setUp() public {
        vm.warp(1_000_000);
        ReliabilityRegistry registry = new ReliabilityRegistry(address(this), 0.2e18);
        market = new JobMarket(registry, address(this));
        registry.grantRole(registry.WRITER_ROLE(), address(market));
        token = new TestToken();
        LinearMockVerifier verifier4 = new LinearMockVerifier(4);
        LinearMockVerifier verifier7 = new LinearMockVerifier(7);
        market.setVerifierApproval(address(verifier4), true);
        market.setVerifierApproval(address(verifier7), true);
        handler =
            new MarketHandler(market, token, IRoundVerifier(address(verifier4)), IRoundVerifier(address(verifier7)));
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), handler.actionSelectors()));
    }

    // ---------------------------------------------------------------- invariants

    /// @dev Every money invariant (`_checkAll`), after every handler call that called the
    ///      market: any other call changed nothing the checks read since they last passed. One
    ///      invariant function, not one per check: forge runs a separate campaign for each
    ///      invariant function, and one campaign checking all of them explores as much in a
    ///      third of the time.
    function invariant_MoneyIsAccountedFor() public view {
        if (handler.lastActionCalledMarket()) _checkAll();
    }

    /// @dev Each job's books and bond, and the balances. Each job's state is read once
    ///      (external calls dominate the campaign's run time).
    function _checkAll() internal view {
        uint256[2] memory liabilities; // ETH, token
        uint256 count = market.jobCount();
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            JobMarket.State memory s = market.jobState(jobId);
            JobMarket.Config memory c = market.jobConfig(jobId);
            JobGhost memory g = handler.ghost(jobId);
            _checkJobBooks(s, c, g);
            _checkBond(s, c, g);
            liabilities[c.token == address(0) ? 0 : 1] += uint256(s.escrow) + s.unclaimed + s.stakesHeld + s.bondHeld;
        }
        _checkBalance(address(0), liabilities[0]);
        _checkBalance(address(token), liabilities[1]);
    }

    /// @dev After each run: report the run's calls, then end every job, pay everyone out and
    ///      check that the market holds nothing, in ETH or in the token.
    function afterInvariant() external {
        _reportRun();
        _reportCampaign();
        _drainAndCheck();
    }

    // ---------------------------------------------------------------- a scripted run

    /// @dev The handler can reach every action and drain the market (a smoke test of the handler
    ///      itself, independent of what the fuzzer happens to draw). Seeds select as documented
    ///      on each action; a job id is found from a seed by `_pickJob` (job 1 for seed 0 when
    ///      it is eligible).
    function test_HandlerReachesEveryAction() public {
        uint256 budgetSeed = 5e21 + 1; // a budget of about 1.25e21
        // Job 1: ETH, 4 slots, 2 rounds (choice 4), not opened: bond, joins, a leave before
        // the start; round 0 with a missing slot (evicted) and two unavailable ones (a dispute
        // and the bond's top-up); round 1 expires.
        handler.createJob(4, budgetSeed, 1e18 + 1, 1);
        handler.postBond(0);
        for (uint256 i; i < 4; ++i) {
            handler.join(0, i);
        }
        handler.leave(0, 0);
        handler.join(0, 0);
        handler.warpToDeadline(0, 0); // the start
        handler.submit(0, 0x7, 100, bytes32("blob"));
        _checkAll();
        handler.warpToDeadline(0, 0); // past the submission window
        handler.evict(0, 0, 3);
        handler.finalize(0, 0, 0x3, 0); // choice % 3 == 0: slots 0 and 1 unavailable
        handler.recordReliability(0, 0); // nobody claimed round 0: anyone records it, once
        handler.dispute(0, 0, 0);
        handler.replayDispute(0, 0, 0);
        handler.topUpBond(0);
        handler.warpToDeadline(0, 7); // past round 1's finalization deadline
        handler.expire(0);
        handler.recover(0);
        handler.leave(0, 0);
        // Job 2: the token, 4 slots, 1 round (choice 1): one full round, claims, bond release.
        handler.createJob(1, budgetSeed, 1e18 + 1, 1);
        handler.postBond(1);
        for (uint256 i; i < 4; ++i) {
            handler.join(1, i);
        }
        handler.warpToDeadline(1, 0);
        handler.submit(1, 0xF, 200, bytes32("blob"));
        handler.finalize(1, 1, 0, 0);
        handler.claim(1, 0, 0, 0);
        handler.replayClaim(1, 0, 0);
        handler.warpToDeadline(1, 0); // past the dispute window
        handler.releaseBond(1);
        // Job 3: cancelled before its start (a cancel call goes ahead if jobSeed % 4 == 0).
        handler.createJob(0, budgetSeed, 1e18 + 1, 1);
        handler.cancel(2 << 2);
        handler.withdraw(0, 0);
        handler.warp(1);
        _checkAll();

        bytes4[] memory actions = handler.actionSelectors();
        for (uint256 a; a < actions.length; ++a) {
            HandlerState.Action action = HandlerState.Action(a);
            assertTrue(handler.succeeded(action) > 0, string.concat("not reached: ", handler.actionName(action)));
        }
        _reportRun();
        _drainAndCheck();
    }

    // ---------------------------------------------------------------- checks

    /// @dev Ends every job and pays everyone out (MarketHandler.drain); the books still hold and
    ///      the market is left with nothing, in ETH or in the token.
    function _drainAndCheck() internal {
        handler.drain();
        _checkAll();
        assertEq(address(market).balance, 0, "ETH left in the market after the drain");
        assertEq(token.balanceOf(address(market)), 0, "tokens left in the market after the drain");
    }

    /// @dev Per job, the market's books equal the ghost's: `unclaimed` is the sum of the shares
    ///      allocated by recorded rounds and not yet claimed; `unrecorded` counts the finalized
    ///      rounds not yet recorded; `stakesHeld` is the stake times the trainers with a
    ///      live stake (joined - left - evicted); `escrow` is the budget minus recorded
    ///      allocations and expired round budgets (0 once cancelled or recovered), and while the job is active it
    ///      still covers every round to come; the open round's accumulator folds exactly the
    ///      opening inputs and the submitted commitments and ranks (a multiple of G with
    ///      LinearMockVerifier, tracked by the handler).
    function _checkJobBooks(JobMarket.State memory s, JobMarket.Config memory c, JobGhost memory g) internal view {
        assertEq(s.unclaimed, g.unclaimed, "unclaimed = allocated shares not yet claimed");
        assertEq(s.stakesHeld, uint256(c.stake) * g.members, "stakesHeld = stake x live members");
        assertEq(s.escrow, g.escrow, "escrow = budget - allocated - expired - recovered");
        assertEq(s.unrecorded, g.unrecorded, "unrecorded = finalized rounds no claim or recording recorded");
        if (s.status != JobMarket.Status.Active) return;
        assertGe(s.escrow, uint256(c.roundBudget) * (c.rounds - s.round), "escrow covers the rounds to come");
        if (s.submittedCount == 0) return;
        (uint256 x, uint256 y) = G1.mul(G1.GX, G1.GY, g.accScalar);
        assertEq(s.accX, x, "accumulator x");
        assertEq(s.accY, y, "accumulator y");
    }

    /// @dev Per job, no bond money appears or vanishes: posted + top-ups = held + slashed to
    ///      trainers + split on expiry + released + refunded on cancellation.
    function _checkBond(JobMarket.State memory s, JobMarket.Config memory c, JobGhost memory g) internal pure {
        assertEq(
            g.bondPosted + g.bondToppedUp,
            s.bondHeld + g.bondSlashed + g.bondSplit + g.bondReleased + g.bondRefunded,
            "bond in = held + slashed + split + released + refunded"
        );
        assertLe(s.bondHeld, c.bond, "bond held <= bond");
    }

    /// @dev For ETH (`t` = address(0)) or the ERC-20, the market's balance is exactly what it
    ///      owes (`jobLiabilities`: every job's escrow, unclaimed shares, stakes and bond in `t`;
    ///      plus every withdrawable balance), and exactly the deposits minus the withdrawals.
    function _checkBalance(address t, uint256 jobLiabilities) internal view {
        uint256 liabilities = jobLiabilities;
        address[] memory actors = handler.allActors();
        for (uint256 i; i < actors.length; ++i) {
            liabilities += market.owed(t, actors[i]);
        }
        uint256 balance = t == address(0) ? address(market).balance : token.balanceOf(address(market));
        string memory unit = t == address(0) ? " (ETH)" : " (token)";
        assertEq(balance, liabilities, string.concat("balance = escrow + unclaimed + stakes + bonds + owed", unit));
        assertEq(balance, handler.deposited(t) - handler.withdrawn(t), string.concat("balance = in - out", unit));
    }

    /// @dev One line per action: how often the fuzzer called it in this run and how often it
    ///      was done, that is reached the market (or, for the warps, moved the clock); the rest
    ///      found no job or arguments for which the call must succeed.
    function _reportRun() internal {
        emit log_string("this run (calls / done):");
        bytes4[] memory actions = handler.actionSelectors();
        for (uint256 a; a < actions.length; ++a) {
            HandlerState.Action action = HandlerState.Action(a);
            _logCounts(handler.actionName(action), handler.called(action), handler.succeeded(action));
        }
        emit log_named_uint("  jobs created", market.jobCount());
    }

    /// @dev The same counts summed over the campaign's runs so far. Each run starts from the
    ///      setUp state, so the sums are kept outside the EVM, in environment variables of the
    ///      forge process. forge runs afterInvariant again outside the campaign to print one
    ///      run's logs: a run whose counts and clock were already added is not added again, so
    ///      that the totals match forge's table of calls per selector (runs x depth calls; forge
    ///      1.7.1 adds one more execution, of a single call, which shows up as one run more).
    function _reportCampaign() internal {
        if (_accumulate(string.concat("run ", vm.toString(uint256(_runFingerprint()))), 1) == 1) {
            _accumulate("runs", 1);
            bytes4[] memory actions = handler.actionSelectors();
            for (uint256 a; a < actions.length; ++a) {
                HandlerState.Action action = HandlerState.Action(a);
                string memory name = handler.actionName(action);
                _accumulate(string.concat(name, ".calls"), handler.called(action));
                _accumulate(string.concat(name, ".done"), handler.succeeded(action));
            }
            _accumulate("jobs", market.jobCount());
        }
        emit log_string(string.concat("campaign, ", vm.toString(_accumulate("runs", 0)), " runs (calls / done):"));
        bytes4[] memory all = handler.actionSelectors();
        uint256 calls;
        for (uint256 a; a < all.length; ++a) {
            string memory name = handler.actionName(HandlerState.Action(a));
            uint256 actionCalls = _accumulate(string.concat(name, ".calls"), 0);
            calls += actionCalls;
            _logCounts(name, actionCalls, _accumulate(string.concat(name, ".done"), 0));
        }
        emit log_named_uint("  jobs created", _accumulate("jobs", 0));
        emit log_named_uint("  handler calls", calls);
    }

    /// @dev What tells a run from another: its counts, jobs and clock.
    function _runFingerprint() internal view returns (bytes32 h) {
        h = keccak256(abi.encode(market.jobCount(), vm.getBlockTimestamp()));
        bytes4[] memory actions = handler.actionSelectors();
        for (uint256 a; a < actions.length; ++a) {
            HandlerState.Action action = HandlerState.Action(a);
            h = keccak256(abi.encode(h, handler.called(action), handler.succeeded(action)));
        }
    }

    /// @dev Adds `amount` to the campaign total `key` and returns the new total.
    function _accumulate(string memory key, uint256 amount) internal returns (uint256 total) {
        string memory name = string.concat("FEDPROOF_INVARIANT_", vm.toString(uint256(keccak256(bytes(key)))));
        total = vm.envOr(name, uint256(0)) + amount;
        vm.setEnv(name, vm.toString(total));
    }

    function _logCounts(string memory name, uint256 calls, uint256 reached) internal {
        emit log_string(string.concat("  ", name, ": ", vm.toString(calls), " / ", vm.toString(reached)));
    }
}
