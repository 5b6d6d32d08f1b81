// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IRoundVerifier} from "./IRoundVerifier.sol";
import {IChunkedRoundVerifier} from "./IChunkedRoundVerifier.sol";

/// @title poseidon-solidity's PoseidonT3, called as a contract
interface IPoseidonT3 {
    /// @notice circomlib's Poseidon of two field elements.
    function hash(uint256[2] memory inputs) external pure returns (uint256);
}

/// @title ChunkedRoundVerifier
/// @notice Joins the two verifiers of a chunked round shape (n slots, K chunks), generated ones
///         or the generic RoundVerifier with each key: the final proof's, which a finalization
///         calls through this contract, and the chunk proof's (one public input), which only a
///         challenged chunk needs. The digest tree is the prover's
///         (prover/src/chunked/tree.rs): K leaves padded with zeros to 2^depth, inner nodes
///         Poseidon(left, right) with circomlib's parameters: poseidon-solidity's PoseidonT3
///         (about 21k gas a node), a library whose `hash` is public and pure, so that it is
///         deployed once (the package deploys it at one address on every chain) and called here
///         as a contract, without linking.
contract ChunkedRoundVerifier is IChunkedRoundVerifier {
    /// @notice poseidon-solidity's deployed PoseidonT3.
    IPoseidonT3 public immutable poseidonT3;
    /// @notice The final proof's verifier.
    IRoundVerifier public immutable finalVerifier;
    /// @notice The chunk proof's verifier.
    IRoundVerifier public immutable chunkVerifier;
    /// @inheritdoc IChunkedRoundVerifier
    uint256 public immutable CHUNKS;
    /// @notice The digest tree's depth, ceil(log2 CHUNKS).
    uint256 public immutable DEPTH;

    /// @notice A zero verifier or Poseidon address, or no chunk.
    error InvalidChunkedVerifier();

    constructor(IRoundVerifier final_, IRoundVerifier chunk, uint256 chunks, IPoseidonT3 poseidon) {
        if (
            address(final_) == address(0) || address(chunk) == address(0) || address(poseidon) == address(0)
                || chunks == 0
        ) {
            revert InvalidChunkedVerifier();
        }
        poseidonT3 = poseidon;
        finalVerifier = final_;
        chunkVerifier = chunk;
        CHUNKS = chunks;
        uint256 depth;
        while ((1 << depth) < chunks) ++depth;
        DEPTH = depth;
    }

    /// @inheritdoc IRoundVerifier
    function N_PUBLIC() external view returns (uint256) {
        return finalVerifier.N_PUBLIC();
    }

    /// @inheritdoc IRoundVerifier
    function inputPoint(uint256 index, uint256 value) external view returns (uint256 x, uint256 y) {
        return finalVerifier.inputPoint(index, value);
    }

    /// @inheritdoc IRoundVerifier
    function verifyProofWithPartialInputs(
        uint256[8] calldata proof,
        uint256[2] calldata accumulated,
        uint256[] calldata indices,
        uint256[] calldata values
    ) external view returns (bool) {
        return finalVerifier.verifyProofWithPartialInputs(proof, accumulated, indices, values);
    }

    /// @inheritdoc IChunkedRoundVerifier
    function verifyChunk(
        uint256 index,
        uint256 leaf,
        uint256[] calldata siblings,
        uint256 root,
        uint256[8] calldata proof
    ) external view returns (bool) {
        if (index >= CHUNKS || siblings.length != DEPTH) return false;
        uint256 h = leaf;
        for (uint256 level; level < siblings.length; ++level) {
            h = (index >> level) & 1 == 0
                ? poseidonT3.hash([h, siblings[level]])
                : poseidonT3.hash([siblings[level], h]);
        }
        if (h != root) return false;
        uint256[] memory indices = new uint256[](1);
        uint256[] memory values = new uint256[](1);
        values[0] = leaf;
        return chunkVerifier.verifyProofWithPartialInputs(proof, [uint256(0), 0], indices, values);
    }
}
