//! One proof's work, self-contained: the round's input and the commitments of the slots the
//! aggregator declared unavailable. A worker rebuilds the witness from it exactly as the
//! aggregator would, so it needs neither the chain nor the trainers' sealed blobs.

use alloy::primitives::U256;
use anyhow::Context;
use fedproof_prover::round::{RoundInput, RoundWitness};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chain::words::to_fr;

/// What proving one round needs besides the proving key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofTask {
    /// The round's input: model, updates (an unavailable slot's is `None`), order, parameters.
    pub input: RoundInput,
    /// `(slot, commitment)` of each slot declared unavailable: its commitment stays in the public
    /// inputs (the contract folded it in at submission) while its presence bit is 0.
    pub unavailable: Vec<(usize, U256)>,
}

impl ProofTask {
    /// The witness the circuit is proven on.
    pub fn witness(&self) -> anyhow::Result<RoundWitness> {
        let mut witness = RoundWitness::new(self.input.clone()).context("the proof task's round is invalid")?;
        for &(slot, commitment) in &self.unavailable {
            let public = witness.public.updates.get_mut(slot).with_context(|| {
                format!(
                    "the proof task names unavailable slot {slot} beyond the job's {} slots",
                    self.input.shape.trainers
                )
            })?;
            *public = to_fr(commitment);
        }
        Ok(witness)
    }

    /// The task as bytes (JSON).
    pub fn encode(&self) -> anyhow::Result<Vec<u8>> {
        serde_json::to_vec(self).context("encoding the proof task")
    }

    /// Reads a task written by [`ProofTask::encode`].
    pub fn decode(bytes: &[u8]) -> anyhow::Result<Self> {
        serde_json::from_slice(bytes).context("the proof task is not valid JSON of a round")
    }
}

/// The name of an encoded task ([`ProofTask::encode`]) under a proving key: the same work always
/// gets the same id, so a restarted aggregator finds the proof a worker already made, and a
/// republished task is dropped by the stream's duplicate window. Hex, so it is a valid
/// key-value key.
pub fn task_id(key_cid: &str, encoded_task: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(key_cid.as_bytes());
    hash.update([0]);
    hash.update(encoded_task);
    hex::encode(hash.finalize())
}
