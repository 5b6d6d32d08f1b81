// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./utils/Vm.sol";
import {Test} from "./utils/Test.sol";
import {ReliabilityRegistry} from "../src/ReliabilityRegistry.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract ReliabilityRegistryTest is Test {
    ReliabilityRegistry internal reg;
    address internal writer = address(0xB0B);
    uint256 internal constant ONE = 1e18;

    function setUp() public {
        reg = new ReliabilityRegistry(address(this), 0.25e18);
        reg.grantRole(reg.WRITER_ROLE(), writer);
    }

    function _id(uint256 i) internal pure returns (bytes32) {
        return bytes32(i + 1);
    }

    function test_FirstObservationSetsTheScore() public {
        vm.warp(1000);
        vm.prank(writer);
        reg.update(_id(0), 0.6e18);
        ReliabilityRegistry.Record memory r = reg.get(_id(0));
        assertEq(r.score, 0.6e18, "score");
        assertEq(r.observations, 1, "count");
        assertEq(r.lastUpdate, 1000, "time");
    }

    function test_MovingAverage() public {
        vm.startPrank(writer);
        reg.update(_id(0), ONE);
        reg.update(_id(0), 0); // 1 - 0.25 * 1 = 0.75
        assertEq(reg.get(_id(0)).score, 0.75e18, "down");
        reg.update(_id(0), ONE); // 0.75 + 0.25 * 0.25 = 0.8125
        assertEq(reg.get(_id(0)).score, 0.8125e18, "up");
        assertEq(reg.get(_id(0)).observations, 3, "count");
        vm.stopPrank();
    }

    function test_BatchEqualsSingles() public {
        ReliabilityRegistry other = new ReliabilityRegistry(address(this), 0.25e18);
        other.grantRole(other.WRITER_ROLE(), writer);
        bytes32[] memory ids = new bytes32[](4);
        uint256[] memory obs = new uint256[](4);
        (ids[0], ids[1], ids[2], ids[3]) = (_id(0), _id(1), _id(0), _id(2));
        (obs[0], obs[1], obs[2], obs[3]) = (0.3e18, ONE, 0.9e18, 0);
        vm.startPrank(writer);
        reg.updateBatch(ids, obs);
        for (uint256 k; k < 4; ++k) {
            other.update(ids[k], obs[k]);
        }
        vm.stopPrank();
        ReliabilityRegistry.Record[] memory a = reg.getBatch(ids);
        ReliabilityRegistry.Record[] memory b = other.getBatch(ids);
        for (uint256 k; k < 4; ++k) {
            assertEq(a[k].score, b[k].score, "score");
            assertEq(a[k].observations, b[k].observations, "count");
        }
        assertEq(a[0].observations, 2, "repeated id folded twice");
    }

    function test_RecordIsOneSlot() public {
        vm.warp(77);
        vm.prank(writer);
        reg.update(_id(0), 0.5e18);
        // Storage: AccessControl's roles mapping is slot 0, `weight` slot 1, `records` slot 2.
        bytes32 slot = keccak256(abi.encode(_id(0), uint256(2)));
        uint256 word = uint256(vm.load(address(reg), slot));
        assertEq(word, 0.5e18 | (1 << 64) | (77 << 128), "score | count << 64 | time << 128 in one word");
        assertEq(uint256(vm.load(address(reg), bytes32(uint256(slot) + 1))), 0, "next slot unused");
    }

    function test_RevertsForNonWriters() public {
        bytes32 role = reg.WRITER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), role)
        );
        reg.update(_id(0), 1);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), role)
        );
        reg.updateBatch(new bytes32[](0), new uint256[](0));
        bytes32 config = reg.CONFIG_ROLE();
        vm.prank(writer);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, writer, config)
        );
        reg.setWeight(1);
    }

    function test_RevertsOnBadInput() public {
        vm.startPrank(writer);
        vm.expectRevert(abi.encodeWithSelector(ReliabilityRegistry.ObservationOutOfRange.selector, 0, ONE + 1));
        reg.update(_id(0), ONE + 1);
        bytes32[] memory ids = new bytes32[](2);
        uint256[] memory obs = new uint256[](1);
        vm.expectRevert(abi.encodeWithSelector(ReliabilityRegistry.LengthMismatch.selector, 2, 1));
        reg.updateBatch(ids, obs);
        obs = new uint256[](2);
        obs[1] = ONE + 5;
        vm.expectRevert(abi.encodeWithSelector(ReliabilityRegistry.ObservationOutOfRange.selector, 1, ONE + 5));
        reg.updateBatch(ids, obs);
        vm.stopPrank();
        assertEq(reg.get(ids[0]).observations, 0, "nothing written");
        vm.expectRevert(abi.encodeWithSelector(ReliabilityRegistry.InvalidWeight.selector, 0));
        reg.setWeight(0);
        vm.expectRevert(abi.encodeWithSelector(ReliabilityRegistry.InvalidWeight.selector, ONE + 1));
        reg.setWeight(ONE + 1);
        vm.expectRevert(abi.encodeWithSelector(ReliabilityRegistry.InvalidWeight.selector, 0));
        new ReliabilityRegistry(address(this), 0);
    }

    function test_SetWeight() public {
        vm.expectEmit(false, false, false, true, address(reg));
        emit ReliabilityRegistry.WeightChanged(0.25e18, ONE);
        reg.setWeight(ONE);
        assertEq(reg.weight(), ONE, "weight");
        vm.startPrank(writer);
        reg.update(_id(0), 0.2e18);
        reg.update(_id(0), 0.7e18);
        assertEq(reg.get(_id(0)).score, 0.7e18, "weight one keeps the last observation");
        vm.stopPrank();
    }

    function test_IdOf() public view {
        assertEq(reg.idOf(writer), bytes32(uint256(uint160(writer))), "id");
    }

    /// @dev The score stays in [0, ONE], moves towards the observation and never overshoots it.
    function testFuzz_ScoreStaysBetween(uint256 w, uint256[8] memory obs) public {
        w = bound(w, 1, ONE);
        reg.setWeight(w);
        vm.startPrank(writer);
        uint256 prev;
        for (uint256 k; k < 8; ++k) {
            uint256 o = bound(obs[k], 0, ONE);
            reg.update(_id(0), o);
            uint256 s = reg.get(_id(0)).score;
            assertLe(s, ONE, "score <= ONE");
            if (k > 0) {
                uint256 lo = o < prev ? o : prev;
                uint256 hi = o < prev ? prev : o;
                assertTrue(s >= lo && s <= hi, "score between previous and observation");
            } else {
                assertEq(s, o, "first observation");
            }
            prev = s;
        }
        assertEq(reg.get(_id(0)).observations, 8, "count");
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- value-weighted evidence

    function _one(bytes32 id, uint256 observation, uint256 weight) internal {
        bytes32[] memory ids = new bytes32[](1);
        uint256[] memory obs = new uint256[](1);
        uint256[] memory weights = new uint256[](1);
        (ids[0], obs[0], weights[0]) = (id, observation, weight);
        vm.prank(writer);
        reg.recordEvidence(ETH, ids, obs, weights);
    }

    address internal constant ETH = address(0);
    address internal constant TOKEN = address(0x70CE);

    /// @dev The mean is weighted by value: 1 ETH at 0.2 and 3 ETH at 0.6 give 0.5, with 4 ETH
    ///      behind it; a second token's evidence is kept apart.
    function test_EvidenceIsAValueWeightedMean() public {
        _one(_id(0), 0.2e18, 1 ether);
        _one(_id(0), 0.6e18, 3 ether);
        (uint256 mean, uint256 weight) = reg.weightedMean(_id(0), ETH);
        assertEq(mean, 0.5e18, "(0.2 * 1 + 0.6 * 3) / 4");
        assertEq(weight, 4 ether, "total weight");
        ReliabilityRegistry.Evidence memory e = reg.evidence(_id(0), ETH);
        assertEq(e.observations, 2, "count");
        assertEq(e.weightedSum, 2 ether, "0.2 * 1 + 0.6 * 3");
        (mean, weight) = reg.weightedMean(_id(0), TOKEN);
        assertEq(mean, 0, "no evidence in another token");
        assertEq(weight, 0, "no weight in another token");
        (mean, weight) = reg.weightedMean(_id(1), ETH);
        assertEq(mean + weight, 0, "no evidence of another source");
        assertEq(reg.get(_id(0)).observations, 0, "the moving average is separate");
    }

    /// @dev A zero weight records the observation but moves nothing; a huge weight dominates.
    function test_WeightsDecideTheInfluence() public {
        _one(_id(0), 0.25e18, 100 ether);
        for (uint256 k; k < 50; ++k) {
            _one(_id(0), ONE, 0);
        }
        (uint256 mean, uint256 weight) = reg.weightedMean(_id(0), ETH);
        assertEq(mean, 0.25e18, "weightless observations do not move the mean");
        assertEq(weight, 100 ether, "nor the weight");
        assertEq(reg.evidence(_id(0), ETH).observations, 51, "but are counted");
    }

    function test_EvidenceBatchEqualsSingles() public {
        bytes32[] memory ids = new bytes32[](3);
        uint256[] memory obs = new uint256[](3);
        uint256[] memory weights = new uint256[](3);
        (ids[0], ids[1], ids[2]) = (_id(0), _id(1), _id(0));
        (obs[0], obs[1], obs[2]) = (0.3e18, ONE, 0.9e18);
        (weights[0], weights[1], weights[2]) = (7, 1 ether, 5 ether);
        vm.expectEmit(true, false, false, true, address(reg));
        emit ReliabilityRegistry.EvidenceRecorded(TOKEN, ids, obs, weights);
        vm.prank(writer);
        reg.recordEvidence(TOKEN, ids, obs, weights);
        ReliabilityRegistry.Evidence[] memory got = reg.evidenceBatch(ids, TOKEN);
        assertEq(got[0].observations, 2, "repeated id recorded twice");
        assertEq(got[0].weight, 5 ether + 7, "weights add");
        assertEq(got[0].weightedSum, (7 * 0.3e18) / ONE + (5 ether * 0.9e18) / ONE, "each rounded down");
        assertEq(got[1].weightedSum, 1 ether, "observation one");
        assertEq(got[2].weight, got[0].weight, "same source, same evidence");
    }

    /// @dev The weight saturates at 2^112 - 1: the observation that reaches it counts with the
    ///      room left, later ones with none, and the fields never overflow into each other.
    function test_EvidenceSaturates() public {
        uint256 max = type(uint112).max;
        _one(_id(0), ONE, max - 10);
        _one(_id(0), 0, type(uint256).max); // counts with weight 10
        ReliabilityRegistry.Evidence memory e = reg.evidence(_id(0), ETH);
        assertEq(e.weight, max, "saturated");
        assertEq(e.weightedSum, max - 10, "the rest weighed 10 at 0");
        _one(_id(0), 0, 1 ether);
        e = reg.evidence(_id(0), ETH);
        assertEq(e.weight, max, "stays saturated");
        assertEq(e.weightedSum, max - 10, "moves nothing");
        assertEq(e.observations, 3, "counted");
    }

    function test_EvidenceRevertsOnBadInput() public {
        bytes32[] memory ids = new bytes32[](2);
        uint256[] memory obs = new uint256[](2);
        uint256[] memory weights = new uint256[](1);
        vm.startPrank(writer);
        vm.expectRevert(abi.encodeWithSelector(ReliabilityRegistry.LengthMismatch.selector, 2, 1));
        reg.recordEvidence(ETH, ids, obs, weights);
        vm.expectRevert(abi.encodeWithSelector(ReliabilityRegistry.LengthMismatch.selector, 2, 1));
        reg.recordEvidence(ETH, ids, weights, obs);
        weights = new uint256[](2);
        obs[1] = ONE + 1;
        vm.expectRevert(abi.encodeWithSelector(ReliabilityRegistry.ObservationOutOfRange.selector, 1, ONE + 1));
        reg.recordEvidence(ETH, ids, obs, weights);
        vm.stopPrank();
        bytes32 role = reg.WRITER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), role)
        );
        reg.recordEvidence(ETH, ids, new uint256[](2), weights);
        assertEq(reg.evidence(ids[0], ETH).observations, 0, "nothing written");
    }

    /// @dev Evidence is one slot per (source, token): weight | weightedSum << 112 | count << 224.
    function test_EvidenceIsOneSlot() public {
        _one(_id(0), 0.5e18, 8);
        // Storage: roles slot 0, `weight` slot 1, `records` slot 2, `evidenceOf` slot 3.
        bytes32 inner = keccak256(abi.encode(_id(0), uint256(3)));
        bytes32 slot = keccak256(abi.encode(ETH, inner));
        assertEq(uint256(vm.load(address(reg), slot)), 8 | (4 << 112) | (1 << 224), "packed");
    }

    /// @dev The mean stays in [0, ONE] and the weighted sum never exceeds the weight.
    function testFuzz_EvidenceStaysInRange(uint256[6] memory obs, uint256[6] memory weights) public {
        for (uint256 k; k < 6; ++k) {
            _one(_id(0), bound(obs[k], 0, ONE), bound(weights[k], 0, type(uint128).max));
            ReliabilityRegistry.Evidence memory e = reg.evidence(_id(0), ETH);
            assertLe(e.weightedSum, e.weight, "sum <= weight");
            (uint256 mean,) = reg.weightedMean(_id(0), ETH);
            assertLe(mean, ONE, "mean <= ONE");
        }
    }
}
