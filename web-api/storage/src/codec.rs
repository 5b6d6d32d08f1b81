//! The bytes inside blobs.
//!
//! Updates and models are [safetensors](https://huggingface.co/docs/safetensors) files, so
//! Python (`safetensors.numpy.load`), PyTorch and any other safetensors reader opens them, and a
//! 1M-parameter update is ~1 MB rather than the ~4 MB of a JSON integer array:
//! - one 1-D tensor named `values`, in the narrowest of `I8`, `I16`, `I32`, `I64` that holds
//!   every value (updates are `I8`, models `I32`), little-endian as safetensors requires;
//! - the header's `__metadata__` holds one entry, `fedproof`, a JSON object with the format tag
//!   and the blob's job, round (and slot for an update). One entry rather than one per field
//!   because safetensors writes `__metadata__` from a hash map in random order: with one entry
//!   the same blob always has the same bytes, and so the same CID.
//!
//! The job spec is a small versioned JSON document. Update and model blobs written by earlier
//! versions (JSON documents `fedproof-update-v1`, `fedproof-model-v1`) still decode.

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::layout::{ModelLayout, Recipe};

/// Format tag of update blobs.
const UPDATE_FORMAT: &str = "fedproof-update-v2";
/// Format tag of model blobs.
const MODEL_FORMAT: &str = "fedproof-model-v2";
/// Format tag of a chunked round's aggregate blobs.
const AGGREGATE_FORMAT: &str = "fedproof-aggregate-v1";
/// Format tag of a chunked round's record.
const CHUNKED_ROUND_FORMAT: &str = "fedproof-chunked-round-v1";
/// Format tag of job spec blobs.
const SPEC_FORMAT: &str = "fedproof-job-spec-v1";
/// Format tags of the JSON update and model blobs earlier versions wrote.
const LEGACY_UPDATE_FORMAT: &str = "fedproof-update-v1";
const LEGACY_MODEL_FORMAT: &str = "fedproof-model-v1";
/// Name of the one tensor of an update or model blob.
const VALUES_TENSOR: &str = "values";
/// Key of the header entry that holds a tensor blob's [`Header`].
const HEADER_KEY: &str = "fedproof";

/// A blob that is not what it claims to be.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Not a document of the expected layout.
    #[error("not a {expected} blob: {reason}")]
    Malformed {
        /// The format expected.
        expected: &'static str,
        /// The parser's complaint.
        reason: String,
    },
    /// A blob of another kind or version.
    #[error("expected a {expected} blob, found {found:?}")]
    WrongFormat {
        /// The format expected.
        expected: &'static str,
        /// The format found.
        found: String,
    },
}

/// A trainer's quantized update for one round (the plaintext that is sealed to the aggregator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateBlob {
    /// The job.
    pub job_id: u64,
    /// The round.
    pub round: u32,
    /// The trainer's slot.
    pub slot: u32,
    /// The update in the job's update encoding (what the commitment is over).
    pub values: Vec<i64>,
}

/// A global model after a round (public).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelBlob {
    /// The job.
    pub job_id: u64,
    /// The round this model starts (0 = the initial model).
    pub round: u32,
    /// The model in the job's model encoding (what the model commitment is over).
    pub values: Vec<i64>,
}

/// The inliers' aggregate `S` of a chunked round (public): `S_k = Σ_{i∈I} Δ_ik`, from which
/// anyone checks the round's `C(S)` and computes the next model
/// (`fedproof_prover::chunked::aggregate`). A tensor blob like a model's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateBlob {
    /// The job.
    pub job_id: u64,
    /// The round it aggregates.
    pub round: u32,
    /// `S`, one sum per parameter.
    pub values: Vec<i64>,
}

/// What the aggregator publishes for a chunked round (public): its aggregate, and every chunk's
/// digest (the leaves of the round's H) and proof, so that an auditor checks every chunk
/// off-chain and challenges one whose proof is missing or wrong, and anyone can answer a
/// challenge (`answerChunk` is open to all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkedRoundBlob {
    /// The job.
    pub job_id: u64,
    /// The round.
    pub round: u32,
    /// CID of the round's [`AggregateBlob`].
    pub aggregate: String,
    /// Each chunk's digest `d_c`, a 32-byte big-endian word as `0x…` hex, in chunk order.
    pub digests: Vec<String>,
    /// Each chunk's Groth16 proof as its eight EVM words (`0x…` hex), in chunk order.
    pub proofs: Vec<Vec<String>>,
}

/// What a job's `specHash` names: the off-chain terms every participant needs before round 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpecBlob {
    /// The job.
    pub job_id: u64,
    /// Model parameters (the contract stores only the trainer count of the shape).
    pub params: usize,
    /// The model architecture, e.g. `mlp-64-32-10`.
    pub model: String,
    /// The aggregator's age public key (`age1…`): trainers seal their updates to it.
    pub aggregator_recipient: String,
    /// CID of the initial model blob (its commitment is the job's `initialModel`).
    pub initial_model: String,
    /// The model's tensors, for a job posted from a model file: updates are read and models
    /// written by it ([`crate::layout`]). None for the built-in model, whose tensors the node
    /// knows by `model`. Left out of the JSON when absent, so earlier specs keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<ModelLayout>,
    /// Where the owner's training recipe is, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<Recipe>,
}

/// The `fedproof` header entry of a tensor blob (field order fixed, so the bytes are too).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    job_id: u64,
    round: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slot: Option<u32>,
}

impl UpdateBlob {
    /// The blob's bytes (a safetensors file).
    pub fn encode(&self) -> Vec<u8> {
        let header =
            Header { format: UPDATE_FORMAT.into(), job_id: self.job_id, round: self.round, slot: Some(self.slot) };
        encode_tensor(&header, &self.values)
    }

    /// Parses a blob's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        if is_json(bytes) {
            return decode_json(UPDATE_FORMAT, LEGACY_UPDATE_FORMAT, bytes);
        }
        let (header, values) = decode_tensor(UPDATE_FORMAT, bytes)?;
        let slot = header.slot.ok_or_else(|| malformed(UPDATE_FORMAT, "the header names no slot"))?;
        Ok(UpdateBlob { job_id: header.job_id, round: header.round, slot, values })
    }
}

impl ModelBlob {
    /// The blob's bytes (a safetensors file).
    pub fn encode(&self) -> Vec<u8> {
        let header = Header { format: MODEL_FORMAT.into(), job_id: self.job_id, round: self.round, slot: None };
        encode_tensor(&header, &self.values)
    }

    /// Parses a blob's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        if is_json(bytes) {
            return decode_json(MODEL_FORMAT, LEGACY_MODEL_FORMAT, bytes);
        }
        let (header, values) = decode_tensor(MODEL_FORMAT, bytes)?;
        if header.slot.is_some() {
            return Err(malformed(MODEL_FORMAT, "a model's header names no slot"));
        }
        Ok(ModelBlob { job_id: header.job_id, round: header.round, values })
    }
}

impl AggregateBlob {
    /// The blob's bytes (a safetensors file).
    pub fn encode(&self) -> Vec<u8> {
        let header = Header { format: AGGREGATE_FORMAT.into(), job_id: self.job_id, round: self.round, slot: None };
        encode_tensor(&header, &self.values)
    }

    /// Parses a blob's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let (header, values) = decode_tensor(AGGREGATE_FORMAT, bytes)?;
        if header.slot.is_some() {
            return Err(malformed(AGGREGATE_FORMAT, "an aggregate's header names no slot"));
        }
        Ok(AggregateBlob { job_id: header.job_id, round: header.round, values })
    }
}

impl ChunkedRoundBlob {
    /// The blob's bytes (JSON).
    pub fn encode(&self) -> Vec<u8> {
        // serializing a plain struct of strings and integers cannot fail
        serde_json::to_vec(&Tagged { format: CHUNKED_ROUND_FORMAT.to_string(), body: self }).unwrap_or_default()
    }

    /// Parses a blob's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        decode_json(CHUNKED_ROUND_FORMAT, CHUNKED_ROUND_FORMAT, bytes)
    }
}

impl JobSpecBlob {
    /// The blob's bytes.
    pub fn encode(&self) -> Vec<u8> {
        // serializing a plain struct of strings and integers cannot fail
        serde_json::to_vec(&Tagged { format: SPEC_FORMAT.to_string(), body: self }).unwrap_or_default()
    }

    /// Parses a blob's bytes; a layout whose parameter count overflows is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let spec: JobSpecBlob = decode_json(SPEC_FORMAT, SPEC_FORMAT, bytes)?;
        if spec.layout.as_ref().is_some_and(|layout| layout.checked_params().is_none()) {
            return Err(malformed(SPEC_FORMAT, "the layout's tensors hold more values than a usize counts"));
        }
        Ok(spec)
    }
}

fn malformed(expected: &'static str, reason: impl ToString) -> CodecError {
    CodecError::Malformed { expected, reason: reason.to_string() }
}

/// The narrowest signed integer dtype that holds every value.
fn narrowest_dtype(values: &[i64]) -> Dtype {
    let (lo, hi) = values.iter().fold((0i64, 0i64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let fits = |dtype: Dtype| {
        let half = 1i64 << (dtype.bitsize() - 1);
        lo >= -half && hi < half
    };
    [Dtype::I8, Dtype::I16, Dtype::I32].into_iter().find(|d| fits(*d)).unwrap_or(Dtype::I64)
}

/// A safetensors file of one tensor, `values`, with `header` as its `fedproof` entry.
fn encode_tensor(header: &Header, values: &[i64]) -> Vec<u8> {
    let dtype = narrowest_dtype(values);
    let width = dtype.bitsize() / 8;
    let mut data = Vec::with_capacity(values.len() * width);
    for v in values {
        // the dtype holds every value, so its low `width` little-endian bytes are the value
        data.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    // serializing a plain struct of integers cannot fail
    let header_json = serde_json::to_string(header).unwrap_or_default();
    let metadata = std::collections::HashMap::from([(HEADER_KEY.to_string(), header_json)]);
    // A view whose byte length matches its dtype and shape (built above) always serializes.
    TensorView::new(dtype, vec![values.len()], &data)
        .and_then(|view| safetensors::serialize([(VALUES_TENSOR, view)], Some(metadata)))
        .unwrap_or_default()
}

/// The header and the values of a tensor blob of format `expected`.
fn decode_tensor(expected: &'static str, bytes: &[u8]) -> Result<(Header, Vec<i64>), CodecError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| malformed(expected, e))?;
    let header_json = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(HEADER_KEY))
        .ok_or_else(|| malformed(expected, format!("the header has no `{HEADER_KEY}` entry")))?;
    let header: Header = serde_json::from_str(header_json)
        .map_err(|e| malformed(expected, format!("the `{HEADER_KEY}` header entry: {e}")))?;
    if header.format != expected {
        return Err(CodecError::WrongFormat { expected, found: header.format });
    }
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| malformed(expected, e))?;
    if let Some(other) = tensors.names().into_iter().find(|name| *name != VALUES_TENSOR) {
        return Err(malformed(expected, format!("unexpected tensor `{other}` (a blob holds only `{VALUES_TENSOR}`)")));
    }
    let view = tensors.tensor(VALUES_TENSOR).map_err(|e| malformed(expected, e))?;
    if view.shape().len() != 1 {
        return Err(malformed(expected, format!("`{VALUES_TENSOR}` has shape {:?}, not one dimension", view.shape())));
    }
    let values = integers(view.dtype(), view.data()).ok_or_else(|| {
        malformed(expected, format!("`{VALUES_TENSOR}` has dtype {}, not I8, I16, I32 or I64", view.dtype()))
    })?;
    Ok((header, values))
}

/// Little-endian signed integers of `dtype` (None for any other dtype).
fn integers(dtype: Dtype, data: &[u8]) -> Option<Vec<i64>> {
    fn read<const N: usize>(data: &[u8], to: fn([u8; N]) -> i64) -> Vec<i64> {
        // safetensors checked that the data length is the shape times the dtype's width
        data.chunks_exact(N).map(|c| to(c.try_into().unwrap_or([0; N]))).collect()
    }
    Some(match dtype {
        Dtype::I8 => data.iter().map(|b| i64::from(*b as i8)).collect(),
        Dtype::I16 => read::<2>(data, |b| i64::from(i16::from_le_bytes(b))),
        Dtype::I32 => read::<4>(data, |b| i64::from(i32::from_le_bytes(b))),
        Dtype::I64 => read::<8>(data, i64::from_le_bytes),
        _ => return None,
    })
}

/// A JSON document (the spec, or an update or model blob of an earlier version) starts with `{`;
/// a safetensors file starts with its header's length, whose low byte would have to be `{` and
/// the next `"`, a header of 8,827 bytes plus a multiple of 65,536, which ours never are.
fn is_json(bytes: &[u8]) -> bool {
    bytes.starts_with(b"{\"")
}

#[derive(Serialize, Deserialize)]
struct Tagged<T> {
    format: String,
    #[serde(flatten)]
    body: T,
}

/// A JSON document tagged `format` (reported as a `expected` blob when it is not one).
fn decode_json<T: for<'de> Deserialize<'de>>(
    expected: &'static str,
    format: &'static str,
    bytes: &[u8],
) -> Result<T, CodecError> {
    #[derive(Deserialize)]
    struct Format {
        format: String,
    }
    let found: Format = serde_json::from_slice(bytes).map_err(|e| malformed(expected, e))?;
    if found.format != format {
        return Err(CodecError::WrongFormat { expected, found: found.format });
    }
    let tagged: Tagged<T> = serde_json::from_slice(bytes).map_err(|e| malformed(expected, e))?;
    Ok(tagged.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> JobSpecBlob {
        JobSpecBlob {
            job_id: 3,
            params: 2,
            model: "mlp-64-32-10".into(),
            aggregator_recipient: "age1…".into(),
            initial_model: "bafkrei…".into(),
            layout: None,
            recipe: None,
        }
    }

    /// A spec without layout keeps the bytes earlier versions wrote (so its `specHash`); one
    /// with a layout and a recipe carries them through.
    #[test]
    fn a_spec_carries_its_model_layout_and_recipe_only_when_it_has_them() {
        let json = String::from_utf8(spec().encode()).unwrap();
        assert!(!json.contains("layout") && !json.contains("recipe"), "{json}");
        let tensor = crate::TensorSpec { name: "fc.bias".into(), shape: vec![2], dtype: Dtype::F32 };
        let custom = JobSpecBlob {
            layout: Some(ModelLayout { tensors: vec![tensor] }),
            recipe: Some(Recipe::new("ipfs://recipe", &"0".repeat(64)).unwrap()),
            ..spec()
        };
        assert_eq!(JobSpecBlob::decode(&custom.encode()).unwrap(), custom);
    }

    /// A layout whose shape overflows is refused, not a panic when counted (the blob_codec
    /// fuzz target's input `crash-spec-layout-overflow`, `node/fuzz`).
    #[test]
    fn a_spec_whose_layout_overflows_is_refused() {
        let tensor = crate::TensorSpec { name: "w".into(), shape: vec![usize::MAX, 2], dtype: Dtype::F32 };
        let layout = ModelLayout { tensors: vec![tensor] };
        assert_eq!(layout.params(), usize::MAX);
        let spec = JobSpecBlob { layout: Some(layout), ..spec() };
        let err = JobSpecBlob::decode(&spec.encode()).unwrap_err().to_string();
        assert!(err.contains("more values than a usize counts"), "{err}");
    }

    #[test]
    fn blobs_round_trip_and_refuse_the_other_kind() {
        let update = UpdateBlob { job_id: 3, round: 1, slot: 2, values: vec![-128, 0, 127] };
        assert_eq!(UpdateBlob::decode(&update.encode()).expect("decodes"), update);
        let model = ModelBlob { job_id: 3, round: 2, values: vec![1 << 23, -5] };
        assert_eq!(ModelBlob::decode(&model.encode()).expect("decodes"), model);
        assert!(matches!(ModelBlob::decode(&update.encode()), Err(CodecError::WrongFormat { .. })));
        assert!(matches!(UpdateBlob::decode(&model.encode()), Err(CodecError::WrongFormat { .. })));
        assert_eq!(JobSpecBlob::decode(&spec().encode()).expect("decodes"), spec());
        assert!(matches!(JobSpecBlob::decode(&model.encode()), Err(CodecError::Malformed { .. })));
        assert!(matches!(UpdateBlob::decode(b"{\"format\":"), Err(CodecError::Malformed { .. })));
        assert!(matches!(UpdateBlob::decode(&[7u8; 3]), Err(CodecError::Malformed { .. })));
        let aggregate = AggregateBlob { job_id: 3, round: 2, values: vec![-300, 5, 299] };
        assert_eq!(AggregateBlob::decode(&aggregate.encode()).expect("decodes"), aggregate);
        assert!(matches!(AggregateBlob::decode(&model.encode()), Err(CodecError::WrongFormat { .. })));
        assert!(matches!(ModelBlob::decode(&aggregate.encode()), Err(CodecError::WrongFormat { .. })));
        let record = ChunkedRoundBlob {
            job_id: 3,
            round: 2,
            aggregate: "bafkrei…".into(),
            digests: vec!["0x01".into()],
            proofs: vec![vec!["0x02".into(); 8]],
        };
        assert_eq!(ChunkedRoundBlob::decode(&record.encode()).expect("decodes"), record);
        assert!(matches!(ChunkedRoundBlob::decode(&spec().encode()), Err(CodecError::WrongFormat { .. })));
    }

    #[test]
    fn values_take_the_narrowest_integer_dtype_and_any_width_round_trips() {
        let dtype_of = |bytes: &[u8]| {
            SafeTensors::deserialize(bytes).expect("safetensors").tensor("values").expect("values").dtype()
        };
        for (values, dtype) in [
            (vec![-128, 127], Dtype::I8),
            (vec![-129, 0], Dtype::I16),
            (vec![1 << 23, -(1 << 23)], Dtype::I32),
            (vec![1 << 40, i64::MIN, i64::MAX], Dtype::I64),
            (vec![], Dtype::I8),
        ] {
            let model = ModelBlob { job_id: 1, round: 0, values };
            let bytes = model.encode();
            assert_eq!(dtype_of(&bytes), dtype, "{:?}", model.values);
            assert_eq!(ModelBlob::decode(&bytes).expect("decodes"), model);
        }
    }

    #[test]
    fn the_same_blob_always_has_the_same_bytes() {
        let update = UpdateBlob { job_id: 9, round: 4, slot: 7, values: (-50..50).collect() };
        let first = update.encode();
        for _ in 0..20 {
            assert_eq!(update.clone().encode(), first);
        }
        // The header entry is readable as JSON by any safetensors reader.
        let (_, metadata) = SafeTensors::read_metadata(&first).expect("header");
        let entry = &metadata.metadata().as_ref().expect("metadata")[HEADER_KEY];
        assert_eq!(entry, r#"{"format":"fedproof-update-v2","job_id":9,"round":4,"slot":7}"#);
    }

    #[test]
    fn foreign_tensor_files_are_refused_with_the_reason() {
        let header = |slot: &str| format!(r#"{{"format":"fedproof-update-v2","job_id":1,"round":0{slot}}}"#);
        let file = |tensors: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)>, entry: Option<String>| {
            let views: Vec<_> = tensors
                .iter()
                .map(|(name, dtype, shape, data)| (*name, TensorView::new(*dtype, shape.clone(), data).expect("view")))
                .collect();
            let metadata = entry.map(|e| std::collections::HashMap::from([(HEADER_KEY.to_string(), e)]));
            safetensors::serialize(views, metadata).expect("serialize")
        };
        let reason = |bytes: Vec<u8>| match UpdateBlob::decode(&bytes) {
            Err(CodecError::Malformed { reason, .. }) => reason,
            other => panic!("expected a malformed blob, got {other:?}"),
        };
        let floats = file(vec![("values", Dtype::F32, vec![2], vec![0; 8])], Some(header(r#","slot":0"#)));
        assert!(reason(floats).contains("dtype F32"));
        let matrix = file(vec![("values", Dtype::I8, vec![2, 2], vec![0; 4])], Some(header(r#","slot":0"#)));
        assert!(reason(matrix).contains("shape [2, 2]"));
        let extra = file(
            vec![("values", Dtype::I8, vec![1], vec![0]), ("bias", Dtype::I8, vec![1], vec![0])],
            Some(header(r#","slot":0"#)),
        );
        assert!(reason(extra).contains("unexpected tensor `bias`"));
        let bare = file(vec![("values", Dtype::I8, vec![1], vec![0])], None);
        assert!(reason(bare).contains("no `fedproof` entry"));
        let no_slot = file(vec![("values", Dtype::I8, vec![1], vec![0])], Some(header("")));
        assert!(reason(no_slot).contains("no slot"));
    }

    #[test]
    fn json_blobs_of_earlier_versions_still_decode() {
        let update = br#"{"format":"fedproof-update-v1","job_id":3,"round":1,"slot":2,"values":[-128,0,127]}"#;
        let decoded = UpdateBlob::decode(update).expect("v1 update");
        assert_eq!(decoded, UpdateBlob { job_id: 3, round: 1, slot: 2, values: vec![-128, 0, 127] });
        let model = br#"{"format":"fedproof-model-v1","job_id":3,"round":2,"values":[8388608,-5]}"#;
        assert_eq!(ModelBlob::decode(model).expect("v1 model").values, vec![1 << 23, -5]);
        assert!(matches!(ModelBlob::decode(update), Err(CodecError::WrongFormat { .. })));
    }
}
