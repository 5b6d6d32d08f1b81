//! The federated simulation: rounds in which every trainer trains from the global model and the
//! server folds the updates in, either as float FedAvg or through the fixed-point arithmetic of
//! fedproof's round statement.

use anyhow::{ensure, Context};
use fedproof_prover::fixed_point::{Encoding, EncodingError, Rounding};

use super::data::Dataset;
use super::local::train_local;
use super::mlp::{Mlp, TrainConfig};

/// Round-level hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FederatedConfig {
    /// Number of rounds.
    pub rounds: usize,
    /// Server learning rate η applied to the mean update.
    pub server_lr: f64,
    /// Local SGD settings used by every trainer.
    pub local: TrainConfig,
}

/// Fractional bits of the two fixed-point formats of the round statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPointConfig {
    /// Fractional bits of the 8-bit update encoding.
    pub update_frac_bits: u32,
    /// Fractional bits of the 24-bit model encoding.
    pub model_frac_bits: u32,
}

/// The recommended encoding: 8 fractional update bits (clip bound ±0.496, above the 99.9th
/// percentile of |Δ| on the digits benchmark, so almost nothing is clipped while the rounding
/// noise stays small) and 20 fractional model bits (so `γ`'s floor costs under 0.2 % of η with
/// ten trainers). It gave the smallest drift from float FedAvg in `fedproof bench quantization`.
impl Default for FixedPointConfig {
    fn default() -> Self {
        let (update, model) = fedproof_prover::round::default_encodings();
        Self { update_frac_bits: update.frac_bits, model_frac_bits: model.frac_bits }
    }
}

impl FixedPointConfig {
    /// The trainers' update encoding.
    pub fn update(&self) -> Encoding {
        Encoding::update(self.update_frac_bits)
    }

    /// Quantizes a trainer's update Δ as every trainer does: values beyond the update
    /// encoding's bound are clipped (returns how many), then each is rounded stochastically with
    /// `seed`. A NaN is an error.
    pub fn quantize_update(&self, mut delta: Vec<f64>, seed: u64) -> Result<(Vec<i64>, usize), EncodingError> {
        let encoding = self.update();
        let bound = encoding.clip_bound();
        let clipped = delta.iter().filter(|d| d.abs() > bound).count();
        encoding.clip(&mut delta);
        Ok((encoding.encode(&delta, Rounding::Stochastic { seed })?, clipped))
    }

    /// The global model's encoding.
    pub fn model(&self) -> Encoding {
        Encoding::model(self.model_frac_bits)
    }

    /// The integer server step `γ = floor(lr_num / count)` with
    /// `lr_num = round(η · 2^(model_frac_bits − update_frac_bits))` (`params::encode_lr`), so that `γ · Σ q_i` on
    /// update integers is (up to the floors) `η · mean(Δ_i)` on the model's grid.
    pub fn gamma(&self, server_lr: f64, count: usize) -> anyhow::Result<i64> {
        ensure!(count > 0, "cannot aggregate zero updates");
        // The same conversion the job's on-chain lr goes through.
        let lr_num = fedproof_prover::params::encode_lr(server_lr, &self.update(), &self.model())?;
        Ok(i64::from(lr_num) / count as i64)
    }

    /// The η the integer step actually applies: `γ · count · 2^(update_frac_bits − model_frac_bits)`.
    pub fn effective_server_lr(&self, server_lr: f64, count: usize) -> anyhow::Result<f64> {
        let shift = f64::from(self.update_frac_bits) - f64::from(self.model_frac_bits);
        Ok(self.gamma(server_lr, count)? as f64 * count as f64 * shift.exp2())
    }
}

/// How the server folds the updates into the global model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// `w ← w + η · mean(Δ_i)` in f64.
    Float,
    /// Clip, stochastically round to 8-bit integers, `w ← w + γ · Σ q_i` on 24-bit integers.
    FixedPoint(FixedPointConfig),
}

/// What a federated run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedOutcome {
    /// Test accuracy after each round, in [0, 1].
    pub round_accuracy: Vec<f64>,
    /// The final global model in the flat layout.
    pub final_model: Vec<f64>,
    /// Update values that exceeded the clip bound (always 0 for float aggregation).
    pub clipped: usize,
    /// Update values sent over the whole run.
    pub update_values: usize,
    /// `|Δ|` of every update value before clipping, in the order sent.
    pub update_magnitudes: Vec<f64>,
}

impl FederatedOutcome {
    /// Test accuracy of the final model (0 when no round ran).
    pub fn final_accuracy(&self) -> f64 {
        self.round_accuracy.last().copied().unwrap_or(0.0)
    }

    /// Fraction of update values that were clipped.
    pub fn clipped_fraction(&self) -> f64 {
        if self.update_values == 0 {
            0.0
        } else {
            self.clipped as f64 / self.update_values as f64
        }
    }
}

/// Purpose tags that keep derived seeds of different uses apart.
#[derive(Debug, Clone, Copy)]
enum SeedUse {
    LocalTraining = 1,
    Rounding = 2,
}

/// A per-(use, round, trainer) seed: SplitMix64 finalisation so neighbouring inputs give
/// unrelated seeds. Float and fixed-point runs share training seeds, so they differ only in the
/// aggregation.
fn derive_seed(seed: u64, purpose: SeedUse, round: usize, trainer: usize) -> u64 {
    let mut z = seed
        ^ (purpose as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93)
        ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (trainer as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The server's copy of the global model.
enum GlobalModel {
    Float(Vec<f64>),
    Fixed { ints: Vec<i64>, encoding: Encoding },
}

impl GlobalModel {
    fn weights(&self) -> Vec<f64> {
        match self {
            GlobalModel::Float(w) => w.clone(),
            GlobalModel::Fixed { ints, encoding } => encoding.decode(ints),
        }
    }
}

/// FedAvg's server step in floats: `w ← w + η · mean(Δ_i)` (no step without updates).
pub fn fedavg_step(w: &mut [f64], updates: &[Vec<f64>], server_lr: f64) {
    if updates.is_empty() {
        return;
    }
    let mut sum = vec![0.0; w.len()];
    for delta in updates {
        for (s, d) in sum.iter_mut().zip(delta) {
            *s += d;
        }
    }
    let scale = server_lr / updates.len() as f64;
    for (wi, s) in w.iter_mut().zip(&sum) {
        *wi += scale * s;
    }
}

/// Runs `config.rounds` rounds from `initial` with one trainer per shard, evaluating on `test`
/// after each round. `seed` drives local shuffling and stochastic rounding; `on_round` is called
/// after every round (for progress reporting).
pub fn run_federated(
    initial: &[f64],
    shards: &[Dataset],
    test: &Dataset,
    config: &FederatedConfig,
    aggregation: Aggregation,
    seed: u64,
    on_round: &mut dyn FnMut(),
) -> anyhow::Result<FederatedOutcome> {
    ensure!(!shards.is_empty(), "need at least one trainer");
    let mut global = match aggregation {
        Aggregation::Float => GlobalModel::Float(initial.to_vec()),
        Aggregation::FixedPoint(fp) => {
            let encoding = fp.model();
            let ints = encoding.encode(initial, Rounding::Nearest).context("encoding the initial model")?;
            GlobalModel::Fixed { ints, encoding }
        }
    };
    let mut outcome = FederatedOutcome {
        round_accuracy: Vec::with_capacity(config.rounds),
        final_model: Vec::new(),
        clipped: 0,
        update_values: 0,
        update_magnitudes: Vec::new(),
    };
    for round in 0..config.rounds {
        let weights = global.weights();
        let mut updates = Vec::with_capacity(shards.len());
        for (trainer, shard) in shards.iter().enumerate() {
            let train_seed = derive_seed(seed, SeedUse::LocalTraining, round, trainer);
            let delta = train_local(&weights, shard, &config.local, train_seed)
                .with_context(|| format!("trainer {trainer} in round {round}"))?;
            outcome.update_values += delta.len();
            outcome.update_magnitudes.extend(delta.iter().map(|d| d.abs()));
            updates.push(delta);
        }
        match (&mut global, aggregation) {
            (GlobalModel::Float(w), _) => fedavg_step(w, &updates, config.server_lr),
            (GlobalModel::Fixed { ints, encoding }, Aggregation::FixedPoint(fp)) => {
                let mut sum = vec![0i64; ints.len()];
                for (trainer, delta) in updates.into_iter().enumerate() {
                    let (q, clipped) = fp
                        .quantize_update(delta, derive_seed(seed, SeedUse::Rounding, round, trainer))
                        .with_context(|| format!("encoding trainer {trainer}'s update in round {round}"))?;
                    outcome.clipped += clipped;
                    for (s, qi) in sum.iter_mut().zip(q) {
                        *s += qi;
                    }
                }
                let gamma = fp.gamma(config.server_lr, shards.len())?;
                for (w, s) in ints.iter_mut().zip(&sum) {
                    *w += gamma * s;
                }
                encoding.check(ints).with_context(|| format!("global model left the 24-bit range in round {round}"))?;
            }
            (GlobalModel::Fixed { .. }, Aggregation::Float) => {
                unreachable!("the model representation follows the aggregation mode")
            }
        }
        let model = Mlp::from_flat(&global.weights())?;
        outcome.round_accuracy.push(model.accuracy(test));
        on_round();
    }
    outcome.final_model = global.weights();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::data::{dirichlet_partition, load_digits, train_test_split};

    #[test]
    fn gamma_follows_the_round_statement() {
        let fp = FixedPointConfig { update_frac_bits: 10, model_frac_bits: 16 };
        // lr_num = round(1.0 · 2^6) = 64, γ = floor(64 / 10) = 6.
        assert_eq!(fp.gamma(1.0, 10).expect("gamma"), 6);
        assert!((fp.effective_server_lr(1.0, 10).expect("lr") - 0.9375).abs() < 1e-12);
        let fine = FixedPointConfig { update_frac_bits: 10, model_frac_bits: 20 };
        assert_eq!(fine.gamma(1.0, 10).expect("gamma"), 102);
        assert!(fp.gamma(1.0, 0).is_err());
    }

    #[test]
    fn derived_seeds_differ_by_use_round_and_trainer() {
        let a = derive_seed(1, SeedUse::LocalTraining, 0, 0);
        assert_ne!(a, derive_seed(1, SeedUse::Rounding, 0, 0));
        assert_ne!(a, derive_seed(1, SeedUse::LocalTraining, 1, 0));
        assert_ne!(a, derive_seed(1, SeedUse::LocalTraining, 0, 1));
        assert_ne!(a, derive_seed(2, SeedUse::LocalTraining, 0, 0));
    }

    #[test]
    fn fixed_point_tracks_float_on_a_short_run() {
        let data = load_digits().expect("digits");
        let (train, test) = train_test_split(&data, 0.2, 1).expect("split");
        let shards: Vec<Dataset> = dirichlet_partition(&train.labels, 5, 0.5, 10, 1)
            .expect("partition")
            .iter()
            .map(|rows| train.select(rows))
            .collect();
        let config =
            FederatedConfig { rounds: 3, server_lr: 1.0, local: TrainConfig { lr: 0.1, epochs: 2, batch_size: 16 } };
        let initial = Mlp::init(1).to_flat();
        let start = Mlp::init(1).accuracy(&test);
        let float =
            run_federated(&initial, &shards, &test, &config, Aggregation::Float, 1, &mut || {}).expect("float run");
        let fp = FixedPointConfig::default();
        let fixed = run_federated(&initial, &shards, &test, &config, Aggregation::FixedPoint(fp), 1, &mut || {})
            .expect("fixed-point run");
        let (f, q) = (float.final_accuracy(), fixed.final_accuracy());
        assert!(f > start + 0.3, "float run did not learn: {start} → {f}");
        assert!((f - q).abs() < 0.03, "float {f} vs fixed-point {q}");
        assert_eq!(float.clipped, 0);
        assert_eq!(fixed.update_values, 3 * 5 * crate::training::mlp::PARAM_COUNT);
        // Same training seeds, and starting points that differ only by the model grid's
        // rounding, so the first round's updates nearly coincide.
        let first = 5 * crate::training::mlp::PARAM_COUNT;
        let gap = float.update_magnitudes[..first]
            .iter()
            .zip(&fixed.update_magnitudes[..first])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(gap < 1e-3, "first-round updates differ by up to {gap}");
    }

    #[test]
    fn a_server_lr_the_contract_cannot_carry_is_refused() {
        let fp = FixedPointConfig::default();
        assert_eq!(fp.gamma(1.0, 4).expect("η = 1"), 4096 / 4);
        let err = fp.gamma(1e9, 1).expect_err("η · 2^12 is beyond the contract's 32-bit lr");
        assert!(format!("{err:#}").contains("lr"), "{err:#}");
    }

    #[test]
    fn a_learning_rate_that_could_overflow_the_model_is_refused() {
        let data = load_digits().expect("digits");
        let shard = data.select(&(0..50).collect::<Vec<_>>());
        // A huge η (one the contract's 32-bit lr field could carry) could push weights past ±2^23
        // quanta in one round: the statement's lr < 2^16 refuses it before training (beyond that
        // bound the model's guard bits could not hold a round's step; within it, weights clamp).
        let config =
            FederatedConfig { rounds: 1, server_lr: 6e4, local: TrainConfig { lr: 0.5, epochs: 3, batch_size: 8 } };
        let fp = FixedPointConfig { update_frac_bits: 4, model_frac_bits: 20 };
        let err = run_federated(
            &Mlp::init(1).to_flat(),
            std::slice::from_ref(&shard),
            &shard,
            &config,
            Aggregation::FixedPoint(fp),
            1,
            &mut || {},
        )
        .expect_err("lr beyond 2^16");
        assert!(format!("{err:#}").contains("not below 2^16"), "{err:#}");
    }
}
