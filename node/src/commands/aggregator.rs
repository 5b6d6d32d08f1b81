//! `fedproof aggregator run`: prove and settle every round of a job.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use fedproof::roles::aggregator;
use fedproof_prover::keys::KeyStore;

use super::{print, JobArgs};

/// Options of `aggregator run`.
#[derive(Args, Debug)]
pub struct AggregatorArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Key cache directory (default: $FEDPROOF_HOME/keys or .fedproof/keys).
    #[arg(long)]
    keys: Option<PathBuf>,
}

/// Runs the aggregator until the job ends.
pub async fn run(args: AggregatorArgs) -> anyhow::Result<()> {
    let (job, storage) = args.job.open().await?;
    let keys = KeyStore::at(args.keys).load_or_setup(job.shape, &mut rand::rngs::OsRng)?;
    let json = args.job.chain.json;
    let reports = aggregator::run(&job, &storage, Arc::new(keys), |r| {
        if !json {
            println!(
                "round {}: inliers {:?}, proved in {:.1} s, finalize gas {}, tx {}",
                r.round, r.inliers, r.prove_seconds, r.finalize_gas, r.tx
            );
        }
    })
    .await?;
    print(json, &reports, || format!("job {} done after {} rounds", job.id, reports.len()))
}
