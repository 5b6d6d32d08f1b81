//! Pause points for crash tests. With `FEDPROOF_PAUSE_AT=<point>` (or `<point>#<n>`: its n-th
//! arrival) a process stops at that point of its work: it prints `{"paused":"<point>"}` on stderr
//! and blocks there, so a test can SIGKILL it exactly between two steps (proved but not sent,
//! sent but no receipt, a blob stored but not its row). Without the variable, which is always so
//! outside tests, a point costs one comparison.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The variable that names the point to pause at.
pub const PAUSE_AT_ENV: &str = "FEDPROOF_PAUSE_AT";

/// The point and the arrival to pause at, read once.
fn target() -> Option<&'static (String, u32)> {
    static TARGET: OnceLock<Option<(String, u32)>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let spec = std::env::var(PAUSE_AT_ENV).ok()?;
            Some(match spec.rsplit_once('#') {
                Some((point, n)) => (point.to_owned(), n.parse().unwrap_or(1)),
                None => (spec, 1),
            })
        })
        .as_ref()
}

/// Arrivals at the target point so far.
static ARRIVALS: AtomicU32 = AtomicU32::new(0);

/// Pauses this process for good if `point` is the one `FEDPROOF_PAUSE_AT` names (at its n-th
/// arrival); returns at once otherwise. The pause blocks its thread, as a process stopped there
/// would, while the test kills it.
pub fn point(point: &str) {
    let Some((target, n)) = target() else { return };
    if target != point || ARRIVALS.fetch_add(1, Ordering::SeqCst) + 1 != *n {
        return;
    }
    eprintln!("{{\"paused\":\"{point}\"}}");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
