// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// Only for the types `NotActive` and `JobCreated` carry. They stay declared in JobMarket: the ABI
// names a struct or enum after the contract that declares it (`struct JobMarket.JobParams`), and
// the Rust bindings alloy generates from the ABI (`JobMarket::JobParams`) must not change.
import {JobMarket} from "./JobMarket.sol";

/// @title IJobMarketErrors
/// @notice The custom errors of JobMarket, declared once here (as OpenZeppelin's `IERC6093`
///         declares `IERC20Errors`) so that the internal libraries raising them
///         (market/JobEscrow.sol, market/RoundSettlement.sol, market/JobLiveness.sol,
///         market/MarketStorage.sol) and JobMarket itself find them in one place. Each error is
///         part of JobMarket's ABI because JobMarket's code raises it.
/// @dev Raise them as `revert IJobMarketErrors.Name(...)`; match them in tests as
///      `IJobMarketErrors.Name.selector`. JobMarket does not inherit this interface: it needs
///      `JobMarket.Status`, and solc requires a base contract to be defined before the contract
///      deriving from it, which the resulting circular import cannot guarantee. An error
///      declared here but raised nowhere would therefore drop out of JobMarket's ABI, and
///      `node contracts/scripts/abi.js --check` would report it. Time arguments named `now_`
///      are `block.timestamp` at the revert.
interface IJobMarketErrors {
    // ------------------------------------------------------------ deployment and governance

    /// @notice A required address is zero: the registry or the governor given to the
    ///         constructor, or the aggregator or the verifier of a new job (`createJob`).
    error ZeroAddress();

    /// @notice `setVerifierApproval` was called by someone other than the governor.
    /// @param caller The caller.
    error NotGovernor(address caller);

    // ------------------------------------------------------------ job terms (createJob)

    /// @notice `createJob` with a zero budget.
    error ZeroBudget();

    /// @notice `createJob` with a verifier the governor has not approved (or has revoked).
    /// @param verifier The verifier given in the job's terms.
    error VerifierNotApproved(address verifier);

    /// @notice `createJob` with a budget smaller than the number of rounds (a round's budget,
    ///         `budget / rounds`, would be 0).
    /// @param budget The budget.
    /// @param rounds The number of rounds.
    error BudgetTooSmall(uint256 budget, uint256 rounds);

    /// @notice `createJob` with 0 trainer slots or more than 256 (`MAX_SLOTS`: slot bitmaps are
    ///         uint256).
    /// @param trainers The number of slots asked for.
    error InvalidSlots(uint256 trainers);

    /// @notice `createJob` with a bound on malicious trainers that is not below the number of
    ///         slots.
    /// @param maxMalicious The bound f.
    /// @param trainers The number of slots n.
    error InvalidMaxMalicious(uint256 maxMalicious, uint256 trainers);

    /// @notice `createJob` naming the caller (the job's owner) as the aggregator: the owner
    ///         would decide which trainers count as unavailable and keep what they are denied.
    /// @param owner The caller.
    error AggregatorIsOwner(address owner);

    /// @notice `createJob` with a bond below a round's budget (`budget / rounds`), including a
    ///         zero bond. A dispute pays `bond / n`, so the bond must cover at least a round's
    ///         budget for a trainer wrongly declared unavailable to recover its equal share
    ///         (`roundBudget / n`), and for declaring every slot unavailable to cost the
    ///         aggregator at least the round budget it keeps from the trainers.
    /// @param bond The bond given.
    /// @param minimum The smallest bond accepted (the round budget).
    error BondTooSmall(uint256 bond, uint256 minimum);

    /// @notice `createJob` with 0 rounds.
    error InvalidRounds();

    /// @notice `createJob` with more rounds than a job may have (a finalized round stays
    ///         unrecorded until its first claim or `recordReliability`, counted in a uint16).
    /// @param rounds The rounds asked for.
    /// @param max The most rounds a job may have (MAX_ROUNDS).
    error TooManyRounds(uint256 rounds, uint256 max);

    /// @notice `createJob` with a submission window outside [`MIN_SUBMIT_WINDOW`, `MAX_WINDOW`]
    ///         (60 s .. 30 days): shorter leaves trainers no time to submit, longer locks
    ///         every stake, the bond and the budget for as long per round.
    /// @param value The window given (s).
    /// @param min The shortest accepted.
    /// @param max The longest accepted.
    error SubmitWindowOutOfRange(uint256 value, uint256 min, uint256 max);

    /// @notice `createJob` with a finalization window outside [`MIN_FINALIZE_WINDOW`,
    ///         `MAX_WINDOW`] (60 s .. 30 days): shorter leaves the aggregator no time to prove,
    ///         longer lets a silent aggregator lock the job for as long before it can expire.
    /// @param value The window given (s).
    /// @param min The shortest accepted.
    /// @param max The longest accepted.
    error FinalizeWindowOutOfRange(uint256 value, uint256 min, uint256 max);

    /// @notice `createJob` with a dispute window outside [`MIN_DISPUTE_WINDOW`, max], max being
    ///         the smaller of `MAX_WINDOW` and `submitWindow + finalizeWindow`. Shorter (0 in
    ///         particular) makes disputes impossible, so the bond would never be at risk; longer
    ///         than a round's submit + finalize windows would let the next round expire while a
    ///         dispute of the previous one is open, and expiry hands the whole bond to that
    ///         round's submitters, leaving the dispute nothing to take.
    /// @param value The window given (s).
    /// @param min The shortest accepted.
    /// @param max The longest accepted for these submit and finalize windows.
    error DisputeWindowOutOfRange(uint256 value, uint256 min, uint256 max);

    /// @notice `createJob` with tau below 1.0 (65536 in 16.16 fixed point): updates whose Krum
    ///         score exceeds tau times the median are outliers, so tau < 1 would make about half
    ///         of the honest trainers outliers, scored 0, their share left to the others (or, with
    ///         no inlier, in escrow for the owner).
    /// @param tau The threshold given (16.16 fixed point).
    error TauBelowOne(uint256 tau);

    /// @notice `createJob` with a start time that is not in the future.
    /// @param startTime The start time given.
    /// @param now_ The current time.
    error StartInPast(uint256 startTime, uint256 now_);

    /// @notice `createJob` with a verifier whose number of public inputs is not the round's
    ///         layout for n slots (`PublicInputs.count(n)`, 5 + n + ceil(n/31) + ceil(n/5)).
    /// @param verifierInputs The verifier's `N_PUBLIC`.
    /// @param expected The number of public inputs of a round with the job's n.
    error ShapeMismatch(uint256 verifierInputs, uint256 expected);

    /// @notice `createJob` with a learning-rate schedule that reaches 0: `rounds * lrDecay`
    ///         must stay below `lr` (the last round's next lr is `lr - rounds * lrDecay`).
    error InvalidLearningRate();

    /// @notice `createJob` with `lr >= 2^16`: the circuit requires lr below 2^16, so that one
    ///         round's step never takes a parameter out of the model's range (the node's
    ///         default is 4096, eta = 1.0). No round of such a job could be proven.
    /// @param lr The learning rate given.
    /// @param limit The bound, 2^16 (lr must be below it).
    error LearningRateTooLarge(uint256 lr, uint256 limit);

    /// @notice A commitment is not a non-zero element of the BN254 scalar field: the initial
    ///         model (`createJob`), an update (`submitUpdate`) or a round's aggregate C(S)
    ///         (`finalizeRound`). Also raised with 0 if the ecAdd precompile rejects a point of
    ///         the accumulator, which an approved verifier's `inputPoint` never produces.
    /// @param commitment The offending value.
    error InvalidCommitment(uint256 commitment);

    // ------------------------------------------------------------ payments in and out

    /// @notice The ETH sent does not match: an ETH job's budget, bond or stake must be sent
    ///         exactly; an ERC-20 job's calls must send no ETH.
    /// @param sent `msg.value`.
    /// @param expected What the call must send.
    error WrongValue(uint256 sent, uint256 expected);

    /// @notice An ERC-20 transfer into the market delivered another amount than asked
    ///         (fee-on-transfer and similar tokens are refused).
    /// @param received What the market's balance grew by.
    /// @param expected The amount transferred.
    error UnsupportedToken(uint256 received, uint256 expected);

    /// @notice `withdraw` with nothing owed to the caller in that token.
    error NothingToWithdraw();

    /// @notice `withdraw` of ETH: the call to the caller failed.
    error TransferFailed();

    // ------------------------------------------------------------ jobs, roles and membership

    /// @notice No job has this id (ids are 1 .. jobCount).
    /// @param jobId The id given.
    error UnknownJob(uint256 jobId);

    /// @notice The job is not `Active` (it completed, expired or was cancelled).
    /// @param jobId The job.
    /// @param status Its status.
    error NotActive(uint256 jobId, JobMarket.Status status);

    /// @notice An owner-only call (`cancel`, `recover`) by someone else.
    /// @param caller The caller.
    error NotOwner(address caller);

    /// @notice An aggregator-only call (`postBond`, `finalizeRound`) by someone else.
    /// @param caller The caller.
    error NotAggregator(address caller);

    /// @notice `submitUpdate` or `leave` by an account without a live stake in the job (never
    ///         joined, already left, or evicted: see `evict`).
    /// @param caller The caller.
    error NotTrainer(address caller);

    /// @notice `join` by a trainer that already holds a slot of the job.
    /// @param trainer The caller.
    error AlreadyJoined(address trainer);

    /// @notice `join` when every slot of the job is taken.
    /// @param jobId The job.
    error JobFull(uint256 jobId);

    /// @notice `postBond` or `join` at or after the job's start time, or `cancel` then once the
    ///         aggregator has posted its bond.
    /// @param jobId The job.
    error AlreadyStarted(uint256 jobId);

    /// @notice `postBond` a second time.
    /// @param jobId The job.
    error BondAlreadyPosted(uint256 jobId);

    /// @notice `submitUpdate` or `finalizeRound` while the aggregator has not posted its bond
    ///         (no round runs without it).
    /// @param jobId The job.
    error BondNotPosted(uint256 jobId);

    /// @notice `leave` from an active job after its start time (stakes are locked while the job
    ///         runs).
    /// @param jobId The job.
    error LeaveNotAllowed(uint256 jobId);

    // ------------------------------------------------------------ submissions

    /// @notice The round given is not the job's current round.
    /// @param given The round given.
    /// @param current The current round.
    error WrongRound(uint256 given, uint256 current);

    /// @notice `submitUpdate` before the round opens.
    /// @param opensAt When the round opens (its `roundStart`).
    /// @param now_ The current time.
    error RoundNotOpen(uint256 opensAt, uint256 now_);

    /// @notice `submitUpdate` after the round's submission window.
    /// @param deadline The end of the submission window.
    /// @param now_ The current time.
    error SubmissionClosed(uint256 deadline, uint256 now_);

    /// @notice `submitUpdate` a second time in the same round.
    /// @param slot The caller's slot.
    error AlreadySubmitted(uint256 slot);

    /// @notice `submitUpdate` with a zero blob reference: the aggregator's upload receipt signs
    ///         the blob reference, so a submission must name the blob it stands for.
    error ZeroBlobRef();

    // ------------------------------------------------------------ eviction (slot squatting)

    /// @notice `evict` of a slot that has a commitment for the round given: it did its part.
    /// @param slot The slot.
    /// @param round The round it submitted in.
    error SlotSubmitted(uint256 slot, uint256 round);

    /// @notice `evict` for a round whose submission window has not closed: the current round
    ///         of an active job up to `roundStart + submitWindow` (the trainer can still
    ///         submit), a later round (or a completed job's `round`, past its last), or any
    ///         round of a job that never ran one (cancelled before its start, or its bond never
    ///         posted).
    /// @param deadline The end of the current round's submission window
    ///        (`roundStart + submitWindow`).
    /// @param now_ The current time.
    error SubmitWindowNotClosed(uint256 deadline, uint256 now_);

    /// @notice `evict` of a slot with no staked trainer: a free slot, a slot past the job's
    ///         `n`, or a trainer that already took its stake back with `leave` after the job
    ///         ended.
    /// @param slot The slot.
    error NotMember(uint256 slot);

    /// @notice `evict` of a slot whose trainer was already evicted (its stake is already
    ///         forfeited).
    /// @param slot The slot.
    error AlreadyEvicted(uint256 slot);

    // ------------------------------------------------------------ finalization

    /// @notice `finalizeRound` before the round opened, or inside the submission window while
    ///         some joined trainer has not submitted yet.
    /// @param deadline The end of the submission window.
    error SubmissionsStillOpen(uint256 deadline);

    /// @notice `finalizeRound` while a dispute has taken part of the aggregator's bond and the
    ///         aggregator has not restored it (`topUpBond`). Every round is settled with the full
    ///         bond at stake, so an aggregator cannot drain its bond into its own trainer slots
    ///         with self-disputes and then exclude honest trainers for nothing.
    /// @param jobId The job.
    /// @param held The bond held.
    /// @param bond The job's full bond.
    error BondNotFull(uint256 jobId, uint256 held, uint256 bond);

    /// @notice `topUpBond` while the bond is at its full amount.
    /// @param jobId The job.
    error BondNotShort(uint256 jobId);

    /// @notice `finalizeRound` after the finalization window (the round can only be expired).
    /// @param deadline The end of the finalization window.
    /// @param now_ The current time.
    error FinalizationClosed(uint256 deadline, uint256 now_);

    /// @notice `finalizeRound` with `scoreWords` not of `PublicInputs.scoreWords(n)` words.
    /// @param given The length given.
    /// @param expected The length expected.
    error LengthMismatch(uint256 given, uint256 expected);

    /// @notice `finalizeRound` declares unavailable a slot at or above n. That an unavailable
    ///         slot submitted (has a commitment) is not checked here: the proof enforces it
    ///         (the circuit proves unavailable_i => C_i != 0), so the contract need not read
    ///         which slots submitted.
    /// @param bits The unavailable bits given.
    error BadUnavailableBits(uint256 bits);

    /// @notice `finalizeRound` declares an inlier a slot at or above n, or a slot it also
    ///         declares unavailable. That an inlier submitted is not checked here: the proof
    ///         enforces it (the circuit proves inlier_i => present_i, presence being C_i != 0
    ///         and not unavailable_i).
    /// @param bits The inlier bits given.
    error BadInlierBits(uint256 bits);

    /// @notice A score word has bits set above its scores (beyond `SCORE_BITS` per score of the
    ///         slots it holds), which the verifier would reduce modulo r.
    /// @param index The word's index in `scoreWords`.
    error ScoreWordOutOfRange(uint256 index);

    /// @notice `finalizeRound` with `aggregateNormSq` (||S||^2) not below 2^96: it would not fit
    ///         its bits (128..224) of flags word 0.
    /// @param aggregateNormSq The value given.
    error AggregateNormOutOfRange(uint256 aggregateNormSq);

    /// @notice The job's verifier rejected the proof with the round's public inputs.
    error InvalidProof();

    /// @notice A round's first `claim` or `recordReliability`: the reliability registry ran out
    ///         of gas (the call was sent with too little gas to write every participant's
    ///         observation). A registry that refuses the write does not revert the call
    ///         (`ReliabilityWriteFailed`); running out of gas does, so that no caller can skip the
    ///         write by starving it.
    error ReliabilityOutOfGas();

    /// @notice `recordReliability` of a round whose reliability was already recorded (by its
    ///         first claim or an earlier `recordReliability`), or whose write already failed.
    /// @param jobId The job.
    /// @param round The round.
    error ReliabilityAlreadyRecorded(uint256 jobId, uint256 round);

    // ------------------------------------------------------------ claims, disputes, liveness

    /// @notice `claim`, `dispute` or `recordReliability` of a round that is not finalized, or
    ///         with an outcome that is not the one `RoundFinalized` logged (its hash differs from
    ///         the stored one).
    /// @param jobId The job.
    /// @param round The round.
    error UnknownOutcome(uint256 jobId, uint256 round);

    /// @notice `claim` of a slot already claimed in that round, or `dispute` of a slot already
    ///         disputed in that round.
    /// @param slot The slot.
    error AlreadySettled(uint256 slot);

    /// @notice `claim` of a slot that scored 0 in the round, or of a slot >= n.
    /// @param slot The slot.
    error NothingToClaim(uint256 slot);

    /// @notice `dispute` of a slot the round's outcome does not declare unavailable, or of a
    ///         slot with no commitment for the round (which the proof does not let the
    ///         aggregator declare unavailable; a receipt for nothing must not slash the bond).
    /// @param slot The slot.
    error SlotNotUnavailable(uint256 slot);

    /// @notice `dispute` after the round's dispute window.
    /// @param deadline The end of the dispute window (finalization time + `disputeWindow`).
    /// @param now_ The current time.
    error DisputeWindowClosed(uint256 deadline, uint256 now_);

    /// @notice `dispute` with a signature that does not recover to the job's aggregator over the
    ///         slot's upload receipt (built from the commitment and blob reference the slot
    ///         submitted: a receipt over any other blob does not count).
    /// @param signer The recovered signer (address(0) for a malformed signature).
    error InvalidReceipt(address signer);

    /// @notice Nothing of the aggregator's bond is left to move: a `dispute` whose slash
    ///         (bond / n, at most what is held) is 0, or `releaseBond` with nothing held.
    /// @param jobId The job.
    error NothingToSlash(uint256 jobId);

    /// @notice `expireRound` before the round's finalization deadline.
    /// @param deadline The end of the finalization window.
    /// @param now_ The current time.
    error DeadlineNotPassed(uint256 deadline, uint256 now_);

    /// @notice `recover` while the job is active, or `releaseBond` of a job that did not complete.
    /// @param jobId The job.
    error NotEnded(uint256 jobId);

    /// @notice `recover` when the job's unallocated budget is 0.
    /// @param jobId The job.
    error NothingToRecover(uint256 jobId);

    /// @notice `recover` while finalized rounds are unrecorded: their shares are not yet moved
    ///         out of escrow, so the owner would take what trainers are owed. Anyone records a
    ///         round with `recordReliability` (or its first `claim`).
    /// @param jobId The job.
    /// @param unrecorded How many finalized rounds are not recorded yet.
    error RoundsNotRecorded(uint256 jobId, uint256 unrecorded);

    /// @notice `releaseBond` before the dispute window of the job's last round has passed.
    /// @param until The end of that dispute window.
    error BondLocked(uint256 until);

    // ------------------------------------------------------------ chunked rounds

    /// @notice `finalizeRound` of a chunked job without H, or of an unchunked job with one, or
    ///         an H that is not a field element.
    /// @param digest The digest given.
    error InvalidDigest(uint256 digest);

    /// @notice A challenge, answer or refutation naming a round that is not a finalized chunked
    ///         round with this H and finalization time (`ChunkedRoundFinalized`, `RoundFinalized`).
    /// @param jobId The job.
    /// @param round The round.
    error UnknownDigest(uint256 jobId, uint256 round);

    /// @notice `challengeChunk` after the round's challenge window (its dispute window).
    /// @param deadline The end of the window.
    /// @param now_ The current time.
    error ChallengeWindowClosed(uint256 deadline, uint256 now_);

    /// @notice `challengeChunk` of a chunk the round does not have.
    /// @param chunk The chunk named.
    /// @param chunks The round's chunk count K.
    error ChunkOutOfRange(uint256 chunk, uint256 chunks);

    /// @notice `challengeChunk` of a chunk already challenged in that round.
    /// @param chunk The chunk.
    error AlreadyChallenged(uint256 chunk);

    /// @notice `answerChunk` or `refuteRound` of a chunk with no open challenge.
    /// @param chunk The chunk.
    error NoOpenChallenge(uint256 chunk);

    /// @notice `answerChunk` whose digest does not open in H or whose proof does not verify.
    /// @param chunk The chunk.
    error InvalidChunkAnswer(uint256 chunk);

    /// @notice A claim (or `recordReliability`) of a chunked round whose challenge window is open.
    /// @param until The end of the window.
    error ChallengeWindowOpen(uint256 until);

    /// @notice A claim (or `recordReliability`, or `releaseBond`) while a challenge is open.
    /// @param jobId The job.
    /// @param round The challenged round (the last round for `releaseBond`).
    error ChallengesOpen(uint256 jobId, uint256 round);

    /// @notice A claim (or `recordReliability`) of a refuted round: it pays nobody.
    /// @param jobId The job.
    /// @param round The round.
    error Refuted(uint256 jobId, uint256 round);
}
