//! One trainer's job: start from the global model, train on local data, return the update.

use super::data::Dataset;
use super::mlp::{Mlp, TrainConfig};

/// Trains from the flat global model on `data` and returns the update `Δ = w_local − w_global`
/// in the flat layout of [`super::mlp`].
pub fn train_local(global: &[f64], data: &Dataset, config: &TrainConfig, seed: u64) -> anyhow::Result<Vec<f64>> {
    let mut model = Mlp::from_flat(global)?;
    model.train(data, config, seed)?;
    Ok(model.to_flat().iter().zip(global).map(|(local, global)| local - global).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::data::load_digits;
    use crate::training::mlp::PARAM_COUNT;

    #[test]
    fn update_is_the_difference_and_is_seeded() {
        let data = load_digits().expect("digits").select(&(0..100).collect::<Vec<_>>());
        let global = Mlp::init(3).to_flat();
        let config = TrainConfig { lr: 0.1, epochs: 2, batch_size: 16 };
        let delta = train_local(&global, &data, &config, 9).expect("train");
        assert_eq!(delta.len(), PARAM_COUNT);
        assert!(delta.iter().any(|d| *d != 0.0));
        assert_eq!(delta, train_local(&global, &data, &config, 9).expect("train"));
        assert_ne!(delta, train_local(&global, &data, &config, 10).expect("train"));

        let mut local = Mlp::init(3);
        local.train(&data, &config, 9).expect("train");
        let applied: Vec<f64> = global.iter().zip(&delta).map(|(g, d)| g + d).collect();
        for (a, b) in applied.iter().zip(local.to_flat()) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
