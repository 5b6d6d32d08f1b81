//! One proof's work, self-contained. A round task is the round's input and the commitments of the
//! slots the aggregator declared unavailable; a chunked round's tasks are each chunk's input and
//! the final proof's round. A worker rebuilds the witness from the task exactly as the aggregator
//! would, so it needs neither the chain nor the trainers' sealed blobs.

use alloy::primitives::U256;
use anyhow::Context;
use ark_bn254::{Bn254, Fr};
use ark_groth16::{Proof, ProvingKey};
use fedproof_prover::chunk::constraints::ChunkWitness;
use fedproof_prover::chunk::ChunkInput;
use fedproof_prover::chunked::{self, FinalWitness};
use fedproof_prover::keys::Circuit;
use fedproof_prover::round::{RoundInput, RoundWitness};
use fedproof_prover::snark;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chain::words::to_fr;

/// What proving one round needs besides the proving key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofTask {
    /// The round's input: model, updates (an unavailable slot's is `None`), order, parameters.
    pub input: RoundInput,
    /// `(slot, commitment)` of each slot declared unavailable: its commitment stays in the public
    /// inputs (the contract folded it in at submission) and its unavailable bit is set.
    pub unavailable: Vec<(usize, U256)>,
}

/// The unavailable slots of a task as the prover takes them.
fn unavailable_fields(unavailable: &[(usize, U256)]) -> Vec<(usize, Fr)> {
    unavailable.iter().map(|(s, c)| (*s, to_fr(*c))).collect()
}

impl ProofTask {
    /// The witness the circuit is proven on.
    pub fn witness(&self) -> anyhow::Result<RoundWitness> {
        RoundWitness::with_unavailable(self.input.clone(), &unavailable_fields(&self.unavailable))
            .context("the proof task's round is invalid")
    }
}

/// The final proof of a chunked round: the whole round (a worker splits it again, so its
/// witness is its own work, not the aggregator's word) and the chunk size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalTask {
    /// The round's input.
    pub input: RoundInput,
    /// Parameters per chunk, D.
    pub chunk_params: usize,
    /// `(slot, commitment)` of each slot declared unavailable (as in [`ProofTask`]): in the
    /// public inputs and the seed ρ, not opened.
    #[serde(default)]
    pub unavailable: Vec<(usize, U256)>,
}

/// Any proof a worker makes: a whole round, one chunk of a chunked round, or its final proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// A whole round.
    Round(ProofTask),
    /// One chunk of a chunked round.
    Chunk(ChunkInput),
    /// A chunked round's final proof.
    Final(FinalTask),
}

/// A task's witness, ready to prove.
pub enum Statement {
    /// A whole round's.
    Round(Box<RoundWitness>),
    /// One chunk's.
    Chunk(Box<ChunkWitness>),
    /// A final proof's.
    Final(Box<FinalWitness>),
}

impl Task {
    /// The circuit (and so the key) the task is proven with.
    pub fn circuit(&self) -> Circuit {
        match self {
            Task::Round(task) => Circuit::from(task.input.shape),
            Task::Chunk(input) => Circuit::Chunk { trainers: input.trainers(), params: input.params() },
            Task::Final(task) => Circuit::Final {
                shape: task.input.shape,
                chunks: task.input.shape.params.div_ceil(task.chunk_params.max(1)),
            },
        }
    }

    /// Runs the reference: the witness and the public inputs the proof will be for.
    pub fn statement(&self) -> anyhow::Result<Statement> {
        Ok(match self {
            Task::Round(task) => Statement::Round(Box::new(task.witness()?)),
            Task::Chunk(input) => {
                Statement::Chunk(Box::new(ChunkWitness::new(input.clone()).context("the chunk task is invalid")?))
            }
            Task::Final(task) => {
                let unavailable = unavailable_fields(&task.unavailable);
                let round = chunked::split_with_unavailable(task.input.clone(), task.chunk_params, &unavailable)
                    .context("the final task's round is invalid")?;
                Statement::Final(Box::new(round.witness))
            }
        })
    }

    /// The task as bytes (JSON).
    pub fn encode(&self) -> anyhow::Result<Vec<u8>> {
        serde_json::to_vec(self).context("encoding the proof task")
    }

    /// Reads a task written by [`Task::encode`].
    pub fn decode(bytes: &[u8]) -> anyhow::Result<Self> {
        serde_json::from_slice(bytes).context("the proof task is not valid JSON of a round, chunk or final task")
    }
}

impl Statement {
    /// The public inputs, in verifier order.
    pub fn public_inputs(&self) -> Vec<Fr> {
        match self {
            Statement::Round(w) => w.public.to_vec(),
            Statement::Chunk(w) => w.public.to_vec(),
            Statement::Final(w) => w.public.to_vec(),
        }
    }

    /// Proves it with `pk` (the key of the task's [`Task::circuit`]).
    pub fn prove(self, pk: &ProvingKey<Bn254>) -> anyhow::Result<Proof<Bn254>> {
        let rng = &mut rand::rngs::OsRng;
        Ok(match self {
            Statement::Round(w) => snark::prove(pk, *w, rng)?,
            Statement::Chunk(w) => snark::prove_chunk(pk, *w, rng)?,
            Statement::Final(w) => snark::prove_final(pk, *w, rng)?,
        })
    }
}

/// The name of an encoded task ([`Task::encode`]) under a proving key: the same work always
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
