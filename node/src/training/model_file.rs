//! A job's models and updates as safetensors files of named tensors, in and out of the round
//! statement's fixed-point encodings.
//!
//! An owner posts a job from a model file (its tensors become the job's layout); a trainer who
//! trains with its own code submits an update file of the same tensors; anyone downloads a model
//! as such a file. The layout ([`fedproof_storage::layout`]) flattens by name; this module
//! encodes: models with the model encoding (rounded to nearest, refused beyond its range),
//! updates with the update encoding (clipped to its bound, then stochastically rounded, as the
//! built-in trainer does). Errors name the tensor and the index inside it.

use anyhow::Context;
use fedproof_prover::fixed_point::{EncodingError, Rounding};
use fedproof_storage::layout::Dtype;
use fedproof_storage::{JobSpecBlob, ModelLayout, TensorSpec};

use super::federated::FixedPointConfig;
use super::mlp::{HIDDEN, INPUT, MLP_ARCHITECTURE, OUTPUT};

/// The built-in MLP's tensors in its flat order (`Mlp::to_flat`), so its models download as
/// safetensors files too.
pub fn mlp_layout() -> ModelLayout {
    let tensor =
        |name: &str, shape: &[usize]| TensorSpec { name: name.into(), shape: shape.to_vec(), dtype: Dtype::F32 };
    ModelLayout {
        tensors: vec![
            tensor("w1", &[INPUT, HIDDEN]),
            tensor("b1", &[HIDDEN]),
            tensor("w2", &[HIDDEN, OUTPUT]),
            tensor("b2", &[OUTPUT]),
        ],
    }
}

/// The tensors of a job's model: those its spec records, or the built-in MLP's.
pub fn job_layout(spec: &JobSpecBlob) -> anyhow::Result<ModelLayout> {
    match &spec.layout {
        Some(layout) => Ok(layout.clone()),
        None if spec.model == MLP_ARCHITECTURE => Ok(mlp_layout()),
        None => anyhow::bail!(
            "job {}'s spec records no tensors for its model ({:?}): it cannot be read or written as a model file",
            spec.job_id,
            spec.model
        ),
    }
}

/// Reads an owner's model file: its layout and the values in the model encoding.
pub fn read_model(bytes: &[u8]) -> anyhow::Result<(ModelLayout, Vec<i64>)> {
    let (layout, values) = ModelLayout::read(bytes)?;
    let encoded = FixedPointConfig::default()
        .model()
        .encode(&values, Rounding::Nearest)
        .map_err(|e| located(&layout, e))
        .context("the model's values do not fit the model encoding")?;
    Ok((layout, encoded))
}

/// An update file of `layout`'s tensors in the update encoding: clipped to the encoding's bound
/// (returns how many values were), then stochastically rounded with `seed`.
pub fn read_update(layout: &ModelLayout, bytes: &[u8], seed: u64) -> anyhow::Result<(Vec<i64>, usize)> {
    let values = layout.flatten(bytes)?;
    FixedPointConfig::default().quantize_update(values, seed).map_err(|e| located(layout, e))
}

/// A model of the job `spec` describes (in the model encoding) as a file of its tensors.
pub fn write_model(spec: &JobSpecBlob, values: &[i64]) -> anyhow::Result<Vec<u8>> {
    Ok(job_layout(spec)?.write(&FixedPointConfig::default().model().decode(values))?)
}

/// An encoding error about flat index `i`, told as the tensor and the index inside it.
fn located(layout: &ModelLayout, e: EncodingError) -> anyhow::Error {
    let index = match &e {
        EncodingError::NotFinite { index, .. }
        | EncodingError::OutOfRange { index, .. }
        | EncodingError::IntegerOutOfRange { index, .. } => *index,
        EncodingError::InvalidEncoding(_) => return e.into(),
    };
    match layout.locate(index) {
        Some((name, at)) => anyhow::Error::new(e).context(format!("tensor {name:?}, flat index {at}")),
        None => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::mlp::{Mlp, PARAM_COUNT};

    #[test]
    fn the_mlp_layout_is_its_flat_order() {
        let layout = mlp_layout();
        assert_eq!(layout.params(), PARAM_COUNT);
        let mlp = Mlp::init(3);
        let flat = mlp.to_flat();
        let bytes = layout.write(&flat).unwrap();
        let back = layout.flatten(&bytes).unwrap();
        // Written as F32: equal up to f32 rounding, and in the same order.
        assert!(flat.iter().zip(&back).all(|(a, b)| (a - b).abs() <= a.abs() * 1e-7));
        assert_eq!(back[INPUT * HIDDEN], mlp.b1[0] as f32 as f64);
    }

    #[test]
    fn a_model_out_of_the_model_range_is_refused_with_its_tensor() {
        let layout = ModelLayout {
            tensors: vec![
                TensorSpec { name: "a".into(), shape: vec![2], dtype: Dtype::F32 },
                TensorSpec { name: "b".into(), shape: vec![3], dtype: Dtype::F32 },
            ],
        };
        let bytes = layout.write(&[0.0, 1.0, 0.5, 100.0, -1.0]).unwrap();
        let err = format!("{:#}", read_model(&bytes).unwrap_err());
        assert!(err.contains(r#"tensor "b", flat index 1"#) && err.contains("100"), "{err}");
    }

    #[test]
    fn an_update_is_clipped_counted_and_encoded_in_layout_order() {
        let layout = mlp_layout();
        let mut delta = vec![0.01; PARAM_COUNT];
        delta[0] = 3.0;
        delta[PARAM_COUNT - 1] = -3.0;
        let (encoded, clipped) = read_update(&layout, &layout.write(&delta).unwrap(), 1).unwrap();
        assert_eq!(clipped, 2);
        let max = FixedPointConfig::default().update().max_int();
        assert_eq!((encoded[0], encoded[PARAM_COUNT - 1]), (max, -max));
        assert_eq!(read_update(&layout, &layout.write(&delta).unwrap(), 1).unwrap().0, encoded, "seeded");
    }
}
