//! Where round proofs are made: in this process (the default, no service needed) or by prover
//! workers pulling tasks from a NATS JetStream work queue.
//!
//! - [`task`]: one proof's work, self-contained, with a stable id;
//! - [`queue`]: the stream, consumer, results bucket and messages both sides share;
//! - [`remote`]: the aggregator's side: publish a task, wait for its result;
//! - [`worker`]: the worker's loop: take a task, prove, write the result, acknowledge.

pub mod queue;
pub mod remote;
pub mod task;
pub mod worker;

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use ark_bn254::Bn254;
use ark_groth16::Proof;
use fedproof_prover::keys::Keys;
use fedproof_prover::round::RoundWitness;
use fedproof_prover::snark;
use fedproof_storage::Storage;

pub use remote::RemoteProver;
pub use task::{ProofTask, Task};

/// Who proves the aggregator's rounds.
#[derive(Clone, Default)]
pub enum Prover {
    /// This process, on a blocking thread.
    #[default]
    InProcess,
    /// Prover workers on a NATS JetStream queue.
    Workers(Arc<RemoteProver>),
}

impl Prover {
    /// Proves `task`, whose witness the caller has already built, and returns the proof with the
    /// seconds it took (on a worker: that worker's proving time, not the wait).
    pub async fn prove(
        &self,
        keys: &Arc<Keys>,
        storage: &Storage,
        task: &ProofTask,
        witness: RoundWitness,
    ) -> anyhow::Result<(Proof<Bn254>, f64)> {
        match self {
            Prover::InProcess => {
                let keys = Arc::clone(keys);
                let clock = Instant::now();
                let proof =
                    tokio::task::spawn_blocking(move || snark::prove(&keys.pk, witness, &mut rand::rngs::OsRng))
                        .await
                        .context("the prover task failed")??;
                Ok((proof, clock.elapsed().as_secs_f64()))
            }
            Prover::Workers(remote) => remote.prove(storage, &Task::Round(task.clone())).await,
        }
    }

    /// Proves `tasks`, all of one circuit whose keys are `keys`, and returns the proofs in task
    /// order with the seconds each took. Here they run one after another (each proof already
    /// takes every core, and two would hold two witnesses in memory); on workers they are all
    /// published at once, so that the workers share them.
    pub async fn prove_tasks(
        &self,
        keys: &Arc<Keys>,
        storage: &Storage,
        tasks: &[Task],
    ) -> anyhow::Result<Vec<(Proof<Bn254>, f64)>> {
        match self {
            Prover::InProcess => {
                let mut proofs = Vec::with_capacity(tasks.len());
                for task in tasks {
                    let (keys, task) = (Arc::clone(keys), task.clone());
                    let clock = Instant::now();
                    let proof = tokio::task::spawn_blocking(move || task.statement()?.prove(&keys.pk))
                        .await
                        .context("the prover task failed")??;
                    proofs.push((proof, clock.elapsed().as_secs_f64()));
                }
                Ok(proofs)
            }
            Prover::Workers(remote) => {
                futures::future::try_join_all(tasks.iter().map(|task| remote.prove(storage, task))).await
            }
        }
    }
}
