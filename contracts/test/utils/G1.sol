// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev BN254 G1 arithmetic for the tests, straight on the EIP-196 precompiles (ecAdd 0x06,
///      ecMul 0x07). Deliberately not src/Bn254.sol: tests that check the market's accumulator
///      recompute it without the market's own code. Both revert on a precompile failure (a point
///      off the curve), which no valid input produces.
library G1 {
    /// @dev x of the generator (1, 2).
    uint256 internal constant GX = 1;
    /// @dev y of the generator (1, 2).
    uint256 internal constant GY = 2;

    /// @dev (ax, ay) + (bx, by); (0, 0) is the point at infinity.
    function add(uint256 ax, uint256 ay, uint256 bx, uint256 by) internal view returns (uint256 x, uint256 y) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, ax)
            mstore(add(m, 0x20), ay)
            mstore(add(m, 0x40), bx)
            mstore(add(m, 0x60), by)
            ok := staticcall(gas(), 0x06, m, 0x80, m, 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
        require(ok, "G1.add: ecAdd failed");
    }

    /// @dev s * (px, py).
    function mul(uint256 px, uint256 py, uint256 s) internal view returns (uint256 x, uint256 y) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, px)
            mstore(add(m, 0x20), py)
            mstore(add(m, 0x40), s)
            ok := staticcall(gas(), 0x07, m, 0x60, m, 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
        require(ok, "G1.mul: ecMul failed");
    }
}
