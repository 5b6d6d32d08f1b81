//! A job's model as named tensors: the layout an owner's safetensors file fixes, and the
//! flattening every participant does by it.
//!
//! The round statement sees one parameter vector. A job posted from a model file
//! (`fedproof owner create-job --model init.safetensors`) records the file's tensors — name,
//! shape and dtype, in the file's order — in its spec ([`crate::JobSpecBlob::layout`]);
//! updates (`trainer submit --update`) are read by name against that layout and flattened in its
//! order, and models are written back as files of the same tensors (`owner download-model`).
//! So a PyTorch `state_dict` or Flower's list of NumPy arrays goes in and comes out by name,
//! whatever order another writer puts the tensors in.

use safetensors::tensor::{SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

/// A tensor's element type (safetensors' own).
pub use safetensors::tensor::Dtype;

/// One tensor of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    /// Its name in the safetensors file (e.g. `conv1.weight`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its dtype when written back (a float type: `F16`, `BF16`, `F32` or `F64`).
    pub dtype: Dtype,
}

impl TensorSpec {
    /// Number of values (`usize::MAX` for a shape whose product does not fit, which no file
    /// has: see [`ModelLayout::checked_params`]).
    pub fn len(&self) -> usize {
        self.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d)).unwrap_or(usize::MAX)
    }

    /// Whether it holds no value (a zero in its shape).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A model's tensors in flattening order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelLayout {
    /// The tensors, in the order their values follow each other in the parameter vector.
    pub tensors: Vec<TensorSpec>,
}

/// Where the owner's training recipe is (optional in a spec): what trainers are expected to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// A CID or URL.
    pub uri: String,
    /// SHA-256 of what `uri` names, 64 hex digits, so a trainer can check what it fetched.
    pub sha256: String,
}

impl Recipe {
    /// A recipe reference, its hash checked for form (lower-cased).
    pub fn new(uri: &str, sha256: &str) -> Result<Self, LayoutError> {
        let sha256 = sha256.trim_start_matches("0x").to_ascii_lowercase();
        if uri.is_empty() || sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(LayoutError::Recipe(format!("expected a URI and 64 hex digits, got {uri:?} and {sha256:?}")));
        }
        Ok(Recipe { uri: uri.to_string(), sha256 })
    }
}

/// A model file that does not fit, or cannot carry, a layout. Each says which tensor and why.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// Not a safetensors file.
    #[error("not a safetensors file: {0}")]
    NotSafetensors(String),
    /// A file without tensors.
    #[error("the file holds no tensor")]
    Empty,
    /// A tensor of the layout is missing from the file.
    #[error("tensor {name:?} is missing (the job's model has {expected:?})")]
    Missing {
        /// The missing tensor.
        name: String,
        /// Every tensor the layout names.
        expected: Vec<String>,
    },
    /// The file has a tensor the layout does not name.
    #[error("tensor {name:?} is not part of the job's model (it has {expected:?})")]
    Unexpected {
        /// The extra tensor.
        name: String,
        /// Every tensor the layout names.
        expected: Vec<String>,
    },
    /// A tensor of another shape.
    #[error("tensor {name:?} has shape {found:?}, the job's model has {expected:?}")]
    WrongShape {
        /// The tensor.
        name: String,
        /// Its shape in the layout.
        expected: Vec<usize>,
        /// Its shape in the file.
        found: Vec<usize>,
    },
    /// A tensor that is not of a float dtype.
    #[error("tensor {name:?} has dtype {found:?}; model values must be F16, BF16, F32 or F64")]
    WrongDtype {
        /// The tensor.
        name: String,
        /// Its dtype in the file.
        found: Dtype,
    },
    /// A NaN or infinite value.
    #[error("tensor {name:?} holds {value} at flat index {index} (values must be finite)")]
    NotFinite {
        /// The tensor.
        name: String,
        /// Position inside the tensor (row-major).
        index: usize,
        /// The value.
        value: f64,
    },
    /// Values that do not fill the layout.
    #[error("{found} values for a model of {expected} parameters")]
    WrongLength {
        /// The layout's parameter count.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A malformed recipe reference.
    #[error("recipe: {0}")]
    Recipe(String),
}

impl ModelLayout {
    /// Reads a model file: its layout (every tensor, in the file's order) and its values
    /// flattened in that order. Every tensor must be a finite float tensor. (safetensors
    /// writers store tensors by dtype width, then name; [`ModelLayout::write`] does too, so a
    /// layout read back from its own file may list its tensors in that order.)
    pub fn read(bytes: &[u8]) -> Result<(ModelLayout, Vec<f64>), LayoutError> {
        let file = parse(bytes)?;
        let (_, metadata) =
            SafeTensors::read_metadata(bytes).map_err(|e| LayoutError::NotSafetensors(e.to_string()))?;
        let mut tensors = Vec::new();
        let mut values = Vec::new();
        for name in metadata.offset_keys() {
            let view = file.tensor(&name).map_err(|e| LayoutError::NotSafetensors(e.to_string()))?;
            values.extend(floats(&name, &view)?);
            tensors.push(TensorSpec { name, shape: view.shape().to_vec(), dtype: view.dtype() });
        }
        if tensors.is_empty() {
            return Err(LayoutError::Empty);
        }
        Ok((ModelLayout { tensors }, values))
    }

    /// Number of parameters (`usize::MAX` when they do not fit in one, as for
    /// [`TensorSpec::len`]).
    pub fn params(&self) -> usize {
        self.checked_params().unwrap_or(usize::MAX)
    }

    /// Number of parameters, or None when a tensor's shape or their sum overflows `usize` (a
    /// layout no model file has, refused when a spec is decoded).
    pub fn checked_params(&self) -> Option<usize> {
        self.tensors.iter().try_fold(0usize, |sum, t| {
            let len = t.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d))?;
            sum.checked_add(len)
        })
    }

    /// The tensor names, in order.
    pub fn names(&self) -> Vec<String> {
        self.tensors.iter().map(|t| t.name.clone()).collect()
    }

    /// Which tensor parameter `index` belongs to, and its position inside it: for error
    /// messages about a flat index.
    pub fn locate(&self, mut index: usize) -> Option<(&str, usize)> {
        for t in &self.tensors {
            if index < t.len() {
                return Some((&t.name, index));
            }
            index -= t.len();
        }
        None
    }

    /// Flattens a file of this layout's tensors (found by name, in any order and of any float
    /// dtype) into one vector in the layout's order. A missing, extra, reshaped, non-float or
    /// non-finite tensor is refused with its name.
    pub fn flatten(&self, bytes: &[u8]) -> Result<Vec<f64>, LayoutError> {
        let file = parse(bytes)?;
        if let Some(extra) = file.names().into_iter().find(|n| !self.tensors.iter().any(|t| t.name == *n)) {
            return Err(LayoutError::Unexpected { name: extra.to_string(), expected: self.names() });
        }
        // Every value takes at least 2 bytes of the file (F16, BF16).
        let mut values = Vec::with_capacity(self.params().min(bytes.len() / 2));
        for spec in &self.tensors {
            let view = file
                .tensor(&spec.name)
                .map_err(|_| LayoutError::Missing { name: spec.name.clone(), expected: self.names() })?;
            if view.shape() != spec.shape.as_slice() {
                return Err(LayoutError::WrongShape {
                    name: spec.name.clone(),
                    expected: spec.shape.clone(),
                    found: view.shape().to_vec(),
                });
            }
            values.extend(floats(&spec.name, &view)?);
        }
        Ok(values)
    }

    /// Writes `values` (in the layout's order) as a safetensors file of the layout's tensors,
    /// each in its dtype.
    pub fn write(&self, values: &[f64]) -> Result<Vec<u8>, LayoutError> {
        if values.len() != self.params() {
            return Err(LayoutError::WrongLength { expected: self.params(), found: values.len() });
        }
        let mut rest = values;
        let mut buffers = Vec::with_capacity(self.tensors.len());
        for spec in &self.tensors {
            let (mine, next) = rest.split_at(spec.len());
            rest = next;
            buffers.push(to_bytes(spec, mine)?);
        }
        let views = self
            .tensors
            .iter()
            .zip(&buffers)
            .map(|(spec, data)| {
                TensorView::new(spec.dtype, spec.shape.clone(), data)
                    .map(|view| (spec.name.clone(), view))
                    .map_err(|e| LayoutError::NotSafetensors(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        safetensors::serialize(views, None).map_err(|e| LayoutError::NotSafetensors(e.to_string()))
    }
}

fn parse(bytes: &[u8]) -> Result<SafeTensors<'_>, LayoutError> {
    SafeTensors::deserialize(bytes).map_err(|e| LayoutError::NotSafetensors(e.to_string()))
}

/// A float tensor's values as f64 (safetensors stores them little-endian), every one finite.
fn floats(name: &str, view: &TensorView<'_>) -> Result<Vec<f64>, LayoutError> {
    let data = view.data();
    let values: Vec<f64> = match view.dtype() {
        Dtype::F64 => data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect(),
        Dtype::F32 => data.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")).into()).collect(),
        Dtype::F16 => data.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).into()).collect(),
        Dtype::BF16 => data.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).into()).collect(),
        found => return Err(LayoutError::WrongDtype { name: name.to_string(), found }),
    };
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(LayoutError::NotFinite { name: name.to_string(), index, value: values[index] }),
        None => Ok(values),
    }
}

/// `values` in `spec`'s dtype, little-endian.
fn to_bytes(spec: &TensorSpec, values: &[f64]) -> Result<Vec<u8>, LayoutError> {
    Ok(match spec.dtype {
        Dtype::F64 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dtype::F32 => values.iter().flat_map(|v| (*v as f32).to_le_bytes()).collect(),
        Dtype::F16 => values.iter().flat_map(|v| half::f16::from_f64(*v).to_le_bytes()).collect(),
        Dtype::BF16 => values.iter().flat_map(|v| half::bf16::from_f64(*v).to_le_bytes()).collect(),
        found => return Err(LayoutError::WrongDtype { name: spec.name.clone(), found }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `(name, shape, dtype, values)` tensors.
    fn file(tensors: &[(&str, &[usize], Dtype, &[f64])]) -> Vec<u8> {
        let specs: Vec<TensorSpec> = tensors
            .iter()
            .map(|(name, shape, dtype, _)| TensorSpec { name: name.to_string(), shape: shape.to_vec(), dtype: *dtype })
            .collect();
        let values: Vec<f64> = tensors.iter().flat_map(|(_, _, _, v)| v.iter().copied()).collect();
        ModelLayout { tensors: specs }.write(&values).unwrap()
    }

    fn model() -> Vec<u8> {
        file(&[
            ("conv.weight", &[2, 1, 2], Dtype::F32, &[0.5, -0.25, 1.0, 2.0]),
            ("fc.bias", &[2], Dtype::F64, &[0.125, -3.0]),
        ])
    }

    #[test]
    fn a_model_file_reads_as_its_layout_and_flat_values_and_writes_back_the_same() {
        let (layout, values) = ModelLayout::read(&model()).unwrap();
        // safetensors orders a file's data by dtype width, then name: F64 first.
        assert_eq!(layout.names(), ["fc.bias", "conv.weight"]);
        assert_eq!(values, [0.125, -3.0, 0.5, -0.25, 1.0, 2.0]);
        assert_eq!(layout.params(), 6);
        assert_eq!(layout.locate(3), Some(("conv.weight", 1)));
        assert_eq!(layout.locate(6), None);
        let written = layout.write(&values).unwrap();
        assert_eq!(ModelLayout::read(&written).unwrap(), (layout.clone(), values.clone()));
        assert_eq!(layout.flatten(&model()).unwrap(), values);
    }

    #[test]
    fn an_update_is_found_by_name_whatever_its_order_and_float_width() {
        let (layout, _) = ModelLayout::read(&model()).unwrap();
        let update = file(&[
            ("fc.bias", &[2], Dtype::F16, &[1.0, 0.5]),
            ("conv.weight", &[2, 1, 2], Dtype::BF16, &[0.25, 0.0, -1.0, 0.75]),
        ]);
        assert_eq!(layout.flatten(&update).unwrap(), [1.0, 0.5, 0.25, 0.0, -1.0, 0.75]);
    }

    #[test]
    fn a_file_that_does_not_fit_the_layout_is_refused_with_the_tensor_it_concerns() {
        let (layout, _) = ModelLayout::read(&model()).unwrap();
        let conv = ("conv.weight", &[2usize, 1, 2][..], Dtype::F32, &[0.0, 0.0, 0.0, 0.0][..]);
        let bias = ("fc.bias", &[2usize][..], Dtype::F32, &[0.0, 0.0][..]);
        let err = |bytes: Vec<u8>| layout.flatten(&bytes).unwrap_err().to_string();
        assert!(err(file(&[conv])).contains(r#"tensor "fc.bias" is missing"#));
        let extra = ("fc.weight", &[1usize][..], Dtype::F32, &[0.0][..]);
        assert!(err(file(&[conv, bias, extra])).contains(r#"tensor "fc.weight" is not part of the job's model"#));
        let reshaped = ("conv.weight", &[4usize][..], Dtype::F32, &[0.0; 4][..]);
        assert!(err(file(&[reshaped, bias])).contains("has shape [4], the job's model has [2, 1, 2]"));
        let nan = ("fc.bias", &[2usize][..], Dtype::F32, &[0.0, f64::NAN][..]);
        assert!(err(file(&[conv, nan])).contains(r#"tensor "fc.bias" holds NaN at flat index 1"#));
        let ints =
            safetensors::serialize([("fc.bias", TensorView::new(Dtype::I32, vec![2], &[0u8; 8]).unwrap())], None)
                .unwrap();
        assert!(ModelLayout::read(&ints).unwrap_err().to_string().contains("has dtype I32"));
        assert!(err(b"not a model".to_vec()).starts_with("not a safetensors file"));
        assert!(layout.write(&[0.0]).unwrap_err().to_string().contains("1 values for a model of 6 parameters"));
    }

    #[test]
    fn a_recipe_needs_a_uri_and_a_sha256() {
        let hash = "AB".repeat(32);
        assert_eq!(Recipe::new("ipfs://x", &format!("0x{hash}")).unwrap().sha256, "ab".repeat(32));
        assert!(Recipe::new("ipfs://x", "abc").is_err());
        assert!(Recipe::new("", &hash).is_err());
    }
}
