//! `fedproof aggregator …`: make the key trainers seal updates to; prove and settle every round.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use fedproof::roles::aggregator;
use fedproof_prover::keys::KeyStore;
use fedproof_storage::sealed::AggregatorKey;

use super::{print, JobArgs};

/// Options of `aggregator run`.
#[derive(Args, Debug)]
pub struct AggregatorArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Key cache directory (default: $FEDPROOF_HOME/keys or .fedproof/keys).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// The age identity file updates are sealed to (made by `aggregator keygen`).
    #[arg(long, default_value = ".fedproof/aggregator.age")]
    sealing_key: PathBuf,
    /// Seconds to wait, once every trainer has committed, for updates still being uploaded.
    #[arg(long, default_value_t = 30)]
    upload_grace: u64,
}

/// Options of `aggregator keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the new age identity (never overwritten; readable by its owner only).
    #[arg(long, default_value = ".fedproof/aggregator.age")]
    out: PathBuf,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

/// Writes a new sealing key and prints its public half for `owner create-job --aggregator-recipient`.
pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = AggregatorKey::generate();
    key.save(&args.out).context("writing the sealing key (an existing key is never overwritten)")?;
    let recipient = key.recipient();
    print(args.json, &serde_json::json!({ "recipient": recipient, "key_file": args.out }), || {
        format!("sealing key written to {}\nrecipient: {recipient}", args.out.display())
    })
}

/// Runs the aggregator until the job ends.
pub async fn run(args: AggregatorArgs) -> anyhow::Result<()> {
    let sealing = AggregatorKey::load(&args.sealing_key).context("reading --sealing-key")?;
    let (job, storage) = args.job.open().await?;
    let keys = KeyStore::at(args.keys).load_or_setup(job.shape, &mut rand::rngs::OsRng)?;
    let json = args.job.chain.json;
    let settings = aggregator::Settings {
        keys: Arc::new(keys),
        sealing: Arc::new(sealing),
        upload_grace: Duration::from_secs(args.upload_grace),
    };
    let reports = aggregator::run(&job, &storage, &settings, |r| {
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
