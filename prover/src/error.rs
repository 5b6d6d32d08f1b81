//! The prover's error type.

use crate::fixed_point::EncodingError;
use crate::shape::Shape;

/// Everything that can go wrong while building, proving or verifying a round.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A real value could not be encoded.
    #[error("{what}: {source}")]
    Encoding {
        /// Which vector was being encoded (e.g. "update of slot 3").
        what: String,
        /// The underlying encoding error.
        source: EncodingError,
    },
    /// The shape is outside what the circuit supports.
    #[error("invalid shape {shape}: {reason}")]
    InvalidShape {
        /// The rejected shape.
        shape: Shape,
        /// Why it was rejected.
        reason: String,
    },
    /// A vector had the wrong length.
    #[error("{what} has length {found}, expected {expected}")]
    LengthMismatch {
        /// Which vector.
        what: String,
        /// The length the shape requires.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A round parameter is out of its allowed range.
    #[error("invalid round parameter {name}: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The aggregated model left the model encoding's range.
    #[error("new model value at index {index} is {value}, outside the {bits}-bit model range; lower the learning rate or the update scale")]
    ModelOverflow {
        /// Parameter index.
        index: usize,
        /// The out-of-range value.
        value: i128,
        /// The model encoding's width.
        bits: u32,
    },
    /// A key file is for another shape or circuit version.
    #[error("key file {path} is for {found}, expected {expected}")]
    WrongKey {
        /// The key file.
        path: String,
        /// What the caller asked for.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// A key, proof or JSON file could not be decoded.
    #[error("corrupt {what} in {path}: {reason}")]
    Corrupt {
        /// What kind of file.
        what: &'static str,
        /// Where it came from.
        path: String,
        /// Why it is unreadable.
        reason: String,
    },
    /// A 32-byte word read from the chain is not what its position requires.
    #[error("{what}: {reason}")]
    InvalidWord {
        /// Which word, e.g. "score word 1".
        what: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The witness does not satisfy the circuit (the round's claimed outputs are wrong).
    #[error("the round does not satisfy the circuit: {0}")]
    Unsatisfied(String),
    /// An error from the constraint system.
    #[error("constraint synthesis failed: {0}")]
    Synthesis(#[from] ark_relations::r1cs::SynthesisError),
    /// A file-system error.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Result alias for the prover.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), source }
    }
}
