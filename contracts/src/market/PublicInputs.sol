// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// The Groth16 public inputs of a round, as the prover lays them out (statement v4). The owner of
// this format is the Rust prover: prover/src/round/public_inputs.rs (order, flags),
// prover/src/shape.rs (SCORE_BITS, SCORES_PER_WORD, ORDER_RANK_BITS, RANKS_PER_WORD,
// FLAG_SLOTS_PER_WORD, public_input_count), prover/src/params.rs (CONTEXT_LAYOUT) and
// prover/src/domain.rs (the domain). This file restates it once for the contracts and their tests,
// so that no other Solidity file writes a bare 5, 48, 28, 9, 64, 128 or context offset. It is a
// file of its own, not part of MarketStorage, because it describes the circuit's format rather
// than the market's storage: the tests and mocks import it without pulling in the market, and a
// change of the prover's layout is a change of this one file (plus the verifiers the prover
// renders).
//
// The circuit also requires tau >= 2^16 (JobEscrow's TauBelowOne) and lr < 2^16
// (LearningRateTooLarge) of the context. It derives slot i's presence itself, as
// (C_i != 0) and not unavailable_i, and proves unavailable_i => C_i != 0 and
// inlier_i => present_i: the flags carry the aggregator's unavailable bits, not presence bits.
//
// | index                | value                                                               |
// |----------------------|---------------------------------------------------------------------|
// | 0                    | context: job, round and hyper-parameters (CTX_* offsets below)      |
// | 1                    | domain: keccak256(abi.encode(chainid, market, jobId, rosterHash)) % r |
// | 2                    | C(S), the inliers' aggregate S (the new model is public arithmetic  |
// |                      | on the published S: prover/README.md, section 4)                    |
// | 3                    | H, the root of a chunked round's chunk digests; 0 for a round       |
// |                      | proven whole                                                        |
// | 4 .. 4+n             | C_i, the update commitments                                         |
// | 4+n .. 4+n+ow        | order words, ow = ceil(n / RANKS_PER_WORD): slot i's submission     |
// |                      | rank (1 = the round's first submitter, 0 = none) at bits            |
// |                      | ORDER_RANK_BITS * (i % RANKS_PER_WORD) of order word i / RANKS_PER_WORD |
// | 4+n+ow .. +fw        | flags words, fw = ceil(n / FLAG_SLOTS_PER_WORD); word k holds, for  |
// |                      | slot i = FLAG_SLOTS_PER_WORD * k + t: unavailable bit i at bit t,   |
// |                      | inlier bit i at bit INLIER_FLAG_OFFSET + t; word 0 also holds       |
// |                      | ||S||^2 (< 2^NORM_BITS) at bit NORM_FLAG_OFFSET, the other words    |
// |                      | nothing above bit 127                                               |
// | 4+n+ow+fw ..         | scores, SCORES_PER_WORD per input, score i at bits                  |
// |                      | SCORE_BITS * (i % SCORES_PER_WORD) of input i / SCORES_PER_WORD     |
//
// count(n) = 4 + n + ceil(n / 28) + ceil(n / 64) + ceil(n / 5).

/// @dev Index of the context input.
uint256 constant CONTEXT_INPUT = 0;
/// @dev Index of the domain input (chain, market, job and roster; JobMarket.domain).
uint256 constant DOMAIN_INPUT = 1;
/// @dev Index of C(S), the commitment to the inliers' aggregate (`Finalization.newModel`).
uint256 constant AGGREGATE_INPUT = 2;
/// @dev Index of H, a chunked round's chunk digest root (`Finalization.digest`; 0 unchunked).
uint256 constant DIGEST_INPUT = 3;
/// @dev Index of C_0; C_i is at UPDATES_INPUT + i and the order words follow the n updates.
uint256 constant UPDATES_INPUT = 4;

/// @dev Submission ranks packed into one order word (28 * 9 = 252 bits, below r's 253).
uint256 constant RANKS_PER_WORD = 28;
/// @dev Bit width of one submission rank: ranks are 1..n <= 256 (0 = did not submit), and 8
///      bits cannot hold 256.
uint256 constant ORDER_RANK_BITS = 9;
/// @dev Mask of one rank in an order word, 2^ORDER_RANK_BITS - 1.
uint256 constant RANK_MASK = ~(type(uint256).max << ORDER_RANK_BITS);

/// @dev Slots per flags word: word k holds the unavailable and inlier bits of slots
///      FLAG_SLOTS_PER_WORD * k .. FLAG_SLOTS_PER_WORD * (k + 1) - 1.
uint256 constant FLAG_SLOTS_PER_WORD = 64;
/// @dev Mask of one flags word's share of a slot bitmap, 2^FLAG_SLOTS_PER_WORD - 1.
uint256 constant FLAG_SLOTS_MASK = ~(type(uint256).max << FLAG_SLOTS_PER_WORD);
/// @dev Bit offset of the inlier bits in a flags word (the unavailable bits start at bit 0).
uint256 constant INLIER_FLAG_OFFSET = 64;
/// @dev Bit offset of ||S||^2, the squared norm of the sum of the inliers' updates, in flags
///      word 0.
uint256 constant NORM_FLAG_OFFSET = 128;
/// @dev Bit width of ||S||^2 in flags word 0 (it must be below 2^NORM_BITS).
uint256 constant NORM_BITS = 96;

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
///      n is a job's slot count (at most MAX_SLOTS = 256, a uint16 in storage), slot < n and k a
///      word's index below orderWords(n), flagsWords(n) or scoreWords(n), so the arithmetic
///      cannot overflow and is unchecked.
library PublicInputs {
    /// @dev Index of C_slot.
    function updateIndex(uint256 slot) internal pure returns (uint256) {
        unchecked {
            return UPDATES_INPUT + slot;
        }
    }

    /// @dev Number of order words, ceil(n / RANKS_PER_WORD).
    function orderWords(uint256 n) internal pure returns (uint256) {
        unchecked {
            return (n + RANKS_PER_WORD - 1) / RANKS_PER_WORD;
        }
    }

    /// @dev Index of the order word that holds slot's rank.
    function orderIndex(uint256 n, uint256 slot) internal pure returns (uint256) {
        unchecked {
            return UPDATES_INPUT + n + slot / RANKS_PER_WORD;
        }
    }

    /// @dev Slot's rank at its place in its order word: the value whose verifier term a
    ///      submitter folds in (the terms of a word's submitters add up to the word's term, as
    ///      `inputPoint` is linear in the value and the ranks occupy disjoint bits).
    function orderTerm(uint256 slot, uint256 rank) internal pure returns (uint256) {
        unchecked {
            return rank << (ORDER_RANK_BITS * (slot % RANKS_PER_WORD));
        }
    }

    /// @dev Number of flags words, ceil(n / FLAG_SLOTS_PER_WORD) (1 for n <= 64).
    function flagsWords(uint256 n) internal pure returns (uint256) {
        unchecked {
            return (n + FLAG_SLOTS_PER_WORD - 1) / FLAG_SLOTS_PER_WORD;
        }
    }

    /// @dev Index of flags word k (k < flagsWords(n)), right after the order words.
    function flagsIndex(uint256 n, uint256 k) internal pure returns (uint256) {
        unchecked {
            return UPDATES_INPUT + n + orderWords(n) + k;
        }
    }

    /// @dev Flags word k of a round: the unavailable and inlier bits of slots
    ///      FLAG_SLOTS_PER_WORD * k .. + FLAG_SLOTS_PER_WORD - 1 at bits 0.. and
    ///      INLIER_FLAG_OFFSET.., and for k = 0 ||S||^2 at NORM_FLAG_OFFSET (the caller checked
    ///      it is below 2^NORM_BITS).
    function flagsWord(uint256 k, uint256 unavailableBits, uint256 inlierBits, uint256 aggregateNormSq)
        internal
        pure
        returns (uint256 word)
    {
        unchecked {
            uint256 shift = FLAG_SLOTS_PER_WORD * k; // < 256 for k < flagsWords(n)
            word = ((unavailableBits >> shift) & FLAG_SLOTS_MASK)
                | (((inlierBits >> shift) & FLAG_SLOTS_MASK) << INLIER_FLAG_OFFSET);
            if (k == 0) word |= aggregateNormSq << NORM_FLAG_OFFSET;
        }
    }

    /// @dev Index of score word k, right after the flags words.
    function scoreIndex(uint256 n, uint256 k) internal pure returns (uint256) {
        unchecked {
            return flagsIndex(n, flagsWords(n)) + k;
        }
    }

    /// @dev Number of score words, ceil(n / SCORES_PER_WORD).
    function scoreWords(uint256 n) internal pure returns (uint256) {
        unchecked {
            return (n + SCORES_PER_WORD - 1) / SCORES_PER_WORD;
        }
    }

    /// @dev Number of public inputs (a verifier's N_PUBLIC):
    ///      4 + n + ceil(n / RANKS_PER_WORD) + ceil(n / FLAG_SLOTS_PER_WORD) + ceil(n / SCORES_PER_WORD).
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
