//! The API's one error type: each variant maps to a status code and the JSON shape
//! `{"error": {"code", "message"}}`. Internal errors are logged (inside the request's span, which
//! carries its request id) and answered with a generic message, never with their details.

use crate::db::DbError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: u64 = 2;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or breaks a rule; `code` names the rule.
    #[error("{message}")]
    BadRequest {
        /// snake_case code.
        code: &'static str,
        /// What is wrong and where.
        message: String,
    },
    /// The signature does not come from the party allowed to make this request.
    #[error("{message}")]
    Forbidden {
        /// snake_case code.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// The request conflicts with stored state.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit.
    #[error("request body too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    /// The client asked more than its limit allows; it may retry after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests {
        /// snake_case code.
        code: &'static str,
        /// Which limit and when to retry.
        message: String,
        /// Seconds to wait (the `Retry-After` header).
        retry_after: u64,
    },
    /// A dependency is not ready yet (the index lags, a blob is not reachable); retry later.
    #[error("{0}")]
    Unavailable(String),
    /// The chain node could not be reached or failed (503 with a Retry-After, like `Unavailable`).
    #[error("chain node unavailable")]
    Upstream(String),
    /// Anything else: logged, not shown.
    #[error("internal error")]
    Internal(String),
}

/// The JSON body of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// A 400 with a code.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::TooManyRequests { code, .. } => (StatusCode::TOO_MANY_REQUESTS, code),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Upstream(_) => (StatusCode::SERVICE_UNAVAILABLE, "chain_unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        match &self {
            Self::Internal(detail) | Self::Upstream(detail) => tracing::error!(%detail, "request failed"),
            _ => tracing::debug!(error = %self, "request rejected"),
        }
        let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: self.to_string() } };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match &self {
            Self::TooManyRequests { retry_after, .. } => Some(*retry_after),
            Self::Unavailable(_) | Self::Upstream(_) => Some(RETRY_AFTER_SECONDS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(m) => Self::Conflict(m),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable("the database is unavailable; retry shortly".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        Self::from_json_rejection(r, super::BODY_LIMIT)
    }
}

impl ApiError {
    /// A body refused by the JSON extractor of a route whose body limit is `limit`.
    pub(crate) fn from_json_rejection(r: JsonRejection, limit: usize) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge(limit);
        }
        Self::bad("invalid_body", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::bad("invalid_path", r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad("invalid_query", r.body_text())
    }
}

impl From<alloy::contract::Error> for ApiError {
    fn from(e: alloy::contract::Error) -> Self {
        Self::Upstream(e.to_string())
    }
}
