//! A trainer's update source backed by the MLP: decode the global model, train locally, then
//! (for an adversary) corrupt the update, clip and quantize it for submission.

use anyhow::Context;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use super::data::{Dataset, NUM_CLASSES};
use super::federated::FixedPointConfig;
use super::local::train_local;
use super::mlp::TrainConfig;
use crate::roles::trainer::UpdateSource;

/// Local SGD of a trainer of the digits MLP (`trainer run` and every trainer of the demo).
pub const LOCAL_SGD: TrainConfig = TrainConfig { lr: 0.1, epochs: 2, batch_size: 16 };

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
    /// Free-rides on stale work: trains once, then resubmits that round-0 update every round.
    Stale,
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
    /// The update a [`Attack::Stale`] trainer keeps resubmitting.
    stale: Option<Vec<i64>>,
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
        MlpSource { data, config, encoding: FixedPointConfig::default(), seed, attack, stale: None }
    }
}

impl UpdateSource for MlpSource {
    fn update(&mut self, round: u32, model: &[i64]) -> anyhow::Result<Vec<i64>> {
        if let Some(stale) = &self.stale {
            return Ok(stale.clone());
        }
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
        let (update, _) = self.encoding.quantize_update(delta, round_seed).context("quantizing the update")?;
        if self.attack == Some(Attack::Stale) {
            self.stale = Some(update.clone());
        }
        Ok(update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::data::load_digits;
    use crate::training::mlp::Mlp;
    use fedproof_prover::fixed_point::Rounding;

    #[test]
    fn a_stale_trainer_resubmits_its_first_update_and_an_honest_one_does_not() {
        let data = load_digits().expect("digits");
        let shard = data.select(&(0..60).collect::<Vec<_>>());
        let config = TrainConfig { lr: 0.1, epochs: 1, batch_size: 16 };
        let fp = FixedPointConfig::default();
        let model0 = fp.model().encode(&Mlp::init(1).to_flat(), Rounding::Nearest).expect("encode");
        let mut model1 = model0.clone();
        model1.iter_mut().step_by(7).for_each(|v| *v += 1 << 14);
        let mut honest = MlpSource::new(shard.clone(), config, 5, None);
        let mut stale = MlpSource::new(shard, config, 5, Some(Attack::Stale));
        let (h0, s0) = (honest.update(0, &model0).expect("h0"), stale.update(0, &model0).expect("s0"));
        assert_eq!(h0, s0, "round 0 is honest work");
        assert_ne!(honest.update(1, &model1).expect("h1"), h0);
        assert_eq!(stale.update(1, &model1).expect("s1"), s0);
    }
}
