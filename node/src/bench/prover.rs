//! `fedproof bench prover`: setup (cached), prove and verify one synthetic round.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use fedproof_prover::keys::{KeyKind, KeyStore};
use fedproof_prover::round::sample::synthetic;
use fedproof_prover::round::RoundWitness;
use fedproof_prover::shape::Shape;
use fedproof_prover::snark;
use rand::rngs::OsRng;
use rand::SeedableRng;
use serde::Serialize;

use super::{peak_rss_bytes, progress, write_json};

/// Options of `fedproof bench prover`.
#[derive(Args)]
pub struct ProverArgs {
    /// Trainer slots n.
    #[arg(long, default_value_t = 10)]
    trainers: usize,
    /// Model parameters d.
    #[arg(long, default_value_t = 2410)]
    params: usize,
    /// Planted malicious updates (sign-flip, noise, Sybil, zero in turn).
    #[arg(long, default_value_t = 0)]
    malicious: usize,
    /// Seed of the synthetic round.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Key cache directory (default: $FEDPROOF_HOME/keys or .fedproof/keys).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The figures `--json` writes.
#[derive(Serialize)]
struct ProverFigures {
    trainers: usize,
    params: usize,
    malicious: usize,
    constraints: usize,
    constraints_per_update_param: f64,
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

/// Runs the benchmark.
pub fn run(args: ProverArgs) -> anyhow::Result<()> {
    let shape = Shape::new(args.trainers, args.params)?;
    anyhow::ensure!(args.malicious < shape.trainers, "--malicious must be below --trainers ({})", shape.trainers);
    let store = KeyStore::at(args.keys.clone());

    let bar = progress(format!("{shape}: counting constraints"));
    let constraints = snark::constraint_count(shape)?;
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

    let figures = ProverFigures {
        trainers: shape.trainers,
        params: shape.params,
        malicious: args.malicious,
        constraints,
        constraints_per_update_param: constraints as f64 / (shape.trainers * shape.params) as f64,
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
    };
    print_table(&figures);
    if let Some(path) = &args.json {
        write_json(path, &figures)?;
    }
    anyhow::ensure!(verified, "the proof did not verify");
    Ok(())
}

fn print_table(f: &ProverFigures) {
    let secs = |s: Option<f64>| s.map_or("unknown".to_string(), |s| format!("{s:.1} s"));
    println!("prover benchmark: {} trainers × {} params, {} planted outlier(s)", f.trainers, f.params, f.malicious);
    println!("  constraints          {:>12}  ({:.2} per trainer×param)", f.constraints, f.constraints_per_update_param);
    println!("  setup                {:>12}  ({})", secs(f.setup_s), if f.keys_cached { "cached" } else { "ran now" });
    if f.keys_cached {
        println!("  key load             {:>10.1} s", f.key_load_s);
    }
    println!("  prove                {:>10.2} s", f.prove_s);
    println!("  verify               {:>10.3} s", f.verify_s);
    println!("  proving key          {:>9.1} MB", f.proving_key_bytes as f64 / 1e6);
    if let Some(rss) = f.peak_rss_bytes {
        println!("  peak memory          {:>9.1} MB", rss as f64 / 1e6);
    }
    println!("  planted outliers     {:?}", f.planted);
    println!("  flagged outliers     {:?}", f.flagged);
    println!("  proof verified       {:>12}", f.verified);
}
