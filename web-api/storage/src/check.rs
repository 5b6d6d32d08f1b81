//! The one check that an opened update blob is what a slot committed to on-chain.
//!
//! The intake runs it before it signs a receipt, the aggregator before it counts a slot as
//! present, the auditor before it re-runs a round: all three must agree, or a trainer could hold
//! a receipt for an update the aggregator then refuses (and win a dispute with it).

use alloy_primitives::B256;
use ark_bn254::Fr;
use ark_ff::PrimeField;
use fedproof_prover::export::field::to_word;
use fedproof_prover::layout::Layout;

use crate::codec::UpdateBlob;

/// What a slot put on-chain for a round, and the shape its update must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotCommitment {
    /// The job.
    pub job_id: u64,
    /// The job's domain (`JobMarket.domain(job)`, `fedproof_prover::domain`), hashed into the
    /// commitment with the round and the slot.
    pub domain: B256,
    /// The round.
    pub round: u32,
    /// The trainer's slot.
    pub slot: u32,
    /// The job's parameter count (from its spec).
    pub params: usize,
    /// The job's chunk count K (`Config.chunks`, 0 for an unchunked job): what the round
    /// commitment is over (`fedproof_prover::layout`).
    pub chunks: usize,
    /// The update commitment the slot submitted.
    pub commitment: B256,
}

/// Why an update blob is not the slot's committed update.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateMismatch {
    /// The blob names another job, round or slot.
    #[error("the blob is for job {found_job} round {found_round} slot {found_slot}, not job {job} round {round} slot {slot}")]
    WrongSlot {
        /// The job expected.
        job: u64,
        /// The round expected.
        round: u32,
        /// The slot expected.
        slot: u32,
        /// The job the blob names.
        found_job: u64,
        /// The round the blob names.
        found_round: u32,
        /// The slot the blob names.
        found_slot: u32,
    },
    /// The blob has another number of values than the job's parameters.
    #[error("the blob has {found} values, the job has {expected} parameters")]
    WrongLength {
        /// The job's parameter count.
        expected: usize,
        /// The blob's value count.
        found: usize,
    },
    /// The job's parameters cannot be cut into its chunk count.
    #[error("the job's proof layout is invalid: {0}")]
    Layout(String),
    /// A value is outside the update encoding's range.
    #[error("the update's values are out of range: {0}")]
    OutOfRange(String),
    /// The values commit to another commitment than the one on-chain.
    #[error("the blob's update commits to {computed}, not to the on-chain {expected}")]
    Commitment {
        /// The commitment of the blob's values.
        computed: B256,
        /// The commitment on-chain.
        expected: B256,
    },
}

/// Checks that `blob` is the update `expected` committed to: its (job, round, slot), its length
/// and its Poseidon commitment.
pub fn check_update(blob: &UpdateBlob, expected: &SlotCommitment) -> Result<(), UpdateMismatch> {
    if (blob.job_id, blob.round, blob.slot) != (expected.job_id, expected.round, expected.slot) {
        return Err(UpdateMismatch::WrongSlot {
            job: expected.job_id,
            round: expected.round,
            slot: expected.slot,
            found_job: blob.job_id,
            found_round: blob.round,
            found_slot: blob.slot,
        });
    }
    if blob.values.len() != expected.params {
        return Err(UpdateMismatch::WrongLength { expected: expected.params, found: blob.values.len() });
    }
    let domain = Fr::from_be_bytes_mod_order(&expected.domain.0);
    let layout = Layout::of_job(expected.params, expected.chunks).map_err(|e| UpdateMismatch::Layout(e.to_string()))?;
    let computed = layout
        .commit_update(domain, blob.round, blob.slot as usize, &blob.values)
        .map_err(|e| UpdateMismatch::OutOfRange(e.to_string()))?;
    let computed = B256::from(to_word(&computed));
    if computed != expected.commitment {
        return Err(UpdateMismatch::Commitment { computed, expected: expected.commitment });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(blob: &UpdateBlob, params: usize) -> SlotCommitment {
        let domain = Fr::from(77u8);
        let commitment =
            fedproof_prover::commitment::commit_update(domain, blob.round, blob.slot as usize, &blob.values)
                .expect("in range");
        SlotCommitment {
            job_id: blob.job_id,
            domain: B256::from(to_word(&domain)),
            round: blob.round,
            slot: blob.slot,
            params,
            chunks: 0,
            commitment: B256::from(to_word(&commitment)),
        }
    }

    #[test]
    fn the_committed_update_passes() {
        let blob = UpdateBlob { job_id: 4, round: 2, slot: 1, values: vec![3, -7, 0, 127] };
        assert_eq!(check_update(&blob, &committed(&blob, 4)), Ok(()));
    }

    #[test]
    fn another_slot_length_range_or_commitment_is_named() {
        let blob = UpdateBlob { job_id: 4, round: 2, slot: 1, values: vec![3, -7, 0, 127] };
        let expected = committed(&blob, 4);

        let moved = SlotCommitment { slot: 2, ..expected };
        assert!(matches!(check_update(&blob, &moved), Err(UpdateMismatch::WrongSlot { found_slot: 1, .. })));

        let longer = SlotCommitment { params: 5, ..expected };
        let err = check_update(&blob, &longer).expect_err("length");
        assert_eq!(err.to_string(), "the blob has 4 values, the job has 5 parameters");

        let wild = UpdateBlob { values: vec![3, -7, 0, 1 << 40], ..blob.clone() };
        assert!(matches!(check_update(&wild, &expected), Err(UpdateMismatch::OutOfRange(_))));

        let other = UpdateBlob { values: vec![3, -7, 0, 126], ..blob.clone() };
        assert!(matches!(check_update(&other, &expected), Err(UpdateMismatch::Commitment { .. })));
    }

    /// A chunked job's commitment chains the chunk commitments: the whole-update commitment of
    /// the same values does not open it, nor does a chunk count the parameters cannot take.
    #[test]
    fn a_chunked_job_checks_the_chunked_commitment() {
        let blob = UpdateBlob { job_id: 4, round: 2, slot: 1, values: vec![3, -7, 0, 127, 5] };
        let whole = committed(&blob, 5);
        let layout = Layout::of_job(5, 3).expect("5 in chunks of 2");
        let domain = Fr::from(77u8);
        let chunked = layout.commit_update(domain, 2, 1, &blob.values).expect("in range");
        let expected = SlotCommitment { chunks: 3, commitment: B256::from(to_word(&chunked)), ..whole };
        assert_eq!(check_update(&blob, &expected), Ok(()));
        assert!(matches!(
            check_update(&blob, &SlotCommitment { chunks: 3, ..whole }),
            Err(UpdateMismatch::Commitment { .. })
        ));
        assert!(matches!(
            check_update(&blob, &SlotCommitment { chunks: 0, ..expected }),
            Err(UpdateMismatch::Commitment { .. })
        ));
        assert!(matches!(
            check_update(&blob, &SlotCommitment { chunks: 4, ..expected }),
            Err(UpdateMismatch::Layout(_))
        ));
    }

    #[test]
    fn a_commitment_opens_only_in_its_slot_and_domain() {
        // Another slot's copy of the same values (attack 2) and the same job on another market.
        let blob = UpdateBlob { job_id: 4, round: 2, slot: 1, values: vec![3, -7, 0, 127] };
        let expected = committed(&blob, 4);
        let copied = UpdateBlob { slot: 3, ..blob.clone() };
        let at_slot_3 = SlotCommitment { slot: 3, ..expected };
        assert!(matches!(check_update(&copied, &at_slot_3), Err(UpdateMismatch::Commitment { .. })));
        let elsewhere = SlotCommitment { domain: B256::repeat_byte(1), ..expected };
        assert!(matches!(check_update(&blob, &elsewhere), Err(UpdateMismatch::Commitment { .. })));
    }
}
