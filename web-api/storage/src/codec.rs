//! The bytes inside update and model blobs: small versioned JSON documents, so any language
//! (the dashboard, an auditor's script) can read them.

use serde::{Deserialize, Serialize};

/// Format tag of update blobs.
const UPDATE_FORMAT: &str = "fedproof-update-v1";
/// Format tag of model blobs.
const MODEL_FORMAT: &str = "fedproof-model-v1";
/// Format tag of job spec blobs.
const SPEC_FORMAT: &str = "fedproof-job-spec-v1";

/// A blob that is not what it claims to be.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Not valid JSON of the expected layout.
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
}

#[derive(Serialize, Deserialize)]
struct Tagged<T> {
    format: String,
    #[serde(flatten)]
    body: T,
}

fn encode<T: Serialize>(format: &str, body: &T) -> Vec<u8> {
    // serializing plain structs of integers cannot fail
    serde_json::to_vec(&Tagged { format: format.to_string(), body }).unwrap_or_default()
}

fn decode<T: for<'de> Deserialize<'de>>(expected: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    #[derive(Deserialize)]
    struct Format {
        format: String,
    }
    let malformed = |e: serde_json::Error| CodecError::Malformed { expected, reason: e.to_string() };
    let found: Format = serde_json::from_slice(bytes).map_err(malformed)?;
    if found.format != expected {
        return Err(CodecError::WrongFormat { expected, found: found.format });
    }
    let tagged: Tagged<T> = serde_json::from_slice(bytes).map_err(malformed)?;
    Ok(tagged.body)
}

impl UpdateBlob {
    /// The blob's bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(UPDATE_FORMAT, self)
    }

    /// Parses a blob's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        decode(UPDATE_FORMAT, bytes)
    }
}

impl ModelBlob {
    /// The blob's bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(MODEL_FORMAT, self)
    }

    /// Parses a blob's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        decode(MODEL_FORMAT, bytes)
    }
}

impl JobSpecBlob {
    /// The blob's bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(SPEC_FORMAT, self)
    }

    /// Parses a blob's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        decode(SPEC_FORMAT, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_refuse_the_other_kind() {
        let update = UpdateBlob { job_id: 3, round: 1, slot: 2, values: vec![-128, 0, 127] };
        assert_eq!(UpdateBlob::decode(&update.encode()).expect("decodes"), update);
        let model = ModelBlob { job_id: 3, round: 2, values: vec![1 << 23, -5] };
        assert_eq!(ModelBlob::decode(&model.encode()).expect("decodes"), model);
        assert!(matches!(ModelBlob::decode(&update.encode()), Err(CodecError::WrongFormat { .. })));
        let spec = JobSpecBlob {
            job_id: 3,
            params: 2,
            model: "mlp-64-32-10".into(),
            aggregator_recipient: "age1…".into(),
            initial_model: "bafkrei…".into(),
        };
        assert_eq!(JobSpecBlob::decode(&spec.encode()).expect("decodes"), spec);
        assert!(matches!(JobSpecBlob::decode(&model.encode()), Err(CodecError::WrongFormat { .. })));
        assert!(matches!(UpdateBlob::decode(b"{\"format\":"), Err(CodecError::Malformed { .. })));
    }
}
