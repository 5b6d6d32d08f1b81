// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IRoundVerifier} from "./IRoundVerifier.sol";

/// @title The verifier of a chunked round (prover/src/chunked): the final proof, and one chunk
///        at a time when a chunk is challenged
/// @notice A chunked job's `verifier`. As an IRoundVerifier it is the final proof's verifier, whose
///         public inputs are a round's with C(S), the inliers' aggregate, at index 2 and H, the
///         root of the chunk digest tree, at index 3 (market/PublicInputs.sol). `verifyChunk`
///         checks one chunk: its digest opens in H at its index, and its proof verifies with the
///         digest as its one public input.
interface IChunkedRoundVerifier is IRoundVerifier {
    /// @notice K, the chunks of a round (the final proof's key binds this many).
    function CHUNKS() external view returns (uint256);

    /// @notice Whether chunk `index` with digest `leaf` opens in `root` along `siblings` (bottom
    ///         first, ceil(log2 K) of them) and `proof` is a valid chunk proof for `leaf`.
    /// @dev Reverts (from the chunk verifier) on a proof coordinate or digest outside its field.
    function verifyChunk(
        uint256 index,
        uint256 leaf,
        uint256[] calldata siblings,
        uint256 root,
        uint256[8] calldata proof
    ) external view returns (bool);
}
