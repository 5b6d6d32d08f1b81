//! The aggregator's side of the prover workers: publish the proving key once, then per proof
//! seal the task into the blob store, publish it and wait for its result.

use std::time::Duration;

use anyhow::Context;
use ark_bn254::Bn254;
use ark_groth16::Proof;
use bytes::Bytes;
use fedproof_prover::keys::{KeyKind, KeyStore};
use fedproof_prover::shape::Shape;
use fedproof_storage::sealed;
use fedproof_storage::Storage;

use super::queue::{Queue, TaskMessage};
use super::task::{task_id, ProofTask};

/// Proofs made by workers on a queue, for one shape.
pub struct RemoteProver {
    queue: Queue,
    shape: Shape,
    /// CID of the proving key's file in the blob store.
    key: String,
    /// The recipient tasks are sealed to (the aggregator's; its workers hold the identity).
    recipient: String,
    /// How long to wait for one proof before giving up with an error.
    timeout: Duration,
}

impl RemoteProver {
    /// Puts the proving key of `shape` from `keys` into the blob store (content-addressed, so a
    /// second aggregator start stores nothing new) and returns a prover on `queue`.
    pub async fn new(
        queue: Queue,
        storage: &Storage,
        keys: &KeyStore,
        shape: Shape,
        recipient: String,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let path = keys.path(&shape, KeyKind::Proving);
        let bytes = tokio::fs::read(&path)
            .await
            .with_context(|| format!("reading the proving key {} to publish it to the workers", path.display()))?;
        let key = storage.blobs().put(Bytes::from(bytes)).await.context("storing the proving key")?.to_string();
        Ok(Self { queue, shape, key, recipient, timeout })
    }

    /// CID of the proving key's file in the blob store, as task messages name it.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The proof of `task` and the seconds its worker spent on it: the one a worker already made if there is one (a restarted
    /// aggregator proves nothing twice), else a new one from the workers.
    pub async fn prove(&self, storage: &Storage, task: &ProofTask) -> anyhow::Result<(Proof<Bn254>, f64)> {
        let encoded = task.encode()?;
        let id = task_id(&self.key, &encoded);
        let result = match self.queue.result(&id).await? {
            Some(result) => {
                tracing::info!(task = %id, "proof found in the results bucket: not proving again");
                result
            }
            None => {
                let sealed = sealed::seal(&self.recipient, &encoded).context("sealing the proof task")?;
                let sealed_task = storage.put_sealed(sealed).await.context("storing the proof task")?.to_string();
                let message = TaskMessage { task: id.clone(), key: self.key.clone(), sealed_task, shape: self.shape };
                self.queue.publish(&message).await?;
                tracing::info!(task = %id, queue = %self.queue.names.stream, "proof task published");
                tokio::time::timeout(self.timeout, self.queue.wait_result(&id)).await.with_context(|| {
                    format!(
                        "no prover worker answered task {id} on queue {} within {} s (are workers running?)",
                        self.queue.names.stream,
                        self.timeout.as_secs()
                    )
                })??
            }
        };
        result.proof()
    }
}
