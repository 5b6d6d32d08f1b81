//! Stop signals. SIGINT (Ctrl-C) and SIGTERM (what systemd, Docker and Kubernetes send) both ask
//! a command to stop: a server drains its connections and returns; any other command is dropped
//! at its next await, which stops its children (anvil's handle kills it on drop, as do the bench's
//! workers) and leaves only what the roles had already written whole (blobs and keys are written
//! to a temporary name and renamed; every role re-reads its state from the chain on restart).

use std::future::Future;
use std::time::Duration;

/// How long a command may take to stop on its own after a signal (a server finishing the
/// requests in flight) before it is dropped.
pub const GRACE: Duration = Duration::from_secs(2);

/// A command stopped by a signal: exits with 128 + the signal's number, as shells report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stopped by {name}")]
pub struct Stopped {
    /// The signal's name.
    pub name: &'static str,
    /// The exit status to report (130 for SIGINT, 143 for SIGTERM).
    pub exit_code: u8,
}

/// The stop signals, listened for from the moment they are made. A signal that arrives before
/// (a command's first poll can run for a while: the demo waits for its anvil) would otherwise
/// take its default action: the process dies at once and leaves its children.
pub struct StopSignals {
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    /// Installs the handlers (inside a Tokio runtime).
    pub fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let unix = signal(SignalKind::interrupt()).and_then(|i| Ok((i, signal(SignalKind::terminate())?))).ok();
            StopSignals { unix }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Resolves when SIGINT or SIGTERM arrives (or arrived since [`StopSignals::listen`]).
    pub async fn recv(&mut self) -> Stopped {
        let interrupt = Stopped { name: "SIGINT", exit_code: 130 };
        #[cfg(unix)]
        if let Some((sigint, sigterm)) = self.unix.as_mut() {
            return tokio::select! {
                _ = sigint.recv() => interrupt,
                _ = sigterm.recv() => Stopped { name: "SIGTERM", exit_code: 143 },
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        interrupt
    }
}

/// Resolves when SIGINT or SIGTERM arrives.
pub async fn requested() -> Stopped {
    StopSignals::listen().recv().await
}

/// Runs `command` until it ends or a stop signal arrives. After a signal it gets [`GRACE`] to
/// end by itself (servers listen for the same signal and drain); then it is dropped and the
/// result is [`Stopped`].
pub async fn run_until_stopped<T, F: Future<Output = anyhow::Result<T>>>(command: F) -> anyhow::Result<T> {
    // Listening before the command's first poll, which may not return for a while.
    let mut signals = StopSignals::listen();
    let mut command = std::pin::pin!(command);
    tokio::select! {
        done = &mut command => done,
        stopped = signals.recv() => match tokio::time::timeout(GRACE, &mut command).await {
            Ok(done) => done,
            Err(_) => Err(stopped.into()),
        },
    }
}
