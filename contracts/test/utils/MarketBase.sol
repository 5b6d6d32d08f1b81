// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {vm} from "./Vm.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {
    PublicInputs,
    SCORES_PER_WORD,
    SCORE_BITS,
    NORM_FLAG_OFFSET,
    NORM_BITS,
    ORDER_RANK_BITS,
    RANKS_PER_WORD,
    RANK_MASK,
    FLAG_SLOTS_PER_WORD,
    FLAG_SLOTS_MASK
} from "../../src/market/PublicInputs.sol";
import {ReliabilityRegistry} from "../../src/ReliabilityRegistry.sol";
import {IRoundVerifier} from "../../src/IRoundVerifier.sol";
import {RoundVerifierN4} from "../../src/generated/RoundVerifierN4.sol";
import {RoundVerifierN10} from "../../src/generated/RoundVerifierN10.sol";
import {RoundVerifierN16} from "../../src/generated/RoundVerifierN16.sol";
import {RoundVerifierDemo} from "../../src/generated/RoundVerifierDemo.sol";
import {RoundVerifier} from "../../src/RoundVerifier.sol";
import {MockVerifier, TestToken} from "./Mocks.sol";
import {ChunkedRoundVerifier, IPoseidonT3} from "../../src/ChunkedRoundVerifier.sol";
import {ChunkedVerifierN4} from "../../src/generated/ChunkedVerifierN4.sol";
import {ChunkedVerifierN4Chunk} from "../../src/generated/ChunkedVerifierN4Chunk.sol";
import {ChunkedVerifierN32} from "../../src/generated/ChunkedVerifierN32.sol";
import {ChunkedVerifierN32Chunk} from "../../src/generated/ChunkedVerifierN32Chunk.sol";
// Compiled for its artifact: the tests deploy poseidon-solidity's PoseidonT3 from it.
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";

/// @dev A proven round written by `fedproof prover export` (test/fixtures/round_*.json).
struct RoundFixture {
    uint256 n;
    uint256 params;
    uint256 context;
    uint256 model; // C(w) of the model the round starts from: the test job's initialModel
    uint256 newModel; // C(S), what the finalization passes as newModel
    uint256[] commitments;
    bool[] inliers;
    uint256[] scores;
    uint256[] flags; // the flags words, read from the public inputs at PublicInputs.flagsIndex(n, k)
    uint256 aggregateNormSq;
    uint256[] publicInputs;
    uint256[8] proof;
}

/// @dev The constructor arguments of the generic RoundVerifier for a fixture's key
///      (test/fixtures/verifier_args_*.json, written by `fedproof prover export`).
/// @dev What a chunked fixture (prover export --chunk) adds to a round fixture.
struct ChunkedFixture {
    uint256 chunks;
    uint256 depth;
    uint256 digest;
    uint256[] chunkDigests;
    uint256[] chunkPaths; // chunk c's siblings at [c * depth, (c + 1) * depth)
    uint256[] chunkProofs; // chunk c's proof at [8c, 8c + 8) (0 for a chunk not proven)
}

struct VerifierArgs {
    uint256[2] alpha;
    uint256[4] beta;
    uint256[4] gamma;
    uint256[4] delta;
    uint256[] ic;
}

/// @dev Deploys a market with its registry and drives jobs through the fixture rounds.
abstract contract MarketBase is Test {
    uint256 internal constant AGG_KEY = 0xA66;
    uint256 internal constant BUDGET = 1000 ether;
    uint256 internal constant STAKE = 1 ether;
    /// @dev At least a round's budget (createJob's minimum bond) for any number of rounds.
    uint256 internal constant BOND = 1000 ether;
    uint256 internal constant WEIGHT = 0.2e18;
    uint32 internal constant WINDOW = 1 hours;
    /// @dev Where the proof fixtures expect the market (see `_deployMarket`).
    address internal constant FIXTURE_MARKET = 0x2e234DAe75C793f67A35089C9d99245E1C58470b;

    JobMarket internal market;
    ReliabilityRegistry internal registry;
    address internal owner = address(0x0A11CE);
    address internal aggregator;
    address[] internal trainers;

    /// @dev Deploys the registry and the market. The proof fixtures are proven for the domain of
    ///      job 1 on chain 31337 (forge's default) in the market at FIXTURE_MARKET with the roster
    ///      `_trainer(0..n)` (`fedproof prover export --chain-id --market --roster`): the address
    ///      a test contract (forge deploys each at 0x7FA9385bE102ac3EAc297483Dd6233D62b3e1496)
    ///      gives its second contract, so the market lands there when this is the test's first
    ///      deployment (registry: nonce 1, market: nonce 2). A test that needs a fresh market
    ///      there again reverts to a state snapshot taken before (`vm.snapshotState`); a market
    ///      deployed elsewhere has another domain, and real proofs fail on it.
    function _deployMarket() internal {
        aggregator = vm.addr(AGG_KEY);
        registry = new ReliabilityRegistry(address(this), WEIGHT);
        market = new JobMarket(registry, address(this));
        registry.grantRole(registry.WRITER_ROLE(), address(market));
        vm.deal(owner, 1e9 ether);
        vm.deal(aggregator, 1e9 ether);
    }

    function _trainer(uint256 i) internal pure returns (address) {
        return address(uint160(0x7000 + i));
    }

    function loadFixture(string memory name) internal view returns (RoundFixture memory f) {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/round_", name, ".json"));
        f.n = vm.parseJsonUint(json, ".trainers");
        f.params = vm.parseJsonUint(json, ".params");
        f.context = vm.parseJsonUint(json, ".context");
        f.model = vm.parseJsonUint(json, ".model_commitment");
        f.newModel = vm.parseJsonUint(json, ".aggregate_commitment");
        f.commitments = vm.parseJsonUintArray(json, ".update_commitments");
        f.inliers = vm.parseJsonBoolArray(json, ".inliers");
        f.scores = vm.parseJsonUintArray(json, ".scores");
        f.aggregateNormSq = vm.parseJsonUint(json, ".aggregate_norm_sq");
        require(vm.parseJsonUint(json, ".chain_id") == 31337, "fixture: proven for another chain");
        require(vm.parseJsonAddress(json, ".market") == FIXTURE_MARKET, "fixture: proven for another market");
        f.publicInputs = vm.parseJsonUintArray(json, ".public_inputs");
        require(f.publicInputs.length == PublicInputs.count(f.n), "fixture: not statement v4's input count");
        // The flags words from the public inputs themselves (statement v4: ceil(n / 64) words).
        f.flags = new uint256[](PublicInputs.flagsWords(f.n));
        for (uint256 k; k < f.flags.length; ++k) {
            f.flags[k] = f.publicInputs[PublicInputs.flagsIndex(f.n, k)];
        }
        require(
            f.aggregateNormSq == (f.flags[0] >> NORM_FLAG_OFFSET) & ~(type(uint256).max << NORM_BITS),
            "fixture: ||S||^2 is flags word 0's bits 128.."
        );
        uint256[] memory p = vm.parseJsonUintArray(json, ".proof");
        require(p.length == 8, "fixture proof");
        for (uint256 i; i < 8; ++i) {
            f.proof[i] = p[i];
        }
    }

    /// @dev Deploys the generated verifier of a fixture and approves it in the market.
    function deployVerifier(string memory name) internal returns (IRoundVerifier v) {
        bytes32 h = keccak256(bytes(name));
        if (h == keccak256("n4")) v = IRoundVerifier(address(new RoundVerifierN4()));
        else if (h == keccak256("n10")) v = IRoundVerifier(address(new RoundVerifierN10()));
        else if (h == keccak256("n16")) v = IRoundVerifier(address(new RoundVerifierN16()));
        else if (h == keccak256("demo")) v = IRoundVerifier(address(new RoundVerifierDemo()));
        else revert("unknown fixture");
        market.setVerifierApproval(address(v), true);
    }

    /// @dev The generic verifier's constructor arguments for a fixture's key.
    function loadChunked(string memory name) internal view returns (ChunkedFixture memory x) {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/round_", name, ".json"));
        x.chunks = vm.parseJsonUint(json, ".chunks");
        x.depth = vm.parseJsonUint(json, ".depth");
        x.digest = vm.parseJsonUint(json, ".digest");
        x.chunkDigests = vm.parseJsonUintArray(json, ".chunk_digests");
        x.chunkPaths = vm.parseJsonUintArray(json, ".chunk_paths");
        x.chunkProofs = vm.parseJsonUintArray(json, ".chunk_proofs");
        require(x.chunkDigests.length == x.chunks && x.chunkPaths.length == x.chunks * x.depth, "chunked fixture");
    }

    /// @dev The chunked fixture's two generated verifiers joined by a ChunkedRoundVerifier (with
    ///      poseidon-solidity's PoseidonT3 deployed from its artifact), approved.
    function deployChunkedVerifier(string memory name, uint256 chunks) internal returns (ChunkedRoundVerifier v) {
        bytes32 h = keccak256(bytes(name));
        (IRoundVerifier final_, IRoundVerifier chunk) = h == keccak256("chunked_n4")
            ? (IRoundVerifier(address(new ChunkedVerifierN4())), IRoundVerifier(address(new ChunkedVerifierN4Chunk())))
            : (IRoundVerifier(address(new ChunkedVerifierN32())), IRoundVerifier(address(new ChunkedVerifierN32Chunk())));
        require(h == keccak256("chunked_n4") || h == keccak256("chunked_n32"), "unknown chunked fixture");
        bytes memory code = vm.getCode("PoseidonT3.sol:PoseidonT3");
        address poseidon;
        assembly ("memory-safe") {
            poseidon := create(0, add(code, 0x20), mload(code))
        }
        require(poseidon != address(0), "PoseidonT3 deployment");
        v = new ChunkedRoundVerifier(final_, chunk, chunks, IPoseidonT3(poseidon));
        market.setVerifierApproval(address(v), true);
    }

    function loadVerifierArgs(string memory name) internal view returns (VerifierArgs memory a) {
        string memory json =
            vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/verifier_args_", name, ".json"));
        uint256[] memory alpha = vm.parseJsonUintArray(json, ".alpha");
        uint256[] memory beta = vm.parseJsonUintArray(json, ".beta");
        uint256[] memory gamma = vm.parseJsonUintArray(json, ".gamma");
        uint256[] memory delta = vm.parseJsonUintArray(json, ".delta");
        require(alpha.length == 2 && beta.length == 4 && gamma.length == 4 && delta.length == 4, "verifier args");
        (a.alpha[0], a.alpha[1]) = (alpha[0], alpha[1]);
        for (uint256 i; i < 4; ++i) {
            (a.beta[i], a.gamma[i], a.delta[i]) = (beta[i], gamma[i], delta[i]);
        }
        a.ic = vm.parseJsonUintArray(json, ".ic");
    }

    /// @dev Deploys the generic RoundVerifier with a fixture's key (not approved in the market).
    function deployGenericVerifier(string memory name) internal returns (RoundVerifier) {
        VerifierArgs memory a = loadVerifierArgs(name);
        return new RoundVerifier(a.alpha, a.beta, a.gamma, a.delta, a.ic);
    }

    /// @dev Job terms that reproduce the fixture's context (job 1, round 0, f = 1, tau = 1.5,
    ///      lr = next lr = 64, dup_tol = params).
    function jobParams(RoundFixture memory f, IRoundVerifier verifier, address token, uint32 rounds)
        internal
        view
        returns (JobMarket.JobParams memory p)
    {
        p.token = token;
        p.budget = uint128(BUDGET);
        p.stake = uint128(STAKE);
        p.bond = uint128(BOND);
        p.aggregator = aggregator;
        p.verifier = verifier;
        p.specHash = keccak256("digits-mlp-64-32-10");
        p.specURI = "ipfs://spec";
        p.initialModel = f.model;
        p.rounds = rounds;
        p.trainers = uint16(f.n);
        p.maxMalicious = 1;
        p.tau = 3 << 15;
        p.lr = 64;
        p.lrDecay = 0;
        p.dupTol = uint32(f.params);
        p.startTime = uint40(_now() + 100);
        p.submitWindow = WINDOW;
        p.finalizeWindow = WINDOW;
        p.disputeWindow = WINDOW;
    }

    function createEthJob(JobMarket.JobParams memory p) internal returns (uint256 jobId) {
        vm.prank(owner);
        jobId = market.createJob{value: p.budget}(p);
    }

    /// @dev Creates the job, posts the bond, joins every trainer slot and opens round 0.
    function setUpJob(RoundFixture memory f, IRoundVerifier verifier, uint32 rounds) internal returns (uint256 jobId) {
        jobId = createEthJob(jobParams(f, verifier, address(0), rounds));
        bondAndJoinAll(jobId, f.n);
        vm.warp(_now() + 100);
    }

    /// @dev The aggregator posts the bond; trainers 0..n-1 (funded with 100 ether) join in slot
    ///      order and become `trainers`.
    function bondAndJoinAll(uint256 jobId, uint256 n) internal {
        vm.prank(aggregator);
        market.postBond{value: BOND}(jobId);
        delete trainers;
        for (uint256 i; i < n; ++i) {
            address t = _trainer(i);
            trainers.push(t);
            vm.deal(t, 100 ether);
            vm.prank(t);
            market.join{value: STAKE}(jobId);
        }
    }

    /// @dev Slot i's submission rank in the fixture's order words (0: it did not submit).
    function rankOf(RoundFixture memory f, uint256 slot) internal pure returns (uint256) {
        uint256 word = f.publicInputs[PublicInputs.orderIndex(f.n, slot)];
        return (word >> (ORDER_RANK_BITS * (slot % RANKS_PER_WORD))) & RANK_MASK;
    }

    /// @dev The fixture's submitters submit its commitments in the order its order words give
    ///      (rank 1 first), each with blob reference keccak256(slot).
    function submitAll(uint256 jobId, uint32 round, RoundFixture memory f) internal {
        for (uint256 rank = 1; rank <= f.n; ++rank) {
            for (uint256 i; i < f.n; ++i) {
                if (rankOf(f, i) != rank) continue;
                vm.prank(trainers[i]);
                market.submitUpdate(jobId, round, f.commitments[i], keccak256(abi.encode(i)));
            }
        }
    }

    /// @dev The unavailable bits the fixture was proven with: bits 0..63 of each flags word
    ///      (statement v4; slot 64k + t at bit t of word k).
    function unavailableOf(RoundFixture memory f) internal pure returns (uint256 bits) {
        for (uint256 k; k < f.flags.length; ++k) {
            bits |= (f.flags[k] & FLAG_SLOTS_MASK) << (FLAG_SLOTS_PER_WORD * k);
        }
    }

    /// @dev The fixture's outputs and proof as a finalization; no slot declared unavailable
    ///      (a test that proves one sets `unavailableBits`, see `unavailableOf`).
    function finalization(RoundFixture memory f) internal pure returns (JobMarket.Finalization memory fin) {
        fin.newModel = f.newModel;
        fin.aggregateNormSq = uint128(f.aggregateNormSq);
        for (uint256 i; i < f.n; ++i) {
            if (f.inliers[i]) fin.inlierBits |= 1 << i;
        }
        uint256 words = PublicInputs.scoreWords(f.n);
        fin.scoreWords = new uint256[](words);
        for (uint256 k; k < words; ++k) {
            fin.scoreWords[k] = f.publicInputs[PublicInputs.scoreIndex(f.n, k)];
        }
        // Element by element: a copy, not an alias of the fixture's proof.
        for (uint256 i; i < 8; ++i) {
            fin.proof[i] = f.proof[i];
        }
    }

    /// @dev `key`'s 65-byte signature of `digest` (r, s, v).
    function sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The aggregator's upload receipt for what (job, round, slot) submitted: its stored
    ///      commitment and blob reference.
    function receipt(uint256 jobId, uint256 round, uint256 slot) internal view returns (bytes memory) {
        return sign(
            AGG_KEY,
            market.receiptDigest(
                jobId, round, slot, market.commitments(jobId, round, slot), market.blobRefs(jobId, round, slot)
            )
        );
    }

    /// @dev How many different slots `slots` names (vm.accesses lists a slot once per access).
    function distinct(bytes32[] memory slots) internal pure returns (uint256 count) {
        for (uint256 i; i < slots.length; ++i) {
            bool seen;
            for (uint256 k; k < i && !seen; ++k) {
                seen = slots[k] == slots[i];
            }
            if (!seen) ++count;
        }
    }

    /// @dev How many different slots were read or written (the lists of vm.accesses).
    function touched(bytes32[] memory reads, bytes32[] memory writes) internal pure returns (uint256) {
        bytes32[] memory all = new bytes32[](reads.length + writes.length);
        for (uint256 i; i < reads.length; ++i) {
            all[i] = reads[i];
        }
        for (uint256 i; i < writes.length; ++i) {
            all[reads.length + i] = writes[i];
        }
        return distinct(all);
    }

    /// @dev The registry id of a trainer.
    function idOf(address trainer) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(trainer)));
    }

    function outcome(JobMarket.Finalization memory fin, uint40 finalizedAt)
        internal
        pure
        returns (JobMarket.RoundOutcome memory o)
    {
        o.unavailableBits = fin.unavailableBits;
        o.finalizedAt = finalizedAt;
        o.aggregateNormSq = fin.aggregateNormSq;
        o.scoreWords = fin.scoreWords;
    }
}

/// @dev A market with an approved MockVerifier for N = 4 slots, and jobs driven with arbitrary
///      outputs: the setup the JobMarket{Escrow,Settlement,Liveness} tests share.
abstract contract MockMarketBase is MarketBase {
    uint256 internal constant N = 4;
    MockVerifier internal mock;

    function setUp() public virtual {
        _deployMarket();
        mock = new MockVerifier(N);
        market.setVerifierApproval(address(mock), true);
        vm.warp(1_000_000);
    }

    /// @dev Job terms for the mock verifier: N slots, `rounds` rounds, initial model 12345.
    function _params(uint32 rounds) internal view returns (JobMarket.JobParams memory p) {
        RoundFixture memory f;
        f.n = N;
        f.params = 8;
        f.model = 12345;
        p = jobParams(f, IRoundVerifier(address(mock)), address(0), rounds);
    }

    /// @dev A job with the bond posted, all N slots joined, and round 0 open.
    function _job(uint32 rounds) internal returns (uint256 jobId) {
        jobId = _jobBeforeStart(rounds);
        vm.warp(_now() + 100);
    }

    /// @dev A job with the bond posted and all N slots joined, before its start time.
    function _jobBeforeStart(uint32 rounds) internal returns (uint256 jobId) {
        jobId = createEthJob(_params(rounds));
        bondAndJoinAll(jobId, N);
    }

    /// @dev The trainers whose bit is set in `mask` submit commitment 1000 + 10 * round + slot
    ///      with blob reference `_blob(round, slot)`.
    function _submit(uint256 jobId, uint32 round, uint256 mask) internal {
        for (uint256 i; i < N; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            vm.prank(trainers[i]);
            market.submitUpdate(jobId, round, 1000 + 10 * round + i, _blob(round, i));
        }
    }

    /// @dev The blob reference `_submit` sends for (round, slot): non-zero and distinct.
    function _blob(uint256 round, uint256 slot) internal pure returns (bytes32) {
        return keccak256(abi.encode("blob", round, slot));
    }

    /// @dev ||S||^2 of `_fin`'s rounds: slot i's score i + 1 over it is an observation of
    ///      (i + 1) / 4.
    uint128 internal constant NORM = 4;

    /// @dev Scores 1..N for inliers in `inliers`, packed SCORES_PER_WORD per word, ||S||^2 = NORM.
    function _fin(uint256 inliers, uint256 unavailable) internal pure returns (JobMarket.Finalization memory f) {
        f.newModel = 777;
        f.aggregateNormSq = NORM;
        f.inlierBits = inliers;
        f.unavailableBits = unavailable;
        f.scoreWords = new uint256[](PublicInputs.scoreWords(N));
        for (uint256 i; i < N; ++i) {
            if ((inliers >> i) & 1 == 1) {
                f.scoreWords[i / SCORES_PER_WORD] |= (i + 1) << (SCORE_BITS * (i % SCORES_PER_WORD));
            }
        }
    }

    /// @dev The aggregator finalizes; returns the finalization time.
    function _finalize(uint256 jobId, uint32 round, JobMarket.Finalization memory f) internal returns (uint40 at) {
        vm.prank(aggregator);
        market.finalizeRound(jobId, round, f);
        return uint40(_now());
    }

    /// @dev Trainers 0..N-1 (the slots `bondAndJoinAll` filled) leave the job.
    function _leaveAll(uint256 jobId) internal {
        for (uint256 i; i < N; ++i) {
            vm.prank(_trainer(i));
            market.leave(jobId);
        }
    }

    /// @dev Job terms paid in `token`: BUDGET is minted to the owner and approved to the market.
    function _tokenParams(TestToken token, uint32 rounds) internal returns (JobMarket.JobParams memory p) {
        token.mint(owner, BUDGET);
        vm.prank(owner);
        token.approve(address(market), BUDGET);
        p = _params(rounds);
        p.token = address(token);
    }

    /// @dev Every trainer, the owner and the aggregator withdraw what they are owed in ETH.
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
}
