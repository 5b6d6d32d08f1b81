//! What a trainer sends to the intake.

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use base64::Engine as _;
use serde_json::{json, Value};

/// The body of `POST /api/jobs/1/rounds/{round}/updates`: the sealed update, signed by `signer`
/// over (job 1, round, commitment) on behalf of `trainer`.
pub fn body(signer: &PrivateKeySigner, trainer: Address, round: u32, commitment: U256, sealed: &[u8]) -> Value {
    let digest = fedproof_web_api::http::schema::upload_digest(1, round, commitment);
    let sig = signer.sign_message_sync(digest.as_slice()).expect("signed");
    json!({
        "trainer": format!("{trainer:#x}"),
        "commitment": fedproof_web_api::format::word(&commitment),
        "blob": base64::engine::general_purpose::STANDARD.encode(sealed),
        "signature": sig.to_string(),
    })
}
