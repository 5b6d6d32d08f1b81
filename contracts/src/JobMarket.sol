// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IRoundVerifier} from "./IRoundVerifier.sol";
import {IJobMarketErrors} from "./IJobMarket.sol";
import {IJobMarketEvents} from "./IJobMarketEvents.sol";
import {ReliabilityRegistry} from "./ReliabilityRegistry.sol";
import {
    MarketStorage,
    FIXED_ONE,
    SCALAR_FIELD,
    MIN_SUBMIT_WINDOW as MIN_SUBMIT,
    MIN_FINALIZE_WINDOW as MIN_FINALIZE,
    MIN_DISPUTE_WINDOW as MIN_DISPUTE,
    MAX_WINDOW as MAX_W,
    RECORDED_BIT,
    REFUTED_BIT
} from "./market/MarketStorage.sol";
import {JobEscrow} from "./market/JobEscrow.sol";
import {RoundSettlement} from "./market/RoundSettlement.sol";
import {JobLiveness} from "./market/JobLiveness.sol";
import {ChunkChallenges} from "./market/ChunkChallenges.sol";

/// @title JobMarket
/// @notice Escrowed federated-learning jobs settled round by round with Groth16 proofs of robust
///         aggregation. An owner escrows a budget, trainers join with a stake, an aggregator
///         posts a bond; each round trainers commit to updates and the aggregator finalizes the
///         round with a proof. Round budgets are split pro rata to proven scores; payments are
///         pull-based (`claim` credits, `withdraw` pays).
/// @dev Public inputs of a round (statement v4, prover/src/round/public_inputs.rs), n = trainer
///      slots, ow = ceil(n/28), fw = ceil(n/64): [0] context, [1] domain, [2] C(S), [3] H,
///      [4..4+n) C_i, [4+n..4+n+ow) order words (submission ranks, 9 bits each),
///      [4+n+ow..4+n+ow+fw) flags words (unavailable bits, inlier bits, ||S||^2 in word 0),
///      then the scores (5 per word); named once for the contracts and tests in
///      market/PublicInputs.sol (`SCORES_PER_WORD`, `SCORE_BITS`, `RANKS_PER_WORD`,
///      `FLAG_SLOTS_PER_WORD`, `INLIER_FLAG_OFFSET`, `NORM_FLAG_OFFSET`, the `CTX_*` offsets,
///      `PublicInputs.count(n)`...).
///      Gas plan: the terms of the context, the domain, every C_i and every submitter's rank are
///      folded into an accumulator at submission time (paid by the trainers, via
///      `verifier.inputPoint` and ecAdd), so that `finalizeRound` only passes C(S), the flags
///      words and the score words to the verifier. A round's allocation and reliability are
///      written when it is recorded, by its first `claim` (or `recordReliability`), not by
///      `finalizeRound`.
///      Slot bitmaps are uint256, so n <= 256 (`MAX_SLOTS`).
///      Layout: this contract declares the types, entry points and views of the ABI. Its errors
///      and events are declared in IJobMarket.sol (`IJobMarketErrors`) and IJobMarketEvents.sol, where
///      the libraries raising them find them; they are part of this contract's ABI because its
///      code raises and emits them (solc >= 0.8.20 lists every error and event of a contract's
///      call graph). They are not inherited: they need `Status` and `JobParams`, which stay
///      declared here (see IJobMarket.sol), and solc requires a base contract to be defined
///      before the contract deriving from it, which a circular import cannot guarantee.
///      The logic lives in internal libraries by job, run in this contract's context on its one
///      storage struct: market/JobEscrow.sol (jobs, bonds, stakes, evictions, withdrawals),
///      market/RoundSettlement.sol (submissions, finalization, claims) and market/JobLiveness.sol
///      (disputes, expiry, recovery, bond release).
contract JobMarket is ReentrancyGuard {
    // ---------------------------------------------------------------- types

    /// @notice Lifecycle of a job. Rounds run while `Active` (round 0 opens at `startTime`).
    enum Status {
        None,
        Active,
        Completed,
        Expired,
        Cancelled
    }

    /// @notice Everything the owner fixes in `createJob`.
    struct JobParams {
        address token; // address(0) for ETH
        uint128 budget;
        uint128 stake;
        uint128 bond;
        address aggregator;
        IRoundVerifier verifier;
        bytes32 specHash;
        string specURI;
        uint256 initialModel; // C(w_0) of the spec's initial model, which every role checks before replaying rounds
        uint32 rounds;
        uint16 trainers; // n, 1..256 (MAX_SLOTS)
        uint8 maxMalicious;
        uint32 tau; // 16.16 fixed point
        uint32 lr; // learning rate of round 0
        uint32 lrDecay; // lr of round r is lr - r * lrDecay
        uint32 dupTol;
        uint40 startTime;
        uint32 submitWindow;
        uint32 finalizeWindow;
        uint32 disputeWindow;
    }

    /// @notice The aggregator's claims about a round; everything else the contract knows. The
    ///         roster is not restated: the domain public input binds its hash (`domain`), so a
    ///         proof made for another roster does not verify.
    struct Finalization {
        uint256 newModel; // C(S), the commitment to the inliers' aggregate (the new model is public arithmetic on S)
        uint256 digest; // H, the root of a chunked round's chunk digest tree; 0 for an unchunked job
        uint256 inlierBits; // bit i: slot i is an inlier (bits at or above n must be 0)
        uint256 unavailableBits; // bit i: slot i submitted but its update could not be fetched
        uint128 aggregateNormSq; // ||S||^2, S the sum of the inliers' updates; below 2^96
        uint256[] scoreWords; // PublicInputs.scoreWords(n) words, score i at bits 48*(i%5) of word i/5
        uint256[8] proof;
    }

    /// @notice What a claim, a dispute or `recordReliability` must restate about a finalized
    ///         round (from `RoundFinalized`).
    struct RoundOutcome {
        uint256 unavailableBits;
        uint40 finalizedAt;
        uint128 aggregateNormSq;
        uint256[] scoreWords;
    }

    /// @notice The answer to a challenged chunk (`answerChunk`): the round's H and finalization
    ///         time (from `RoundFinalized` and `ChunkedRoundFinalized`), the chunk's digest, its
    ///         ceil(log2 K) sibling hashes up to H (bottom first) and its chunk proof.
    struct ChunkAnswer {
        uint256 digest;
        uint40 finalizedAt;
        uint256 chunkDigest;
        uint256[] siblings;
        uint256[8] proof;
    }

    struct Config {
        // slot 0: everything finalization reads of the config but the verifier (256 bits)
        address aggregator;
        uint16 n;
        uint32 rounds;
        uint32 submitWindow;
        uint16 chunks; // K of a chunked job (its verifier's CHUNKS), 0 for an unchunked one; in
        // the slot finalization reads anyway (a slot of its own cost every finalization 2.1k)
        // slot 1
        IRoundVerifier verifier;
        uint32 finalizeWindow;
        uint32 disputeWindow;
        uint32 tau;
        // slot 2
        address owner;
        uint32 lr;
        uint32 lrDecay;
        uint32 dupTol;
        // slot 3
        address token;
        uint40 startTime;
        uint8 maxMalicious; // read only where the context is packed (a round's first
        // submission, or the finalization of a round nobody submitted in)
        // slot 4
        uint128 roundBudget;
        uint128 bond;
        // slot 5
        uint128 stake;
    }

    struct State {
        // slot 0: the hot slot
        uint32 round;
        uint40 roundStart;
        uint16 submittedCount; // in the current round (which slots: `submittedBits(jobId, round)`)
        Status status;
        uint16 joinedCount;
        bool bondPosted;
        bool bondShort; // a dispute took part of the bond: no finalization until `topUpBond`
        uint16 unrecorded; // finalized rounds not yet recorded (allocated): `recover` waits for 0
        // slot 1
        uint256 joinedBits; // slots taken (bit i for slot i); only join and leave read it
        // slot 2
        uint128 escrow; // unallocated budget
        uint128 unclaimed; // allocated to trainers, not yet claimed
        // slot 3
        uint128 stakesHeld;
        uint128 bondHeld;
        // slots 4..7
        uint256 model; // the last finalized round's C(S); initialModel before round 0
        uint256 accX;
        uint256 accY;
        bytes32 rosterHash;
    }

    /// @dev Storage only (in no function's ABI), so a field added here changes no binding.
    struct Job {
        Config c;
        State s;
        uint256 evictedBits; // slots whose trainer was evicted (`evict`), bit i for slot i
    }

    // ---------------------------------------------------------------- constants and storage

    /// @notice BN254 scalar field modulus: commitments are field elements.
    uint256 public constant R = SCALAR_FIELD;
    /// @notice Fixed-point one of reliability observations.
    uint256 public constant ONE = FIXED_ONE;
    /// @notice Shortest submission window `createJob` accepts (s).
    uint32 public constant MIN_SUBMIT_WINDOW = MIN_SUBMIT;
    /// @notice Shortest finalization window `createJob` accepts (s).
    uint32 public constant MIN_FINALIZE_WINDOW = MIN_FINALIZE;
    /// @notice Shortest dispute window `createJob` accepts (s).
    uint32 public constant MIN_DISPUTE_WINDOW = MIN_DISPUTE;
    /// @notice Longest window of any kind `createJob` accepts (s).
    uint32 public constant MAX_WINDOW = MAX_W;
    /// @notice EIP-712 type of the aggregator's upload receipt. It names the blob as well as the
    ///         commitment: a receipt that covered only the commitment let a trainer submit a bogus
    ///         blob reference, upload a valid blob elsewhere, get a receipt and win a dispute.
    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("UploadReceipt(uint256 jobId,uint32 round,uint8 slot,uint256 commitment,bytes32 blobRef)");

    /// @dev EIP-712 domain: name "fedproof JobMarket", version "1", the chain id and this
    ///      contract. The separator is cached for the deployment chain (and rebuilt after a fork
    ///      changes the chain id), as OpenZeppelin's EIP712 does; its ERC-5267 `eip712Domain()`
    ///      view is left out to keep the runtime code under EIP-170's 24,576 bytes.
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant HASHED_NAME = keccak256("fedproof JobMarket");
    bytes32 private constant HASHED_VERSION = keccak256("1");
    bytes32 private immutable cachedDomainSeparator;
    uint256 private immutable cachedChainId;

    /// @notice Where a round's first `claim` (or `recordReliability`) writes reliability (this
    ///         contract must hold `WRITER_ROLE`).
    ReliabilityRegistry public immutable registry;
    /// @notice May approve round verifiers.
    address public immutable governor;
    /// @dev Everything else: jobs, slots, commitments, round outcomes, balances.
    MarketStorage internal $;

    /// @notice Deploys the market.
    /// @param registry_ Reliability registry, written once per finalized round.
    /// @param governor_ May approve and revoke round verifiers (see `setVerifierApproval`).
    constructor(ReliabilityRegistry registry_, address governor_) {
        if (address(registry_) == address(0) || governor_ == address(0)) revert IJobMarketErrors.ZeroAddress();
        registry = registry_;
        governor = governor_;
        cachedChainId = block.chainid;
        cachedDomainSeparator = _buildDomainSeparator();
    }

    /// @notice Approves or revokes a round verifier for new jobs. Only verifiers generated from a
    ///         real setup may be approved: a job settles money and writes shared reliability on
    ///         the verifier's word, so an owner must not be able to bring a verifier that accepts
    ///         anything. Jobs already created keep their verifier.
    /// @param verifier The verifier contract.
    /// @param approved Whether new jobs may use it.
    function setVerifierApproval(address verifier, bool approved) external {
        if (msg.sender != governor) revert IJobMarketErrors.NotGovernor(msg.sender);
        $.approvedVerifier[verifier] = approved;
        emit IJobMarketEvents.VerifierApproval(verifier, approved);
    }

    // ---------------------------------------------------------------- job setup

    /// @notice Creates a job and escrows its whole budget (ETH in `msg.value`, or an ERC-20 pulled
    ///         with `transferFrom`; fee-on-transfer tokens are refused).
    /// @param p The job's parameters; the caller becomes its owner.
    /// @return jobId The new job's id.
    function createJob(JobParams calldata p) external payable nonReentrant returns (uint256 jobId) {
        jobId = JobEscrow.createJob($, p);
    }

    /// @notice The aggregator accepts the job by posting its bond (before the first round).
    /// @param jobId The job.
    function postBond(uint256 jobId) external payable nonReentrant {
        JobEscrow.postBond($, jobId);
    }

    /// @notice The aggregator restores its bond to the full amount after a dispute took part of
    ///         it (sending the difference, ETH in `msg.value` or ERC-20); no round is finalized
    ///         while the bond is short.
    /// @param jobId The job.
    function topUpBond(uint256 jobId) external payable nonReentrant {
        JobEscrow.topUpBond($, jobId);
    }

    /// @notice Takes the lowest free trainer slot, staking `stake` (ETH in `msg.value`, or ERC-20).
    /// @param jobId The job.
    function join(uint256 jobId) external payable nonReentrant {
        JobEscrow.join($, jobId);
    }

    /// @notice Leaves a job and frees the stake: before the first round (the slot is freed) or once
    ///         the job has ended (completed, expired or cancelled).
    /// @param jobId The job.
    function leave(uint256 jobId) external nonReentrant {
        JobEscrow.leave($, jobId);
    }

    /// @notice Anyone may evict the trainer of `slot` if it has no commitment for `round` and
    ///         that round's submission window has closed (the round awaits finalization, was
    ///         finalized, or expired). Its stake is forfeited to the job's owner (withdrawable)
    ///         and it can no longer submit or `leave`; its slot stays in the roster and what it
    ///         earned in earlier rounds stays claimable. Squatting a slot thus costs the stake.
    /// @param jobId The job (active, completed or expired, with its bond posted).
    /// @param round A round whose submission window closed.
    /// @param slot The slot of the trainer that did not submit in `round`.
    function evict(uint256 jobId, uint32 round, uint256 slot) external {
        JobEscrow.evict($, jobId, round, slot);
    }

    /// @notice The owner cancels a job before its first round (or at any time if the aggregator
    ///         never posted its bond): the budget and any bond are credited back; stakes are freed.
    /// @param jobId The job.
    function cancel(uint256 jobId) external {
        JobEscrow.cancel($, jobId);
    }

    // ---------------------------------------------------------------- rounds

    /// @notice A registered trainer commits to its update for the current round (once per round,
    ///         inside the submission window). Folds the verifier terms of the commitment and of
    ///         the trainer's submission rank (1 for the round's first submitter, 2 for the
    ///         second...) into the round's accumulator; the round's first submitter also folds in
    ///         the context, the domain and C(w).
    /// @param jobId The job.
    /// @param round The current round.
    /// @param commitment Commitment to the update, a non-zero field element.
    /// @param blobRef Where the aggregator fetches the update (opaque, non-zero; stored, since the
    ///        aggregator's upload receipt signs it).
    function submitUpdate(uint256 jobId, uint32 round, uint256 commitment, bytes32 blobRef) external {
        RoundSettlement.submitUpdate($, jobId, round, commitment, blobRef);
    }

    /// @notice The aggregator settles the current round with a proof. The contract assembles the
    ///         public inputs itself (context, domain, the submitted commitments and ranks via the
    ///         accumulator) and takes only C(S), H, the inlier and unavailable bits (the flags
    ///         words), ||S||^2 and the scores from the caller; the proof shows that each
    ///         unavailable slot submitted and each inlier is present (submitted, not
    ///         unavailable), so the contract does not read which slots submitted. On
    ///         success it stores the outcome's hash and advances to the next round (or
    ///         completes the job); the round's budget is split pro rata to scores when the round
    ///         is recorded (its first `claim`, or `recordReliability`).
    /// @param jobId The job.
    /// @param round The current round.
    /// @param f The claimed outputs and the proof.
    function finalizeRound(uint256 jobId, uint32 round, Finalization calldata f) external {
        RoundSettlement.finalizeRound($, jobId, round, f);
    }

    /// @notice Credits a trainer's share of a finalized round's budget to its withdrawable balance.
    ///         Anyone may call it; the share goes to the slot's trainer. The round's first claim
    ///         also records the round (see `recordReliability`): it allocates the round's budget
    ///         and writes the round's reliability observations, one per present slot, in one
    ///         registry call; it reverts if given too little gas for it.
    /// @param jobId The job.
    /// @param round A finalized round.
    /// @param slot The trainer's slot.
    /// @param o The round's outcome as logged in `RoundFinalized`.
    function claim(uint256 jobId, uint32 round, uint256 slot, RoundOutcome calldata o) external {
        RoundSettlement.claim($, registry, jobId, round, slot, o);
    }

    /// @notice Anyone may record a finalized round that no claim has recorded yet (once per
    ///         round): it moves the round's pro-rata shares from escrow to unclaimed
    ///         (`RoundAllocated`) and writes the reliability observations: for each present slot,
    ///         `score * ONE / aggregateNormSq` (0 for outliers), weighted by `roundBudget / n +
    ///         stake` in the job's token (contracts/README.md, "Threat model", 5). `recover`
    ///         needs every finalized round recorded.
    /// @param jobId The job.
    /// @param round A finalized round.
    /// @param o The round's outcome as logged in `RoundFinalized`.
    function recordReliability(uint256 jobId, uint32 round, RoundOutcome calldata o) external {
        RoundSettlement.recordReliability($, registry, jobId, round, o);
    }

    // ---------------------------------------------------------------- chunked rounds

    /// @notice Challenges chunk `chunk` of a finalized chunked round, within one dispute window
    ///         of its finalization, posting bond / n (ETH in `msg.value`, or ERC-20). Claims of
    ///         the round wait until the challenge is answered or the round refuted.
    /// @param jobId A chunked job.
    /// @param round A finalized round.
    /// @param chunk The chunk's index (< K).
    /// @param digest The round's H (`ChunkedRoundFinalized`).
    /// @param finalizedAt The round's finalization time (`RoundFinalized`).
    function challengeChunk(uint256 jobId, uint32 round, uint256 chunk, uint256 digest, uint40 finalizedAt)
        external
        payable
        nonReentrant
    {
        ChunkChallenges.challengeChunk($, jobId, round, chunk, digest, finalizedAt);
    }

    /// @notice Answers an open challenge with the chunk's digest, its path to H and its proof;
    ///         the challenger's bond goes to the aggregator. Anyone may answer.
    /// @param jobId The job.
    /// @param round The round.
    /// @param chunk The challenged chunk.
    /// @param a The answer.
    function answerChunk(uint256 jobId, uint32 round, uint256 chunk, ChunkAnswer calldata a) external {
        ChunkChallenges.answerChunk($, jobId, round, chunk, a);
    }

    /// @notice Refutes a chunked round whose challenge of `chunk` was not answered within two
    ///         dispute windows of its finalization: the challenger gets its bond back and the
    ///         aggregator's whole bond, the round pays nobody, and the job ends.
    /// @param jobId The job.
    /// @param round The round.
    /// @param chunk The unanswered chunk.
    /// @param finalizedAt The round's finalization time.
    /// @param digest The round's H.
    function refuteRound(uint256 jobId, uint32 round, uint256 chunk, uint40 finalizedAt, uint256 digest) external {
        ChunkChallenges.refuteRound($, jobId, round, chunk, finalizedAt, digest);
    }

    // ---------------------------------------------------------------- disputes and liveness

    /// @notice Data-availability dispute: a trainer whose slot was declared unavailable presents
    ///         the aggregator's EIP-712 upload receipt for its commitment, within the dispute
    ///         window; the aggregator's bond is slashed by bond / n in the trainer's favour.
    /// @param jobId The job.
    /// @param round The finalized round.
    /// @param slot The slot declared unavailable.
    /// @param o The round's outcome as logged in `RoundFinalized`.
    /// @param signature The aggregator's signature of UploadReceipt(jobId, round, slot,
    ///        commitment, blobRef), for the commitment and blob reference the slot submitted.
    function dispute(uint256 jobId, uint32 round, uint256 slot, RoundOutcome calldata o, bytes calldata signature)
        external
    {
        uint256 commitment = $.commitments[jobId][round][slot];
        bytes32 digest = receiptDigest(jobId, round, slot, commitment, $.blobRefs[jobId][round][slot]);
        JobLiveness.dispute($, jobId, round, slot, commitment, o, digest, signature);
    }

    /// @notice Anyone may expire a round whose finalization deadline passed: the round's budget is
    ///         credited back to the owner, the job ends (stakes are freed), and the aggregator's bond
    ///         is split among the trainers who submitted in that round (to the owner if none did).
    /// @param jobId The job.
    function expireRound(uint256 jobId) external {
        JobLiveness.expireRound($, jobId);
    }

    /// @notice The owner recovers the unallocated budget once the job has ended and every
    ///         finalized round is recorded (never what is owed to trainers: allocated shares stay
    ///         claimable).
    /// @param jobId The job.
    function recover(uint256 jobId) external {
        JobLiveness.recover($, jobId);
    }

    /// @notice Returns what is left of the aggregator's bond once the job completed and the
    ///         dispute window of its last round has passed. Anyone may call it.
    /// @param jobId The job.
    function releaseBond(uint256 jobId) external {
        JobLiveness.releaseBond($, jobId);
    }

    // ---------------------------------------------------------------- payments

    /// @notice Pays the caller everything owed to it in `token` (address(0) for ETH).
    /// @param token The token.
    function withdraw(address token) external nonReentrant {
        JobEscrow.withdraw($, token);
    }

    // ---------------------------------------------------------------- views

    /// @notice The packed context public input of (job, round).
    /// @param jobId The job.
    /// @param round The round.
    /// @return The context: job (bits 0..64) | round (64..96) | f (96..104) | tau (104..136) |
    ///         lr (136..168) | next lr (168..200) | dup_tol (200..232) (the `CTX_*` offsets of
    ///         market/PublicInputs.sol, after the prover's `CONTEXT_LAYOUT`).
    function context(uint256 jobId, uint256 round) public view returns (uint256) {
        return RoundSettlement.context($.jobs[jobId].c, jobId, round);
    }

    /// @notice The domain public input of a job: keccak256(abi.encode(block.chainid, this
    ///         market, jobId, rosterHash)) mod r, rosterHash being the job's stored roster hash
    ///         (fixed once the job starts). A proof for another chain, market, job or roster does
    ///         not verify here.
    /// @param jobId The job.
    /// @return The domain.
    function domain(uint256 jobId) external view returns (uint256) {
        return RoundSettlement.domain($, jobId);
    }

    /// @notice The EIP-712 digest the aggregator signs as an upload receipt.
    /// @param jobId The job.
    /// @param round The round.
    /// @param slot The slot.
    /// @param commitment The received update's commitment.
    /// @param blobRef The blob reference the trainer submitted with it.
    /// @return The digest.
    function receiptDigest(uint256 jobId, uint256 round, uint256 slot, uint256 commitment, bytes32 blobRef)
        public
        view
        returns (bytes32)
    {
        bytes32 separator = block.chainid == cachedChainId ? cachedDomainSeparator : _buildDomainSeparator();
        return MessageHashUtils.toTypedDataHash(
            separator, keccak256(abi.encode(RECEIPT_TYPEHASH, jobId, round, slot, commitment, blobRef))
        );
    }

    /// @dev The EIP-712 domain separator on the current chain.
    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, HASHED_NAME, HASHED_VERSION, block.chainid, address(this)));
    }

    /// @notice A job's configuration.
    /// @param jobId The job.
    /// @return The configuration.
    function jobConfig(uint256 jobId) external view returns (Config memory) {
        return $.jobs[jobId].c;
    }

    /// @notice A job's state.
    /// @param jobId The job.
    /// @return The state.
    function jobState(uint256 jobId) external view returns (State memory) {
        return $.jobs[jobId].s;
    }

    /// @notice The slot (and whether it holds a live stake) of a trainer in a job.
    /// @param jobId The job.
    /// @param trainer The trainer.
    /// @return staked Whether the trainer has a live stake.
    /// @return slot Its slot (meaningless if not staked).
    function slotOf(uint256 jobId, address trainer) external view returns (bool staked, uint256 slot) {
        uint256 p = $.slotPlusOne[jobId][trainer];
        return (p != 0, p == 0 ? 0 : p - 1);
    }

    /// @notice Number of jobs created; job ids are 1, 2, ...
    function jobCount() external view returns (uint256) {
        return $.jobCount;
    }

    /// @notice Whether new jobs may use `verifier`.
    function approvedVerifier(address verifier) external view returns (bool) {
        return $.approvedVerifier[verifier];
    }

    /// @notice Slot owner of a job slot (address(0) if free).
    function slotOwner(uint256 jobId, uint256 slot) external view returns (address) {
        return $.slotOwner[jobId][slot];
    }

    /// @notice Commitment submitted for (job, round, slot); 0 if none.
    function commitments(uint256 jobId, uint256 round, uint256 slot) external view returns (uint256) {
        return $.commitments[jobId][round][slot];
    }

    /// @notice Blob reference submitted with the commitment for (job, round, slot); 0 if none.
    function blobRefs(uint256 jobId, uint256 round, uint256 slot) external view returns (bytes32) {
        return $.blobRefs[jobId][round][slot];
    }

    /// @notice A round's outcome slot: for a finalized round, keccak256(abi.encode(
    ///         unavailableBits, finalizedAt, aggregateNormSq, scoreWords)) with its top two bits
    ///         cleared, plus the marks bit 255 (recorded) and bit 254 (refuted), see `roundMarks`;
    ///         bytes32(uint256(1)) while submissions come in, 0 before.
    function roundHash(uint256 jobId, uint256 round) external view returns (bytes32) {
        return $.roundHash[jobId][round];
    }

    /// @notice Whether a finalized round was recorded (its allocation moved to unclaimed and its
    ///         reliability written, or the write failed: by its first claim, `recordReliability`
    ///         or a refutation) and whether it was refuted (a chunked round with an unanswered
    ///         challenge).
    function roundMarks(uint256 jobId, uint256 round) external view returns (bool recorded, bool refuted) {
        uint256 h = uint256($.roundHash[jobId][round]);
        // A pending or unknown round has no marks (PENDING is 1, far below the mark bits).
        return ((h >> RECORDED_BIT) & 1 == 1, (h >> REFUTED_BIT) & 1 == 1);
    }

    /// @notice Slots that submitted in a round (bit i for slot i); kept after the round.
    function submittedBits(uint256 jobId, uint256 round) external view returns (uint256) {
        return $.submittedBits[jobId][round];
    }

    /// @notice Claimed slots of a finalized round (bit i for slot i).
    function claimedBits(uint256 jobId, uint256 round) external view returns (uint256) {
        return $.claimedBits[jobId][round];
    }

    /// @notice Disputed slots of a finalized round (bit i for slot i).
    function disputedBits(uint256 jobId, uint256 round) external view returns (uint256) {
        return $.disputedBits[jobId][round];
    }

    /// @notice Withdrawable balance of `account` in `token` (address(0) for ETH).
    function owed(address token, address account) external view returns (uint256) {
        return $.owed[token][account];
    }
}
