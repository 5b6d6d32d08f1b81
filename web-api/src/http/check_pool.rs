//! The threads that check uploaded blobs (age open, then Poseidon over every parameter: ~1.4 ms
//! of CPU for the demo shape, far more for real models), at a lower CPU priority than the threads
//! that answer requests.
//!
//! Why: a check is throughput work, a read is latency work. On the tokio blocking pool the checks
//! of many concurrent uploads took every core at the same priority as the async workers, and reads
//! queued behind them (`fedproof bench api`: p99 of reads 80+ ms while 1,000 uploads arrived).
//! Here they run on a rayon pool of one thread per core whose threads lower their own priority
//! (`nice` + [`NICENESS`]; on Linux the nice value is per thread): an idle machine still gives
//! the checks every core, a busy one runs the requests first. The intake's upload limit bounds
//! how many checks wait for a thread.

use std::sync::Arc;

/// How much lower the checking threads run than the server (Linux nice units; the kernel's
/// weights make a nice-10 thread get ~1/10 of a core against a nice-0 one wanting it).
pub const NICENESS: i32 = 10;

/// A pool of low-priority threads for CPU-bound checks.
#[derive(Clone)]
pub struct CheckPool {
    pool: Arc<rayon::ThreadPool>,
}

impl std::fmt::Debug for CheckPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckPool").field("threads", &self.pool.current_num_threads()).finish()
    }
}

impl CheckPool {
    /// One thread per available core, each at [`NICENESS`] below the caller's priority.
    pub fn new() -> std::io::Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("intake-check-{i}"))
            .start_handler(|_| {
                // A thread that cannot lower its priority still checks, at the server's.
                if let Err(e) = rustix::process::nice(NICENESS) {
                    tracing::warn!(error = %e, "an intake check thread could not lower its priority");
                }
            })
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self { pool: Arc::new(pool) })
    }

    /// Runs `check` on the pool and waits for its result without blocking the async worker.
    /// A panic in `check` is an error, not a crash of the server.
    pub async fn run<T: Send + 'static>(&self, check: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
            let _ = tx.send(outcome);
        });
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => Err(panic_message(&*panic)),
            Err(_) => Err("the check's thread went away".into()),
        }
    }
}

/// What a caught panic said.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the check panicked".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_run_at_a_lower_priority_than_the_server() {
        let pool = CheckPool::new().expect("pool");
        let ours = rustix::process::getpriority_process(None).expect("our nice value");
        let theirs = pool.run(|| rustix::process::getpriority_process(None).expect("nice")).await.expect("ran");
        // Nice values stop at 19.
        assert_eq!(theirs, (ours + NICENESS).min(19), "the check thread's nice value");
        let still = rustix::process::getpriority_process(None).expect("our nice value");
        assert_eq!(still, ours, "only the pool's threads were lowered");
    }

    #[tokio::test]
    async fn a_panicking_check_is_an_error() {
        let pool = CheckPool::new().expect("pool");
        let outcome = pool.run(|| -> u8 { panic!("bad blob") }).await;
        assert_eq!(outcome, Err("bad blob".into()));
        assert_eq!(pool.run(|| 7).await, Ok(7), "the pool still checks");
    }
}
