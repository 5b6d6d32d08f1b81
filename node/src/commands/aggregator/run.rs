//! `fedproof aggregator run`: watch the chain, prove (here, or on prover workers with `--nats`)
//! and settle every round until the job ends.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use fedproof::roles::aggregator;
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
    /// With --nats: seconds to wait for the workers' proof of one round before giving up.
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
        let keys = store.load_or_setup(job.shape, &mut rand::rngs::OsRng)?;
        let prover = match self.queue.connect().await? {
            Some(queue) => {
                let timeout = Duration::from_secs(self.prove_timeout);
                let recipient = sealing.recipient();
                let remote = RemoteProver::new(queue, &storage, &store, job.shape, recipient, timeout).await?;
                Prover::Workers(Arc::new(remote))
            }
            None => Prover::InProcess,
        };
        let settings = aggregator::Settings {
            keys: Arc::new(keys),
            sealing: Arc::new(sealing),
            prover,
            upload_grace: Duration::from_secs(self.upload_grace),
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
