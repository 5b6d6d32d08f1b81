//! Riding out an Ethereum node that stops answering: a transport layer under every role's
//! connection that, once the node has answered, retries a request that could not reach it
//! (connection refused or dropped, a gateway's 502/503/504) with exponential backoff, logging
//! each retry, until the node answers again or the outage has lasted [`MAX_OUTAGE`].
//!
//! alloy's `RetryBackoffLayer` (kept underneath) retries only what a node answers with a rate
//! limit or a 503, five times 200 ms apart: a node that is down (a restart, a network cut) made
//! every role fail at its first request. Every request a role makes is a read, or
//! `eth_sendRawTransaction` of a transaction signed once: replaying those is safe (the client
//! checks, for a replayed send, that the node has that very transaction; `client.rs`).
//!
//! A node that has never answered is not retried: a wrong `--rpc` fails at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use alloy::transports::{RpcError, TransportError, TransportErrorKind};
use tower::{Layer, Service};

/// How long a role waits for a node that stopped answering before it gives up with the error.
pub const MAX_OUTAGE: Duration = Duration::from_secs(600);
/// The first wait after a failed request; doubled per retry up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two retries of a request.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What one connection has seen of its node (shared by the layer's clones and the `Chain`).
#[derive(Debug)]
pub struct NodeHealth {
    url: String,
    answered: AtomicBool,
    retries: AtomicU64,
    max_outage: Duration,
}

impl NodeHealth {
    /// Retries of requests the node did not answer, so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// The layer: put it outside alloy's `RetryBackoffLayer`.
#[derive(Debug, Clone)]
pub struct OutageLayer {
    health: Arc<NodeHealth>,
}

impl OutageLayer {
    /// For the node at `url` (named in the log), giving up after `max_outage`.
    pub fn new(url: &str, max_outage: Duration) -> Self {
        let health = NodeHealth {
            url: url.to_owned(),
            answered: AtomicBool::new(false),
            retries: AtomicU64::new(0),
            max_outage,
        };
        Self { health: Arc::new(health) }
    }

    /// The health this layer's services update.
    pub fn health(&self) -> Arc<NodeHealth> {
        self.health.clone()
    }
}

impl<S> Layer<S> for OutageLayer {
    type Service = OutageService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OutageService { inner, health: self.health.clone() }
    }
}

/// The service [`OutageLayer`] wraps a transport in.
#[derive(Debug, Clone)]
pub struct OutageService<S> {
    inner: S,
    health: Arc<NodeHealth>,
}

/// Whether `e` means the request did not reach a node that could answer it (as opposed to an
/// answer: a revert, an invalid request, an authentication failure).
pub fn is_unreachable(e: &TransportError) -> bool {
    let RpcError::Transport(kind) = e else { return false };
    let status_retryable = |status: u16| status == 408 || status == 429 || status >= 500;
    match kind {
        TransportErrorKind::HttpError(http) => status_retryable(http.status),
        TransportErrorKind::HttpErrorWithRetryAfter { error, .. } => status_retryable(error.status),
        TransportErrorKind::Custom(_) | TransportErrorKind::BackendGone => true,
        _ => false,
    }
}

/// An error with its causes ("error sending request …: client error (Connect): Connection
/// refused"): reqwest's own message names neither.
fn causes(e: &TransportError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text = format!("{text}: {next}");
        }
        source = cause.source();
    }
    text
}

/// The wait before retry `attempt` (1, 2, …): 0.5 s, 1 s, 2 s, … up to 10 s.
pub fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(MAX_BACKOFF)
}

/// Over any request type: with alloy's `RequestPacket` and `ResponsePacket` this is a transport
/// (its future is then alloy's `TransportFut`).
impl<S, R> Service<R> for OutageService<S>
where
    R: Clone + Send + 'static,
    S: Service<R, Error = TransportError> + Send + Clone + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, TransportError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        // The ready service goes into the future; a clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let health = self.health.clone();
        Box::pin(async move {
            let since = Instant::now();
            let mut attempt = 0u32;
            loop {
                match inner.call(request.clone()).await {
                    Ok(answer) => {
                        health.answered.store(true, Ordering::Relaxed);
                        if attempt > 0 {
                            tracing::warn!(
                                node = %health.url,
                                retries = attempt,
                                after = ?since.elapsed(),
                                "the Ethereum node answers again"
                            );
                        }
                        return Ok(answer);
                    }
                    Err(e) if is_unreachable(&e) && health.answered.load(Ordering::Relaxed) => {
                        if since.elapsed() >= health.max_outage {
                            let giving_up = format!(
                                "the Ethereum node at {} has not answered for {:?} ({attempt} retries of a request); last error: {}",
                                health.url,
                                since.elapsed(),
                                causes(&e)
                            );
                            tracing::error!("{giving_up}");
                            return Err(TransportErrorKind::custom_str(&giving_up));
                        }
                        attempt += 1;
                        health.retries.fetch_add(1, Ordering::Relaxed);
                        let wait = backoff(attempt);
                        tracing::warn!(
                            node = %health.url,
                            error = %causes(&e),
                            retry = attempt,
                            retry_in = ?wait,
                            down_for = ?since.elapsed(),
                            "the Ethereum node does not answer; retrying with backoff (gives up after {:?})",
                            health.max_outage
                        );
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let waits: Vec<u64> = (1..=7).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn only_failures_to_reach_the_node_are_retried() {
        let refused = TransportErrorKind::custom_str("error sending request: connection refused");
        assert!(is_unreachable(&refused));
        let gateway = RpcError::Transport(TransportErrorKind::HttpError(alloy::transports::HttpError {
            status: 502,
            body: String::new(),
        }));
        assert!(is_unreachable(&gateway));
        let unauthorized = RpcError::Transport(TransportErrorKind::HttpError(alloy::transports::HttpError {
            status: 401,
            body: String::new(),
        }));
        assert!(!is_unreachable(&unauthorized));
        let local: TransportError = RpcError::local_usage_str("missing field");
        assert!(!is_unreachable(&local));
    }
}
