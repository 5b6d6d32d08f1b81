// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IRoundVerifier} from "./IRoundVerifier.sol";
import {ReliabilityRegistry} from "./ReliabilityRegistry.sol";

/// @title JobMarket
/// @notice Escrowed federated-learning jobs settled round by round with Groth16 proofs of robust
///         aggregation. An owner escrows a budget, trainers join with a stake, an aggregator
///         posts a bond; each round trainers commit to updates and the aggregator finalizes the
///         round with a proof. Round budgets are split pro rata to proven scores; payments are
///         pull-based (`claim` credits, `withdraw` pays).
/// @dev Public inputs of a round (prover/src/round/public_inputs.rs), n = trainer slots:
///      [0] context, [1] C(w), [2] C(w'), [3..3+n) C_i, [3+n] flags, [4+n..) scores (5 per word).
///      Gas plan: the terms of the context, C(w) and every C_i are folded into an accumulator at
///      submission time (paid by the trainers, via `verifier.inputPoint` and ecAdd), so that
///      `finalizeRound` only passes C(w'), flags and the score words to the verifier.
///      Slot bitmaps are uint64, so n <= 64 (the verifier's flags layout has the same limit).
contract JobMarket is ReentrancyGuard, EIP712 {
    using SafeERC20 for IERC20;

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
        uint256 initialModel;
        uint32 rounds;
        uint8 trainers;
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

    /// @notice The aggregator's claims about a round; everything else the contract knows.
    struct Finalization {
        uint256 newModel;
        uint64 inlierBits;
        uint64 unavailableBits;
        uint256[] scoreWords; // ceil(n/5) words, score i at bits 48*(i%5) of word i/5
        address[] roster; // slot owners, checked against the stored roster hash
        uint256[8] proof;
    }

    /// @notice What a claim or a dispute must restate about a finalized round (from `RoundFinalized`).
    struct RoundOutcome {
        uint64 unavailableBits;
        uint40 finalizedAt;
        uint256[] scoreWords;
    }

    struct Config {
        // slot 0
        address aggregator;
        uint8 n;
        uint8 maxMalicious;
        uint32 rounds;
        uint32 submitWindow;
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
        uint64 submittedBits;
        uint8 submittedCount;
        Status status;
        uint8 joinedCount;
        bool bondPosted;
        uint64 joinedBits;
        // slot 1
        uint128 escrow; // unallocated budget
        uint128 unclaimed; // allocated to trainers, not yet claimed
        // slot 2
        uint128 stakesHeld;
        uint128 bondHeld;
        // slots 3..6
        uint256 model;
        uint256 accX;
        uint256 accY;
        bytes32 rosterHash;
    }

    struct Job {
        Config c;
        State s;
    }

    // ---------------------------------------------------------------- constants and storage

    /// @notice BN254 scalar field modulus: commitments are field elements.
    uint256 public constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Fixed-point one of reliability observations.
    uint256 public constant ONE = 1e18;
    /// @notice EIP-712 type of the aggregator's upload receipt.
    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("UploadReceipt(uint256 jobId,uint32 round,uint8 slot,uint256 commitment)");
    uint256 internal constant SCORE_BITS = 48;
    uint256 internal constant SCORE_MASK = (1 << 48) - 1;
    uint256 internal constant MAX_SLOTS = 64;
    /// @dev Written by a round's first submitter so that finalization overwrites a warm, non-zero slot.
    bytes32 internal constant PENDING = bytes32(uint256(1));

    /// @notice Where `finalizeRound` writes reliability (this contract must hold `WRITER_ROLE`).
    ReliabilityRegistry public immutable registry;
    /// @notice May approve round verifiers.
    address public immutable governor;
    /// @notice Number of jobs created; job ids are 1, 2, ...
    uint256 public jobCount;
    /// @notice Verifiers new jobs may use.
    mapping(address verifier => bool) public approvedVerifier;

    mapping(uint256 jobId => Job) internal jobs;
    /// @notice Slot owner of each job slot.
    mapping(uint256 jobId => mapping(uint256 slot => address)) public slotOwner;
    /// @dev slot + 1 of a trainer with a live stake in a job (0: none).
    mapping(uint256 jobId => mapping(address trainer => uint256)) internal slotPlusOne;
    /// @notice Commitment submitted for (job, round, slot); 0 if none.
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 slot => uint256))) public commitments;
    /// @notice Hash of a finalized round's outcome (`PENDING` while submissions come in).
    mapping(uint256 jobId => mapping(uint256 round => bytes32)) public roundHash;
    /// @notice Claimed (bit i) and disputed (bit 64 + i) slots of a finalized round.
    mapping(uint256 jobId => mapping(uint256 round => uint256)) public settledBits;
    /// @notice Withdrawable balances: token (address(0) for ETH) => account => amount.
    mapping(address token => mapping(address account => uint256)) public owed;

    // ---------------------------------------------------------------- errors

    error ZeroBudget();
    error NotGovernor(address caller);
    error VerifierNotApproved(address verifier);
    error BudgetTooSmall(uint256 budget, uint256 rounds);
    error InvalidSlots(uint256 trainers);
    error InvalidMaxMalicious(uint256 maxMalicious, uint256 trainers);
    error InvalidRounds();
    error InvalidWindow();
    error StartInPast(uint256 startTime, uint256 now_);
    error ZeroAddress();
    error ShapeMismatch(uint256 verifierInputs, uint256 expected);
    error InvalidLearningRate();
    error InvalidCommitment(uint256 commitment);
    error WrongValue(uint256 sent, uint256 expected);
    error UnsupportedToken(uint256 received, uint256 expected);
    error UnknownJob(uint256 jobId);
    error NotActive(uint256 jobId, Status status);
    error NotOwner(address caller);
    error NotAggregator(address caller);
    error NotTrainer(address caller);
    error AlreadyJoined(address trainer);
    error JobFull(uint256 jobId);
    error AlreadyStarted(uint256 jobId);
    error BondAlreadyPosted(uint256 jobId);
    error BondNotPosted(uint256 jobId);
    error WrongRound(uint256 given, uint256 current);
    error SubmissionClosed(uint256 deadline, uint256 now_);
    error RoundNotOpen(uint256 opensAt, uint256 now_);
    error AlreadySubmitted(uint256 slot);
    error SubmissionsStillOpen(uint256 deadline);
    error FinalizationClosed(uint256 deadline, uint256 now_);
    error LengthMismatch(uint256 given, uint256 expected);
    error RosterMismatch();
    error BadUnavailableBits(uint64 bits);
    error BadInlierBits(uint64 bits);
    error ScoreWordOutOfRange(uint256 index);
    error ScoreOfNonInlier(uint256 slot);
    error InvalidProof();
    error DeadlineNotPassed(uint256 deadline, uint256 now_);
    error LeaveNotAllowed(uint256 jobId);
    error NotEnded(uint256 jobId);
    error NothingToRecover(uint256 jobId);
    error NothingToWithdraw();
    error TransferFailed();
    error UnknownOutcome(uint256 jobId, uint256 round);
    error AlreadySettled(uint256 slot);
    error NothingToClaim(uint256 slot);
    error SlotNotUnavailable(uint256 slot);
    error DisputeWindowClosed(uint256 deadline, uint256 now_);
    error InvalidReceipt(address signer);
    error NothingToSlash(uint256 jobId);
    error BondLocked(uint256 until);

    // ---------------------------------------------------------------- events

    /// @notice A job was created and its budget escrowed; `params` are the job's fixed terms.
    event JobCreated(
        uint256 indexed jobId, address indexed owner, address indexed aggregator, JobParams params, uint256 roundBudget
    );
    event VerifierApproval(address indexed verifier, bool approved);
    event BondPosted(uint256 indexed jobId, address indexed aggregator, uint256 bond);
    event Joined(uint256 indexed jobId, address indexed trainer, uint256 slot, uint256 stake);
    event Left(uint256 indexed jobId, address indexed trainer, uint256 slot, uint256 stakeReturned);
    event UpdateSubmitted(
        uint256 indexed jobId,
        uint256 indexed round,
        uint256 slot,
        address indexed trainer,
        uint256 commitment,
        bytes32 blobRef
    );
    /// @notice A round was proven (its context is `context(jobId, round)`). Claims and disputes
    ///         restate (unavailableBits, finalizedAt, scoreWords).
    event RoundFinalized(
        uint256 indexed jobId,
        uint256 indexed round,
        uint256 model,
        uint256 newModel,
        uint256 flags,
        uint64 unavailableBits,
        uint40 finalizedAt,
        uint256[] scoreWords,
        uint256 totalScore,
        uint256 allocated
    );
    event Claimed(uint256 indexed jobId, uint256 indexed round, uint256 slot, address indexed trainer, uint256 amount);
    event RoundExpired(
        uint256 indexed jobId, uint256 indexed round, uint256 refunded, uint256 bondSlashed, uint64 submittedBits
    );
    event JobCancelled(uint256 indexed jobId, uint256 refunded);
    event Recovered(uint256 indexed jobId, address indexed owner, uint256 amount);
    event BondReleased(uint256 indexed jobId, address indexed aggregator, uint256 amount);
    event Disputed(
        uint256 indexed jobId, uint256 indexed round, uint256 slot, address indexed trainer, uint256 slashed
    );
    event Withdrawn(address indexed token, address indexed account, uint256 amount);

    /// @notice Deploys the market.
    /// @param registry_ Reliability registry written at every finalization.
    /// @param governor_ May approve and revoke round verifiers (see `setVerifierApproval`).
    constructor(ReliabilityRegistry registry_, address governor_) EIP712("fedproof JobMarket", "1") {
        if (address(registry_) == address(0) || governor_ == address(0)) revert ZeroAddress();
        registry = registry_;
        governor = governor_;
    }

    /// @notice Approves or revokes a round verifier for new jobs. Only verifiers generated from a
    ///         real setup may be approved: a job settles money and writes shared reliability on
    ///         the verifier's word, so an owner must not be able to bring a verifier that accepts
    ///         anything. Jobs already created keep their verifier.
    /// @param verifier The verifier contract.
    /// @param approved Whether new jobs may use it.
    function setVerifierApproval(address verifier, bool approved) external {
        if (msg.sender != governor) revert NotGovernor(msg.sender);
        approvedVerifier[verifier] = approved;
        emit VerifierApproval(verifier, approved);
    }

    // ---------------------------------------------------------------- job setup

    /// @notice Creates a job and escrows its whole budget (ETH in `msg.value`, or an ERC-20 pulled
    ///         with `transferFrom`; fee-on-transfer tokens are refused).
    /// @param p The job's parameters; the caller becomes its owner.
    /// @return jobId The new job's id.
    function createJob(JobParams calldata p) external payable nonReentrant returns (uint256 jobId) {
        _checkParams(p);
        jobId = ++jobCount;
        Job storage j = jobs[jobId];
        Config storage c = j.c;
        c.aggregator = p.aggregator;
        c.n = p.trainers;
        c.maxMalicious = p.maxMalicious;
        c.rounds = p.rounds;
        c.submitWindow = p.submitWindow;
        c.verifier = p.verifier;
        c.finalizeWindow = p.finalizeWindow;
        c.disputeWindow = p.disputeWindow;
        c.tau = p.tau;
        c.owner = msg.sender;
        c.lr = p.lr;
        c.lrDecay = p.lrDecay;
        c.dupTol = p.dupTol;
        c.token = p.token;
        c.startTime = p.startTime;
        uint128 roundBudget = p.budget / p.rounds;
        c.roundBudget = roundBudget;
        c.bond = p.bond;
        c.stake = p.stake;
        State storage s = j.s;
        s.roundStart = p.startTime;
        s.status = Status.Active;
        s.escrow = p.budget;
        s.model = p.initialModel;
        s.rosterHash = _rosterHash(jobId, p.trainers);
        emit JobCreated(jobId, msg.sender, p.aggregator, p, roundBudget);
        _pull(p.token, p.budget);
    }

    /// @notice The aggregator accepts the job by posting its bond (before the first round).
    /// @param jobId The job.
    function postBond(uint256 jobId) external payable nonReentrant {
        Job storage j = _job(jobId);
        if (msg.sender != j.c.aggregator) revert NotAggregator(msg.sender);
        _requireBeforeStart(jobId, j);
        if (j.s.bondPosted) revert BondAlreadyPosted(jobId);
        uint128 bond = j.c.bond;
        j.s.bondPosted = true;
        j.s.bondHeld = bond;
        emit BondPosted(jobId, msg.sender, bond);
        _pull(j.c.token, bond);
    }

    /// @notice Takes the lowest free trainer slot, staking `stake` (ETH in `msg.value`, or ERC-20).
    /// @param jobId The job.
    function join(uint256 jobId) external payable nonReentrant {
        Job storage j = _job(jobId);
        _requireBeforeStart(jobId, j);
        if (slotPlusOne[jobId][msg.sender] != 0) revert AlreadyJoined(msg.sender);
        uint256 n = j.c.n;
        uint64 joined = j.s.joinedBits;
        uint256 slot;
        while (slot < n && (joined >> slot) & 1 == 1) ++slot;
        if (slot == n) revert JobFull(jobId);
        uint128 stake = j.c.stake;
        slotOwner[jobId][slot] = msg.sender;
        slotPlusOne[jobId][msg.sender] = slot + 1;
        j.s.joinedBits = joined | uint64(1 << slot);
        j.s.joinedCount += 1;
        j.s.stakesHeld += stake;
        j.s.rosterHash = _rosterHash(jobId, n);
        emit Joined(jobId, msg.sender, slot, stake);
        _pull(j.c.token, stake);
    }

    /// @notice Leaves a job and frees the stake: before the first round (the slot is freed) or once
    ///         the job has ended (completed, expired or cancelled).
    /// @param jobId The job.
    function leave(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        uint256 slotP1 = slotPlusOne[jobId][msg.sender];
        if (slotP1 == 0) revert NotTrainer(msg.sender);
        uint256 slot = slotP1 - 1;
        Status status = j.s.status;
        uint128 stake = j.c.stake;
        slotPlusOne[jobId][msg.sender] = 0;
        if (status == Status.Active) {
            if (block.timestamp >= j.c.startTime) revert LeaveNotAllowed(jobId);
            slotOwner[jobId][slot] = address(0);
            j.s.joinedBits &= ~uint64(1 << slot);
            j.s.joinedCount -= 1;
            j.s.rosterHash = _rosterHash(jobId, j.c.n);
        }
        j.s.stakesHeld -= stake;
        owed[j.c.token][msg.sender] += stake;
        emit Left(jobId, msg.sender, slot, stake);
    }

    /// @notice The owner cancels a job before its first round (or at any time if the aggregator
    ///         never posted its bond): the budget and any bond are credited back; stakes are freed.
    /// @param jobId The job.
    function cancel(uint256 jobId) external {
        Job storage j = _job(jobId);
        if (msg.sender != j.c.owner) revert NotOwner(msg.sender);
        if (j.s.status != Status.Active) revert NotActive(jobId, j.s.status);
        if (block.timestamp >= j.c.startTime && j.s.bondPosted) revert AlreadyStarted(jobId);
        address token = j.c.token;
        uint128 escrow = j.s.escrow;
        uint128 bond = j.s.bondHeld;
        j.s.status = Status.Cancelled;
        j.s.escrow = 0;
        j.s.bondHeld = 0;
        owed[token][msg.sender] += escrow;
        if (bond != 0) owed[token][j.c.aggregator] += bond;
        emit JobCancelled(jobId, escrow);
    }

    // ---------------------------------------------------------------- rounds

    /// @notice A registered trainer commits to its update for the current round (once per round,
    ///         inside the submission window). Folds the commitment's verifier term into the round's
    ///         accumulator; the round's first submitter also folds in the context and C(w).
    /// @param jobId The job.
    /// @param round The current round.
    /// @param commitment Commitment to the update, a non-zero field element.
    /// @param blobRef Where the aggregator fetches the update (opaque, only logged).
    function submitUpdate(uint256 jobId, uint32 round, uint256 commitment, bytes32 blobRef) external {
        Job storage j = _job(jobId);
        State storage s = j.s;
        if (s.status != Status.Active) revert NotActive(jobId, s.status);
        if (round != s.round) revert WrongRound(round, s.round);
        uint256 start = s.roundStart;
        if (block.timestamp < start) revert RoundNotOpen(start, block.timestamp);
        uint256 deadline = start + j.c.submitWindow;
        if (block.timestamp > deadline) revert SubmissionClosed(deadline, block.timestamp);
        if (!s.bondPosted) revert BondNotPosted(jobId);
        uint256 slotP1 = slotPlusOne[jobId][msg.sender];
        if (slotP1 == 0) revert NotTrainer(msg.sender);
        uint256 slot = slotP1 - 1;
        uint64 bits = s.submittedBits;
        if ((bits >> slot) & 1 == 1) revert AlreadySubmitted(slot);
        if (commitment == 0 || commitment >= R) revert InvalidCommitment(commitment);

        _accumulate(jobId, round, j, slot, commitment);
        s.submittedBits = bits | uint64(1 << slot);
        s.submittedCount += 1;
        commitments[jobId][round][slot] = commitment;
        emit UpdateSubmitted(jobId, round, slot, msg.sender, commitment, blobRef);
    }

    /// @notice The aggregator settles the current round with a proof. The contract assembles the
    ///         public inputs itself (context, C(w), the submitted commitments in slot order via the
    ///         accumulator, presence = submitted minus unavailable) and takes only C(w'), the inlier
    ///         bits, the scores and the unavailable slots from the caller. On success it allocates
    ///         the round budget pro rata to scores (claimable with `claim`), writes every
    ///         participant's reliability (its share of the total score) in one batched call, and
    ///         advances to the next round (or completes the job).
    /// @param jobId The job.
    /// @param round The current round.
    /// @param f The claimed outputs, the roster (checked against the stored roster hash) and the proof.
    function finalizeRound(uint256 jobId, uint32 round, Finalization calldata f) external {
        Job storage j = _job(jobId);
        uint256 n = _checkFinalizer(jobId, round, j);
        (uint256 flags, uint64 presence) = _checkClaims(j, f, n);
        uint256 words = (n + 4) / 5;
        _verify(jobId, round, j, f, flags, words);
        uint256 total = _settle(jobId, round, j, f, flags);
        _writeReliability(f, presence, total, n);
    }

    /// @notice Credits a trainer's share of a finalized round's budget to its withdrawable balance.
    ///         Anyone may call it; the share goes to the slot's trainer.
    /// @param jobId The job.
    /// @param round A finalized round.
    /// @param slot The trainer's slot.
    /// @param o The round's outcome as logged in `RoundFinalized`.
    function claim(uint256 jobId, uint32 round, uint256 slot, RoundOutcome calldata o) external {
        Job storage j = _job(jobId);
        _checkOutcome(jobId, round, o);
        uint256 settled = settledBits[jobId][round];
        if ((settled >> slot) & 1 == 1) revert AlreadySettled(slot);
        (uint256 score, uint256 total) = _scoreOf(o.scoreWords, slot, j.c.n);
        if (score == 0) revert NothingToClaim(slot);
        uint256 amount = (uint256(j.c.roundBudget) * score) / total;
        address trainer = slotOwner[jobId][slot];
        settledBits[jobId][round] = settled | (1 << slot);
        j.s.unclaimed -= uint128(amount);
        owed[j.c.token][trainer] += amount;
        emit Claimed(jobId, round, slot, trainer, amount);
    }

    /// @notice Data-availability dispute: a trainer whose slot was declared unavailable presents
    ///         the aggregator's EIP-712 upload receipt for its commitment, within the dispute
    ///         window; the aggregator's bond is slashed by bond / n in the trainer's favour.
    /// @param jobId The job.
    /// @param round The finalized round.
    /// @param slot The slot declared unavailable.
    /// @param o The round's outcome as logged in `RoundFinalized`.
    /// @param signature The aggregator's signature of UploadReceipt(jobId, round, slot, commitment).
    function dispute(uint256 jobId, uint32 round, uint256 slot, RoundOutcome calldata o, bytes calldata signature)
        external
    {
        Job storage j = _job(jobId);
        _checkOutcome(jobId, round, o);
        if (slot >= MAX_SLOTS || (o.unavailableBits >> slot) & 1 == 0) revert SlotNotUnavailable(slot);
        uint256 deadline = uint256(o.finalizedAt) + j.c.disputeWindow;
        if (block.timestamp > deadline) revert DisputeWindowClosed(deadline, block.timestamp);
        uint256 settled = settledBits[jobId][round];
        if ((settled >> (64 + slot)) & 1 == 1) revert AlreadySettled(slot);
        _checkReceipt(jobId, round, slot, j.c.aggregator, signature);
        settledBits[jobId][round] = settled | (1 << (64 + slot));
        (address trainer, uint256 slash) = _slash(jobId, j, slot);
        emit Disputed(jobId, round, slot, trainer, slash);
    }

    /// @notice Anyone may expire a round whose finalization deadline passed: the round's budget is
    ///         credited back to the owner, the job ends (stakes are freed), and the aggregator's bond
    ///         is split among the trainers who submitted in that round (to the owner if none did).
    /// @param jobId The job.
    function expireRound(uint256 jobId) external {
        Job storage j = _job(jobId);
        State storage s = j.s;
        if (s.status != Status.Active) revert NotActive(jobId, s.status);
        uint256 deadline = uint256(s.roundStart) + j.c.submitWindow + j.c.finalizeWindow;
        if (block.timestamp <= deadline) revert DeadlineNotPassed(deadline, block.timestamp);
        uint128 refund = j.c.roundBudget;
        uint128 bond = s.bondHeld;
        s.status = Status.Expired;
        s.escrow -= refund;
        s.bondHeld = 0;
        owed[j.c.token][j.c.owner] += refund;
        _splitBond(jobId, j, bond);
        emit RoundExpired(jobId, s.round, refund, bond, s.submittedBits);
    }

    /// @notice The owner recovers the unallocated budget once the job has ended (never what is
    ///         owed to trainers: allocated shares stay claimable).
    /// @param jobId The job.
    function recover(uint256 jobId) external {
        Job storage j = _job(jobId);
        if (msg.sender != j.c.owner) revert NotOwner(msg.sender);
        Status status = j.s.status;
        if (status == Status.Active) revert NotEnded(jobId);
        uint128 amount = j.s.escrow;
        if (amount == 0) revert NothingToRecover(jobId);
        j.s.escrow = 0;
        owed[j.c.token][msg.sender] += amount;
        emit Recovered(jobId, msg.sender, amount);
    }

    /// @notice Returns what is left of the aggregator's bond once the job completed and the
    ///         dispute window of its last round has passed. Anyone may call it.
    /// @param jobId The job.
    function releaseBond(uint256 jobId) external {
        Job storage j = _job(jobId);
        if (j.s.status != Status.Completed) revert NotEnded(jobId);
        uint256 until = uint256(j.s.roundStart) + j.c.disputeWindow;
        if (block.timestamp <= until) revert BondLocked(until);
        uint128 amount = j.s.bondHeld;
        if (amount == 0) revert NothingToSlash(jobId);
        j.s.bondHeld = 0;
        address aggregator = j.c.aggregator;
        owed[j.c.token][aggregator] += amount;
        emit BondReleased(jobId, aggregator, amount);
    }

    /// @notice Pays the caller everything owed to it in `token` (address(0) for ETH).
    /// @param token The token.
    function withdraw(address token) external nonReentrant {
        uint256 amount = owed[token][msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        owed[token][msg.sender] = 0;
        emit Withdrawn(token, msg.sender, amount);
        if (token == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            IERC20(token).safeTransfer(msg.sender, amount);
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice The packed context public input of (job, round).
    /// @param jobId The job.
    /// @param round The round.
    /// @return The context: job (bits 0..64) | round (64..96) | f (96..104) | tau (104..136) |
    ///         lr (136..168) | next lr (168..200) | dup_tol (200..232).
    function context(uint256 jobId, uint256 round) public view returns (uint256) {
        Config storage c = jobs[jobId].c;
        uint256 lr = uint256(c.lr) - round * c.lrDecay;
        uint256 nextLr = uint256(c.lr) - (round + 1) * c.lrDecay;
        return jobId | (round << 64) | (uint256(c.maxMalicious) << 96) | (uint256(c.tau) << 104) | (lr << 136)
            | (nextLr << 168) | (uint256(c.dupTol) << 200);
    }

    /// @notice The EIP-712 digest the aggregator signs as an upload receipt.
    /// @param jobId The job.
    /// @param round The round.
    /// @param slot The slot.
    /// @param commitment The received update's commitment.
    /// @return The digest.
    function receiptDigest(uint256 jobId, uint256 round, uint256 slot, uint256 commitment)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, jobId, round, slot, commitment)));
    }

    /// @notice A job's configuration.
    /// @param jobId The job.
    /// @return The configuration.
    function jobConfig(uint256 jobId) external view returns (Config memory) {
        return jobs[jobId].c;
    }

    /// @notice A job's state.
    /// @param jobId The job.
    /// @return The state.
    function jobState(uint256 jobId) external view returns (State memory) {
        return jobs[jobId].s;
    }

    /// @notice The slot (and whether it holds a live stake) of a trainer in a job.
    /// @param jobId The job.
    /// @param trainer The trainer.
    /// @return staked Whether the trainer has a live stake.
    /// @return slot Its slot (meaningless if not staked).
    function slotOf(uint256 jobId, address trainer) external view returns (bool staked, uint256 slot) {
        uint256 p = slotPlusOne[jobId][trainer];
        return (p != 0, p == 0 ? 0 : p - 1);
    }

    // ---------------------------------------------------------------- internals

    function _job(uint256 jobId) internal view returns (Job storage j) {
        j = jobs[jobId];
        if (j.s.status == Status.None) revert UnknownJob(jobId);
    }

    function _requireBeforeStart(uint256 jobId, Job storage j) internal view {
        if (j.s.status != Status.Active) revert NotActive(jobId, j.s.status);
        if (block.timestamp >= j.c.startTime) revert AlreadyStarted(jobId);
    }

    function _checkParams(JobParams calldata p) internal view {
        if (p.budget == 0) revert ZeroBudget();
        if (p.rounds == 0) revert InvalidRounds();
        if (p.budget < p.rounds) revert BudgetTooSmall(p.budget, p.rounds);
        if (p.trainers == 0 || p.trainers > MAX_SLOTS) revert InvalidSlots(p.trainers);
        if (p.maxMalicious >= p.trainers) revert InvalidMaxMalicious(p.maxMalicious, p.trainers);
        if (p.aggregator == address(0) || address(p.verifier) == address(0)) revert ZeroAddress();
        if (!approvedVerifier[address(p.verifier)]) revert VerifierNotApproved(address(p.verifier));
        if (p.startTime <= block.timestamp) revert StartInPast(p.startTime, block.timestamp);
        if (p.submitWindow == 0 || p.finalizeWindow == 0) revert InvalidWindow();
        if (uint256(p.rounds) * p.lrDecay >= p.lr) revert InvalidLearningRate();
        if (p.initialModel == 0 || p.initialModel >= R) revert InvalidCommitment(p.initialModel);
        uint256 expected = 4 + uint256(p.trainers) + (uint256(p.trainers) + 4) / 5;
        uint256 got = p.verifier.N_PUBLIC();
        if (got != expected) revert ShapeMismatch(got, expected);
    }

    /// @dev Takes `amount` of `token` from the caller: exactly `amount` wei for ETH, or an ERC-20
    ///      transfer whose received amount must be exactly `amount`.
    function _pull(address token, uint256 amount) internal {
        if (token == address(0)) {
            if (msg.value != amount) revert WrongValue(msg.value, amount);
            return;
        }
        if (msg.value != 0) revert WrongValue(msg.value, 0);
        if (amount == 0) return;
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert UnsupportedToken(received, amount);
    }

    /// @dev Folds C_slot's verifier term into the round's accumulator; the round's first submitter
    ///      starts it from the context and C(w) terms (overwriting the previous round's value).
    function _accumulate(uint256 jobId, uint32 round, Job storage j, uint256 slot, uint256 commitment) internal {
        State storage s = j.s;
        IRoundVerifier verifier = j.c.verifier;
        (uint256 x, uint256 y) = verifier.inputPoint(3 + slot, commitment);
        uint256 cx;
        uint256 cy;
        if (s.submittedCount == 0) {
            (cx, cy) = verifier.inputPoint(0, context(jobId, round));
            (x, y) = _ecAdd(x, y, cx, cy);
            (cx, cy) = verifier.inputPoint(1, s.model);
            roundHash[jobId][round] = PENDING;
        } else {
            (cx, cy) = (s.accX, s.accY);
        }
        (x, y) = _ecAdd(x, y, cx, cy);
        s.accX = x;
        s.accY = y;
    }

    function _checkReceipt(uint256 jobId, uint32 round, uint256 slot, address aggregator, bytes calldata signature)
        internal
        view
    {
        bytes32 digest = receiptDigest(jobId, round, slot, commitments[jobId][round][slot]);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != aggregator) revert InvalidReceipt(signer);
    }

    function _slash(uint256 jobId, Job storage j, uint256 slot) internal returns (address trainer, uint256 slash) {
        slash = j.c.bond / j.c.n;
        uint128 held = j.s.bondHeld;
        if (slash > held) slash = held;
        if (slash == 0) revert NothingToSlash(jobId);
        trainer = slotOwner[jobId][slot];
        j.s.bondHeld = held - uint128(slash);
        owed[j.c.token][trainer] += slash;
    }

    /// @dev Caller, status, round and time checks of `finalizeRound`; returns n.
    function _checkFinalizer(uint256 jobId, uint32 round, Job storage j) internal view returns (uint256) {
        State storage s = j.s;
        Config storage c = j.c;
        if (msg.sender != c.aggregator) revert NotAggregator(msg.sender);
        if (s.status != Status.Active) revert NotActive(jobId, s.status);
        if (round != s.round) revert WrongRound(round, s.round);
        uint256 start = s.roundStart;
        uint256 submitDeadline = start + c.submitWindow;
        if (block.timestamp < start || (block.timestamp <= submitDeadline && s.submittedCount < s.joinedCount)) {
            revert SubmissionsStillOpen(submitDeadline);
        }
        uint256 finalizeDeadline = submitDeadline + c.finalizeWindow;
        if (block.timestamp > finalizeDeadline) revert FinalizationClosed(finalizeDeadline, block.timestamp);
        return c.n;
    }

    /// @dev Shape and consistency checks of the claimed outputs; returns the flags input and presence.
    function _checkClaims(Job storage j, Finalization calldata f, uint256 n)
        internal
        view
        returns (uint256 flags, uint64 presence)
    {
        uint256 words = (n + 4) / 5;
        if (f.scoreWords.length != words) revert LengthMismatch(f.scoreWords.length, words);
        if (f.roster.length != n) revert LengthMismatch(f.roster.length, n);
        if (_calldataRosterHash(f.roster) != j.s.rosterHash) revert RosterMismatch();
        uint64 submitted = j.s.submittedBits;
        if (f.unavailableBits & ~submitted != 0) revert BadUnavailableBits(f.unavailableBits);
        presence = submitted & ~f.unavailableBits;
        if (f.inlierBits & ~presence != 0) revert BadInlierBits(f.inlierBits);
        if (f.newModel == 0 || f.newModel >= R) revert InvalidCommitment(f.newModel);
        flags = uint256(presence) | (uint256(f.inlierBits) << 64);
    }

    /// @dev Effects of a verified finalization; returns the total score.
    function _settle(uint256 jobId, uint32 round, Job storage j, Finalization calldata f, uint256 flags)
        internal
        returns (uint256 total)
    {
        State storage s = j.s;
        uint256 allocated;
        (total, allocated) = _allocate(j.c.roundBudget, f, j.c.n);
        uint256 oldModel = s.model;
        uint40 nowTs = uint40(block.timestamp);
        s.escrow -= uint128(allocated);
        s.unclaimed += uint128(allocated);
        s.model = f.newModel;
        s.round = round + 1;
        s.roundStart = nowTs;
        s.submittedBits = 0;
        s.submittedCount = 0;
        if (round + 1 == j.c.rounds) s.status = Status.Completed;
        roundHash[jobId][round] = keccak256(abi.encode(f.unavailableBits, nowTs, f.scoreWords));
        emit RoundFinalized(
            jobId, round, oldModel, f.newModel, flags, f.unavailableBits, nowTs, f.scoreWords, total, allocated
        );
    }

    /// @dev The expired round's submitters share the bond (the first one gets the dust); the
    ///      owner gets it if nobody submitted.
    function _splitBond(uint256 jobId, Job storage j, uint256 bond) internal {
        address token = j.c.token;
        uint256 count = j.s.submittedCount;
        if (count == 0) {
            owed[token][j.c.owner] += bond;
            return;
        }
        uint64 submitted = j.s.submittedBits;
        uint256 share = bond / count;
        uint256 dust = bond - share * count;
        for (uint256 i; submitted != 0; ++i) {
            if (submitted & 1 == 1) {
                owed[token][slotOwner[jobId][i]] += share + dust;
                dust = 0;
            }
            submitted >>= 1;
        }
    }

    /// @dev keccak256(abi.encodePacked(roster)) straight from calldata: abi.encodePacked pads each
    ///      address to 32 bytes, as the ABI encoding of the array does, so the bytes are the same
    ///      for clean addresses (dirty ones hash differently and are refused as a mismatch).
    function _calldataRosterHash(address[] calldata roster) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            let len := mul(roster.length, 0x20)
            calldatacopy(m, roster.offset, len)
            h := keccak256(m, len)
        }
    }

    function _rosterHash(uint256 jobId, uint256 n) internal view returns (bytes32) {
        address[] memory roster = new address[](n);
        for (uint256 i; i < n; ++i) {
            roster[i] = slotOwner[jobId][i];
        }
        return keccak256(abi.encodePacked(roster));
    }

    function _verify(uint256 jobId, uint32 round, Job storage j, Finalization calldata f, uint256 flags, uint256 words)
        internal
        view
    {
        State storage s = j.s;
        uint256 n = j.c.n;
        bool empty = s.submittedCount == 0;
        uint256 extra = empty ? 2 : 0;
        uint256[] memory indices = new uint256[](2 + words + extra);
        uint256[] memory values = new uint256[](2 + words + extra);
        indices[0] = 2;
        values[0] = f.newModel;
        indices[1] = 3 + n;
        values[1] = flags;
        for (uint256 k; k < words; ++k) {
            uint256 w = f.scoreWords[k];
            uint256 inWord = n - 5 * k < 5 ? n - 5 * k : 5;
            if (w >> (SCORE_BITS * inWord) != 0) revert ScoreWordOutOfRange(k);
            indices[2 + k] = 4 + n + k;
            values[2 + k] = w;
        }
        uint256[2] memory acc;
        if (empty) {
            indices[2 + words] = 0;
            values[2 + words] = context(jobId, round);
            indices[3 + words] = 1;
            values[3 + words] = s.model;
        } else {
            acc[0] = s.accX;
            acc[1] = s.accY;
        }
        if (!j.c.verifier.verifyProofWithPartialInputs(f.proof, acc, indices, values)) revert InvalidProof();
    }

    /// @dev Total score and the sum of the pro-rata shares (the rounding dust stays in escrow).
    function _allocate(uint256 roundBudget, Finalization calldata f, uint256 n)
        internal
        pure
        returns (uint256 total, uint256 allocated)
    {
        uint256 inliers = f.inlierBits;
        uint256[] calldata words = f.scoreWords; // length ceil(n/5), checked by _checkClaims
        unchecked {
            for (uint256 i; i < n; ++i) {
                uint256 sc = (words[i / 5] >> (SCORE_BITS * (i % 5))) & SCORE_MASK;
                if (sc != 0 && (inliers >> i) & 1 == 0) revert ScoreOfNonInlier(i);
                total += sc; // at most 64 scores of 48 bits
            }
            if (total == 0) return (0, 0);
            for (uint256 i; i < n; ++i) {
                uint256 sc = (words[i / 5] >> (SCORE_BITS * (i % 5))) & SCORE_MASK;
                allocated += (roundBudget * sc) / total; // < 2^128 * 2^48; the sum is <= roundBudget
            }
        }
    }

    function _writeReliability(Finalization calldata f, uint64 presence, uint256 total, uint256 n) internal {
        uint256 count;
        for (uint64 p = presence; p != 0; p &= p - 1) {
            ++count;
        }
        if (count == 0) return;
        bytes32[] memory ids = new bytes32[](count);
        uint256[] memory obs = new uint256[](count);
        address[] calldata roster = f.roster; // length n, checked by _checkClaims
        uint256[] calldata words = f.scoreWords;
        uint256 k;
        unchecked {
            for (uint256 i; i < n; ++i) {
                if ((presence >> i) & 1 == 0) continue;
                ids[k] = bytes32(uint256(uint160(roster[i])));
                if (total != 0) {
                    // score <= total < 2^54, so score * 1e18 < 2^114
                    obs[k] = (((words[i / 5] >> (SCORE_BITS * (i % 5))) & SCORE_MASK) * ONE) / total;
                }
                ++k;
            }
        }
        registry.updateBatch(ids, obs);
    }

    function _checkOutcome(uint256 jobId, uint32 round, RoundOutcome calldata o) internal view {
        bytes32 h = roundHash[jobId][round];
        if (
            h == bytes32(0) || h == PENDING
                || h != keccak256(abi.encode(o.unavailableBits, o.finalizedAt, o.scoreWords))
        ) {
            revert UnknownOutcome(jobId, round);
        }
    }

    function _scoreOf(uint256[] calldata words, uint256 slot, uint256 n)
        internal
        pure
        returns (uint256 score, uint256 total)
    {
        if (slot >= n) revert NothingToClaim(slot);
        for (uint256 i; i < n; ++i) {
            uint256 sc = (words[i / 5] >> (SCORE_BITS * (i % 5))) & SCORE_MASK;
            total += sc;
            if (i == slot) score = sc;
        }
    }

    function _ecAdd(uint256 ax, uint256 ay, uint256 bx, uint256 by) internal view returns (uint256 x, uint256 y) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, ax)
            mstore(add(m, 0x20), ay)
            mstore(add(m, 0x40), bx)
            mstore(add(m, 0x60), by)
            ok := staticcall(gas(), 0x06, m, 0x80, m, 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
        if (!ok) revert InvalidCommitment(0);
    }
}
