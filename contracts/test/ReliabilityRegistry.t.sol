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
}
