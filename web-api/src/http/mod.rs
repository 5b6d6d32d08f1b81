//! The HTTP API (axum). This file is the route table; handlers live in one module per resource,
//! the JSON bodies in [`schema`], errors in [`error`].

mod chain_reads;
pub mod check_pool;
mod connections;
pub mod error;
mod extract;
mod intake;
pub mod job_pages;
pub mod job_reads;
mod jobs;
pub mod limits;
mod meta;
mod rounds;
pub mod schema;
mod state;
mod trainers;
mod verifying_keys;

pub use connections::serve;
pub use job_pages::JobPages;
pub use job_reads::JobReads;
pub use limits::Limits;
pub use state::AppState;
pub use verifying_keys::VerifyingKeys;

use axum::http::{HeaderName, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use error::ApiError;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Largest accepted request body outside the intake.
pub const BODY_LIMIT: usize = 1 << 20;
/// Largest accepted upload body: an update blob holds one byte per parameter (safetensors `I8`),
/// sent sealed and base64-encoded (4/3), so 16 MiB carries updates of up to ~12M parameters.
/// The demo shape's is ~3 KB.
pub const UPLOAD_LIMIT: usize = 16 << 20;
/// The API routes, with request ids, tracing, the body limit and `request_timeout` (then 408);
/// the dashboard's static files (if `dashboard` is given) answer every other path.
pub fn router(state: AppState, dashboard: Option<&Path>, request_timeout: Duration) -> Router {
    let api = Router::new()
        .route("/api/config", get(meta::config))
        .route("/api/openapi.json", get(meta::openapi))
        .route("/api/jobs", get(jobs::list))
        .route("/api/jobs/{id}", get(jobs::detail))
        .route("/api/jobs/{id}/verifying-key", get(rounds::verifying_key))
        .route("/api/jobs/{id}/rounds/{r}", get(rounds::detail))
        .route("/api/jobs/{id}/rounds/{r}/audit", get(rounds::audit))
        .route("/api/jobs/{id}/rounds/{r}/metrics", post(rounds::metrics))
        .route(
            "/api/jobs/{id}/rounds/{r}/updates",
            post(intake::upload).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/api/trainers/{address}", get(trainers::trainer))
        .route("/api/sources/{id}/reliability", get(trainers::source))
        .route("/api/{*rest}", get(meta::not_found).post(meta::not_found))
        .with_state(state);
    let app = match dashboard {
        Some(dir) => api.fallback_service(ServeDir::new(dir)),
        None => api,
    };
    let request_id = HeaderName::from_static("x-request-id");
    app.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), Counter::default()))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", request_id = %id, method = %req.method(), uri = %req.uri())
            }))
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
            .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT)),
    )
}

/// Request ids: a process-wide counter (unique per server run, cheaper than random UUIDs).
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        axum::http::HeaderValue::from_str(&n.to_string()).ok().map(RequestId::new)
    }
}

/// Parses a 0x address from the request, naming the field on failure.
pub(crate) fn parse_address(what: &str, s: &str) -> Result<alloy::primitives::Address, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad("invalid_address", format!("{what} {s:?} is not a 0x-prefixed 20-byte address")))
}

/// A 1e18 fixed-point reliability value as a float in [0, 1].
pub(crate) fn reliability_fraction(s: &str) -> f64 {
    s.parse::<f64>().map(|v| v / 1e18).unwrap_or(0.0)
}
