//! `fedproof aggregator run`: watch the chain, prove (here, or on prover workers with `--nats`)
//! and settle every round until the job ends.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use fedproof::roles::aggregator;
use fedproof::roles::chunked::settle::ChunkProving;
use fedproof_prover::keys::Circuit;
use fedproof_storage::sealed::AggregatorKey;

use fedproof::proving::{Prover, RemoteProver};

use crate::commands::args::{JobArgs, KeysArgs, OutputArgs, QueueArgs};

/// Options of `aggregator run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    keys: KeysArgs,
    /// The age identity file updates are sealed to (made by `aggregator keygen`).
    #[arg(long, default_value = ".fedproof/aggregator.age")]
    sealing_key: PathBuf,
    /// Seconds to wait, once every trainer has committed, for updates still being uploaded.
    #[arg(long, default_value_t = 30)]
    upload_grace: u64,
    #[command(flatten)]
    queue: QueueArgs,
    /// With --nats: seconds to wait for the workers' proof of one round (or chunk) before giving up.
    #[arg(long, default_value_t = 3600)]
    prove_timeout: u64,
    #[command(flatten)]
    output: OutputArgs,
}

impl RunArgs {
    /// Runs the aggregator until the job ends, a line per settled round.
    pub async fn run(self) -> anyhow::Result<()> {
        let sealing = AggregatorKey::load(&self.sealing_key).context("reading --sealing-key")?;
        let (job, storage) = self.job.open().await?;
        let store = self.keys.store();
        let queue = self.queue.connect().await?;
        let timeout = Duration::from_secs(self.prove_timeout);
        let recipient = sealing.recipient();
        // A chunked job proves its chunks with the chunk circuit and settles on the final proof.
        let (round_circuit, chunk_circuit) = match job.layout()?.chunking() {
            None => (Circuit::from(job.shape), None),
            Some(c) => (
                Circuit::Final { shape: job.shape, chunks: c.count() },
                Some(Circuit::Chunk { trainers: job.shape.trainers, params: c.chunk_params }),
            ),
        };
        let proving = |circuit: Circuit| {
            let (queue, storage, store, recipient) = (queue.clone(), &storage, &store, recipient.clone());
            async move {
                let keys = Arc::new(store.load_or_setup(circuit, &mut rand::rngs::OsRng)?);
                let prover = match queue {
                    Some(queue) => Prover::Workers(Arc::new(
                        RemoteProver::new(queue, storage, store, circuit, recipient, timeout).await?,
                    )),
                    None => Prover::InProcess,
                };
                anyhow::Ok((keys, prover))
            }
        };
        let (keys, prover) = proving(round_circuit).await?;
        let chunks = match chunk_circuit {
            Some(circuit) => {
                let (keys, prover) = proving(circuit).await?;
                Some(ChunkProving { keys, prover })
            }
            None => None,
        };
        let settings = aggregator::Settings {
            keys,
            sealing: Arc::new(sealing),
            prover,
            upload_grace: Duration::from_secs(self.upload_grace),
            chunks,
        };
        let json = self.output.json;
        let reports = aggregator::run(&job, &storage, &settings, |r| {
            if !json {
                println!(
                    "round {}: inliers {:?}, proved in {:.1} s, finalize gas {}, tx {}",
                    r.round, r.inliers, r.prove_seconds, r.finalize_gas, r.tx
                );
            }
        })
        .await?;
        self.output.print(&reports, || format!("job {} done after {} rounds", job.id, reports.len()))
    }
}
