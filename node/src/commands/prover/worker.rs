//! `fedproof prover worker`: prove round tasks from a NATS JetStream work queue, one at a time,
//! until stopped. With `--json`, one JSON line per event (ready, taken, skipped, proved, failed).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use fedproof::proving::worker::{self, WorkerEvent, WorkerSettings};
use fedproof_storage::sealed::AggregatorKey;
use fedproof_storage::Storage;

use crate::commands::args::{OutputArgs, QueueArgs};

/// Options of `fedproof prover worker`.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    queue: QueueArgs,
    /// Blob storage the tasks and proving keys are in: a directory, file://… or s3://bucket/prefix.
    #[arg(long, default_value = ".fedproof/storage")]
    storage: String,
    /// The aggregator's age identity file: tasks hold the trainers' updates, sealed to it.
    #[arg(long, default_value = ".fedproof/aggregator.age")]
    sealing_key: PathBuf,
    /// Seconds a task may go unacknowledged before the queue gives it to another worker (fixed
    /// when the queue's consumer is first made).
    #[arg(long, default_value_t = 30)]
    ack_wait: u64,
    /// This worker's name in results (default: worker-PID).
    #[arg(long)]
    name: Option<String>,
    /// Stop after this many tasks (default: run until stopped).
    #[arg(long)]
    max_tasks: Option<usize>,
    #[command(flatten)]
    output: OutputArgs,
}

impl WorkerArgs {
    /// Runs the worker until it is stopped (SIGINT or SIGTERM) or has done `--max-tasks`.
    pub async fn run(self) -> anyhow::Result<()> {
        let sealing = AggregatorKey::load(&self.sealing_key).context("reading --sealing-key")?;
        let queue = self.queue.connect().await?.context("prover worker needs --nats URL")?;
        let storage = Storage::open(&self.storage)?;
        anyhow::ensure!(self.ack_wait >= 3, "--ack-wait must be at least 3 s (progress is reported every third)");
        let settings = WorkerSettings {
            name: self.name.unwrap_or_else(|| format!("worker-{}", std::process::id())),
            sealing: Arc::new(sealing),
            ack_wait: Duration::from_secs(self.ack_wait),
            max_tasks: self.max_tasks,
        };
        let json = self.output.json;
        let print = |event: &WorkerEvent| {
            if json {
                // One line per event, flushed at once (a supervisor or test reads them live).
                println!("{}", serde_json::to_string(event).unwrap_or_default());
            } else {
                eprintln!("{}", describe(event));
            }
        };
        tokio::select! {
            done = worker::run(&queue, &storage, &settings, print) => {
                let done = done?;
                if !json {
                    println!("{done} tasks done");
                }
                Ok(())
            }
            _ = fedproof::shutdown::requested() => Ok(()),
        }
    }
}

/// One event in words.
fn describe(event: &WorkerEvent) -> String {
    match event {
        WorkerEvent::Ready { worker, queue } => format!("{worker}: waiting for tasks on queue {queue}"),
        WorkerEvent::Taken { task, delivery } => format!("task {task}: taken (delivery {delivery})"),
        WorkerEvent::Skipped { task } => format!("task {task}: already proven, skipped"),
        WorkerEvent::Proved { task, seconds } => format!("task {task}: proved in {seconds:.1} s"),
        WorkerEvent::Failed { task, reason } => format!("task {task}: cannot be proven: {reason}"),
    }
}
