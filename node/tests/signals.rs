//! SIGTERM (what systemd, Docker and Kubernetes send) stops long-running commands as Ctrl-C does:
//! `fedproof demo` stops its anvil and exits with 143, `fedproof serve` drains and exits 0.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{fedproof, Running};

/// The processes whose parent is `pid`, with their command names (from /proc).
fn children(pid: u32) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            // pid (comm) state ppid …: the name may hold spaces, so split after the last ')'.
            let (head, rest) = stat.rsplit_once(") ")?;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            let comm = head.split_once(" (")?.1.to_string();
            (ppid == pid).then_some((child, comm))
        })
        .collect()
}

/// Whether `pid` is still running (a zombie waiting to be reaped is not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn sigterm_stops_the_demo_and_the_anvil_it_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["demo", "--trainers", "4", "--rounds", "1", "--keys", &path(&dir.path().join("keys"))];
    let anvil_path = path(&common::anvil_path());
    let mut demo = Running::spawn(fedproof(&[&args[..], &["--anvil", &anvil_path]].concat(), ""), "demo", dir.path());
    // Anvil starts before the keys load, so it is up within seconds.
    let anvil = wait_for("the demo's anvil", Duration::from_secs(60), || {
        children(demo.pid()).into_iter().find(|(_, comm)| comm == "anvil").map(|(pid, _)| pid)
    });
    demo.terminate();
    let status = demo.wait_for_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(143), "{}", demo.stderr());
    assert!(demo.stderr().contains("stopped by SIGTERM"), "{}", demo.stderr());
    wait_for("anvil to stop", Duration::from_secs(10), || (!running(anvil)).then_some(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_fedproof_serve_and_exits_cleanly() {
    let harness = common::Harness::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", path(&dir.path().join("api.db")));
    let market = format!("{:#x}", harness.stack.market);
    let args =
        ["serve", "--rpc", &harness.anvil.endpoint(), "--market", &market, "--db", &db, "--listen", "127.0.0.1:0"];
    let mut serve = Running::spawn(fedproof(&[&args[..], &["--json"]].concat(), ""), "serve", dir.path());
    let listen = wait_for("serve to listen", Duration::from_secs(60), || {
        serve.json_lines().first().and_then(|line| line["listen"].as_str().map(str::to_string))
    });
    let health = reqwest::get(format!("http://{listen}/api/jobs")).await.expect("serve answers");
    assert!(health.status().is_success());
    serve.terminate();
    let status = serve.wait_for_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "a drained server exits 0: {}", serve.stderr());
    assert!(std::net::TcpStream::connect(&listen).is_err(), "{listen} still accepts connections");
}
