//! Service-level endpoints: configuration for the browser, the OpenAPI document, unknown routes.

use super::error::ApiError;
use super::schema;
use super::AppState;
use crate::format::address;
use axum::extract::State;
use axum::Json;
use utoipa::OpenApi;

/// The OpenAPI 3 document, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "fedproof API", description = "Jobs, rounds, proofs, trainers and update intake of the fedproof marketplace."),
    paths(
        config,
        super::jobs::list,
        super::jobs::detail,
        super::rounds::detail,
        super::rounds::audit,
        super::rounds::metrics,
        super::rounds::verifying_key,
        super::intake::upload,
        super::trainers::trainer,
        super::trainers::source,
    ),
    components(schemas(super::error::ErrorBody, super::error::ErrorDetail))
)]
pub struct ApiDoc;

/// Chain id, public RPC and contract addresses for the dashboard.
#[utoipa::path(get, path = "/api/config", responses((status = 200, body = schema::Config)))]
pub async fn config(State(s): State<AppState>) -> Json<schema::Config> {
    Json(schema::Config {
        chain_id: s.chain_id,
        rpc_url: s.public_rpc.clone(),
        market: address(&s.chain.market),
        registry: address(&s.chain.registry),
    })
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Any other `/api/…` path: a JSON 404 rather than the dashboard's.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API route {}", uri.path()))
}
