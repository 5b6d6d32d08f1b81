//! What clients may ask of the server at once. The intake reads, checks and stores at most
//! `concurrent_uploads` updates at a time and refuses the next with 429 and a `Retry-After`
//! before reading its body, so memory stays bounded by `concurrent_uploads × UPLOAD_LIMIT` (times
//! the few copies decoding a body holds: JSON text, base64, bytes) instead of growing with a queue; each trainer address may upload a burst, then at a steady
//! rate; and slow clients are cut off by timeouts (see [`super::connections`]).

use super::error::ApiError;
use alloy::primitives::Address;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Seconds a client refused for a full intake should wait: an upload of the demo shape takes
/// milliseconds, so a slot frees up soon.
const BUSY_RETRY_AFTER: u64 = 1;

/// Distinct addresses the per-address limiter remembers before it forgets the idle ones (anyone
/// can sign with fresh keys, so the table must not grow without bound).
const ADDRESSES_REMEMBERED: usize = 10_000;

/// The server's limits (each has a default; `fedproof serve` has a flag for each).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Uploads handled at once; the next is answered 429.
    pub concurrent_uploads: usize,
    /// Uploads one trainer address may send at once after being idle.
    pub uploads_per_address_burst: u32,
    /// Uploads one trainer address may send per minute, steadily.
    pub uploads_per_address_per_minute: u32,
    /// Time a client has to send a request's headers (a slow-loris client is disconnected).
    pub header_timeout: Duration,
    /// Time a request may take, reading its body included (then 408).
    pub request_timeout: Duration,
}

impl Default for Limits {
    /// A trainer uploads once per round and retries a few times on errors: a burst of 10 and 30 a
    /// minute leave honest clients untouched; 64 uploads at once hold at most 64 × 16 MiB of
    /// bodies (plus their decoded copies) even for the largest models.
    fn default() -> Self {
        Self {
            concurrent_uploads: 64,
            uploads_per_address_burst: 10,
            uploads_per_address_per_minute: 30,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// The intake's door keeper: a permit per upload in progress and a token bucket per address.
#[derive(Clone)]
pub struct UploadGate {
    permits: Arc<Semaphore>,
    per_address: Arc<DefaultKeyedRateLimiter<Address>>,
}

impl std::fmt::Debug for UploadGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadGate").field("free_permits", &self.permits.available_permits()).finish()
    }
}

impl UploadGate {
    /// A gate with `limits`' concurrency and per-address quota (zeros count as one).
    pub fn new(limits: &Limits) -> Self {
        let one = NonZeroU32::MIN;
        let per_minute = NonZeroU32::new(limits.uploads_per_address_per_minute).unwrap_or(one);
        let burst = NonZeroU32::new(limits.uploads_per_address_burst).unwrap_or(one);
        Self {
            permits: Arc::new(Semaphore::new(limits.concurrent_uploads.max(1))),
            per_address: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))),
        }
    }

    /// A permit to read and handle one upload, or 429 when `concurrent_uploads` are in progress.
    pub fn enter(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.permits.clone().try_acquire_owned().map_err(|_| ApiError::TooManyRequests {
            code: "intake_busy",
            message: "the intake is handling as many uploads as it takes at once; retry shortly".into(),
            retry_after: BUSY_RETRY_AFTER,
        })
    }

    /// Counts one upload signed by `trainer`, or 429 with the wait until its next token.
    pub fn charge(&self, trainer: Address) -> Result<(), ApiError> {
        if self.per_address.len() > ADDRESSES_REMEMBERED {
            self.per_address.retain_recent();
        }
        self.per_address.check_key(&trainer).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.per_address.clock().now());
            ApiError::TooManyRequests {
                code: "upload_rate_limited",
                message: format!("{trainer} sent more uploads than its rate allows; retry in {} s", secs(wait)),
                retry_after: secs(wait),
            }
        })
    }
}

/// Whole seconds, rounded up (a Retry-After of 0 would invite an immediate retry).
fn secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
