// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MarketBase, RoundFixture, VerifierArgs, ChunkedFixture} from "./utils/MarketBase.sol";
import {ChunkedRoundVerifier} from "../src/ChunkedRoundVerifier.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {PublicInputs} from "../src/market/PublicInputs.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {RoundVerifier} from "../src/RoundVerifier.sol";
import {BatchedVerifier} from "./utils/BatchedVerifier.sol";

/// @notice Gas figures for `make bench-gas` (scripts/bench-gas.js formats them). Finalization and
///         claims use the real generated verifiers and real proofs (fixtures n = 4, 10, 16).
/// @dev `exec_*` is the gas a call uses, measured with gasleft() around a low-level call after
///      `vm.cool` on every contract involved, so storage and accounts are cold as in a fresh
///      transaction. `tx_*` adds what a transaction pays on top: 21,000 base plus calldata
///      (4 per zero byte, 16 per non-zero byte), minus the 2,600 cold access of the called
///      contract (a transaction's `to` is warm from the start).
contract GasBench is MarketBase {
    IRoundVerifier internal verifier;
    /// @dev The generic verifier's IC data contract (cold too, as in a fresh transaction).
    address internal icStore;
    /// @dev A chunked verifier's inner contracts (final and chunk verifiers, PoseidonT3), cold too.
    address[] internal inner;

    function _measure(address target, bytes memory data, address sender)
        internal
        returns (uint256 exec, uint256 txGas)
    {
        return _measure(target, data, sender, 0);
    }

    function _measure(address target, bytes memory data, address sender, uint256 value)
        internal
        returns (uint256 exec, uint256 txGas)
    {
        vm.cool(target);
        vm.cool(address(market));
        vm.cool(address(registry));
        if (address(verifier) != address(0)) vm.cool(address(verifier));
        if (icStore != address(0)) vm.cool(icStore);
        for (uint256 i; i < inner.length; ++i) {
            vm.cool(inner[i]);
        }
        vm.prank(sender);
        uint256 before = gasleft();
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        exec = before - gasleft();
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        txGas = exec + 21000 + _calldataGas(data) - 2600;
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 g) {
        for (uint256 i; i < data.length; ++i) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev Finalization of a fixture round, then its first claim (which writes every trainer's
    ///      reliability observation) and a later claim. `generic`: the generic RoundVerifier
    ///      deployed with the fixture's key instead of the verifier generated for that key.
    ///      `seeded`: every trainer already has ETH evidence in the registry (the steady state
    ///      of a marketplace), so the first claim updates records instead of creating them.
    function _roundGas(string memory name, bool generic, bool seeded)
        internal
        returns (uint256[2] memory fin, uint256[2] memory firstClaim, uint256[2] memory laterClaim)
    {
        _deployMarket();
        RoundFixture memory f = loadFixture(name);
        if (generic) {
            RoundVerifier generic_ = deployGenericVerifier(name);
            (verifier, icStore) = (IRoundVerifier(address(generic_)), generic_.IC_STORE());
            market.setVerifierApproval(address(verifier), true);
        } else {
            (verifier, icStore) = (deployVerifier(name), address(0));
        }
        uint256 jobId = setUpJob(f, verifier, 2);
        if (seeded) _seedEvidence(f.n);
        submitAll(jobId, 0, f);
        JobMarket.Finalization memory finalization_ = finalization(f);
        bytes memory data = abi.encodeCall(JobMarket.finalizeRound, (jobId, 0, finalization_));
        (fin[0], fin[1]) = _measure(address(market), data, aggregator);
        require(market.jobState(jobId).round == 1, "finalization did not happen");
        JobMarket.RoundOutcome memory o = outcome(finalization_, uint40(_now()));
        (uint256 first, uint256 later) = _twoScoredSlots(f);
        (firstClaim[0], firstClaim[1]) =
            _measure(address(market), abi.encodeCall(JobMarket.claim, (jobId, 0, first, o)), trainers[first]);
        (laterClaim[0], laterClaim[1]) =
            _measure(address(market), abi.encodeCall(JobMarket.claim, (jobId, 0, later, o)), trainers[later]);
        require(registry.evidence(idOf(trainers[0]), address(0)).observations == (seeded ? 2 : 1), "reliability");
    }

    /// @dev One ETH observation for each of the first n trainers, as an earlier job would leave.
    function _seedEvidence(uint256 n) internal {
        registry.grantRole(registry.WRITER_ROLE(), address(this));
        bytes32[] memory ids = new bytes32[](n);
        uint256[] memory obs = new uint256[](n);
        uint256[] memory weights = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            (ids[i], obs[i], weights[i]) = (idOf(_trainer(i)), 0.5e18, 1 ether);
        }
        registry.recordEvidence(address(0), ids, obs, weights);
    }

    /// @dev Two slots with a non-zero score (there is something to claim).
    function _twoScoredSlots(RoundFixture memory f) internal pure returns (uint256 first, uint256 later) {
        uint256 found;
        for (uint256 i; i < f.n && found < 2; ++i) {
            if (f.scores[i] == 0) continue;
            if (found++ == 0) first = i;
            else later = i;
        }
        require(found == 2, "the fixture has two scored slots");
    }

    function _log(string memory key, uint256[2] memory gas) internal {
        emit log_named_uint(string.concat(key, "_exec"), gas[0]);
        emit log_named_uint(string.concat(key, "_tx"), gas[1]);
    }

    /// @dev Each measurement on a fresh market (a state snapshot: the market lives at one address).
    function test_BenchFinalize() public {
        string[3] memory names = ["n4", "n10", "n16"];
        string[3] memory ns = ["4", "10", "16"];
        uint256 fresh = vm.snapshotState();
        for (uint256 k; k < 3; ++k) {
            vm.revertToState(fresh);
            (uint256[2] memory fin, uint256[2] memory first, uint256[2] memory later) = _roundGas(names[k], false, false);
            _log(string.concat("finalize_", ns[k]), fin);
            _log(string.concat("claim_first_fresh_", ns[k]), first);
            _log(string.concat("claim_later_", ns[k]), later);
            vm.revertToState(fresh);
            (, first,) = _roundGas(names[k], false, true);
            _log(string.concat("claim_first_", ns[k]), first);
            vm.revertToState(fresh);
            (fin,,) = _roundGas(names[k], true, false);
            _log(string.concat("finalize_generic_", ns[k]), fin);
        }
    }

    /// @dev A chunked round of 32 trainers x 100,000 parameters in 40 chunks of 2,500 (real final
    ///      proof; chunk 0's real proof): its finalization, a challenge of a chunk, the answer
    ///      to it (a depth-6 path and a chunk proof) and the refutation of an unanswered one.
    function test_BenchChunked() public {
        _deployMarket();
        RoundFixture memory f = loadFixture("chunked_n32");
        ChunkedFixture memory c = loadChunked("chunked_n32");
        ChunkedRoundVerifier v = deployChunkedVerifier("chunked_n32", c.chunks);
        (verifier, icStore) = (IRoundVerifier(address(v)), address(0));
        inner = [address(v.finalVerifier()), address(v.chunkVerifier()), address(v.poseidonT3())];
        uint256 jobId = setUpJob(f, verifier, 2);
        submitAll(jobId, 0, f);
        JobMarket.Finalization memory fin = finalization(f);
        fin.digest = c.digest;
        (uint256 e, uint256 t) =
            _measure(address(market), abi.encodeCall(JobMarket.finalizeRound, (jobId, 0, fin)), aggregator);
        _log("finalize_chunked_32", [e, t]);
        uint40 at = uint40(_now());
        address challenger = address(0xC4A11);
        vm.deal(challenger, 1e6 ether);
        uint256 bond = (BOND + f.n - 1) / f.n;
        for (uint256 k; k < 2; ++k) {
            (e, t) = _measure(
                address(market),
                abi.encodeCall(JobMarket.challengeChunk, (jobId, 0, k, c.digest, at)),
                challenger,
                bond
            );
            if (k == 0) _log("challenge_chunk", [e, t]);
        }
        JobMarket.ChunkAnswer memory a;
        (a.digest, a.finalizedAt, a.chunkDigest) = (c.digest, at, c.chunkDigests[0]);
        a.siblings = new uint256[](c.depth);
        for (uint256 i; i < c.depth; ++i) {
            a.siblings[i] = c.chunkPaths[i];
        }
        for (uint256 i; i < 8; ++i) {
            a.proof[i] = c.chunkProofs[i];
        }
        (e, t) = _measure(address(market), abi.encodeCall(JobMarket.answerChunk, (jobId, 0, 0, a)), aggregator);
        _log("answer_chunk_32", [e, t]);
        vm.warp(at + 2 * WINDOW + 1);
        (e, t) = _measure(
            address(market), abi.encodeCall(JobMarket.refuteRound, (jobId, 0, 1, at, c.digest)), challenger
        );
        _log("refute_round", [e, t]);
        require(market.jobState(jobId).bondHeld == 0, "refuted");
    }

    /// @dev Deployment of the generic verifier (constructor with key checks, plus the IC data
    ///      contract), for the n = 10 key.
    function test_BenchGenericVerifierDeploy() public {
        VerifierArgs memory a = loadVerifierArgs("n10");
        uint256 before = gasleft();
        RoundVerifier v = new RoundVerifier(a.alpha, a.beta, a.gamma, a.delta, a.ic);
        uint256 exec = before - gasleft();
        require(v.N_PUBLIC() == PublicInputs.count(10), "deployed");
        emit log_named_uint("generic_verifier_deploy_exec_10", exec);
    }

    function test_BenchSubmit() public {
        _deployMarket();
        RoundFixture memory f = loadFixture("n10");
        verifier = deployVerifier("n10");
        uint256 jobId = setUpJob(f, verifier, 2);
        bytes memory first = abi.encodeCall(JobMarket.submitUpdate, (jobId, 0, f.commitments[0], bytes32(uint256(1))));
        (uint256 e1, uint256 t1) = _measure(address(market), first, trainers[0]);
        bytes memory second = abi.encodeCall(JobMarket.submitUpdate, (jobId, 0, f.commitments[1], bytes32(uint256(2))));
        (uint256 e2, uint256 t2) = _measure(address(market), second, trainers[1]);
        emit log_named_uint("submit_first_exec", e1);
        emit log_named_uint("submit_first_tx", t1);
        emit log_named_uint("submit_exec", e2);
        emit log_named_uint("submit_tx", t2);
    }

    /// @dev Issue 14's first route for settling a chunked round in one transaction: K proofs of
    ///      one key in one pairing-product check (BatchedVerifier), measured for K = 1, 2, 3 with
    ///      the three real proofs of the n = 4 key (rounds round_n4, round_n4_chain0 and
    ///      round_n4_chain1), beside one proof through RoundVerifier.verifyProof. A batch with
    ///      two proofs' inputs swapped must be refused.
    function test_BenchBatchedVerification() public {
        RoundVerifier key = deployGenericVerifier("n4_chain");
        VerifierArgs memory a = loadVerifierArgs("n4_chain");
        BatchedVerifier batch = new BatchedVerifier(key, a.alpha, a.beta, a.gamma, a.delta);
        (verifier, icStore) = (IRoundVerifier(address(key)), key.IC_STORE());
        string[3] memory names = ["n4", "n4_chain0", "n4_chain1"];
        uint256[8][] memory proofs = new uint256[8][](3);
        uint256[][] memory inputs = new uint256[][](3);
        for (uint256 i; i < 3; ++i) {
            RoundFixture memory f = loadFixture(names[i]);
            (proofs[i], inputs[i]) = (f.proof, f.publicInputs);
        }
        (uint256 single,) = _measure(address(key), abi.encodeCall(RoundVerifier.verifyProof, (proofs[0], inputs[0])), address(this));
        emit log_named_uint("verify_single_exec", single);
        for (uint256 k = 1; k <= 3; ++k) {
            uint256[8][] memory ps = new uint256[8][](k);
            uint256[][] memory xs = new uint256[][](k);
            for (uint256 i; i < k; ++i) {
                (ps[i], xs[i]) = (proofs[i], inputs[i]);
            }
            bytes memory call = abi.encodeCall(BatchedVerifier.verifyBatch, (ps, xs));
            (uint256 exec,) = _measure(address(batch), call, address(this));
            require(batch.verifyBatch(ps, xs), "a batch of valid proofs verifies");
            emit log_named_uint(string.concat("verify_batch_", vm.toString(k), "_exec"), exec);
        }
        (inputs[1], inputs[2]) = (inputs[2], inputs[1]);
        require(!batch.verifyBatch(proofs, inputs), "a batch with swapped inputs is refused");
        verifier = IRoundVerifier(address(0));
        icStore = address(0);
    }

    function _ids(uint256 k, uint256 offset)
        internal
        pure
        returns (bytes32[] memory ids, uint256[] memory obs, uint256[] memory weights)
    {
        ids = new bytes32[](k);
        obs = new uint256[](k);
        weights = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            ids[i] = bytes32(offset + i + 1);
            obs[i] = 0.5e18 + i * 1e15; // non-zero values that change every record
            weights[i] = 1 ether + i;
        }
    }

    function _evidence(bytes32[] memory ids, uint256[] memory obs, uint256[] memory weights)
        internal
        returns (uint256 exec, uint256 txGas)
    {
        return _measure(
            address(registry), abi.encodeCall(ReliabilityRegistry.recordEvidence, (address(0), ids, obs, weights)), address(this)
        );
    }

    /// @dev recordEvidence (what a round's first claim calls) for one source and per source in
    ///      batches of 10 and 100, for existing records (the steady state) and new ones.
    function test_BenchReliability() public {
        _deployMarket();
        verifier = IRoundVerifier(address(0));
        registry.grantRole(registry.WRITER_ROLE(), address(this));
        (bytes32[] memory ids, uint256[] memory obs, uint256[] memory weights) = _ids(200, 0);
        registry.recordEvidence(address(0), ids, obs, weights); // existing records for ids 1..200

        (ids, obs, weights) = _ids(1, 0);
        (uint256 e1, uint256 t1) = _evidence(ids, obs, weights);
        (ids, obs, weights) = _ids(1, 999_999);
        (uint256 ef, uint256 tf) = _evidence(ids, obs, weights);
        emit log_named_uint("reliability_single_exec", e1);
        emit log_named_uint("reliability_single_tx", t1);
        emit log_named_uint("reliability_single_fresh_exec", ef);
        emit log_named_uint("reliability_single_fresh_tx", tf);
        uint256[2] memory ks = [uint256(10), 100];
        string[2] memory names = ["10", "100"];
        for (uint256 j; j < 2; ++j) {
            (ids, obs, weights) = _ids(ks[j], 50 * j); // within the existing 200
            (uint256 e, uint256 t) = _evidence(ids, obs, weights);
            emit log_named_uint(string.concat("reliability_batch_exec_", names[j]), e);
            emit log_named_uint(string.concat("reliability_batch_tx_", names[j]), t);
            (ids, obs, weights) = _ids(ks[j], 10_000 + 1000 * j); // never seen
            (e, t) = _evidence(ids, obs, weights);
            emit log_named_uint(string.concat("reliability_batch_fresh_exec_", names[j]), e);
            emit log_named_uint(string.concat("reliability_batch_fresh_tx_", names[j]), t);
        }
    }
}
