// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// Only for the type `JobCreated` carries (see IJobMarket.sol for why it stays in JobMarket).
import {JobMarket} from "./JobMarket.sol";

/// @title IJobMarketEvents
/// @notice The events of JobMarket, declared once here so that the internal libraries emitting
///         them need not import the contract that uses them. Each event is part of JobMarket's
///         ABI because JobMarket's code emits it (not inherited, for the reason given on
///         `IJobMarketErrors`). Every state change a participant acts on is logged; balances
///         owed are credited by the calls whose events carry the amount and paid out as
///         `Withdrawn`.
/// @dev Emit them as `emit IJobMarketEvents.Name(...)`.
interface IJobMarketEvents {
    /// @notice `createJob`: a job was created and its whole budget escrowed.
    /// @param jobId The new job's id.
    /// @param owner The job's owner (the caller).
    /// @param aggregator The aggregator that must post the bond and finalize rounds.
    /// @param params The job's fixed terms, as given.
    /// @param roundBudget The budget of each round, `budget / rounds` (the remainder stays in
    ///        escrow and can be recovered when the job ends).
    event JobCreated(
        uint256 indexed jobId,
        address indexed owner,
        address indexed aggregator,
        JobMarket.JobParams params,
        uint256 roundBudget
    );

    /// @notice `setVerifierApproval`: the governor approved or revoked a verifier for new jobs.
    /// @param verifier The verifier contract.
    /// @param approved Whether new jobs may use it.
    event VerifierApproval(address indexed verifier, bool approved);

    /// @notice `postBond`: the aggregator accepted the job and its bond is held.
    /// @param jobId The job.
    /// @param aggregator The aggregator.
    /// @param bond The amount held.
    event BondPosted(uint256 indexed jobId, address indexed aggregator, uint256 bond);

    /// @notice `topUpBond`: the aggregator restored its bond to the full amount after a dispute.
    /// @param jobId The job.
    /// @param aggregator The aggregator.
    /// @param amount The amount added (the bond is now the job's full bond).
    event BondToppedUp(uint256 indexed jobId, address indexed aggregator, uint256 amount);

    /// @notice `join`: a trainer took a slot and its stake is held.
    /// @param jobId The job.
    /// @param trainer The trainer.
    /// @param slot Its slot (the lowest free one).
    /// @param stake The amount held.
    event Joined(uint256 indexed jobId, address indexed trainer, uint256 slot, uint256 stake);

    /// @notice `leave`: a trainer's stake was credited back to it (withdrawable); before the
    ///         first round its slot is freed too.
    /// @param jobId The job.
    /// @param trainer The trainer.
    /// @param slot Its slot.
    /// @param stakeReturned The amount credited.
    event Left(uint256 indexed jobId, address indexed trainer, uint256 slot, uint256 stakeReturned);

    /// @notice `evict`: a trainer that did not submit in a round whose submission window closed
    ///         lost its slot's standing and its stake. The stake was credited to the job's owner
    ///         (withdrawable); the trainer can no longer submit or `leave`. Its slot stays in the
    ///         roster (the roster hash is unchanged); shares it earned in earlier rounds stay
    ///         claimable.
    /// @param jobId The job.
    /// @param round The round the trainer missed.
    /// @param slot Its slot.
    /// @param trainer The evicted trainer.
    /// @param forfeited The stake credited to the owner.
    event Evicted(uint256 indexed jobId, uint256 round, uint256 slot, address indexed trainer, uint256 forfeited);

    /// @notice `submitUpdate`: a trainer committed to its update for a round. Its submission
    ///         rank (public order input) is 1 + the number of earlier `UpdateSubmitted` of the
    ///         same job and round, in log order.
    /// @param jobId The job.
    /// @param round The round.
    /// @param slot The trainer's slot.
    /// @param trainer The trainer.
    /// @param commitment The update's commitment (public input C_slot).
    /// @param blobRef Where the aggregator fetches the update (opaque to the contract, stored:
    ///        the upload receipt signs it).
    event UpdateSubmitted(
        uint256 indexed jobId,
        uint256 indexed round,
        uint256 slot,
        address indexed trainer,
        uint256 commitment,
        bytes32 blobRef
    );

    /// @notice `finalizeRound`: a round was proven; the job moves to the next round (or
    ///         completes). Its budget is allocated when the round is recorded (`RoundAllocated`). Its context is `context(jobId, round)` and its
    ///         domain `domain(jobId)`. Claims, disputes and `recordReliability` restate
    ///         (unavailableBits, finalizedAt, aggregateNormSq, scoreWords).
    /// @param jobId The job.
    /// @param round The finalized round.
    /// @param model The previous round's `newModel` (round 0: the job's `initialModel`).
    /// @param newModel C(S), the commitment to S, the sum of the inliers' updates. The new
    ///        model w' = clamp(w + gamma * S) is public arithmetic on the published S, which
    ///        every role replays from the initial model (prover/README.md, section 4).
    /// @param inlierBits The round's inliers (bit i for slot i), proven. The flags public inputs
    ///        are derived from it, `unavailableBits` and `aggregateNormSq`
    ///        (`PublicInputs.flagsWord`: word k holds the unavailable bits of slots 64k..64k+63
    ///        at bits 0..63 and their inlier bits at 64..127, word 0 also ||S||^2 at 128).
    /// @param unavailableBits Slots declared unavailable (bit i for slot i); the proof shows
    ///        that each of them submitted.
    /// @param finalizedAt The finalization time; the dispute window runs from it.
    /// @param aggregateNormSq ||S||^2, the squared norm of the sum S of the inliers' updates
    ///        (proven); reliability observations are scores relative to it.
    /// @param scoreWords The scores, `SCORES_PER_WORD` per word, score i at bits
    ///        `SCORE_BITS * (i % SCORES_PER_WORD)` of word `i / SCORES_PER_WORD`
    ///        (market/PublicInputs.sol).
    event RoundFinalized(
        uint256 indexed jobId,
        uint256 indexed round,
        uint256 model,
        uint256 newModel,
        uint256 inlierBits,
        uint256 unavailableBits,
        uint40 finalizedAt,
        uint128 aggregateNormSq,
        uint256[] scoreWords
    );

    /// @notice A finalized round was recorded (by its first `claim` or `recordReliability`):
    ///         its budget's pro-rata shares moved from escrow to unclaimed, where claims take
    ///         them. Finalization does not do it, so that its gas stays flat.
    /// @param jobId The job.
    /// @param round The round.
    /// @param totalScore The sum of the round's scores.
    /// @param allocated The sum of the shares `roundBudget * score / totalScore`, floored (0 if
    ///        totalScore is 0); the rounding dust stays in escrow.
    event RoundAllocated(uint256 indexed jobId, uint256 indexed round, uint256 totalScore, uint256 allocated);

    /// @notice A round's first `claim` or `recordReliability`: the round's reliability
    ///         observations were written to the registry (`ReliabilityRegistry.EvidenceRecorded`
    ///         lists them), one per present slot.
    /// @param jobId The job.
    /// @param round The finalized round.
    event ReliabilityRecorded(uint256 indexed jobId, uint256 indexed round);

    /// @notice A round's first `claim` or `recordReliability`: the reliability registry refused
    ///         the round's batch of observations (e.g. its admin revoked the market's writer
    ///         role). The claim is paid all the same; the round counts as recorded (it is not
    ///         retried) and the reliability of its participants stays unrecorded.
    /// @param jobId The job.
    /// @param round The finalized round.
    event ReliabilityWriteFailed(uint256 indexed jobId, uint256 indexed round);

    /// @notice `claim`: a slot's share of a finalized round was credited to its trainer.
    /// @param jobId The job.
    /// @param round The round.
    /// @param slot The slot.
    /// @param trainer The slot's trainer, who receives the amount.
    /// @param amount `roundBudget * score / totalScore`, now withdrawable.
    event Claimed(uint256 indexed jobId, uint256 indexed round, uint256 slot, address indexed trainer, uint256 amount);

    /// @notice `expireRound`: nobody finalized the round in time and the job ended.
    /// @param jobId The job.
    /// @param round The expired round.
    /// @param refunded The round's budget, credited to the owner.
    /// @param bondSlashed The bond held, split among the round's submitters (the first one gets
    ///        the dust), or credited to the owner if nobody submitted.
    /// @param submittedBits The slots that submitted in the round (bit i for slot i).
    event RoundExpired(
        uint256 indexed jobId, uint256 indexed round, uint256 refunded, uint256 bondSlashed, uint256 submittedBits
    );

    /// @notice `cancel`: the owner cancelled the job; its escrow was credited to the owner (and
    ///         a posted bond back to the aggregator, not logged separately); stakes are freed
    ///         (`leave`).
    /// @param jobId The job.
    /// @param refunded The escrow credited to the owner.
    event JobCancelled(uint256 indexed jobId, uint256 refunded);

    /// @notice `recover`: the owner took back the unallocated budget of an ended job.
    /// @param jobId The job.
    /// @param owner The owner.
    /// @param amount The amount credited.
    event Recovered(uint256 indexed jobId, address indexed owner, uint256 amount);

    /// @notice `releaseBond`: what is left of the bond was credited back to the aggregator.
    /// @param jobId The job.
    /// @param aggregator The aggregator.
    /// @param amount The amount credited.
    event BondReleased(uint256 indexed jobId, address indexed aggregator, uint256 amount);

    /// @notice `dispute`: a trainer proved with the aggregator's receipt that its update was
    ///         received although its slot was declared unavailable.
    /// @param jobId The job.
    /// @param round The round.
    /// @param slot The slot.
    /// @param trainer The slot's trainer, who receives the slash.
    /// @param slashed The amount moved from the bond to the trainer (bond / n, at most what was
    ///        left).
    event Disputed(
        uint256 indexed jobId, uint256 indexed round, uint256 slot, address indexed trainer, uint256 slashed
    );

    /// @notice `withdraw`: everything owed to an account in a token was paid out.
    /// @param token The token (address(0) for ETH).
    /// @param account The account paid.
    /// @param amount The amount paid.
    event Withdrawn(address indexed token, address indexed account, uint256 amount);

    /// @notice A chunked round's H, the root of its chunk digest tree, logged with its
    ///         `RoundFinalized`.
    /// @param jobId The job.
    /// @param round The round.
    /// @param digest H.
    event ChunkedRoundFinalized(uint256 indexed jobId, uint256 indexed round, uint256 digest);

    /// @notice A chunk of a chunked round was challenged.
    /// @param jobId The job.
    /// @param round The round.
    /// @param chunk The chunk.
    /// @param challenger Who challenged (and posted `bond`).
    /// @param bond The challenge bond.
    event ChunkChallenged(
        uint256 indexed jobId, uint256 indexed round, uint256 chunk, address indexed challenger, uint256 bond
    );

    /// @notice A challenged chunk was shown valid; the challenger's bond went to the aggregator.
    /// @param jobId The job.
    /// @param round The round.
    /// @param chunk The chunk.
    /// @param challenger Who challenged.
    /// @param aggregator Who was paid the bond.
    /// @param bond The bond.
    event ChunkAnswered(
        uint256 indexed jobId, uint256 indexed round, uint256 chunk, address challenger, address aggregator, uint256 bond
    );

    /// @notice A chunked round was refuted by an unanswered challenge; the challenger was paid
    ///         its bond and `slashed` of the aggregator's bond.
    /// @param jobId The job.
    /// @param round The round.
    /// @param chunk The unanswered chunk.
    /// @param challenger Who challenged.
    /// @param slashed What was left of the aggregator's bond (0 after the round's first refutation).
    event RoundRefuted(
        uint256 indexed jobId, uint256 indexed round, uint256 chunk, address indexed challenger, uint256 slashed
    );
}
