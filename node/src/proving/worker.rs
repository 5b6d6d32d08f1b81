//! A prover worker: takes one task at a time from the queue, proves it and writes the result
//! before acknowledging. A worker killed at any moment loses at most the task in hand, which the
//! queue delivers again once its ack wait passes; while proving, the worker reports progress
//! every third of the ack wait so a long proof is not taken for a dead worker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ark_bn254::Bn254;
use ark_groth16::ProvingKey;
use async_nats::jetstream::{consumer::PullConsumer, AckKind, Message};
use fedproof_prover::export::calldata::SolidityCalldata;
use fedproof_prover::keys::{decode_proving_key, Circuit};
use fedproof_storage::blobs::parse_cid;
use fedproof_storage::sealed::{self, AggregatorKey};
use fedproof_storage::Storage;
use futures::StreamExt;
use serde::Serialize;

use super::queue::{Queue, TaskMessage, TaskResult};
use super::Task;

/// How long one fetch waits for a task before asking again.
const FETCH_EXPIRES: Duration = Duration::from_secs(5);
/// How long a task whose blobs could not be read waits before it is delivered again.
const RETRY_DELAY: Duration = Duration::from_secs(2);

/// What a worker needs besides the queue and the blob store.
pub struct WorkerSettings {
    /// The worker's name in results and logs.
    pub name: String,
    /// The aggregator's identity: tasks are sealed to it.
    pub sealing: Arc<AggregatorKey>,
    /// How long a taken task may go without an acknowledgement before it is redelivered.
    pub ack_wait: Duration,
    /// Stop after this many tasks (proved, failed or skipped); `None` runs until stopped.
    pub max_tasks: Option<usize>,
}

/// What a worker did, one event per line with `--json`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// Connected and waiting for tasks.
    Ready {
        /// The worker's name.
        worker: String,
        /// The queue's stream.
        queue: String,
    },
    /// Took a task; `delivery` > 1 when another worker had it before.
    Taken {
        /// The task id.
        task: String,
        /// How many times the queue has delivered it, this one included.
        delivery: i64,
    },
    /// The task already had a result (its worker died before acknowledging): not proven again.
    Skipped {
        /// The task id.
        task: String,
    },
    /// Proved and wrote the result.
    Proved {
        /// The task id.
        task: String,
        /// Seconds spent proving (key and task loading excluded).
        seconds: f64,
    },
    /// The task cannot be proven; the reason is its result.
    Failed {
        /// The task id.
        task: String,
        /// Why.
        reason: String,
    },
}

/// The proving key last used, kept across tasks of the same shape.
type KeyCache = Option<(String, Arc<ProvingKey<Bn254>>)>;

/// Runs the worker until `settings.max_tasks` tasks are done (or forever).
pub async fn run(
    queue: &Queue,
    storage: &Storage,
    settings: &WorkerSettings,
    mut on_event: impl FnMut(&WorkerEvent),
) -> anyhow::Result<usize> {
    let consumer = queue.consumer(settings.ack_wait).await?;
    on_event(&WorkerEvent::Ready { worker: settings.name.clone(), queue: queue.names.stream.clone() });
    let mut cache: KeyCache = None;
    let mut done = 0;
    while settings.max_tasks.is_none_or(|max| done < max) {
        let Some(message) = next_message(&consumer).await? else { continue };
        if handle(queue, storage, settings, &mut cache, &message, &mut on_event).await? {
            done += 1;
        }
    }
    Ok(done)
}

/// The next task message, or `None` when none came within [`FETCH_EXPIRES`].
async fn next_message(consumer: &PullConsumer) -> anyhow::Result<Option<Message>> {
    let mut batch = consumer
        .fetch()
        .max_messages(1)
        .expires(FETCH_EXPIRES)
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("fetching a task: {e}"))?;
    match batch.next().await {
        Some(message) => Ok(Some(message.map_err(|e| anyhow::anyhow!("receiving a task: {e}"))?)),
        None => Ok(None),
    }
}

/// Handles one message; `true` when the task is settled (result written, message acknowledged).
async fn handle(
    queue: &Queue,
    storage: &Storage,
    settings: &WorkerSettings,
    cache: &mut KeyCache,
    message: &Message,
    on_event: &mut impl FnMut(&WorkerEvent),
) -> anyhow::Result<bool> {
    let ack =
        |kind| async move { message.ack_with(kind).await.map_err(|e| anyhow::anyhow!("acknowledging a task: {e}")) };
    let task: TaskMessage = match serde_json::from_slice(&message.payload) {
        Ok(task) => task,
        Err(e) => {
            // Without a task id there is nowhere to write a result: drop the message for good.
            tracing::warn!(error = %e, "a message on the task queue is not a task; dropped");
            ack(AckKind::Term).await?;
            return Ok(false);
        }
    };
    if queue.result(&task.task).await?.is_some() {
        on_event(&WorkerEvent::Skipped { task: task.task.clone() });
        ack(AckKind::Ack).await?;
        return Ok(true);
    }
    let delivery = message.info().map(|info| info.delivered).unwrap_or(1);
    on_event(&WorkerEvent::Taken { task: task.task.clone(), delivery });
    let (key, proof_task) = match load(storage, settings, cache, &task).await {
        Ok(loaded) => loaded,
        Err(e) => {
            // The blob store may be briefly unreachable: let the queue deliver the task again.
            tracing::warn!(task = %task.task, error = %format!("{e:#}"), "could not load the task; retrying later");
            ack(AckKind::Nak(Some(RETRY_DELAY))).await?;
            return Ok(false);
        }
    };
    let result = match prove(message, settings.ack_wait, key, task.circuit, &proof_task).await {
        Ok((proof, seconds)) => {
            on_event(&WorkerEvent::Proved { task: task.task.clone(), seconds });
            let words = SolidityCalldata::new(&proof, &[]).proof_words();
            let proof = words.map(|w| alloy::primitives::U256::from_be_bytes(w.0));
            TaskResult::Proved { proof: Box::new(proof), worker: settings.name.clone(), seconds }
        }
        Err(e) => {
            let reason = format!("{e:#}");
            on_event(&WorkerEvent::Failed { task: task.task.clone(), reason: reason.clone() });
            TaskResult::Failed { reason }
        }
    };
    // The result is written before the acknowledgement: a worker killed between the two leaves
    // a redelivered task that the next worker skips.
    queue.put_result(&task.task, &result).await?;
    message.double_ack().await.map_err(|e| anyhow::anyhow!("acknowledging task {}: {e}", task.task))?;
    Ok(true)
}

/// The task's proving key (cached by CID) and the opened task.
async fn load(
    storage: &Storage,
    settings: &WorkerSettings,
    cache: &mut KeyCache,
    task: &TaskMessage,
) -> anyhow::Result<(Arc<ProvingKey<Bn254>>, Task)> {
    let key = match cache {
        Some((cid, key)) if *cid == task.key => Arc::clone(key),
        _ => {
            let bytes = storage.blobs().get(&parse_cid(&task.key)?).await.context("reading the proving key")?;
            let (origin, circuit) = (format!("proving key blob {}", task.key), task.circuit);
            let key = tokio::task::spawn_blocking(move || decode_proving_key(&bytes, &origin, circuit))
                .await
                .context("the key loading task failed")??;
            let key = Arc::new(key);
            *cache = Some((task.key.clone(), Arc::clone(&key)));
            key
        }
    };
    let sealed_task = storage.blobs().get(&parse_cid(&task.sealed_task)?).await.context("reading the proof task")?;
    let opened = sealed::open(&settings.sealing, &sealed_task).context("opening the proof task")?;
    Ok((key, Task::decode(&opened)?))
}

/// Proves the task, telling the queue every third of `ack_wait` that the work goes on.
async fn prove(
    message: &Message,
    ack_wait: Duration,
    key: Arc<ProvingKey<Bn254>>,
    circuit: Circuit,
    task: &Task,
) -> anyhow::Result<(ark_groth16::Proof<Bn254>, f64)> {
    anyhow::ensure!(task.circuit() == circuit, "the task is for {}, its key for {circuit}", task.circuit());
    let statement = task.statement()?;
    let clock = Instant::now();
    let mut proving = tokio::task::spawn_blocking(move || statement.prove(&key));
    let mut progress = tokio::time::interval(ack_wait / 3);
    progress.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            done = &mut proving => {
                let proof = done.context("the proving task failed")??;
                return Ok((proof, clock.elapsed().as_secs_f64()));
            }
            _ = progress.tick() => {
                if let Err(e) = message.ack_with(AckKind::Progress).await {
                    tracing::warn!(error = %e, "could not report progress on a task");
                }
            }
        }
    }
}
