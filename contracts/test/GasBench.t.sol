// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {MarketBase, RoundFixture, VerifierArgs} from "./utils/MarketBase.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {PublicInputs} from "../src/market/PublicInputs.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";
import {IRoundVerifier} from "../src/IRoundVerifier.sol";
import {RoundVerifier} from "../src/RoundVerifier.sol";

/// @notice Gas figures for `make bench-gas` (scripts/bench-gas.js formats them). Finalization uses
///         the real generated verifiers and real proofs (fixtures n = 4, 10, 16).
/// @dev `exec_*` is the gas a call uses, measured with gasleft() around a low-level call after
///      `vm.cool` on every contract involved, so storage and accounts are cold as in a fresh
///      transaction. `tx_*` adds what a transaction pays on top: 21,000 base plus calldata
///      (4 per zero byte, 16 per non-zero byte), minus the 2,600 cold access of the called
///      contract (a transaction's `to` is warm from the start).
contract GasBench is MarketBase {
    IRoundVerifier internal verifier;

    function _measure(address target, bytes memory data, address sender)
        internal
        returns (uint256 exec, uint256 txGas)
    {
        vm.cool(target);
        vm.cool(address(market));
        vm.cool(address(registry));
        if (address(verifier) != address(0)) vm.cool(address(verifier));
        vm.prank(sender);
        uint256 before = gasleft();
        (bool ok, bytes memory ret) = target.call(data);
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

    /// @dev `generic`: the generic RoundVerifier deployed with the fixture's key instead of the
    ///      verifier generated for that key.
    function _finalizeGas(string memory name, bool seeded, bool generic)
        internal
        returns (uint256 exec, uint256 txGas)
    {
        _deployMarket();
        RoundFixture memory f = loadFixture(name);
        if (generic) {
            verifier = IRoundVerifier(address(deployGenericVerifier(name)));
            market.setVerifierApproval(address(verifier), true);
        } else {
            verifier = deployVerifier(name);
        }
        uint256 jobId = setUpJob(f, verifier, 2);
        if (seeded) {
            // Steady state: every trainer already has a reliability record from earlier jobs.
            registry.grantRole(registry.WRITER_ROLE(), address(this));
            for (uint256 i; i < f.n; ++i) {
                registry.update(bytes32(uint256(uint160(trainers[i]))), 0.5e18);
            }
        }
        submitAll(jobId, 0, f);
        bytes memory data = abi.encodeCall(JobMarket.finalizeRound, (jobId, 0, finalization(f)));
        (exec, txGas) = _measure(address(market), data, aggregator);
        require(market.jobState(jobId).round == 1, "finalization did not happen");
    }

    function test_BenchFinalize() public {
        string[3] memory names = ["n4", "n10", "n16"];
        string[3] memory ns = ["4", "10", "16"];
        for (uint256 k; k < 3; ++k) {
            (uint256 exec, uint256 txGas) = _finalizeGas(names[k], true, false);
            emit log_named_uint(string.concat("finalize_exec_", ns[k]), exec);
            emit log_named_uint(string.concat("finalize_tx_", ns[k]), txGas);
            (exec, txGas) = _finalizeGas(names[k], true, true);
            emit log_named_uint(string.concat("finalize_generic_exec_", ns[k]), exec);
            emit log_named_uint(string.concat("finalize_generic_tx_", ns[k]), txGas);
            (exec, txGas) = _finalizeGas(names[k], false, false);
            emit log_named_uint(string.concat("finalize_fresh_exec_", ns[k]), exec);
            emit log_named_uint(string.concat("finalize_fresh_tx_", ns[k]), txGas);
        }
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

    function _ids(uint256 k, uint256 offset) internal pure returns (bytes32[] memory ids, uint256[] memory obs) {
        ids = new bytes32[](k);
        obs = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            ids[i] = bytes32(offset + i + 1);
            obs[i] = 0.5e18 + i * 1e15; // non-zero values that change every record
        }
    }

    function test_BenchReliability() public {
        _deployMarket();
        verifier = IRoundVerifier(address(0));
        registry.grantRole(registry.WRITER_ROLE(), address(this));
        // Seed records so that updates are the steady-state case (existing record changes).
        (bytes32[] memory seedIds, uint256[] memory seedObs) = _ids(200, 0);
        for (uint256 i; i < seedObs.length; ++i) {
            seedObs[i] = 0.1e18;
        }
        registry.updateBatch(seedIds, seedObs);

        (uint256 e1, uint256 t1) =
            _measure(address(registry), abi.encodeCall(ReliabilityRegistry.update, (seedIds[0], 0.9e18)), address(this));
        (uint256 ef, uint256 tf) = _measure(
            address(registry),
            abi.encodeCall(ReliabilityRegistry.update, (bytes32(uint256(999_999)), 0.9e18)),
            address(this)
        );
        emit log_named_uint("reliability_single_exec", e1);
        emit log_named_uint("reliability_single_tx", t1);
        emit log_named_uint("reliability_single_fresh_exec", ef);
        emit log_named_uint("reliability_single_fresh_tx", tf);
        uint256[2] memory ks = [uint256(10), 100];
        string[2] memory names = ["10", "100"];
        for (uint256 j; j < 2; ++j) {
            (bytes32[] memory ids, uint256[] memory obs) = _ids(ks[j], 50 * j); // within the seeded 200
            (uint256 e, uint256 t) =
                _measure(address(registry), abi.encodeCall(ReliabilityRegistry.updateBatch, (ids, obs)), address(this));
            emit log_named_uint(string.concat("reliability_batch_exec_", names[j]), e);
            emit log_named_uint(string.concat("reliability_batch_tx_", names[j]), t);
            (ids, obs) = _ids(ks[j], 10_000 + 1000 * j); // never seen
            (e, t) =
                _measure(address(registry), abi.encodeCall(ReliabilityRegistry.updateBatch, (ids, obs)), address(this));
            emit log_named_uint(string.concat("reliability_batch_fresh_exec_", names[j]), e);
            emit log_named_uint(string.concat("reliability_batch_fresh_tx_", names[j]), t);
        }
    }
}
