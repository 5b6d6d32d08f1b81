//! `fedproof bench prover`: setup (cached), prove and verify one synthetic round.

use std::time::Instant;

use anyhow::Context;
use clap::Args;
use fedproof_prover::keys::KeyKind;
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::round::{RoundWitness, StepConstraints};
use fedproof_prover::snark;
use rand::rngs::OsRng;
use rand::SeedableRng;
use serde::Serialize;

use fedproof::progress;

use super::peak_rss_bytes;
use crate::commands::args::{KeysArgs, OutputArgs, ReportArgs, ShapeArgs};

/// Options of `fedproof bench prover`.
#[derive(Args)]
pub struct ProverArgs {
    #[command(flatten)]
    shape: ShapeArgs,
    /// Planted malicious updates (sign-flip, noise, Sybil, zero in turn).
    #[arg(long, default_value_t = 0)]
    malicious: usize,
    /// Seed of the synthetic round.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    keys: KeysArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// The benchmark's JSON document.
#[derive(Serialize)]
struct ProverFigures {
    trainers: usize,
    params: usize,
    malicious: usize,
    constraints: usize,
    constraints_per_update_param: f64,
    /// Constraints per step of the statement (`snark::constraint_breakdown`), in order.
    steps: Vec<StepConstraints>,
    setup_s: Option<f64>,
    keys_cached: bool,
    key_load_s: f64,
    prove_s: f64,
    verify_s: f64,
    verified: bool,
    proving_key_bytes: u64,
    peak_rss_bytes: Option<u64>,
    flagged: Vec<usize>,
    planted: Vec<usize>,
}

impl ProverArgs {
    /// Runs the benchmark and prints (and writes) its figures; fails if the proof did not verify.
    pub fn run(self) -> anyhow::Result<()> {
        let figures = measure(&self)?;
        self.output.print(&figures, || table(&figures))?;
        self.report.write(&figures)?;
        anyhow::ensure!(figures.verified, "the proof did not verify");
        Ok(())
    }
}

/// Counts constraints, sets up or loads the keys, proves and verifies one synthetic round.
fn measure(args: &ProverArgs) -> anyhow::Result<ProverFigures> {
    let shape = args.shape.shape()?;
    anyhow::ensure!(args.malicious < shape.trainers, "--malicious must be below --trainers ({})", shape.trainers);
    let store = args.keys.store();

    let bar = progress::spinner(format!("{shape}: counting constraints"));
    let constraints = snark::constraint_count(shape)?;
    let steps = snark::constraint_breakdown(shape)?;
    bar.set_message(format!("{shape}: setup or load keys ({constraints} constraints)"));
    let keys = store.load_or_setup(shape, &mut OsRng).context("loading or generating keys")?;
    let proving_key_bytes = std::fs::metadata(store.path(&shape, KeyKind::Proving))?.len();

    bar.set_message(format!("{shape}: proving"));
    let sample = synthetic(shape, args.malicious, args.seed);
    let witness = RoundWitness::new(sample.input)?;
    let public = witness.public.clone();
    let inliers = witness.output.inliers.clone();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(args.seed);
    let start = Instant::now();
    let proof = snark::prove(&keys.pk, witness, &mut rng)?;
    let prove_s = start.elapsed().as_secs_f64();

    bar.set_message(format!("{shape}: verifying"));
    let start = Instant::now();
    let verified = snark::verify(&keys.vk, &public, &proof)?;
    let verify_s = start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    Ok(ProverFigures {
        trainers: shape.trainers,
        params: shape.params,
        malicious: args.malicious,
        constraints,
        constraints_per_update_param: constraints as f64 / (shape.trainers * shape.params) as f64,
        steps,
        setup_s: keys.setup_seconds,
        keys_cached: !keys.generated,
        key_load_s: if keys.generated { 0.0 } else { keys.seconds },
        prove_s,
        verify_s,
        verified,
        proving_key_bytes,
        peak_rss_bytes: peak_rss_bytes(),
        flagged: (0..shape.trainers).filter(|&i| !inliers[i]).collect(),
        planted: sample.attacks.iter().enumerate().filter(|(_, a)| a.is_some()).map(|(i, _)| i).collect(),
    })
}

/// The human-readable figures.
fn table(f: &ProverFigures) -> String {
    let mut t = String::new();
    let secs = |s: Option<f64>| s.map_or("unknown".to_string(), |s| format!("{s:.1} s"));
    t += &format!(
        "prover benchmark: {} trainers × {} params, {} planted outlier(s)\n",
        f.trainers, f.params, f.malicious
    );
    t += &format!(
        "  constraints          {:>12}  ({:.2} per trainer×param)\n",
        f.constraints, f.constraints_per_update_param
    );
    for step in &f.steps {
        t += &format!("    {:<20} {:>10}\n", step.step, step.constraints);
    }
    t += &format!(
        "  setup                {:>12}  ({})\n",
        secs(f.setup_s),
        if f.keys_cached { "cached" } else { "ran now" }
    );
    if f.keys_cached {
        t += &format!("  key load             {:>10.1} s\n", f.key_load_s);
    }
    t += &format!("  prove                {:>10.2} s\n", f.prove_s);
    t += &format!("  verify               {:>10.3} s\n", f.verify_s);
    t += &format!("  proving key          {:>9.1} MB\n", f.proving_key_bytes as f64 / 1e6);
    if let Some(rss) = f.peak_rss_bytes {
        t += &format!("  peak memory          {:>9.1} MB\n", rss as f64 / 1e6);
    }
    t += &format!("  planted outliers     {:?}\n", f.planted);
    t += &format!("  flagged outliers     {:?}\n", f.flagged);
    t += &format!("  proof verified       {:>12}\n", f.verified);
    t
}
