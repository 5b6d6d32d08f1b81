//! What a trainer sends to the intake, and reading what the service answers.

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use base64::Engine as _;
use serde_json::{json, Value};

/// The body of `POST /api/jobs/1/rounds/{round}/updates`: the sealed update, signed by `signer`
/// over (job 1, round, commitment) on behalf of `trainer`.
pub fn body(signer: &PrivateKeySigner, trainer: Address, round: u32, commitment: U256, sealed: &[u8]) -> Value {
    body_for(1, signer, trainer, round, commitment, sealed)
}

/// [`body`] for job `job`.
pub fn body_for(
    job: u64,
    signer: &PrivateKeySigner,
    trainer: Address,
    round: u32,
    commitment: U256,
    sealed: &[u8],
) -> Value {
    let digest = fedproof_web_api::http::schema::upload_digest(job, round, commitment);
    let sig = signer.sign_message_sync(digest.as_slice()).expect("signed");
    json!({
        "trainer": format!("{trainer:#x}"),
        "commitment": fedproof_web_api::format::word(&commitment),
        "blob": base64::engine::general_purpose::STANDARD.encode(sealed),
        "signature": sig.to_string(),
    })
}

/// What the service answered: the status, its Retry-After, and the error body's code and
/// message (empty for a success).
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub code: String,
    pub message: String,
}

/// Reads an answer.
pub async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status().as_u16();
    let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap_or_default().to_owned());
    let body: Value = res.json().await.unwrap_or_default();
    let field = |name: &str| body["error"][name].as_str().unwrap_or_default().to_owned();
    Answer { status, retry_after, code: field("code"), message: field("message") }
}

/// Posts `body` as JSON to `url` (an upload) and reads the answer.
pub async fn post(url: &str, body: &Value) -> Answer {
    answer(reqwest::Client::new().post(url).json(body).send().await.expect("post")).await
}

/// GETs `url` and reads the answer.
pub async fn get(url: &str) -> Answer {
    answer(reqwest::get(url).await.expect("get")).await
}
