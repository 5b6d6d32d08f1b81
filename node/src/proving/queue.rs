//! The prover work queue on NATS JetStream, as the aggregator and the workers both see it:
//! a work-queue stream of task messages, one durable pull consumer the workers share (each
//! message goes to one worker; one not acknowledged within the ack wait goes to another), and a
//! key-value bucket of results under each task's id.
//!
//! Messages stay small: the task (sealed, it holds the trainers' updates) and the proving key
//! travel as blobs in the blob store, named by CID and checked on every read.

use std::time::Duration;

use alloy::primitives::U256;
use anyhow::Context;
use async_nats::jetstream::{self, consumer, kv, stream};
use bytes::Bytes;
use fedproof_prover::export::calldata::{proof_from_words, Word};
use fedproof_prover::keys::Circuit;
use serde::{Deserialize, Serialize};

/// The queue name `--queue` defaults to.
pub const DEFAULT_QUEUE: &str = "fedproof-proofs";
/// How long a finished task's result is kept: long past any round's finalization window.
const RESULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Deliveries of one task before the queue gives up on it (a task that kills every worker).
const MAX_DELIVER: i64 = 10;

/// One proof task as it travels on the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    /// The task's id ([`super::task::task_id`]): where its result goes.
    pub task: String,
    /// CID of the proving key's file in the blob store.
    pub key: String,
    /// CID of the task, sealed to the aggregator's recipient, in the blob store.
    pub sealed_task: String,
    /// The circuit the key is for.
    pub circuit: Circuit,
}

/// A worker's answer to a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskResult {
    /// The proof, as the contract's eight proof words.
    Proved {
        /// `SolidityCalldata::proof_words`.
        proof: Box<[U256; 8]>,
        /// Which worker proved it.
        worker: String,
        /// Seconds the proof took there.
        seconds: f64,
    },
    /// The task cannot be proven (bad task, unsatisfied round): retrying would not help.
    Failed {
        /// Why, in words.
        reason: String,
    },
}

impl TaskResult {
    /// The proof of a `Proved` result with the seconds it took; a `Failed` one's reason as an
    /// error.
    pub fn proof(&self) -> anyhow::Result<(ark_groth16::Proof<ark_bn254::Bn254>, f64)> {
        match self {
            TaskResult::Proved { proof, seconds, .. } => {
                let words = proof.map(|w| Word(w.to_be_bytes()));
                Ok((proof_from_words(&words).context("a worker's proof words are not a proof")?, *seconds))
            }
            TaskResult::Failed { reason } => anyhow::bail!("the prover worker could not prove the task: {reason}"),
        }
    }
}

/// The stream, subject, consumer and bucket of one named queue.
#[derive(Debug, Clone)]
pub struct QueueNames {
    /// The work-queue stream.
    pub stream: String,
    /// The subject task messages are published on.
    pub subject: String,
    /// The workers' shared durable consumer.
    pub consumer: String,
    /// The key-value bucket of results.
    pub bucket: String,
}

impl QueueNames {
    /// The names of queue `queue`: letters, digits, `-` and `_` only (valid in every NATS name).
    pub fn new(queue: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !queue.is_empty() && queue.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "queue name {queue:?} must be non-empty letters, digits, '-' or '_'"
        );
        Ok(Self {
            stream: queue.to_string(),
            subject: format!("{queue}.tasks"),
            consumer: "provers".to_string(),
            bucket: format!("{queue}-results"),
        })
    }
}

/// A connection to one queue: its stream and results bucket exist once this is made.
#[derive(Clone)]
pub struct Queue {
    /// The JetStream context.
    pub js: jetstream::Context,
    /// The queue's names.
    pub names: QueueNames,
    results: kv::Store,
}

impl Queue {
    /// Connects to NATS at `url` and makes the queue's stream and bucket if they are missing.
    pub async fn connect(url: &str, queue: &str) -> anyhow::Result<Self> {
        let names = QueueNames::new(queue)?;
        let client = async_nats::connect(url).await.with_context(|| format!("connecting to NATS at {url}"))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream::Config {
            name: names.stream.clone(),
            subjects: vec![names.subject.clone()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(600),
            ..Default::default()
        })
        .await
        .with_context(|| format!("making the work-queue stream {} on {url}", names.stream))?;
        let results = match js.get_key_value(&names.bucket).await {
            Ok(store) => store,
            Err(_) => {
                // By hand, not `create_key_value`: that first reads the account's limits, whose
                // reply from NATS 2.9 (this machine's Debian server) lacks fields async-nats 0.46
                // requires. The stream is the one `create_key_value` makes for this config.
                js.get_or_create_stream(results_stream(&names.bucket))
                    .await
                    .with_context(|| format!("making the results bucket {} on {url}", names.bucket))?;
                js.get_key_value(&names.bucket)
                    .await
                    .with_context(|| format!("opening the results bucket {}", names.bucket))?
            }
        };
        Ok(Self { js, names, results })
    }

    /// The workers' shared pull consumer; a task not acknowledged within `ack_wait` (a worker
    /// proving acknowledges progress well within it) is delivered again.
    pub async fn consumer(&self, ack_wait: Duration) -> anyhow::Result<consumer::PullConsumer> {
        let stream = self.js.get_stream(&self.names.stream).await.context("opening the work-queue stream")?;
        stream
            .get_or_create_consumer(
                &self.names.consumer,
                consumer::pull::Config {
                    durable_name: Some(self.names.consumer.clone()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait,
                    max_deliver: MAX_DELIVER,
                    ..Default::default()
                },
            )
            .await
            .context("making the workers' consumer")
    }

    /// Publishes a task; the stream drops a second publication of the same task id and attempt
    /// (attempt 0 is the first; a later one follows a result that did not verify).
    pub async fn publish(&self, message: &TaskMessage, attempt: u32) -> anyhow::Result<()> {
        let payload = Bytes::from(serde_json::to_vec(message)?);
        let id = if attempt == 0 { message.task.clone() } else { format!("{}#{attempt}", message.task) };
        let publish = jetstream::message::PublishMessage::build().payload(payload).message_id(id);
        self.js
            .send_publish(self.names.subject.clone(), publish)
            .await
            .context("publishing a proof task")?
            .await
            .context("the stream did not take the proof task")?;
        Ok(())
    }

    /// The result of task `id`, if a worker has written one.
    pub async fn result(&self, id: &str) -> anyhow::Result<Option<TaskResult>> {
        match self.results.get(id).await.with_context(|| format!("reading the result of task {id}"))? {
            Some(bytes) => Ok(Some(decode_result(id, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Writes the result of task `id`.
    pub async fn put_result(&self, id: &str, result: &TaskResult) -> anyhow::Result<()> {
        let bytes = Bytes::from(serde_json::to_vec(result)?);
        self.results.put(id, bytes).await.with_context(|| format!("writing the result of task {id}"))?;
        Ok(())
    }

    /// Removes the result of task `id` (one that did not verify), so the task's next delivery
    /// is proven rather than skipped.
    pub async fn delete_result(&self, id: &str) -> anyhow::Result<()> {
        self.results.purge(id).await.with_context(|| format!("removing the result of task {id}"))
    }

    /// Waits until task `id` has a result (one already there is returned at once).
    ///
    /// A watch that breaks (its consumer missed the server's idle heartbeats: a client starved
    /// of CPU while workers prove on the same cores, a server restart) is made again rather than
    /// failing the round: the watch delivers the current value first, so a result written before
    /// it started, or while it was being replaced, is not missed. The caller bounds the wait.
    pub async fn wait_result(&self, id: &str) -> anyhow::Result<TaskResult> {
        use futures::StreamExt;
        loop {
            let mut watch = self.results.watch_with_history(id).await.context("watching the results bucket")?;
            let broken = loop {
                match watch.next().await {
                    Some(Ok(entry)) if entry.operation == kv::Operation::Put => {
                        return decode_result(id, &entry.value);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break e,
                    None => {
                        anyhow::bail!("the results bucket {} closed while waiting for task {id}", self.names.bucket)
                    }
                }
            };
            tracing::warn!(task = %id, error = %broken, "the watch of the results bucket broke: watching again");
            tokio::time::sleep(REWATCH_DELAY).await;
        }
    }
}

/// The pause before a broken watch of the results bucket is made again.
const REWATCH_DELAY: Duration = Duration::from_millis(500);

/// The stream behind a key-value bucket holding the latest value per key (async-nats'
/// `kv_to_stream_config` for history 1, file storage, [`RESULT_TTL`]).
fn results_stream(bucket: &str) -> stream::Config {
    stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age: RESULT_TTL,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    }
}

fn decode_result(id: &str, bytes: &[u8]) -> anyhow::Result<TaskResult> {
    serde_json::from_slice(bytes).with_context(|| format!("the result of task {id} is not a task result"))
}
