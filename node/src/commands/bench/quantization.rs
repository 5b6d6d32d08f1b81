//! `fedproof bench quantization`: what the round statement's fixed-point arithmetic (8-bit
//! clipped, stochastically rounded updates; 24-bit model; integer server step γ) costs in test
//! accuracy against float FedAvg, on the digits data set with non-IID trainers.

use std::fmt::Write;

use anyhow::{ensure, Context};
use clap::Args;
use fedproof_prover::fixed_point::Encoding;
use serde::Serialize;

use fedproof::progress;
use fedproof::training::data::{dirichlet_partition, load_digits, train_test_split, Dataset};
use fedproof::training::federated::{run_federated, Aggregation, FederatedConfig, FederatedOutcome, FixedPointConfig};
use fedproof::training::mlp::{Mlp, TrainConfig};

use crate::commands::args::{OutputArgs, ReportArgs};

/// Share of the data the owner holds back for evaluation.
const TEST_FRACTION: f64 = 0.2;
/// Fewest samples a trainer may be dealt by the Dirichlet partition.
const MIN_SAMPLES_PER_TRAINER: usize = 10;
/// Largest accuracy cost, in points, that counts as "quantization is free".
const TARGET_COST_POINTS: f64 = 0.5;

/// Options of the quantization benchmark.
#[derive(Args, Debug)]
pub struct QuantizationArgs {
    /// Number of trainers.
    #[arg(long, default_value_t = 10)]
    trainers: usize,
    /// Number of federated rounds.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Dirichlet α of the label skew (smaller is more non-IID).
    #[arg(long, default_value_t = 0.5)]
    alpha: f64,
    /// First seed; each repeat uses the next one (split, partition, init, training, rounding).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of seeds to average over.
    #[arg(long, default_value_t = 3)]
    repeats: u64,
    /// Local SGD learning rate.
    #[arg(long, default_value_t = 0.1)]
    local_lr: f64,
    /// Local epochs per round.
    #[arg(long, default_value_t = 5)]
    local_epochs: usize,
    /// Local minibatch size.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Server learning rate η.
    #[arg(long, default_value_t = 1.0)]
    server_lr: f64,
    /// Fractional bits of the 8-bit update encoding to try (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "6,7,8,9,10")]
    update_frac_bits: Vec<u32>,
    /// Fractional bits of the 24-bit model encoding to try (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "16,20")]
    model_frac_bits: Vec<u32>,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// One fixed-point configuration's figures, averaged over the seeds.
#[derive(Debug, Clone, Serialize)]
struct ConfigResult {
    update_frac_bits: u32,
    model_frac_bits: u32,
    clip_bound: f64,
    /// η actually applied by the integer step γ (differs from η by the floors).
    effective_server_lr: f64,
    clipped_fraction: f64,
    /// Mean final test accuracy, in percent.
    accuracy: f64,
    /// Mean of (fixed-point − float) accuracy per seed, in points; negative is a cost.
    delta_points: f64,
    /// Root-mean-square distance between the final fixed-point and float models, averaged over
    /// seeds: a less noisy view of the drift than accuracy on 359 test images.
    model_rms_diff: f64,
    /// Smallest and largest per-seed delta, in points.
    delta_points_min: f64,
    delta_points_max: f64,
    /// Final accuracy per seed, in percent.
    accuracy_per_seed: Vec<f64>,
}

/// Percentiles of |Δ| over every update value of the float runs.
#[derive(Debug, Clone, Serialize)]
struct Magnitudes {
    p50: f64,
    p90: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

/// The benchmark's JSON document.
#[derive(Debug, Serialize)]
struct Report {
    float_accuracy: f64,
    float_accuracy_per_seed: Vec<f64>,
    configs: Vec<ConfigResult>,
    recommended: Option<ConfigResult>,
    recommended_meets_target: bool,
    target_cost_points: f64,
    update_magnitudes: Magnitudes,
    seeds: Vec<u64>,
    trainers: usize,
    rounds: usize,
    alpha: f64,
    local_lr: f64,
    local_epochs: usize,
    batch_size: usize,
    server_lr: f64,
}

/// The data and starting point one seed gives every run.
struct Setup {
    shards: Vec<Dataset>,
    test: Dataset,
    initial: Vec<f64>,
}

fn setup(data: &Dataset, args: &QuantizationArgs, seed: u64) -> anyhow::Result<Setup> {
    let (train, test) = train_test_split(data, TEST_FRACTION, seed)?;
    let shards = dirichlet_partition(&train.labels, args.trainers, args.alpha, MIN_SAMPLES_PER_TRAINER, seed)?
        .iter()
        .map(|rows| train.select(rows))
        .collect();
    Ok(Setup { shards, test, initial: Mlp::init(seed).to_flat() })
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

/// Among configs whose mean accuracy cost is within the target, the one whose final model stays
/// closest to float FedAvg: accuracy differences between good configs are a test image or two,
/// i.e. noise, while the model distance shows the rounding-versus-clipping trade-off clearly.
/// Without such a config, the one with the smallest cost.
fn recommend(configs: &[ConfigResult]) -> Option<ConfigResult> {
    let within = configs.iter().filter(|c| c.delta_points > -TARGET_COST_POINTS);
    within
        .min_by(|a, b| a.model_rms_diff.total_cmp(&b.model_rms_diff))
        .or_else(|| configs.iter().max_by(|a, b| a.delta_points.total_cmp(&b.delta_points)))
        .cloned()
}

fn rms_distance(a: &[f64], b: &[f64]) -> f64 {
    let sum: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    (sum / a.len().max(1) as f64).sqrt()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

impl QuantizationArgs {
    /// Runs the benchmark and prints (and writes) its report.
    pub fn run(self) -> anyhow::Result<()> {
        ensure!(self.repeats > 0, "need at least one seed");
        ensure!(!self.update_frac_bits.is_empty() && !self.model_frac_bits.is_empty(), "no configs");
        let fixed_configs = self.fixed_configs();
        let seeds: Vec<u64> = (0..self.repeats).map(|i| self.seed + i).collect();
        let runs = run_seeds(&self, &fixed_configs, &seeds)?;
        let report = runs.report(&self, &fixed_configs, seeds)?;
        self.output.print(&report, || table(&report, &self.update_frac_bits))?;
        self.report.write(&report)
    }

    /// Every (model bits, update bits) pair to try.
    fn fixed_configs(&self) -> Vec<FixedPointConfig> {
        self.model_frac_bits
            .iter()
            .flat_map(|&m| {
                self.update_frac_bits.iter().map(move |&u| FixedPointConfig { update_frac_bits: u, model_frac_bits: m })
            })
            .collect()
    }

    /// Rounds, server η and local SGD of every run.
    fn federated(&self) -> FederatedConfig {
        FederatedConfig {
            rounds: self.rounds,
            server_lr: self.server_lr,
            local: TrainConfig { lr: self.local_lr, epochs: self.local_epochs, batch_size: self.batch_size },
        }
    }
}

/// Per-seed figures of every run: the float baseline's, and per fixed-point config
/// (`accuracy[config][seed]` and so on).
#[derive(Default)]
struct Runs {
    float_accuracy: Vec<f64>,
    magnitudes: Vec<f64>,
    accuracy: Vec<Vec<f64>>,
    clipped: Vec<Vec<f64>>,
    rms_diff: Vec<Vec<f64>>,
}

/// For every seed, one float FedAvg run and one run per fixed-point config from the same start.
fn run_seeds(args: &QuantizationArgs, fixed_configs: &[FixedPointConfig], seeds: &[u64]) -> anyhow::Result<Runs> {
    let config = args.federated();
    let data = load_digits()?;
    let runs_per_seed = 1 + fixed_configs.len() as u64;
    let progress = progress::bar(seeds.len() as u64 * runs_per_seed * args.rounds as u64, "rounds");
    let per_config = vec![Vec::new(); fixed_configs.len()];
    let mut runs =
        Runs { accuracy: per_config.clone(), clipped: per_config.clone(), rms_diff: per_config, ..Runs::default() };
    for &seed in seeds {
        let s = setup(&data, args, seed)?;
        let mut tick = || progress.inc(1);
        progress.set_message(format!("seed {seed}: float"));
        let float: FederatedOutcome =
            run_federated(&s.initial, &s.shards, &s.test, &config, Aggregation::Float, seed, &mut tick)
                .with_context(|| format!("float run, seed {seed}"))?;
        runs.float_accuracy.push(100.0 * float.final_accuracy());
        runs.magnitudes.extend(float.update_magnitudes.iter());
        for (i, fp) in fixed_configs.iter().enumerate() {
            progress.set_message(format!("seed {seed}: u.f{} m.f{}", fp.update_frac_bits, fp.model_frac_bits));
            let outcome =
                run_federated(&s.initial, &s.shards, &s.test, &config, Aggregation::FixedPoint(*fp), seed, &mut tick)
                    .with_context(|| {
                    format!("fixed point u.f{} m.f{}, seed {seed}", fp.update_frac_bits, fp.model_frac_bits)
                })?;
            runs.accuracy[i].push(100.0 * outcome.final_accuracy());
            runs.clipped[i].push(outcome.clipped_fraction());
            runs.rms_diff[i].push(rms_distance(&outcome.final_model, &float.final_model));
        }
    }
    progress.finish_and_clear();
    Ok(runs)
}

impl Runs {
    /// Averages over the seeds, and picks the recommended config.
    fn report(
        mut self,
        args: &QuantizationArgs,
        fixed_configs: &[FixedPointConfig],
        seeds: Vec<u64>,
    ) -> anyhow::Result<Report> {
        self.magnitudes.sort_unstable_by(f64::total_cmp);
        let m = &self.magnitudes;
        let update_magnitudes = Magnitudes {
            p50: percentile(m, 0.5),
            p90: percentile(m, 0.9),
            p99: percentile(m, 0.99),
            p999: percentile(m, 0.999),
            max: m.last().copied().unwrap_or(0.0),
        };
        let configs = fixed_configs
            .iter()
            .enumerate()
            .map(|(i, fp)| self.config_result(i, fp, args))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let recommended = recommend(&configs);
        Ok(Report {
            float_accuracy: mean(&self.float_accuracy),
            float_accuracy_per_seed: self.float_accuracy,
            recommended_meets_target: recommended.as_ref().is_some_and(|r| r.delta_points > -TARGET_COST_POINTS),
            configs,
            recommended,
            target_cost_points: TARGET_COST_POINTS,
            update_magnitudes,
            seeds,
            trainers: args.trainers,
            rounds: args.rounds,
            alpha: args.alpha,
            local_lr: args.local_lr,
            local_epochs: args.local_epochs,
            batch_size: args.batch_size,
            server_lr: args.server_lr,
        })
    }

    /// Config `i`'s figures, averaged over the seeds.
    fn config_result(&self, i: usize, fp: &FixedPointConfig, args: &QuantizationArgs) -> anyhow::Result<ConfigResult> {
        let deltas: Vec<f64> = self.accuracy[i].iter().zip(&self.float_accuracy).map(|(q, f)| q - f).collect();
        Ok(ConfigResult {
            update_frac_bits: fp.update_frac_bits,
            model_frac_bits: fp.model_frac_bits,
            clip_bound: fp.update().clip_bound(),
            effective_server_lr: fp.effective_server_lr(args.server_lr, args.trainers)?,
            clipped_fraction: mean(&self.clipped[i]),
            accuracy: mean(&self.accuracy[i]),
            delta_points: mean(&deltas),
            model_rms_diff: mean(&self.rms_diff[i]),
            delta_points_min: deltas.iter().copied().fold(f64::INFINITY, f64::min),
            delta_points_max: deltas.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            accuracy_per_seed: self.accuracy[i].clone(),
        })
    }
}

/// The human-readable table.
fn table(r: &Report, update_frac_bits: &[u32]) -> String {
    let mut t = String::new();
    write_table(&mut t, r, update_frac_bits).expect("writing to a String");
    t
}

fn write_table(t: &mut String, r: &Report, update_frac_bits: &[u32]) -> std::fmt::Result {
    writeln!(
        t,
        "digits, {} trainers, {} rounds, Dirichlet α={}, seeds {:?}; local lr {} × {} epochs, \
         batch {}; server η {}",
        r.trainers, r.rounds, r.alpha, r.seeds, r.local_lr, r.local_epochs, r.batch_size, r.server_lr
    )?;
    let m = &r.update_magnitudes;
    writeln!(
        t,
        "update |Δ| (float runs, all values): p50 {:.4}  p90 {:.4}  p99 {:.4}  p99.9 {:.4}  max {:.4}",
        m.p50, m.p90, m.p99, m.p999, m.max
    )?;
    let bounds: Vec<String> =
        update_frac_bits.iter().map(|&f| format!("f{f}: ±{:.4}", Encoding::update(f).clip_bound())).collect();
    writeln!(t, "8-bit clip bounds: {}", bounds.join("  "))?;
    writeln!(t)?;
    writeln!(
        t,
        "{:<18} {:>10} {:>7} {:>9} {:>10} {:>10} {:>14} {:>9}",
        "config", "clip bound", "eff. η", "clipped %", "accuracy %", "Δ vs float", "Δ range (pts)", "rms Δw"
    )?;
    writeln!(
        t,
        "{:<18} {:>10} {:>7.4} {:>9} {:>10.2} {:>10} {:>14} {:>9}",
        "float FedAvg", "-", r.server_lr, "-", r.float_accuracy, "-", "-", "-"
    )?;
    for c in &r.configs {
        let is_default = FixedPointConfig::default()
            == FixedPointConfig { update_frac_bits: c.update_frac_bits, model_frac_bits: c.model_frac_bits };
        writeln!(
            t,
            "{:<18} {:>10.4} {:>7.4} {:>9.3} {:>10.2} {:>+10.2} {:>14} {:>9.5}",
            format!("u8.f{} / m24.f{}{}", c.update_frac_bits, c.model_frac_bits, if is_default { " *" } else { "" }),
            c.clip_bound,
            c.effective_server_lr,
            100.0 * c.clipped_fraction,
            c.accuracy,
            c.delta_points,
            format!("{:+.2}..{:+.2}", c.delta_points_min, c.delta_points_max),
            c.model_rms_diff,
        )?;
    }
    writeln!(t, "(* = FixedPointConfig::default())")?;
    if let Some(best) = &r.recommended {
        writeln!(t)?;
        writeln!(
            t,
            "recommended: update f{} / model f{}: {:+.2} points vs float ({} the {:.1}-point target)",
            best.update_frac_bits,
            best.model_frac_bits,
            best.delta_points,
            if r.recommended_meets_target { "within" } else { "MISSES" },
            r.target_cost_points
        )?;
    }
    Ok(())
}
