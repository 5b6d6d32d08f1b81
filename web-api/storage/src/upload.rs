//! Signed uploads and the aggregator's receipts, as text from outside: the checks the intake
//! (`POST /api/jobs/{id}/rounds/{r}/updates`) makes of an upload's fields, and the one a trainer
//! makes of the receipt it gets back, as pure functions that the handlers and the fuzz targets
//! (`node/fuzz`) share.
//!
//! A trainer signs (EIP-191, `personal_sign`) [`upload_digest`] of its job, round and on-chain
//! commitment; the aggregator answers with its EIP-712 `UploadReceipt` signature over the
//! digest the market contract computes (`JobMarket.receiptDigest`), which the trainer keeps to
//! dispute with.

use alloy_primitives::{keccak256, Address, Signature, B256, U256};
use base64::Engine as _;

/// Standard base64 with padding that also takes non-zero bits after the last symbol (as many
/// encoders' output and the API's documented pattern do): the blob's bytes are checked later.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Why an upload's fields or a receipt's signature are refused; [`UploadError::code`] is the
/// intake's error code for each and [`UploadError::is_forbidden`] says whether it answers 403
/// (a signature that proves nothing) rather than 400 (a malformed field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// The trainer is not an address.
    #[error("trainer {0:?} is not a 0x-prefixed 20-byte address")]
    Trainer(String),
    /// The commitment is not a 32-byte word.
    #[error("commitment is not a 0x-prefixed 32-byte hex word")]
    Commitment,
    /// The sealed blob is not base64.
    #[error("blob is not base64: {0}")]
    Blob(String),
    /// The signature is not 65 bytes of hex.
    #[error("signature is not 65 bytes of hex (130 digits, 0x optional)")]
    Signature,
    /// 65 bytes that are no valid signature (a bad `v`, no curve point): they prove nothing.
    #[error("signature is not valid: {0}")]
    Invalid(String),
    /// A well-formed signature by someone other than the trainer named.
    #[error("the signature over (job {job}, round {round}, commitment) is by {signer}, not by {trainer}")]
    WrongSigner {
        /// The job.
        job: u64,
        /// The round.
        round: u32,
        /// Who signed.
        signer: Address,
        /// Who the upload names.
        trainer: Address,
    },
}

impl UploadError {
    /// The intake's error code: `invalid_address`, `invalid_commitment`, `invalid_blob`,
    /// `invalid_signature` (all 400) or `bad_signature` (403).
    pub fn code(&self) -> &'static str {
        match self {
            UploadError::Trainer(_) => "invalid_address",
            UploadError::Commitment => "invalid_commitment",
            UploadError::Blob(_) => "invalid_blob",
            UploadError::Signature => "invalid_signature",
            UploadError::Invalid(_) | UploadError::WrongSigner { .. } => "bad_signature",
        }
    }

    /// Whether the signature is well-formed but proves nothing (403), not a malformed field (400).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, UploadError::Invalid(_) | UploadError::WrongSigner { .. })
    }
}

/// The text fields of an upload's body, as the trainer sent them.
#[derive(Debug, Clone, Copy)]
pub struct UploadFields<'a> {
    /// The trainer's address (`0x…`).
    pub trainer: &'a str,
    /// The commitment the trainer put on-chain (`0x…`, 32 bytes).
    pub commitment: &'a str,
    /// Base64 of the sealed blob.
    pub blob: &'a str,
    /// The trainer's EIP-191 signature over [`upload_digest`] (65 bytes, hex).
    pub signature: &'a str,
}

/// An upload whose fields parsed and whose signature is the named trainer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedUpload {
    /// The trainer who signed.
    pub trainer: Address,
    /// The commitment the trainer says it put on-chain.
    pub commitment: B256,
    /// The sealed blob's bytes.
    pub sealed: Vec<u8>,
}

/// What a trainer signs (EIP-191) to upload: `keccak256(abi.encode(jobId, round, commitment))`,
/// three `uint256` words.
pub fn upload_digest(job_id: u64, round: u32, commitment: U256) -> B256 {
    let mut encoded = [0u8; 96];
    encoded[..32].copy_from_slice(&U256::from(job_id).to_be_bytes::<32>());
    encoded[32..64].copy_from_slice(&U256::from(round).to_be_bytes::<32>());
    encoded[64..].copy_from_slice(&commitment.to_be_bytes::<32>());
    keccak256(encoded)
}

/// Parses an upload's fields for `(job, round)` and checks that its signature is the trainer's.
pub fn check_upload(job: u64, round: u32, fields: UploadFields<'_>) -> Result<CheckedUpload, UploadError> {
    let trainer: Address = fields.trainer.parse().map_err(|_| UploadError::Trainer(fields.trainer.to_string()))?;
    let commitment: B256 = fields.commitment.parse().map_err(|_| UploadError::Commitment)?;
    let sealed = BASE64.decode(fields.blob.as_bytes()).map_err(|e| UploadError::Blob(e.to_string()))?;
    let digest = upload_digest(job, round, U256::from_be_bytes(commitment.0));
    let signer = message_signer(fields.signature, digest.as_slice())?;
    if signer != trainer {
        return Err(UploadError::WrongSigner { job, round, signer, trainer });
    }
    Ok(CheckedUpload { trainer, commitment, sealed })
}

/// Parses a signature: 65 bytes of hex (`0x` optional), else [`UploadError::Signature`]; 65
/// bytes that are no signature are [`UploadError::Invalid`].
pub fn parse_signature(signature: &str) -> Result<Signature, UploadError> {
    let hex = signature.strip_prefix("0x").unwrap_or(signature);
    if hex.len() != 130 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(UploadError::Signature);
    }
    signature.parse().map_err(|e: alloy_primitives::SignatureError| UploadError::Invalid(e.to_string()))
}

/// The EIP-191 (`personal_sign`) signer of `message`.
pub fn message_signer(signature: &str, message: &[u8]) -> Result<Address, UploadError> {
    parse_signature(signature)?.recover_address_from_msg(message).map_err(|e| UploadError::Invalid(e.to_string()))
}

/// The signer of an EIP-712 receipt: `signature` over `digest` (`JobMarket.receiptDigest`).
pub fn receipt_signer(signature: &str, digest: &B256) -> Result<Address, UploadError> {
    parse_signature(signature)?.recover_address_from_prehash(digest).map_err(|e| UploadError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `keccak256(abi.encode(uint256 7, uint256 2, uint256 0x2a))`, as `cast keccak` computes it.
    #[test]
    fn the_digest_is_keccak_of_three_abi_words() {
        let mut words = [0u8; 96];
        words[31] = 7;
        words[63] = 2;
        words[95] = 0x2a;
        assert_eq!(upload_digest(7, 2, U256::from(0x2a)), keccak256(words));
    }

    #[test]
    fn malformed_fields_are_refused_with_their_code() {
        let word = format!("0x{}", "00".repeat(32));
        let fields = UploadFields { trainer: "0x12", commitment: &word, blob: "", signature: "" };
        assert_eq!(check_upload(1, 0, fields).unwrap_err().code(), "invalid_address");
        let trainer = format!("0x{}", "11".repeat(20));
        let fields = UploadFields { trainer: &trainer, commitment: "0x1", blob: "", signature: "" };
        assert_eq!(check_upload(1, 0, fields).unwrap_err().code(), "invalid_commitment");
        let fields = UploadFields { trainer: &trainer, commitment: &word, blob: "!!", signature: "" };
        assert_eq!(check_upload(1, 0, fields).unwrap_err().code(), "invalid_blob");
        let fields = UploadFields { trainer: &trainer, commitment: &word, blob: "AB==", signature: "0x00" };
        let err = check_upload(1, 0, fields).unwrap_err();
        assert_eq!((err.code(), err.is_forbidden()), ("invalid_signature", false));
        // 65 bytes of hex whose `v` is no parity: well-formed, but it proves nothing.
        let bad_v = format!("0x{}05", "11".repeat(64));
        let err = receipt_signer(&bad_v, &B256::ZERO).unwrap_err();
        assert_eq!((err.code(), err.is_forbidden()), ("bad_signature", true), "{err}");
    }
}
