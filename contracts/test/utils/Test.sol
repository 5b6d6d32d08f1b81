// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "./Vm.sol";

/// @dev A minimal stand-in for forge-std's Test: assertions, `bound`, the log events forge prints
///      with -vv, and the invariant-target hooks forge calls on a test contract.
abstract contract Test {
    event log_named_uint(string key, uint256 val);
    event log_string(string val);

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] internal targetedContracts;
    FuzzSelector[] internal targetedSelectors;
    address[] internal targetedSenders;

    /// @dev forge fuzzes only these contracts in invariant runs (when the list is non-empty).
    function targetContracts() public view returns (address[] memory) {
        return targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return targetedSelectors;
    }

    function targetSenders() public view returns (address[] memory) {
        return targetedSenders;
    }

    function targetContract(address a) internal {
        targetedContracts.push(a);
    }

    function targetSelector(FuzzSelector memory s) internal {
        targetedSelectors.push(s);
    }

    function targetSender(address a) internal {
        targetedSenders.push(a);
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": ", _s(a), " != ", _s(b)));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": addresses differ"));
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": bytes32 differ"));
    }

    function assertTrue(bool c, string memory what) internal pure {
        if (!c) revert(what);
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) revert(string.concat(what, ": ", _s(a), " > ", _s(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory what) internal pure {
        if (a < b) revert(string.concat(what, ": ", _s(a), " < ", _s(b)));
    }

    /// @dev The current block time. Tests read it here, never as `block.timestamp`: the IR
    ///      optimizer (foundry.toml: via_ir) treats TIMESTAMP as constant within a transaction, and
    ///      a test is one transaction, so after `vm.warp` a `block.timestamp` in test code may
    ///      still read the time before the warp. The cheatcode call always reads the current one.
    function _now() internal view returns (uint256) {
        return vm.getBlockTimestamp();
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (hi - lo == type(uint256).max) return x;
        return lo + (x % (hi - lo + 1));
    }

    function _s(uint256 v) internal pure returns (string memory) {
        return vm.toString(v);
    }
}
