// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {JobMarket} from "../JobMarket.sol";
import {IJobMarketErrors} from "../IJobMarket.sol";
import {IJobMarketEvents} from "../IJobMarketEvents.sol";
import {MarketStorage, MarketLookup} from "./MarketStorage.sol";
import {RoundSettlement} from "./RoundSettlement.sol";

/// @dev JobMarket's disputes and liveness: data-availability disputes that slash the bond,
///      expiry of a round nobody finalized, recovery of the unallocated budget and release of
///      the bond. Internal functions run in JobMarket's context; see JobMarket for each entry
///      point's notice.
library JobLiveness {
    using MarketLookup for MarketStorage;

    /// @dev dispute: `commitment` is what the slot submitted in the round (0 if nothing) and
    ///      `digest` the EIP-712 digest of the slot's upload receipt for it, which JobMarket
    ///      computes (its domain separator lives there). A slot with no commitment cannot be
    ///      disputed: the proof does not let the aggregator declare it unavailable (the circuit
    ///      proves unavailable_i => C_i != 0), and no receipt for nothing may slash the bond.
    function dispute(
        MarketStorage storage $,
        uint256 jobId,
        uint32 round,
        uint256 slot,
        uint256 commitment,
        JobMarket.RoundOutcome calldata o,
        bytes32 digest,
        bytes calldata signature
    ) internal {
        JobMarket.Job storage j = $.job(jobId);
        RoundSettlement.checkOutcome($, jobId, round, o);
        // A slot >= 256 shifts every bit out: it is never unavailable.
        if ((o.unavailableBits >> slot) & 1 == 0 || commitment == 0) {
            revert IJobMarketErrors.SlotNotUnavailable(slot);
        }
        uint256 deadline = uint256(o.finalizedAt) + j.c.disputeWindow;
        if (block.timestamp > deadline) revert IJobMarketErrors.DisputeWindowClosed(deadline, block.timestamp);
        uint256 disputed = $.disputedBits[jobId][round];
        if ((disputed >> slot) & 1 == 1) revert IJobMarketErrors.AlreadySettled(slot);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != j.c.aggregator) {
            revert IJobMarketErrors.InvalidReceipt(signer);
        }
        $.disputedBits[jobId][round] = disputed | (1 << slot); // slot < 256: it was unavailable
        (address trainer, uint256 slash) = _slash($, jobId, j, slot);
        emit IJobMarketEvents.Disputed(jobId, round, slot, trainer, slash);
    }

    /// @dev expireRound: ends the job after a missed finalization deadline.
    function expireRound(MarketStorage storage $, uint256 jobId) internal {
        JobMarket.Job storage j = $.job(jobId);
        JobMarket.State storage s = j.s;
        MarketLookup.requireActive(jobId, j);
        uint256 deadline = uint256(s.roundStart) + j.c.submitWindow + j.c.finalizeWindow;
        if (block.timestamp <= deadline) revert IJobMarketErrors.DeadlineNotPassed(deadline, block.timestamp);
        uint128 refund = j.c.roundBudget;
        uint128 bond = s.bondHeld;
        uint256 round = s.round;
        uint256 submitted = $.submittedBits[jobId][round];
        s.status = JobMarket.Status.Expired;
        s.escrow -= refund;
        s.bondHeld = 0;
        $.owed[j.c.token][j.c.owner] += refund;
        _splitBond($, jobId, j, bond, submitted);
        emit IJobMarketEvents.RoundExpired(jobId, round, refund, bond, submitted);
    }

    /// @dev recover: the owner takes back the unallocated budget of an ended job, once every
    ///      finalized round is recorded (until then escrow still holds trainers' shares).
    function recover(MarketStorage storage $, uint256 jobId) internal {
        JobMarket.Job storage j = $.job(jobId);
        if (msg.sender != j.c.owner) revert IJobMarketErrors.NotOwner(msg.sender);
        JobMarket.Status status = j.s.status;
        if (status == JobMarket.Status.Active) revert IJobMarketErrors.NotEnded(jobId);
        uint256 unrecorded = j.s.unrecorded;
        if (unrecorded != 0) revert IJobMarketErrors.RoundsNotRecorded(jobId, unrecorded);
        uint128 amount = j.s.escrow;
        if (amount == 0) revert IJobMarketErrors.NothingToRecover(jobId);
        j.s.escrow = 0;
        $.owed[j.c.token][msg.sender] += amount;
        emit IJobMarketEvents.Recovered(jobId, msg.sender, amount);
    }

    /// @dev releaseBond: the rest of the bond goes back to the aggregator after the last dispute
    ///      window (two for a chunked job) with no challenge open.
    function releaseBond(MarketStorage storage $, uint256 jobId) internal {
        JobMarket.Job storage j = $.job(jobId);
        if (j.s.status != JobMarket.Status.Completed) revert IJobMarketErrors.NotEnded(jobId);
        // A chunked job's last round may be challenged for one dispute window and answered for
        // another, and the bond backs every open challenge.
        uint256 windows = j.c.chunks == 0 ? 1 : 2;
        uint256 until = uint256(j.s.roundStart) + windows * j.c.disputeWindow;
        if (block.timestamp <= until) revert IJobMarketErrors.BondLocked(until);
        if ($.jobChallenges[jobId] != 0) revert IJobMarketErrors.ChallengesOpen(jobId, j.s.round - 1);
        uint128 amount = j.s.bondHeld;
        if (amount == 0) revert IJobMarketErrors.NothingToSlash(jobId);
        j.s.bondHeld = 0;
        address aggregator = j.c.aggregator;
        $.owed[j.c.token][aggregator] += amount;
        emit IJobMarketEvents.BondReleased(jobId, aggregator, amount);
    }

    /// @dev bond / n (at most what is left) from the aggregator's bond to the slot's trainer.
    function _slash(MarketStorage storage $, uint256 jobId, JobMarket.Job storage j, uint256 slot)
        private
        returns (address trainer, uint256 slash)
    {
        slash = j.c.bond / j.c.n;
        uint128 held = j.s.bondHeld;
        if (slash > held) slash = held;
        if (slash == 0) revert IJobMarketErrors.NothingToSlash(jobId);
        trainer = $.slotOwner[jobId][slot];
        j.s.bondHeld = held - uint128(slash);
        j.s.bondShort = true;
        $.owed[j.c.token][trainer] += slash;
    }

    /// @dev The expired round's submitters (`submitted`, bit i for slot i) share the bond (the
    ///      lowest slot gets the dust); the owner gets it if nobody submitted.
    function _splitBond(
        MarketStorage storage $,
        uint256 jobId,
        JobMarket.Job storage j,
        uint256 bond,
        uint256 submitted
    ) private {
        address token = j.c.token;
        uint256 count = j.s.submittedCount;
        if (count == 0) {
            $.owed[token][j.c.owner] += bond;
            return;
        }
        uint256 share = bond / count;
        uint256 dust = bond - share * count;
        for (uint256 i; submitted != 0; ++i) {
            if (submitted & 1 == 1) {
                $.owed[token][$.slotOwner[jobId][i]] += share + dust;
                dust = 0;
            }
            submitted >>= 1;
        }
    }
}
