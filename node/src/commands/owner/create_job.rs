//! `fedproof owner create-job`: escrow a budget and post a job training the 64-32-10 MLP.

use alloy::primitives::Address;
use clap::Args;
use fedproof::roles::owner::{create_job, JobSpec};
use fedproof::training::federated::FixedPointConfig;
use fedproof::training::mlp::{Mlp, MLP_ARCHITECTURE};
use fedproof_prover::fixed_point::Rounding;
use fedproof_prover::params::{encode_lr, encode_tau};

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
    /// An approved verifier for (trainers × 2410).
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
    /// Seed of the initial model.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    output: OutputArgs,
}

impl CreateJobArgs {
    /// Stores the job spec and posts the job; prints its id.
    pub async fn run(self) -> anyhow::Result<()> {
        let (chain, storage) = self.market.open().await?;
        let spec = mlp_job_spec(&self)?;
        let id = create_job(&chain, self.market.market, &storage, &spec).await?;
        self.output.print(&serde_json::json!({ "job_id": id }), || format!("created job {id}"))
    }
}

/// The job spec of an MLP job from the command line (the model encoding fixes lr's units).
fn mlp_job_spec(a: &CreateJobArgs) -> anyhow::Result<JobSpec> {
    let fp = FixedPointConfig::default();
    anyhow::ensure!(a.tau >= 1.0 && a.tau < 65_536.0, "--tau must be in [1, 65536), got {}", a.tau);
    anyhow::ensure!(a.lr > 0.0 && a.lr < 1024.0, "--lr must be in (0, 1024), got {}", a.lr);
    let initial = fp.model().encode(&Mlp::init(a.seed).to_flat(), Rounding::Nearest)?;
    Ok(JobSpec {
        trainers: a.trainers,
        rounds: a.rounds,
        budget: a.budget,
        stake: a.stake,
        bond: a.bond.unwrap_or(a.budget / u128::from(a.rounds.max(1))),
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
        // At most a round's submit + finalize windows (JobMarket refuses longer).
        dispute_window: a.submit_window.saturating_add(a.finalize_window).min(3600),
        initial_model: initial,
        architecture: MLP_ARCHITECTURE.into(),
        aggregator_recipient: a.aggregator_recipient.clone(),
    })
}
