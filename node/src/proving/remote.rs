//! The aggregator's side of the prover workers: publish the proving key once, then per proof
//! seal the task into the blob store, publish it and wait for its result.

use std::time::Duration;

use anyhow::Context;
use ark_bn254::Bn254;
use ark_groth16::{Proof, VerifyingKey};
use bytes::Bytes;
use fedproof_prover::keys::Circuit;
use fedproof_prover::keys::{KeyKind, KeyStore};
use fedproof_prover::snark;
use fedproof_storage::sealed;
use fedproof_storage::Storage;

use super::queue::{Queue, TaskMessage, TaskResult};
use super::task::{task_id, Task};

/// Proofs made by workers on a queue, for one circuit.
pub struct RemoteProver {
    queue: Queue,
    circuit: Circuit,
    /// CID of the proving key's file in the blob store.
    key: String,
    /// Every worker's proof is checked against it before it is used.
    vk: VerifyingKey<Bn254>,
    /// The recipient tasks are sealed to (the aggregator's; its workers hold the identity).
    recipient: String,
    /// How long to wait for one proof before giving up with an error.
    timeout: Duration,
}

impl RemoteProver {
    /// Puts the proving key of `circuit` from `keys` into the blob store (content-addressed, so a
    /// second aggregator start stores nothing new) and returns a prover on `queue`.
    pub async fn new(
        queue: Queue,
        storage: &Storage,
        keys: &KeyStore,
        circuit: impl Into<Circuit>,
        recipient: String,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let circuit = circuit.into();
        let path = keys.path(circuit, KeyKind::Proving);
        let bytes = tokio::fs::read(&path)
            .await
            .with_context(|| format!("reading the proving key {} to publish it to the workers", path.display()))?;
        let key = storage.blobs().put(Bytes::from(bytes)).await.context("storing the proving key")?.to_string();
        let vk = keys.load_verifying_key(circuit).context("loading the verifying key to check the workers' proofs")?;
        Ok(Self { queue, circuit, key, vk, recipient, timeout })
    }

    /// CID of the proving key's file in the blob store, as task messages name it.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The circuit this prover's key is for.
    pub fn circuit(&self) -> Circuit {
        self.circuit
    }

    /// The proof of `task` and the seconds its worker spent on it: the one a worker already made
    /// if there is one (a restarted aggregator proves nothing twice), else a new one.
    ///
    /// A worker is not trusted: a proof that does not verify for the task's public inputs is
    /// removed from the results bucket and the task published again, up to [`ATTEMPTS`] times,
    /// so a lying or broken worker costs time, never a bad settlement or a stuck round.
    pub async fn prove(&self, storage: &Storage, task: &Task) -> anyhow::Result<(Proof<Bn254>, f64)> {
        self.prove_by(storage, task).await.map(|(proof, seconds, _)| (proof, seconds))
    }

    /// As [`RemoteProver::prove`], also naming the worker that made the proof.
    pub async fn prove_by(&self, storage: &Storage, task: &Task) -> anyhow::Result<(Proof<Bn254>, f64, String)> {
        anyhow::ensure!(
            task.circuit() == self.circuit,
            "a task for {} given to the prover of {}",
            task.circuit(),
            self.circuit
        );
        let encoded = task.encode()?;
        let id = task_id(&self.key, &encoded);
        let mut inputs = None;
        for attempt in 0..ATTEMPTS {
            let result = self.result(storage, &encoded, &id, attempt).await?;
            let (proof, seconds) = result.proof()?;
            // Computed once a proof is in: a task the workers refuse keeps their reason. Off the
            // runtime: a final task's statement replays the whole round (seconds at 32 × 100,000),
            // and the other tasks' waits share this runtime.
            let inputs = match &mut inputs {
                Some(inputs) => inputs,
                None => {
                    let task = task.clone();
                    let statement = tokio::task::spawn_blocking(move || task.statement()).await;
                    inputs.insert(statement.context("computing the task's statement")??.public_inputs())
                }
            };
            let worker = match &result {
                TaskResult::Proved { worker, .. } => worker.as_str(),
                TaskResult::Failed { .. } => "?",
            };
            if snark::verify_inputs(&self.vk, inputs, &proof)? {
                return Ok((proof, seconds, worker.to_string()));
            }
            tracing::warn!(task = %id, worker, attempt, "a worker's proof does not verify: removed, task published again");
            self.queue.delete_result(&id).await?;
        }
        anyhow::bail!("task {id}: {ATTEMPTS} proofs from the workers did not verify (a worker is lying or broken)")
    }

    /// Task `id`'s result: the one in the bucket, or (publishing the task as `attempt`) the next.
    async fn result(&self, storage: &Storage, encoded: &[u8], id: &str, attempt: u32) -> anyhow::Result<TaskResult> {
        if let Some(result) = self.queue.result(id).await? {
            tracing::info!(task = %id, "proof found in the results bucket: not proving again");
            return Ok(result);
        }
        let sealed = sealed::seal(&self.recipient, encoded).context("sealing the proof task")?;
        let sealed_task = storage.put_sealed(sealed).await.context("storing the proof task")?.to_string();
        let message = TaskMessage { task: id.to_string(), key: self.key.clone(), sealed_task, circuit: self.circuit };
        self.queue.publish(&message, attempt).await?;
        tracing::info!(task = %id, attempt, queue = %self.queue.names.stream, "proof task published");
        tokio::time::timeout(self.timeout, self.queue.wait_result(id)).await.with_context(|| {
            format!(
                "no prover worker answered task {id} on queue {} within {} s (are workers running?)",
                self.queue.names.stream,
                self.timeout.as_secs()
            )
        })?
    }
}

/// Times a task is published before its workers' unverifiable proofs make it an error.
pub const ATTEMPTS: u32 = 3;
