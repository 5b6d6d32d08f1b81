//! Request concerns as extractors, so handlers receive checked values: signatures recovered,
//! paths and bodies parsed, each failure a 400/403 that names the field.

use super::error::ApiError;
use super::schema::UploadBody;
use super::AppState;
use alloy::primitives::{Address, B256};
use axum::extract::{FromRequest, Path, Request};
use axum::Json;
use fedproof_storage::upload::{self, UploadError, UploadFields};

/// The intake's answer to a field or signature [`fedproof_storage::upload`] refuses: 400 for a
/// malformed one, 403 for a signature that proves nothing or is someone else's.
fn refusal(e: UploadError) -> ApiError {
    if e.is_forbidden() {
        ApiError::Forbidden { code: e.code(), message: e.to_string() }
    } else {
        ApiError::bad(e.code(), e.to_string())
    }
}

/// Recovers the EIP-191 (personal_sign) signer of `message`. A string that is not 65 bytes of
/// hex is malformed (400); 65 bytes that are no valid signature (a bad `v`, no curve point)
/// prove nothing, like a signature by someone else (403).
pub(super) fn recover(signature: &str, message: &[u8]) -> Result<Address, ApiError> {
    upload::message_signer(signature, message).map_err(refusal)
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
        let fields = UploadFields {
            trainer: &body.trainer,
            commitment: &body.commitment,
            blob: &body.blob,
            signature: &body.signature,
        };
        let upload::CheckedUpload { trainer, commitment, sealed } =
            upload::check_upload(job, round, fields).map_err(refusal)?;
        state.uploads.charge(trainer)?;
        Ok(SignedUpload { job, round, trainer, commitment, sealed, _permit: permit })
    }
}
