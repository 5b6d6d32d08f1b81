// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The part of a generated round verifier (prover/src/export/solidity.rs) JobMarket uses
/// @notice `inputPoint(i, v)` is v * IC[i + 1]; `verifyProofWithPartialInputs` verifies with
///         vk_x = IC[0] + accumulated + sum_k values[k] * IC[indices[k] + 1]. Both revert on an
///         input >= r or an index out of range.
interface IRoundVerifier {
    /// @notice Number of public inputs of the circuit.
    function N_PUBLIC() external view returns (uint256);

    /// @notice value * IC[index + 1].
    function inputPoint(uint256 index, uint256 value) external view returns (uint256 x, uint256 y);

    /// @notice Verifies `proof` with some inputs already folded into `accumulated`.
    function verifyProofWithPartialInputs(
        uint256[8] calldata proof,
        uint256[2] calldata accumulated,
        uint256[] calldata indices,
        uint256[] calldata values
    ) external view returns (bool);
}
