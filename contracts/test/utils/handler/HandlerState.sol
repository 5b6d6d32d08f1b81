// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "../Vm.sol";
import {G1} from "../G1.sol";
import {ExpectedInputs} from "../ExpectedInputs.sol";
import {JobMarket} from "../../../src/JobMarket.sol";
import {IRoundVerifier} from "../../../src/IRoundVerifier.sol";
import {LinearMockVerifier, TestToken} from "../Mocks.sol";
import {SCORES_PER_WORD, SCORE_BITS, SCORE_MASK} from "../../../src/market/PublicInputs.sol";
import {SCALAR_FIELD} from "../../../src/market/MarketStorage.sol";

/// @dev What the handler expects the market to hold for one job, updated by every action that
///      moves the job's money. The invariants compare it with `jobState`.
struct JobGhost {
    /// Expected `escrow`: the budget minus the allocations of recorded rounds and expired round
    /// budgets; 0 once cancelled or recovered.
    uint256 escrow;
    /// Shares allocated by recorded rounds and not yet claimed.
    uint256 unclaimed;
    /// Finalized rounds not yet recorded (first claim or recordReliability).
    uint256 unrecorded;
    /// Trainers with a live stake: joined - left - evicted.
    uint256 members;
    /// Their slots (bit i for slot i): the handler picks submitters and evictees from it.
    uint256 stakedBits;
    /// Bond money in: the posted bond, then every top-up.
    uint256 bondPosted;
    uint256 bondToppedUp;
    /// Bond money out: slashed to disputing trainers, split on expiry, released to the
    /// aggregator after the last dispute window, refunded by a cancellation.
    uint256 bondSlashed;
    uint256 bondSplit;
    uint256 bondReleased;
    uint256 bondRefunded;
    /// The current round's expected accumulator as a multiple of G (see LinearMockVerifier).
    uint256 accScalar;
}

/// @dev What the handler remembers of a finalized round: the outcome claims and disputes restate,
///      whether it was recorded (by its first claim or recordReliability: its allocation moved
///      out of escrow and its reliability written), what it allocates, and which slots were
///      scored, claimed and disputed.
struct RoundGhost {
    JobMarket.RoundOutcome outcome;
    bool finalized;
    bool recorded;
    uint256 allocated;
    uint256 scoredBits;
    uint256 claimedBits;
    uint256 disputedBits;
}

/// @dev A submission as the trainer made it: what the aggregator's receipt covers.
struct Upload {
    uint256 commitment;
    bytes32 blobRef;
}

/// @title HandlerState
/// @notice MarketHandler's state: the market and the actors, the ghost books the invariants
///         compare with the market (JobGhost, RoundGhost), their bookkeeping, and the views the
///         test reads. See MarketHandler for how the campaign drives the market.
abstract contract HandlerState {
    /// @dev The fuzzed actions, in the order of `actionSelectors` and `actionName`.
    enum Action {
        CreateJob,
        PostBond,
        TopUpBond,
        Join,
        Leave,
        Evict,
        Cancel,
        Submit,
        Finalize,
        Claim,
        Dispute,
        Expire,
        Recover,
        ReleaseBond,
        Withdraw,
        Warp,
        WarpToDeadline,
        ReplayClaim,
        ReplayDispute,
        RecordReliability
    }

    uint256 internal constant AGG_KEY = 0xA66;
    uint256 internal constant R = SCALAR_FIELD;
    /// @dev Jobs per run, and at most MAX_ACTIVE_JOBS not ended at a time: more would make each
    ///      one progress less within a run's depth (and every invariant check reads every job).
    uint256 internal constant MAX_JOBS = 6;
    uint256 internal constant MAX_ACTIVE_JOBS = 3;
    /// @dev One more than the largest job (7 slots), so that someone is always free to join.
    uint256 internal constant TRAINERS = 8;
    /// @dev Every window is drawn in [60 s, MAX_TEST_WINDOW] (createJob's minimum is 60 s).
    uint32 internal constant MAX_TEST_WINDOW = 600;
    address internal constant OWNER_A = address(0x0A11CE);
    address internal constant OWNER_B = address(0x0B0B);

    JobMarket public immutable market;
    TestToken public immutable token;
    /// @dev Not immutable: the constructor reads it (allActors) to fund the aggregator.
    address public aggregator;
    IRoundVerifier internal immutable verifier4;
    IRoundVerifier internal immutable verifier7;
    address[] internal trainers;

    mapping(uint256 jobId => JobGhost) internal ghosts;
    mapping(uint256 jobId => mapping(uint256 round => RoundGhost)) internal roundGhosts;
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 slot => uint256))) internal shares;
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 slot => Upload))) internal uploads;
    /// @notice Money into and out of the market, by token (address(0) for ETH).
    mapping(address token => uint256) public deposited;
    mapping(address token => uint256) public withdrawn;
    /// @notice Calls of each action, and those that reached the market.
    mapping(Action => uint256) public called;
    mapping(Action => uint256) public succeeded;
    /// @notice Whether the last action called the market. If not, neither the market's state nor
    ///         the ghosts changed (a warp moves only the clock, which no invariant reads), and
    ///         the invariants need no new check.
    bool public lastActionCalledMarket;

    /// @dev Funds every payer in ETH and in the token (approved to the market once).
    constructor(JobMarket market_, TestToken token_, IRoundVerifier verifier4_, IRoundVerifier verifier7_) {
        market = market_;
        token = token_;
        verifier4 = verifier4_;
        verifier7 = verifier7_;
        aggregator = vm.addr(AGG_KEY);
        for (uint256 i; i < TRAINERS; ++i) {
            trainers.push(address(uint160(0x7000 + i)));
        }
        address[] memory all = allActors();
        for (uint256 i; i < all.length; ++i) {
            vm.deal(all[i], 1e30);
            token.mint(all[i], 1e30);
            vm.prank(all[i]);
            token.approve(address(market), type(uint256).max);
        }
    }

    // ================================================================ ghost bookkeeping

    /// @dev Computes the round's pro-rata shares as the market must (the rounding dust stays in
    ///      escrow; the shares leave it when the round is recorded) and remembers the outcome.
    function _recordFinalization(uint256 jobId, uint32 round, JobMarket.Finalization memory f) internal {
        JobMarket.Config memory c = market.jobConfig(jobId);
        RoundGhost storage r = roundGhosts[jobId][round];
        uint256 total;
        for (uint256 i; i < c.n; ++i) {
            total += _score(f.scoreWords, i);
        }
        uint256 allocated;
        for (uint256 i; i < c.n && total != 0; ++i) {
            uint256 score = _score(f.scoreWords, i);
            if (score == 0) continue;
            uint256 share = (uint256(c.roundBudget) * score) / total;
            shares[jobId][round][i] = share;
            allocated += share;
            r.scoredBits |= 1 << i;
        }
        r.outcome =
            JobMarket.RoundOutcome(f.unavailableBits, uint40(vm.getBlockTimestamp()), f.aggregateNormSq, f.scoreWords);
        r.finalized = true;
        r.allocated = allocated;
        ghosts[jobId].unrecorded += 1;
    }

    /// @dev The aggregator's EIP-712 upload receipt for what the slot's trainer submitted: its
    ///      commitment and blob reference.
    function _receiptSignature(uint256 jobId, uint32 round, uint256 slot) internal view returns (bytes memory) {
        Upload memory u = uploads[jobId][round][slot];
        bytes32 digest = market.receiptDigest(jobId, round, slot, u.commitment, u.blobRef);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(AGG_KEY, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The scalar the accumulator starts from at a round's first submission.
    function _openingScalar(uint256 jobId, uint256 round, bytes32 rosterHash)
        internal
        view
        returns (uint256 acc)
    {
        uint256 domain = ExpectedInputs.domain(block.chainid, address(market), jobId, rosterHash);
        (uint256[] memory indices, uint256[] memory values) =
            ExpectedInputs.openingInputs(market.jobConfig(jobId), jobId, round, domain);
        for (uint256 k; k < indices.length; ++k) {
            acc = addmod(acc, _scalar(jobId, indices[k], values[k]), R);
        }
    }

    /// @dev inputPoint(index, value) of the job's LinearMockVerifier, as a multiple of G.
    function _scalar(uint256 jobId, uint256 index, uint256 value) internal view returns (uint256) {
        return LinearMockVerifier(address(market.jobConfig(jobId).verifier)).scalarOf(index, value);
    }

    /// @dev What a dispute slashes now: bond / n, at most what is left.
    function _slashAmount(uint256 jobId) internal view returns (uint256 slash) {
        JobMarket.Config memory c = market.jobConfig(jobId);
        uint256 held = market.jobState(jobId).bondHeld;
        slash = c.bond / c.n;
        if (slash > held) slash = held;
    }

    /// @dev Adds `amount` to the deposits in `t`; returns the msg.value that pays it.
    function _deposit(address t, uint256 amount) internal returns (uint256 value) {
        deposited[t] += amount;
        return t == address(0) ? amount : 0;
    }

    function _score(uint256[] memory words, uint256 i) internal pure returns (uint256) {
        return (words[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) & SCORE_MASK;
    }

    function _owedTotal(address t) internal view returns (uint256 sum) {
        address[] memory all = allActors();
        for (uint256 i; i < all.length; ++i) {
            sum += market.owed(t, all[i]);
        }
    }

    function _balanceOf(address t, address who) internal view returns (uint256) {
        return t == address(0) ? who.balance : token.balanceOf(who);
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }

    function _called(Action a) internal {
        ++called[a];
        lastActionCalledMarket = false;
    }

    function _succeeded(Action a) internal {
        ++succeeded[a];
        lastActionCalledMarket = a != Action.Warp && a != Action.WarpToDeadline;
    }

    // ================================================================ views for the test

    /// @notice The name of an action, for the report.
    function actionName(Action a) external pure returns (string memory) {
        string[20] memory names = [
            "createJob",
            "postBond",
            "topUpBond",
            "join",
            "leave",
            "evict",
            "cancel",
            "submitUpdate",
            "finalizeRound",
            "claim",
            "dispute",
            "expireRound",
            "recover",
            "releaseBond",
            "withdraw",
            "warp",
            "warpToDeadline",
            "replayClaim (refused)",
            "replayDispute (refused)",
            "recordReliability"
        ];
        return names[uint256(a)];
    }

    /// @notice The ghost accounting of a job.
    function ghost(uint256 jobId) external view returns (JobGhost memory) {
        return ghosts[jobId];
    }

    /// @notice The accumulator the job's current round must hold: accScalar * G.
    function expectedAccumulator(uint256 jobId) external view returns (uint256 x, uint256 y) {
        return G1.mul(G1.GX, G1.GY, ghosts[jobId].accScalar);
    }

    /// @notice Everyone who can be owed money: trainers, both owners, the aggregator.
    function allActors() public view returns (address[] memory all) {
        all = new address[](TRAINERS + 3);
        for (uint256 i; i < TRAINERS; ++i) {
            all[i] = trainers[i];
        }
        all[TRAINERS] = OWNER_A;
        all[TRAINERS + 1] = OWNER_B;
        all[TRAINERS + 2] = aggregator;
    }
}
