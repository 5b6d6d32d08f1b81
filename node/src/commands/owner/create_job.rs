//! `fedproof owner create-job`: escrow a budget and post a job training the owner's model (a
//! safetensors file) or the built-in 64-32-10 MLP.

use std::path::PathBuf;

use alloy::primitives::Address;
use anyhow::Context;
use clap::Args;
use fedproof::roles::owner::{create_job, JobModel, JobRequest, JobSpec};
use fedproof::training::federated::FixedPointConfig;
use fedproof::training::mlp::{Mlp, MLP_ARCHITECTURE};
use fedproof::training::model_file::read_model;
use fedproof_prover::fixed_point::Rounding;
use fedproof_storage::Recipe;

use crate::commands::args::{MarketArgs, OutputArgs};

/// Options of `owner create-job`.
#[derive(Args, Debug)]
pub struct CreateJobArgs {
    #[command(flatten)]
    market: MarketArgs,
    /// The aggregator's address.
    #[arg(long)]
    aggregator: Address,
    /// The aggregator's age public key (age1…, from `aggregator keygen`): trainers seal their
    /// updates to it.
    #[arg(long)]
    aggregator_recipient: String,
    /// An approved verifier for (trainers × the model's parameters).
    #[arg(long)]
    verifier: Address,
    /// Trainer slots.
    #[arg(long, default_value_t = 10)]
    trainers: u16,
    /// Rounds.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Budget in wei.
    #[arg(long)]
    budget: u128,
    /// Stake per trainer in wei.
    #[arg(long, default_value_t = 0)]
    stake: u128,
    /// Aggregator bond in wei (default and minimum: a round's budget, budget / rounds).
    #[arg(long)]
    bond: Option<u128>,
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
    /// The initial model: a safetensors file of float tensors (its tensors, in the file's
    /// order, become the job's layout). Without it, the built-in MLP.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The model's name in the job spec (default: the model file's name).
    #[arg(long, requires = "model")]
    architecture: Option<String>,
    /// Where the training recipe trainers are expected to run is (a CID or URL).
    #[arg(long, requires = "recipe_sha256")]
    recipe: Option<String>,
    /// SHA-256 of the recipe (64 hex digits).
    #[arg(long, requires = "recipe")]
    recipe_sha256: Option<String>,
    /// Seed of the built-in MLP's initial model.
    #[arg(long, default_value_t = 1, conflicts_with = "model")]
    seed: u64,
    #[command(flatten)]
    output: OutputArgs,
}

impl CreateJobArgs {
    /// Stores the job spec and posts the job; prints its id.
    pub async fn run(self) -> anyhow::Result<()> {
        let (chain, storage) = self.market.open().await?;
        let spec = job_spec(&self)?;
        let id = create_job(&chain, self.market.market, &storage, &spec).await?;
        self.output.print(&serde_json::json!({ "job_id": id }), || format!("created job {id}"))
    }
}

/// The model the job trains: the `--model` file, or the built-in MLP from `--seed`.
fn job_model(a: &CreateJobArgs) -> anyhow::Result<JobModel> {
    let recipe = match (&a.recipe, &a.recipe_sha256) {
        (Some(uri), Some(sha256)) => Some(Recipe::new(uri, sha256)?),
        _ => None,
    };
    let Some(path) = &a.model else {
        let initial = FixedPointConfig::default().model().encode(&Mlp::init(a.seed).to_flat(), Rounding::Nearest)?;
        return Ok(JobModel { initial, layout: None, architecture: MLP_ARCHITECTURE.into(), recipe });
    };
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (layout, initial) = read_model(&bytes).with_context(|| format!("reading {}", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let architecture = a.architecture.clone().or(name).unwrap_or_else(|| "custom".into());
    Ok(JobModel { initial, layout: Some(layout), architecture, recipe })
}

/// The job spec from the command line.
fn job_spec(a: &CreateJobArgs) -> anyhow::Result<JobSpec> {
    let request = JobRequest {
        trainers: a.trainers,
        rounds: a.rounds,
        budget: a.budget,
        stake: a.stake,
        bond: a.bond,
        aggregator: a.aggregator,
        verifier: a.verifier,
        aggregator_recipient: a.aggregator_recipient.clone(),
        max_malicious: a.max_malicious,
        tau: a.tau,
        lr: a.lr,
        start_delay: a.start_delay,
        submit_window: a.submit_window,
        finalize_window: a.finalize_window,
    };
    request.spec(job_model(a)?)
}
