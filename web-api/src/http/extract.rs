//! Request concerns as extractors, so handlers receive checked values: signatures recovered,
//! paths and bodies parsed, each failure a 400/403 that names the field.

use super::error::ApiError;
use super::parse_address;
use super::schema::{upload_digest, UploadBody};
use super::AppState;
use alloy::primitives::{Address, Signature, B256, U256};
use axum::extract::{FromRequest, Path, Request};
use axum::Json;
use base64::Engine as _;

/// Standard base64 with padding that also takes non-zero bits after the last symbol (as many
/// encoders' output and the API's documented pattern do): the blob's bytes are checked later.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Recovers the EIP-191 (personal_sign) signer of `message`. A string that is not 65 bytes of
/// hex is malformed (400); 65 bytes that are no valid signature (a bad `v`, no curve point)
/// prove nothing, like a signature by someone else (403).
pub(super) fn recover(signature: &str, message: &[u8]) -> Result<Address, ApiError> {
    let hex = signature.strip_prefix("0x").unwrap_or(signature);
    if hex.len() != 130 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad("invalid_signature", "signature is not 65 bytes of hex (130 digits, 0x optional)"));
    }
    let refused =
        |e: String| ApiError::Forbidden { code: "bad_signature", message: format!("signature is not valid: {e}") };
    let sig: Signature = signature.parse().map_err(|e: alloy::primitives::SignatureError| refused(e.to_string()))?;
    sig.recover_address_from_msg(message).map_err(|e| refused(e.to_string()))
}

/// An upload whose signature is the named trainer's: `POST /api/jobs/{id}/rounds/{r}/updates`
/// with an [`UploadBody`], admitted by the intake's limits (a permit taken before the body is
/// read, then one token of the trainer's rate).
#[derive(Debug)]
pub struct SignedUpload {
    /// The job.
    pub job: u64,
    /// The round.
    pub round: u32,
    /// The trainer who signed.
    pub trainer: Address,
    /// The commitment the trainer says it put on-chain.
    pub commitment: B256,
    /// The sealed blob's bytes.
    pub sealed: Vec<u8>,
    /// The intake permit, held until the upload is handled.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl FromRequest<AppState> for SignedUpload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let permit = state.uploads.enter()?;
        let (mut parts, body) = req.into_parts();
        let Path((job, round)) =
            <Path<(u64, u32)> as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, state)
                .await?;
        let Json(body) = Json::<UploadBody>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|r| ApiError::from_json_rejection(r, super::UPLOAD_LIMIT))?;
        let trainer = parse_address("trainer", &body.trainer)?;
        let commitment: B256 = body
            .commitment
            .parse()
            .map_err(|_| ApiError::bad("invalid_commitment", "commitment is not a 0x-prefixed 32-byte hex word"))?;
        let sealed = BASE64
            .decode(body.blob.as_bytes())
            .map_err(|e| ApiError::bad("invalid_blob", format!("blob is not base64: {e}")))?;
        let digest = upload_digest(job, round, U256::from_be_bytes(commitment.0));
        let signer = recover(&body.signature, digest.as_slice())?;
        if signer != trainer {
            return Err(ApiError::Forbidden {
                code: "bad_signature",
                message: format!(
                    "the signature over (job {job}, round {round}, commitment) is by {signer}, not by {trainer}"
                ),
            });
        }
        state.uploads.charge(trainer)?;
        Ok(SignedUpload { job, round, trainer, commitment, sealed, _permit: permit })
    }
}
