// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JobMarket} from "../../src/JobMarket.sol";
import {
    CONTEXT_INPUT,
    DOMAIN_INPUT,
    UPDATES_INPUT,
    RANKS_PER_WORD,
    ORDER_RANK_BITS,
    FLAG_SLOTS_PER_WORD,
    INLIER_FLAG_OFFSET,
    NORM_FLAG_OFFSET,
    CTX_ROUND_OFFSET,
    CTX_MAX_MALICIOUS_OFFSET,
    CTX_TAU_OFFSET,
    CTX_LR_OFFSET,
    CTX_NEXT_LR_OFFSET,
    CTX_DUP_TOL_OFFSET
} from "../../src/market/PublicInputs.sol";

/// @dev Which public inputs JobMarket must fold into a round's verifier accumulator at submission
///      time, restated from the circuit's layout (src/market/PublicInputs.sol) without the
///      market's code, for the tests that check the accumulator: the invariant handler (with
///      LinearMockVerifier) and JobMarketAccumulator.t.sol (with a real generated verifier).
///      A round's first submission folds the "opening" inputs (context and domain); every
///      submission folds its own C_slot and its rank's share of its order word
///      (`orderInput`). If the market starts folding another input at the first submission,
///      `openingInputs` is the one place to add it. `flagsInputs` restates the flags words a
///      finalization passes (statement v4), for the tests that check them with a mock verifier.
library ExpectedInputs {
    /// @dev BN254 scalar field modulus r.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @dev The domain input of job `jobId` of the market at `market` on chain `chainId` whose
    ///      stored roster hash is `rosterHash`: keccak256(abi.encode(chain, market, job, roster
    ///      hash)) mod r (prover/src/domain.rs).
    function domain(uint256 chainId, address market, uint256 jobId, bytes32 rosterHash)
        internal
        pure
        returns (uint256)
    {
        return uint256(keccak256(abi.encode(chainId, market, jobId, rosterHash))) % R;
    }

    /// @dev The context input of (job, round): job | round | f | tau | lr | next lr | dup_tol at
    ///      the CTX_* offsets (the prover's CONTEXT_LAYOUT), lr of round r = lr - r * lrDecay.
    function context(JobMarket.Config memory c, uint256 jobId, uint256 round) internal pure returns (uint256) {
        uint256 lr = uint256(c.lr) - round * c.lrDecay;
        uint256 nextLr = uint256(c.lr) - (round + 1) * c.lrDecay;
        return jobId | (round << CTX_ROUND_OFFSET) | (uint256(c.maxMalicious) << CTX_MAX_MALICIOUS_OFFSET)
            | (uint256(c.tau) << CTX_TAU_OFFSET) | (lr << CTX_LR_OFFSET) | (nextLr << CTX_NEXT_LR_OFFSET)
            | (uint256(c.dupTol) << CTX_DUP_TOL_OFFSET);
    }

    /// @dev The inputs a round's first submission folds in besides its own terms, as
    ///      (index, value) pairs: the context and the job's domain (see `domain`). No model: the
    ///      round's outputs (C(S), H) are the finalization's.
    function openingInputs(JobMarket.Config memory c, uint256 jobId, uint256 round, uint256 domain_)
        internal
        pure
        returns (uint256[] memory indices, uint256[] memory values)
    {
        indices = new uint256[](2);
        values = new uint256[](2);
        (indices[0], values[0]) = (CONTEXT_INPUT, context(c, jobId, round));
        (indices[1], values[1]) = (DOMAIN_INPUT, domain_);
    }

    /// @dev The order-word term a submission folds in, for a job of n slots: the index of the
    ///      order word holding `slot`'s rank (after the n commitments, RANKS_PER_WORD ranks per
    ///      word), and the rank (1 for the round's first submission) at its place in the word,
    ///      ORDER_RANK_BITS per slot.
    function orderInput(uint256 n, uint256 slot, uint256 rank) internal pure returns (uint256 index, uint256 value) {
        index = UPDATES_INPUT + n + slot / RANKS_PER_WORD;
        value = rank << (ORDER_RANK_BITS * (slot % RANKS_PER_WORD));
    }

    /// @dev The flags words of a round of n slots as (index, value) pairs: ceil(n / 64) words
    ///      right after the n commitments and the ceil(n / RANKS_PER_WORD) order words; word k
    ///      holds, for t < 64, slot 64k + t's unavailable bit at bit t and its inlier bit at bit
    ///      64 + t, and word 0 also ||S||^2 at bit 128 (statement v4). Written bit by bit, not
    ///      with the market's masks and shifts.
    function flagsInputs(uint256 n, uint256 inlierBits, uint256 unavailableBits, uint256 aggregateNormSq)
        internal
        pure
        returns (uint256[] memory indices, uint256[] memory values)
    {
        uint256 words = (n + FLAG_SLOTS_PER_WORD - 1) / FLAG_SLOTS_PER_WORD;
        uint256 first = UPDATES_INPUT + n + (n + RANKS_PER_WORD - 1) / RANKS_PER_WORD;
        indices = new uint256[](words);
        values = new uint256[](words);
        for (uint256 k; k < words; ++k) {
            indices[k] = first + k;
        }
        for (uint256 i; i < n; ++i) {
            uint256 k = i / FLAG_SLOTS_PER_WORD;
            uint256 t = i % FLAG_SLOTS_PER_WORD;
            if ((unavailableBits >> i) & 1 == 1) values[k] += 2 ** t;
            if ((inlierBits >> i) & 1 == 1) values[k] += 2 ** (INLIER_FLAG_OFFSET + t);
        }
        values[0] += aggregateNormSq * 2 ** NORM_FLAG_OFFSET;
    }

    /// @dev Index of C_slot, the commitment of `slot`'s update.
    function updateIndex(uint256 slot) internal pure returns (uint256) {
        return UPDATES_INPUT + slot;
    }
}
