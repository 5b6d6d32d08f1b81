// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JobMarket} from "../JobMarket.sol";
import {IJobMarketErrors} from "../IJobMarket.sol";

/// @dev BN254 scalar field modulus: commitments are field elements.
uint256 constant SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
/// @dev Fixed-point one of reliability observations.
uint256 constant FIXED_ONE = 1e18;
/// @dev Most slots a job may have: slot bitmaps are uint256 (one bit per slot), and the
///      circuit's order words hold ranks up to 2^ORDER_RANK_BITS - 1 = 511 (PublicInputs.sol).
uint256 constant MAX_SLOTS = 256;
/// @dev Most rounds a job may have: `State.unrecorded` counts finalized rounds not yet recorded
///      in a uint16 (the hot state slot has 16 bits left).
uint32 constant MAX_ROUNDS = type(uint16).max;
/// @dev Mark in a finalized round's outcome slot (`roundHash`, bit 255) set once the round was
///      recorded: its allocation moved and its reliability observations were written (or the
///      write was attempted and failed), by its first `claim`, by `recordReliability` or by its
///      refutation.
uint256 constant RECORDED_BIT = 255;
/// @dev Mark in a finalized round's outcome slot (`roundHash`, bit 254) set once a chunked round
///      was refuted (an unanswered challenge).
uint256 constant REFUTED_BIT = 254;
/// @dev The outcome hash bits of a round's outcome slot: keccak256 of the outcome with its top
///      two bits cleared, so that the slot also holds the RECORDED_BIT and REFUTED_BIT marks.
///      254 bits of keccak still make a forged outcome with the same stored hash infeasible
///      (a second preimage costs ~2^254 hashes; two outcomes colliding ~2^127), so comparing
///      masked hashes loses nothing here. Recording a round then writes the slot its first
///      claim has already read (a warm write) instead of a slot of its own.
uint256 constant OUTCOME_HASH_MASK = type(uint256).max >> 2;
/// @dev Most chunks a chunked round may have (`Config.chunks` is a uint16).
uint256 constant MAX_CHUNKS = type(uint16).max;
/// @dev Shortest submission window (s): a trainer must have time to send a transaction.
uint32 constant MIN_SUBMIT_WINDOW = 60;
/// @dev Shortest finalization window (s): the aggregator must have time to prove and send.
uint32 constant MIN_FINALIZE_WINDOW = 60;
/// @dev Shortest dispute window (s): a trainer declared unavailable must have time to dispute.
uint32 constant MIN_DISPUTE_WINDOW = 60;
/// @dev Longest window of any kind (s): stakes, bond and budget are locked for at most
///      submit + finalize windows per round, so no window may lock them for years.
uint32 constant MAX_WINDOW = 30 days;
/// @dev tau is 16.16 fixed point; a threshold below 1.0 would flag honest updates near the median.
uint32 constant TAU_ONE = 1 << 16;
/// @dev lr must stay below 2^16 (the circuit's bound, so that one round's step never takes a
///      parameter out of the model's range); the node's default is 4096 (eta = 1.0).
uint32 constant LR_LIMIT = 1 << 16;
/// @dev Written by a round's first submitter so that finalization overwrites a warm, non-zero slot.
bytes32 constant PENDING = bytes32(uint256(1));

/// @dev All of JobMarket's storage in one struct, so that the libraries holding its logic
///      (JobEscrow, RoundSettlement, JobLiveness) take one storage pointer. The types stay
///      declared in JobMarket: the ABI names a struct after the contract that declares it, and
///      the ABI (and the Rust bindings made from it) must not change.
struct MarketStorage {
    /// Number of jobs created; job ids are 1, 2, ...
    uint256 jobCount;
    /// Verifiers new jobs may use.
    mapping(address verifier => bool) approvedVerifier;
    mapping(uint256 jobId => JobMarket.Job) jobs;
    /// Slot owner of each job slot.
    mapping(uint256 jobId => mapping(uint256 slot => address)) slotOwner;
    /// slot + 1 of a trainer with a live stake in a job (0: none).
    mapping(uint256 jobId => mapping(address trainer => uint256)) slotPlusOne;
    /// Commitment submitted for (job, round, slot); 0 if none.
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 slot => uint256))) commitments;
    /// A finalized round's outcome slot: keccak256 of its outcome masked with OUTCOME_HASH_MASK,
    /// with the marks RECORDED_BIT and REFUTED_BIT (`PENDING` while submissions come in, 0
    /// before).
    mapping(uint256 jobId => mapping(uint256 round => bytes32)) roundHash;
    /// Slots that submitted in a round (bit i for slot i): written by `submitUpdate`, never
    /// reset (finalization does not read it: the circuit derives presence from the C_i), read
    /// by `expireRound`.
    mapping(uint256 jobId => mapping(uint256 round => uint256)) submittedBits;
    /// Claimed slots of a finalized round (bit i for slot i).
    mapping(uint256 jobId => mapping(uint256 round => uint256)) claimedBits;
    /// Disputed slots of a finalized round (bit i for slot i).
    mapping(uint256 jobId => mapping(uint256 round => uint256)) disputedBits;
    /// Withdrawable balances: token (address(0) for ETH) => account => amount.
    mapping(address token => mapping(address account => uint256)) owed;
    /// Blob reference submitted with the commitment for (job, round, slot); 0 if none. Upload
    /// receipts sign it, so a receipt for one blob cannot back a dispute about another.
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 slot => bytes32))) blobRefs;
    /// keccak256(abi.encode(H, finalizedAt)) of a finalized chunked round; 0 otherwise.
    mapping(uint256 jobId => mapping(uint256 round => bytes32)) chunkDigest;
    /// Who challenged a chunk of a chunked round (ChunkChallenges.CLOSED once answered or
    /// settled); 0 if nobody did.
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 chunk => address))) challenger;
    /// Open challenges of a chunked round: its claims wait for 0.
    mapping(uint256 jobId => mapping(uint256 round => uint256)) roundChallenges;
    /// Open challenges of a job: its bond is not released before 0.
    mapping(uint256 jobId => uint256) jobChallenges;
}

/// @dev Lookups every part of the market needs.
library MarketLookup {
    /// @dev The job, or UnknownJob if it does not exist.
    function job(MarketStorage storage $, uint256 jobId) internal view returns (JobMarket.Job storage j) {
        j = $.jobs[jobId];
        if (j.s.status == JobMarket.Status.None) revert IJobMarketErrors.UnknownJob(jobId);
    }

    /// @dev The job must be active (one copy of the NotActive revert for the cold paths).
    function requireActive(uint256 jobId, JobMarket.Job storage j) internal view {
        if (j.s.status != JobMarket.Status.Active) revert IJobMarketErrors.NotActive(jobId, j.s.status);
    }

    /// @dev The caller must be the job's aggregator.
    function requireAggregator(JobMarket.Job storage j) internal view {
        if (msg.sender != j.c.aggregator) revert IJobMarketErrors.NotAggregator(msg.sender);
    }

    /// @dev The job must be active and before its start time.
    function requireBeforeStart(uint256 jobId, JobMarket.Job storage j) internal view {
        requireActive(jobId, j);
        if (block.timestamp >= j.c.startTime) revert IJobMarketErrors.AlreadyStarted(jobId);
    }

    /// @dev keccak256 of the job's slot owners (address(0) for a free slot), in slot order.
    function rosterHash(MarketStorage storage $, uint256 jobId, uint256 n) internal view returns (bytes32) {
        address[] memory roster = new address[](n);
        for (uint256 i; i < n; ++i) {
            roster[i] = $.slotOwner[jobId][i];
        }
        return keccak256(abi.encodePacked(roster));
    }
}
