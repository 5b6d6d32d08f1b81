//! `fedproof owner …`: post a job, follow it, download its model.

use std::path::PathBuf;

use alloy::primitives::Address;
use anyhow::Context;
use clap::{Args, Subcommand};
use fedproof::roles::owner::{create_job, latest_model, status, JobSpec};
use fedproof::training::data::load_csv;
use fedproof::training::federated::FixedPointConfig;
use fedproof::training::mlp::{Mlp, MLP_ARCHITECTURE};
use fedproof_prover::fixed_point::Rounding;
use fedproof_prover::params::{encode_lr, encode_tau};
use fedproof_storage::Storage;

use super::{print, ChainArgs, JobArgs};

/// Owner commands.
#[derive(Subcommand, Debug)]
pub enum OwnerCommand {
    /// Escrow a budget and post a job training the 64-32-10 MLP.
    CreateJob(CreateArgs),
    /// Print a job's state.
    Status(JobArgs),
    /// Write the latest global model (checked against the chain) to a JSON file.
    DownloadModel {
        #[command(flatten)]
        job: JobArgs,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// The owner's held-out test set (CSV, as `data split` writes it): also report the
        /// model's accuracy on it.
        #[arg(long)]
        test_data: Option<PathBuf>,
    },
}

/// Options of `owner create-job`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// JobMarket address.
    #[arg(long)]
    market: Address,
    /// Blob storage: a directory, file://… or s3://bucket/prefix.
    #[arg(long, default_value = ".fedproof/storage")]
    storage: String,
    /// The aggregator's address.
    #[arg(long)]
    aggregator: Address,
    /// The aggregator's age public key (age1…, from `aggregator keygen`): trainers seal their
    /// updates to it.
    #[arg(long)]
    aggregator_recipient: String,
    /// An approved verifier for (trainers × 2410).
    #[arg(long)]
    verifier: Address,
    /// Trainer slots.
    #[arg(long, default_value_t = 10)]
    trainers: u8,
    /// Rounds.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Budget in wei.
    #[arg(long)]
    budget: u128,
    /// Stake per trainer in wei.
    #[arg(long, default_value_t = 0)]
    stake: u128,
    /// Aggregator bond in wei.
    #[arg(long, default_value_t = 0)]
    bond: u128,
    /// Bound on malicious trainers.
    #[arg(long, default_value_t = 3)]
    max_malicious: u8,
    /// Outlier threshold τ (Krum score relative to the median).
    #[arg(long, default_value_t = 1.5)]
    tau: f64,
    /// Server learning rate η of round 0.
    #[arg(long, default_value_t = 1.0)]
    lr: f64,
    /// Seconds until round 0 opens (trainers join before).
    #[arg(long, default_value_t = 60)]
    start_delay: u64,
    /// Submission window per round (seconds).
    #[arg(long, default_value_t = 600)]
    submit_window: u32,
    /// Finalization window per round (seconds).
    #[arg(long, default_value_t = 600)]
    finalize_window: u32,
    /// Seed of the initial model.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs an owner command.
pub async fn run(cmd: OwnerCommand) -> anyhow::Result<()> {
    match cmd {
        OwnerCommand::CreateJob(a) => {
            let chain = a.chain.connect().await?;
            let storage = Storage::open(&a.storage)?;
            let spec = mlp_job_spec(&a)?;
            let id = create_job(&chain, a.market, &storage, &spec).await?;
            print(a.chain.json, &serde_json::json!({ "job_id": id }), || format!("created job {id}"))
        }
        OwnerCommand::Status(a) => {
            let (job, _) = a.open().await?;
            let s = status(&job).await?;
            print(a.chain.json, &s, || {
                format!(
                    "job {}: {} round {}/{}, {}/{} joined, {} submitted, escrow {} wei",
                    s.job_id, s.status, s.round, s.rounds, s.joined, s.trainers, s.submitted, s.escrow
                )
            })
        }
        OwnerCommand::DownloadModel { job: a, out, test_data } => {
            let test = test_data.as_deref().map(load_csv).transpose()?;
            let (job, storage) = a.open().await?;
            let model = latest_model(&job, &storage).await?;
            std::fs::write(&out, serde_json::to_vec(&model)?).with_context(|| format!("writing {}", out.display()))?;
            let accuracy = match &test {
                Some(test) => {
                    let weights = FixedPointConfig::default().model().decode(&model.values);
                    Some(Mlp::from_flat(&weights).context("the job's model is not the digits MLP")?.accuracy(test))
                }
                None => None,
            };
            let summary =
                serde_json::json!({ "job_id": model.job_id, "round": model.round, "out": out, "accuracy": accuracy });
            print(a.chain.json, &summary, || {
                let mut line = format!("model of round {} written to {}", model.round, out.display());
                if let Some(acc) = accuracy {
                    line += &format!(" (held-out accuracy {:.2} %)", 100.0 * acc);
                }
                line
            })
        }
    }
}

/// The job spec of an MLP job from the command line (the model encoding fixes lr's units).
fn mlp_job_spec(a: &CreateArgs) -> anyhow::Result<JobSpec> {
    let fp = FixedPointConfig::default();
    anyhow::ensure!(a.tau >= 1.0 && a.tau < 65_536.0, "--tau must be in [1, 65536), got {}", a.tau);
    anyhow::ensure!(a.lr > 0.0 && a.lr < 1024.0, "--lr must be in (0, 1024), got {}", a.lr);
    let initial = fp.model().encode(&Mlp::init(a.seed).to_flat(), Rounding::Nearest)?;
    Ok(JobSpec {
        trainers: a.trainers,
        rounds: a.rounds,
        budget: a.budget,
        stake: a.stake,
        bond: a.bond,
        aggregator: a.aggregator,
        verifier: a.verifier,
        max_malicious: a.max_malicious,
        tau: encode_tau(a.tau)?,
        lr: encode_lr(a.lr, &fp.update(), &fp.model())?,
        lr_decay: 0,
        dup_tol: initial.len() as u32,
        start_delay: a.start_delay,
        submit_window: a.submit_window,
        finalize_window: a.finalize_window,
        dispute_window: 3600,
        initial_model: initial,
        architecture: MLP_ARCHITECTURE.into(),
        aggregator_recipient: a.aggregator_recipient.clone(),
    })
}
