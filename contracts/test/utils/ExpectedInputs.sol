// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JobMarket} from "../../src/JobMarket.sol";
import {
    CONTEXT_INPUT,
    MODEL_INPUT,
    UPDATES_INPUT,
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
///      A round's first submission folds the "opening" inputs (context and C(w)) plus its own
///      C_slot; every later one folds its C_slot. If the market starts folding another input at
///      the first submission (say a domain input), `openingInputs` is the one place to add it.
library ExpectedInputs {
    /// @dev The context input of (job, round): job | round | f | tau | lr | next lr | dup_tol at
    ///      the CTX_* offsets (the prover's CONTEXT_LAYOUT), lr of round r = lr - r * lrDecay.
    function context(JobMarket.Config memory c, uint256 jobId, uint256 round) internal pure returns (uint256) {
        uint256 lr = uint256(c.lr) - round * c.lrDecay;
        uint256 nextLr = uint256(c.lr) - (round + 1) * c.lrDecay;
        return jobId | (round << CTX_ROUND_OFFSET) | (uint256(c.maxMalicious) << CTX_MAX_MALICIOUS_OFFSET)
            | (uint256(c.tau) << CTX_TAU_OFFSET) | (lr << CTX_LR_OFFSET) | (nextLr << CTX_NEXT_LR_OFFSET)
            | (uint256(c.dupTol) << CTX_DUP_TOL_OFFSET);
    }

    /// @dev The inputs a round's first submission folds in besides its own commitment, as
    ///      (index, value) pairs: the context and C(w), the model the round starts from.
    function openingInputs(JobMarket.Config memory c, uint256 jobId, uint256 round, uint256 model)
        internal
        pure
        returns (uint256[] memory indices, uint256[] memory values)
    {
        indices = new uint256[](2);
        values = new uint256[](2);
        (indices[0], values[0]) = (CONTEXT_INPUT, context(c, jobId, round));
        (indices[1], values[1]) = (MODEL_INPUT, model);
    }

    /// @dev Index of C_slot, the commitment of `slot`'s update.
    function updateIndex(uint256 slot) internal pure returns (uint256) {
        return UPDATES_INPUT + slot;
    }
}
