// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Bn254
/// @notice The alt_bn128 point precompiles (EIP-196), shared by the round verifier and the
///         market's submission-time input accumulator. Each returns `ok = false` instead of
///         reverting (a point off the curve, or too little gas), so callers revert with their own
///         error.
library Bn254 {
    /// @dev (ax, ay) + (bx, by) with the ecAdd precompile (0x06).
    function add(uint256 ax, uint256 ay, uint256 bx, uint256 by)
        internal
        view
        returns (uint256 x, uint256 y, bool ok)
    {
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer: used and dropped, never allocated.
            let m := mload(0x40)
            mstore(m, ax)
            mstore(add(m, 0x20), ay)
            mstore(add(m, 0x40), bx)
            mstore(add(m, 0x60), by)
            ok := staticcall(gas(), 0x06, m, 0x80, m, 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
    }

    /// @dev s · (px, py) with the ecMul precompile (0x07).
    function mul(uint256 px, uint256 py, uint256 s) internal view returns (uint256 x, uint256 y, bool ok) {
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer: used and dropped, never allocated.
            let m := mload(0x40)
            mstore(m, px)
            mstore(add(m, 0x20), py)
            mstore(add(m, 0x40), s)
            ok := staticcall(gas(), 0x07, m, 0x60, m, 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
    }
}
