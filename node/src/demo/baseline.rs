//! The demo's off-chain comparisons: plain FedAvg of the same trainers' quantized updates, with
//! and without the attackers, so the on-chain robust run can be judged against both.

use fedproof_prover::fixed_point::Rounding;

use crate::roles::trainer::UpdateSource;
use crate::training::data::Dataset;
use crate::training::federated::{fedavg_step, FixedPointConfig};
use crate::training::mlp::Mlp;
use crate::training::source::MlpSource;

/// Runs `rounds` of FedAvg ([`fedavg_step`] in floats over the decoded updates) with the given
/// trainers, returning the test accuracy after the last round.
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
        let encoded = model_enc.encode(&w, Rounding::Nearest)?;
        let updates = trainers
            .iter_mut()
            .map(|t| Ok(update_enc.decode(&t.update(round, &encoded)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        fedavg_step(&mut w, &updates, eta);
        // Keep the model inside its encoding's range, as the fixed-point path must.
        let bound = model_enc.clip_bound();
        w.iter_mut().for_each(|wi| *wi = wi.clamp(-bound, bound));
    }
    Ok(Mlp::from_flat(&w)?.accuracy(test))
}
