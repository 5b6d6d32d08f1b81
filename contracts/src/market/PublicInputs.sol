// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// The Groth16 public inputs of a round, as the prover lays them out. The owner of this format is
// the Rust prover: prover/src/round/public_inputs.rs (order, flags), prover/src/shape.rs
// (SCORE_BITS, SCORES_PER_WORD, public_input_count) and prover/src/params.rs (CONTEXT_LAYOUT).
// This file restates it once for the contracts and their tests, so that no other Solidity file
// writes a bare 5, 48, 64 or context offset. It is a file of its own, not part of MarketStorage,
// because it describes the circuit's format rather than the market's storage: the tests and
// mocks import it without pulling in the market, and a change of the prover's layout is a change
// of this one file (plus the verifiers the prover renders).
//
// | index            | value                                                             |
// |------------------|-------------------------------------------------------------------|
// | 0                | context: job, round and hyper-parameters (CTX_* offsets below)    |
// | 1                | C(w), the model the round starts from                             |
// | 2                | C(w'), the new model                                              |
// | 3 .. 3+n         | C_i, the update commitments                                       |
// | 3+n              | flags: presence bit i at bit i, inlier bit i at bit 64 + i        |
// | 4+n ..           | scores, SCORES_PER_WORD per input, score i at bits                |
// |                  | SCORE_BITS * (i % SCORES_PER_WORD) of input i / SCORES_PER_WORD   |

/// @dev Index of the context input.
uint256 constant CONTEXT_INPUT = 0;
/// @dev Index of C(w), the commitment to the model the round starts from.
uint256 constant MODEL_INPUT = 1;
/// @dev Index of C(w'), the commitment to the new model.
uint256 constant NEW_MODEL_INPUT = 2;
/// @dev Index of C_0; C_i is at UPDATES_INPUT + i and the flags follow the n updates.
uint256 constant UPDATES_INPUT = 3;

/// @dev Bit offset of the inlier bits in the flags input (presence bits start at bit 0).
uint256 constant INLIER_FLAG_OFFSET = 64;

/// @dev Scores packed into one public input (a "score word").
uint256 constant SCORES_PER_WORD = 5;
/// @dev Bit width of one score.
uint256 constant SCORE_BITS = 48;
/// @dev Mask of one score in a score word, 2^SCORE_BITS - 1 (written with bit operations, which
///      the optimizer folds, where `(1 << SCORE_BITS) - 1` would be a checked subtraction).
uint256 constant SCORE_MASK = ~(type(uint256).max << SCORE_BITS);

/// @dev Bit offsets of the fields of the context input (job id at bit 0, 64 bits; round 32
///      bits; max malicious 8 bits; tau, lr, next lr and dup_tol 32 bits each).
uint256 constant CTX_ROUND_OFFSET = 64;
uint256 constant CTX_MAX_MALICIOUS_OFFSET = 96;
uint256 constant CTX_TAU_OFFSET = 104;
uint256 constant CTX_LR_OFFSET = 136;
uint256 constant CTX_NEXT_LR_OFFSET = 168;
uint256 constant CTX_DUP_TOL_OFFSET = 200;

/// @dev Positions in the public inputs of a round with n trainer slots, and the score packing.
///      Score i is `(words[i / SCORES_PER_WORD] >> (SCORE_BITS * (i % SCORES_PER_WORD))) &
///      SCORE_MASK`; RoundSettlement writes that expression out in its loops rather than calling
///      a helper here, because the legacy optimizer does not inline such a call and it cost
///      ~100 gas per score (~1.7k per finalization at n = 10, measured with GasBench).
///      n is a job's slot count (at most MAX_SLOTS = 64, a uint8 in storage) and k a score word's
///      index below scoreWords(n), so the arithmetic cannot overflow and is unchecked.
library PublicInputs {
    /// @dev Index of C_slot.
    function updateIndex(uint256 slot) internal pure returns (uint256) {
        unchecked {
            return UPDATES_INPUT + slot;
        }
    }

    /// @dev Index of the flags input.
    function flagsIndex(uint256 n) internal pure returns (uint256) {
        unchecked {
            return UPDATES_INPUT + n;
        }
    }

    /// @dev Index of score word k.
    function scoreIndex(uint256 n, uint256 k) internal pure returns (uint256) {
        unchecked {
            return UPDATES_INPUT + 1 + n + k;
        }
    }

    /// @dev Number of score words, ceil(n / SCORES_PER_WORD).
    function scoreWords(uint256 n) internal pure returns (uint256) {
        unchecked {
            return (n + SCORES_PER_WORD - 1) / SCORES_PER_WORD;
        }
    }

    /// @dev Number of public inputs (a verifier's N_PUBLIC): 4 + n + ceil(n / SCORES_PER_WORD).
    function count(uint256 n) internal pure returns (uint256) {
        return scoreIndex(n, scoreWords(n));
    }

    /// @dev Number of scores score word k holds (SCORES_PER_WORD, less in the last word).
    function scoresInWord(uint256 n, uint256 k) internal pure returns (uint256) {
        unchecked {
            uint256 left = n - SCORES_PER_WORD * k; // > 0 for k < scoreWords(n)
            return left < SCORES_PER_WORD ? left : SCORES_PER_WORD;
        }
    }
}
