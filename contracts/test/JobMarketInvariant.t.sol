// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {Test} from "./utils/Test.sol";
import {MockVerifier} from "./utils/Mocks.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {PublicInputs, SCORE_BITS} from "../src/market/PublicInputs.sol";
import {DISPUTED_OFFSET} from "../src/market/MarketStorage.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";

/// @dev Drives JobMarket through random sequences of every external function. The verifier is
///      the MockVerifier (thousands of finalizations with arbitrary scores and unavailable slots
///      cannot come from fixture proofs). Failed calls are ignored; ghost variables record money
///      in and out and every successful claim and dispute.
contract MarketHandler {
    uint256 internal constant N = 4;
    uint256 internal constant AGG_KEY = 0xA66;
    uint256 internal constant MAX_JOBS = 3;

    JobMarket public immutable market;
    IRoundVerifier public immutable verifier;
    address public immutable aggregator;
    address public constant OWNER = address(0x0A11CE);
    address[] public actors;

    uint256 public deposited;
    uint256 public withdrawn;
    uint256 public calls;
    uint256 public successes;
    /// @dev Set if a claim or dispute for an already settled (job, round, slot) ever succeeds.
    bool public paidTwice;
    /// @dev Set if the claims of a round ever add up to more than its budget.
    bool public overAllocated;
    mapping(uint256 => mapping(uint256 => uint256)) public claimedBits;
    mapping(uint256 => mapping(uint256 => uint256)) public claimedAmount;
    mapping(uint256 => mapping(uint256 => JobMarket.RoundOutcome)) internal outcomes;
    mapping(uint256 => mapping(uint256 => bool)) internal hasOutcome;

    constructor(JobMarket market_, IRoundVerifier verifier_) {
        market = market_;
        verifier = verifier_;
        aggregator = vm.addr(AGG_KEY);
        for (uint256 i; i < 6; ++i) {
            actors.push(address(uint160(0x7000 + i)));
        }
        vm.deal(OWNER, 1e30);
        vm.deal(aggregator, 1e30);
        for (uint256 i; i < 6; ++i) {
            vm.deal(actors[i], 1e30);
        }
    }

    function allActors() external view returns (address[] memory a) {
        a = new address[](actors.length + 2);
        for (uint256 i; i < actors.length; ++i) {
            a[i] = actors[i];
        }
        a[actors.length] = OWNER;
        a[actors.length + 1] = aggregator;
    }

    function _jobId(uint256 seed) internal view returns (uint256) {
        uint256 count = market.jobCount();
        return count == 0 ? 1 : 1 + (seed % count);
    }

    mapping(bytes4 => uint256) public okBy;

    /// @dev One of the job's finalized rounds (mostly), or any round.
    function _finalizedRound(uint256 jobId, uint256 seed) internal view returns (uint32) {
        uint32 done = market.jobState(jobId).round;
        if (done == 0 || seed % 8 == 0) return uint32(seed % 3);
        return uint32(seed % done);
    }

    function _ok() internal {
        ++successes;
        ++okBy[msg.sig];
    }

    /// @dev `who` calls the market with `data` (no value); a refusal is part of the exploration,
    ///      a success is counted.
    function _try(address who, bytes memory data) internal {
        vm.prank(who);
        (bool ok,) = address(market).call(data);
        if (ok) _ok();
    }

    function createJob(uint256 budget, uint8 rounds, uint16 stake, uint16 bond) external {
        ++calls;
        if (market.jobCount() >= MAX_JOBS) return;
        JobMarket.JobParams memory p;
        p.budget = uint128(1 + (budget % 1e24));
        p.rounds = uint32(1 + (rounds % 3));
        if (p.budget < p.rounds) p.budget = p.rounds;
        p.stake = stake;
        p.bond = uint128(p.budget / p.rounds) + bond; // createJob's minimum bond is a round's budget
        p.aggregator = aggregator;
        p.verifier = verifier;
        p.initialModel = 1;
        p.trainers = uint8(N);
        p.maxMalicious = 1;
        p.tau = 3 << 15;
        p.lr = 64;
        p.startTime = uint40(block.timestamp + 300);
        p.submitWindow = 600;
        p.finalizeWindow = 600;
        p.disputeWindow = 600;
        vm.prank(OWNER);
        try market.createJob{value: p.budget}(p) returns (uint256 jobId) {
            deposited += p.budget;
            _ok();
            // Mostly, the aggregator accepts and some trainers join right away.
            if (budget % 4 != 0) {
                vm.prank(aggregator);
                market.postBond{value: p.bond}(jobId);
                deposited += p.bond;
                for (uint256 i; i < 2 + (budget >> 8) % (N - 1); ++i) {
                    vm.prank(actors[i]);
                    market.join{value: stake}(jobId);
                    deposited += stake;
                }
            }
        } catch {}
    }

    function postBond(uint256 jobSeed) external {
        ++calls;
        uint256 jobId = _jobId(jobSeed);
        if (jobId > market.jobCount()) return;
        uint256 bond = market.jobConfig(jobId).bond;
        vm.prank(aggregator);
        try market.postBond{value: bond}(jobId) {
            deposited += bond;
            _ok();
        } catch {}
    }

    function join(uint256 jobSeed, uint256 actorSeed) external {
        ++calls;
        uint256 jobId = _jobId(jobSeed);
        if (jobId > market.jobCount()) return;
        uint256 stake = market.jobConfig(jobId).stake;
        address who = actors[actorSeed % actors.length];
        for (uint256 k; k < actors.length; ++k) {
            address a = actors[(actorSeed % actors.length + k) % actors.length];
            (bool staked,) = market.slotOf(jobId, a);
            if (!staked) {
                who = a;
                break;
            }
        }
        vm.prank(who);
        try market.join{value: stake}(jobId) {
            deposited += stake;
            _ok();
        } catch {}
    }

    function leave(uint256 jobSeed, uint256 actorSeed) external {
        ++calls;
        _try(actors[actorSeed % actors.length], abi.encodeCall(market.leave, (_jobId(jobSeed))));
    }

    function cancel(uint256 jobSeed) external {
        ++calls;
        _try(OWNER, abi.encodeCall(market.cancel, (_jobId(jobSeed))));
    }

    function warp(uint256 dt) external {
        ++calls;
        vm.warp(block.timestamp + (dt % 200));
    }

    /// @dev A joined trainer of the job (from slot `actorSeed % N` on) submits; mostly an honest
    ///      trainer, sometimes a random actor (who must be refused).
    function submit(uint256 jobSeed, uint256 actorSeed, uint256 commitment) external {
        ++calls;
        uint256 jobId = _jobId(jobSeed);
        if (jobId > market.jobCount()) return;
        JobMarket.State memory s = market.jobState(jobId);
        address who = actors[actorSeed % actors.length];
        if (actorSeed % 8 != 0) {
            for (uint256 k; k < N; ++k) {
                uint256 slot = (actorSeed % N + k) % N;
                address owner = market.slotOwner(jobId, slot);
                if (owner != address(0) && (s.submittedBits >> slot) & 1 == 0) {
                    who = owner;
                    break;
                }
            }
        }
        vm.prank(who);
        try market.submitUpdate(jobId, s.round, 1 + (commitment % 1e70), bytes32(commitment)) {
            _ok();
        } catch {}
    }

    function finalize(uint256 jobSeed, uint256 scoreSeed, uint64 inliers, uint64 unavailable) external {
        ++calls;
        uint256 jobId = _jobId(jobSeed);
        if (jobId > market.jobCount()) return;
        JobMarket.State memory s = market.jobState(jobId);
        JobMarket.Finalization memory f;
        f.newModel = 1 + (scoreSeed % 1000);
        f.unavailableBits = unavailable & s.submittedBits & uint64(scoreSeed >> 200);
        uint64 presence = s.submittedBits & ~f.unavailableBits;
        f.inlierBits = (inliers % 4 == 1 ? inliers : ~uint64(0)) & presence;
        f.scoreWords = new uint256[](PublicInputs.scoreWords(N));
        uint256 dense = uint256(keccak256(abi.encode(scoreSeed)));
        for (uint256 i; i < N; ++i) {
            if ((f.inlierBits >> i) & 1 == 1) {
                f.scoreWords[0] |= ((dense >> (16 * i)) & 0xFFFF) << (SCORE_BITS * i); // N < SCORES_PER_WORD
            }
        }
        f.roster = new address[](N);
        for (uint256 i; i < N; ++i) {
            f.roster[i] = market.slotOwner(jobId, i);
        }
        vm.prank(aggregator);
        try market.finalizeRound(jobId, s.round, f) {
            outcomes[jobId][s.round] = JobMarket.RoundOutcome(f.unavailableBits, uint40(block.timestamp), f.scoreWords);
            hasOutcome[jobId][s.round] = true;
            _ok();
        } catch {}
    }

    function claim(uint256 jobSeed, uint256 roundSeed, uint256 slotSeed) external {
        ++calls;
        uint256 jobId = _jobId(jobSeed);
        uint32 round = _finalizedRound(jobId, roundSeed);
        if (!hasOutcome[jobId][round]) return;
        uint256 slot = slotSeed % N;
        uint256 word = outcomes[jobId][round].scoreWords[0];
        if (slotSeed % 8 != 0) {
            for (uint256 k; k < N; ++k) {
                uint256 c = (slotSeed % N + k) % N;
                if ((claimedBits[jobId][round] >> c) & 1 == 0 && (word >> (SCORE_BITS * c)) & 0xFFFF != 0) {
                    slot = c;
                    break;
                }
            }
        }
        address trainer = market.slotOwner(jobId, slot);
        uint256 before = market.owed(address(0), trainer);
        try market.claim(jobId, round, slot, outcomes[jobId][round]) {
            if ((claimedBits[jobId][round] >> slot) & 1 == 1) paidTwice = true;
            claimedBits[jobId][round] |= 1 << slot;
            claimedAmount[jobId][round] += market.owed(address(0), trainer) - before;
            if (claimedAmount[jobId][round] > market.jobConfig(jobId).roundBudget) overAllocated = true;
            _ok();
        } catch {}
    }

    function dispute(uint256 jobSeed, uint256 roundSeed, uint256 slotSeed) external {
        ++calls;
        uint256 jobId = _jobId(jobSeed);
        uint32 round = _finalizedRound(jobId, roundSeed);
        if (!hasOutcome[jobId][round]) return;
        uint256 slot = slotSeed % N;
        bytes32 digest = market.receiptDigest(jobId, round, slot, market.commitments(jobId, round, slot));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(AGG_KEY, digest);
        try market.dispute(jobId, round, slot, outcomes[jobId][round], abi.encodePacked(r, s, v)) {
            if ((claimedBits[jobId][round] >> (DISPUTED_OFFSET + slot)) & 1 == 1) paidTwice = true;
            claimedBits[jobId][round] |= 1 << (DISPUTED_OFFSET + slot);
            _ok();
        } catch {}
    }

    /// @dev A whole round of a job in one step: the joined trainers submit, time passes, the
    ///      aggregator finalizes, and every slot is claimed twice (the second claim must fail).
    function playRound(uint256 jobSeed, uint256 seed) external {
        ++calls;
        uint256 jobId = _jobId(jobSeed);
        if (jobId > market.jobCount()) return;
        JobMarket.State memory s = market.jobState(jobId);
        if (s.status != JobMarket.Status.Active) return;
        if (block.timestamp < s.roundStart) vm.warp(s.roundStart);
        for (uint256 i; i < N; ++i) {
            this.submit(jobId - 1, i + 1, (seed % 1e70) + i);
        }
        if (seed % 3 == 0) vm.warp(block.timestamp + 601);
        this.finalize(jobId - 1, seed, uint64(seed >> 64), uint64(seed >> 128));
        uint32 round = market.jobState(jobId).round;
        if (round == 0) return;
        for (uint256 i; i < 2 * N; ++i) {
            this.claim(jobId - 1, round - 1, 1 + i);
        }
    }

    /// @dev Anyone evicts a slot for a round (mostly the current or a finalized one); a slot
    ///      that submitted, a round still open and a repeated eviction must be refused.
    function evict(uint256 jobSeed, uint256 roundSeed, uint256 slotSeed) external {
        ++calls;
        uint256 jobId = _jobId(jobSeed);
        if (jobId > market.jobCount()) return;
        uint32 round = roundSeed % 2 == 0 ? market.jobState(jobId).round : _finalizedRound(jobId, roundSeed >> 1);
        _try(address(this), abi.encodeCall(market.evict, (jobId, round, slotSeed % (N + 1))));
    }

    function expire(uint256 jobSeed) external {
        ++calls;
        _try(address(this), abi.encodeCall(market.expireRound, (_jobId(jobSeed))));
    }

    function recover(uint256 jobSeed) external {
        ++calls;
        _try(OWNER, abi.encodeCall(market.recover, (_jobId(jobSeed))));
    }

    function releaseBond(uint256 jobSeed) external {
        ++calls;
        _try(address(this), abi.encodeCall(market.releaseBond, (_jobId(jobSeed))));
    }

    function withdraw(uint256 actorSeed) external {
        ++calls;
        address[] memory all = this.allActors();
        address who = all[actorSeed % all.length];
        for (uint256 k; k < all.length && actorSeed % 8 != 0; ++k) {
            address a = all[(actorSeed % all.length + k) % all.length];
            if (market.owed(address(0), a) != 0) {
                who = a;
                break;
            }
        }
        uint256 amount = market.owed(address(0), who);
        vm.prank(who);
        try market.withdraw(address(0)) {
            withdrawn += amount;
            _ok();
        } catch {}
    }
}

/// @notice Invariants of JobMarket over random call sequences (foundry.toml: 40 runs x 256 calls).
contract JobMarketInvariantTest is Test {
    JobMarket internal market;
    MarketHandler internal handler;

    function setUp() public {
        ReliabilityRegistry registry = new ReliabilityRegistry(address(this), 0.2e18);
        market = new JobMarket(registry, address(this));
        registry.grantRole(registry.WRITER_ROLE(), address(market));
        MockVerifier mock = new MockVerifier(4);
        market.setVerifierApproval(address(mock), true);
        handler = new MarketHandler(market, IRoundVerifier(address(mock)));
        targetContract(address(handler));
        vm.warp(1_000_000);
    }

    /// @dev The contract's balance is exactly unallocated escrow + unclaimed allocations + stakes
    ///      + bonds of every job, plus every withdrawable balance; and it is what came in minus
    ///      what went out.
    function invariant_BalanceIsFullyAccountedFor() public view {
        uint256 liabilities;
        for (uint256 j = 1; j <= market.jobCount(); ++j) {
            JobMarket.State memory s = market.jobState(j);
            liabilities += uint256(s.escrow) + s.unclaimed + s.stakesHeld + s.bondHeld;
        }
        address[] memory actors = handler.allActors();
        for (uint256 i; i < actors.length; ++i) {
            liabilities += market.owed(address(0), actors[i]);
        }
        assertEq(address(market).balance, liabilities, "balance = escrow + unclaimed + stakes + bonds + owed");
        assertEq(address(market).balance, handler.deposited() - handler.withdrawn(), "balance = in - out");
    }

    /// @dev No claim or dispute is ever paid twice, and a round's claims never exceed its budget.
    function invariant_NoOneIsPaidTwice() public view {
        assertTrue(!handler.paidTwice(), "a settled slot was paid again");
        assertTrue(!handler.overAllocated(), "claims exceed the round budget");
    }

    /// @dev The handler can drive a job through a full round (a smoke test of the handler itself).
    function test_HandlerDrivesAFullRound() public {
        handler.createJob(1e20, 0, 5, 7);
        handler.postBond(0);
        for (uint256 i; i < 4; ++i) {
            handler.join(0, i);
        }
        handler.warp(199);
        handler.warp(199);
        for (uint256 i; i < 4; ++i) {
            handler.submit(0, i + 1, 100 + i);
        }
        handler.finalize(0, type(uint256).max, 0xF, 0);
        for (uint256 i; i < 4; ++i) {
            handler.claim(0, 0, i);
        }
        for (uint256 i; i < 8; ++i) {
            handler.withdraw(i);
        }
        assertEq(handler.okBy(MarketHandler.claim.selector), 4, "claims");
        invariant_BalanceIsFullyAccountedFor();
        invariant_NoOneIsPaidTwice();
    }

    function test_HandlerPlaysRounds() public {
        handler.createJob(1e20 + 1, 2, 5, 7);
        handler.playRound(0, 12345);
        handler.playRound(0, 99999);
        emit log_named_uint("claims", handler.okBy(MarketHandler.claim.selector));
        emit log_named_uint("finalize", handler.okBy(MarketHandler.finalize.selector));
        emit log_named_uint("submit", handler.okBy(MarketHandler.submit.selector));
        assertTrue(handler.okBy(MarketHandler.claim.selector) > 0, "claims happen");
    }

    /// @dev Reports how much of the campaign did something (visible with -vv).
    function afterInvariant() external {
        emit log_named_uint("handler calls", handler.calls());
        emit log_named_uint("successful calls", handler.successes());
        emit log_named_uint("  createJob", handler.okBy(MarketHandler.createJob.selector));
        emit log_named_uint("  postBond", handler.okBy(MarketHandler.postBond.selector));
        emit log_named_uint("  join", handler.okBy(MarketHandler.join.selector));
        emit log_named_uint("  submit", handler.okBy(MarketHandler.submit.selector));
        emit log_named_uint("  finalize", handler.okBy(MarketHandler.finalize.selector));
        emit log_named_uint("  claim", handler.okBy(MarketHandler.claim.selector));
        emit log_named_uint("  dispute", handler.okBy(MarketHandler.dispute.selector));
        emit log_named_uint("  expire", handler.okBy(MarketHandler.expire.selector));
        emit log_named_uint("  evict", handler.okBy(MarketHandler.evict.selector));
        emit log_named_uint("  withdraw", handler.okBy(MarketHandler.withdraw.selector));
    }
}
