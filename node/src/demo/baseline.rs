//! The demo's off-chain comparisons: plain FedAvg of the same trainers' quantized updates, with
//! and without the attackers, so the on-chain robust run can be judged against both.

use crate::training::data::Dataset;
use crate::training::federated::FixedPointConfig;
use crate::training::mlp::Mlp;

use crate::roles::trainer::UpdateSource;
use crate::training::source::MlpSource;

/// Runs `rounds` of FedAvg (`w ← w + η · mean(Δ_i)` in floats over the decoded updates) with the
/// given trainers, returning the test accuracy after the last round.
pub fn fedavg(
    initial: &[i64],
    trainers: &mut [MlpSource],
    rounds: u32,
    eta: f64,
    test: &Dataset,
) -> anyhow::Result<f64> {
    let fp = FixedPointConfig::default();
    let (model_enc, update_enc) = (fp.model(), fp.update());
    let mut w = model_enc.decode(initial);
    for round in 0..rounds {
        let encoded = model_enc.encode(&w, fedproof_prover::fixed_point::Rounding::Nearest)?;
        let mut sum = vec![0.0; w.len()];
        for t in trainers.iter_mut() {
            for (s, d) in sum.iter_mut().zip(update_enc.decode(&t.update(round, &encoded)?)) {
                *s += d;
            }
        }
        let scale = eta / trainers.len() as f64;
        // Keep the model inside its encoding's range, as the fixed-point path must.
        let bound = model_enc.clip_bound();
        for (wi, s) in w.iter_mut().zip(&sum) {
            *wi = (*wi + scale * s).clamp(-bound, bound);
        }
    }
    Ok(Mlp::from_flat(&w)?.accuracy(test))
}
