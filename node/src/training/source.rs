//! A trainer's update source backed by the MLP: decode the global model, train locally, then
//! (for an adversary) corrupt the update, clip and quantize it for submission.

use anyhow::Context;
use fedproof_prover::fixed_point::Rounding;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use super::data::{Dataset, NUM_CLASSES};
use super::federated::FixedPointConfig;
use super::local::train_local;
use super::mlp::TrainConfig;
use crate::roles::trainer::UpdateSource;

/// How an adversarial trainer corrupts its update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Attack {
    /// Trains on labels mapped `y → 9 − y`.
    LabelFlip,
    /// Sends its honest update reversed and scaled by 4.
    SignFlip,
    /// Sends Gaussian noise (σ = 0.2) instead of an update.
    Noise,
    /// Free-rides: sends an all-zero update.
    FreeRide,
    /// A Sybil: several stakes submitting the same update (trainers with this attack and the
    /// same seed and data produce identical updates).
    Sybil,
}

/// Local MLP training as an [`UpdateSource`].
pub struct MlpSource {
    data: Dataset,
    config: TrainConfig,
    encoding: FixedPointConfig,
    seed: u64,
    attack: Option<Attack>,
}

impl MlpSource {
    /// A trainer with private `data`, local SGD `config`, a seed, and an optional attack.
    pub fn new(data: Dataset, config: TrainConfig, seed: u64, attack: Option<Attack>) -> Self {
        let data = match attack {
            Some(Attack::LabelFlip) => {
                Dataset { features: data.features, labels: data.labels.iter().map(|y| NUM_CLASSES - 1 - y).collect() }
            }
            _ => data,
        };
        MlpSource { data, config, encoding: FixedPointConfig::default(), seed, attack }
    }
}

impl UpdateSource for MlpSource {
    fn update(&mut self, round: u32, model: &[i64]) -> anyhow::Result<Vec<i64>> {
        let global = self.encoding.model().decode(model);
        let round_seed = self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(round);
        let mut delta = match self.attack {
            Some(Attack::FreeRide) => vec![0.0; global.len()],
            Some(Attack::Noise) => {
                let normal = Normal::new(0.0, 0.2).context("noise distribution")?;
                let mut rng = ChaCha20Rng::seed_from_u64(round_seed);
                (0..global.len()).map(|_| normal.sample(&mut rng)).collect()
            }
            _ => train_local(&global, &self.data, &self.config, round_seed)?,
        };
        if self.attack == Some(Attack::SignFlip) {
            delta.iter_mut().for_each(|d| *d *= -4.0);
        }
        let encoding = self.encoding.update();
        encoding.clip(&mut delta);
        encoding.encode(&delta, Rounding::Stochastic { seed: round_seed }).context("quantizing the update")
    }
}
