//! A private PostgreSQL server for one test, so that the test can really stop and start it: its
//! own data directory and unix-socket directory in a fresh temp dir, its own loopback port, trust
//! authentication for `postgres`. The shared server at `DATABASE_URL` is never touched.
//!
//! PostgreSQL refuses to run as root, so as root its binaries run as the `postgres` user
//! (`runuser`), with the temp dir given to that user. The server is stopped (`pg_ctl stop -m
//! immediate`) and its directory removed when the value is dropped, a failing test included.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the binaries may be: the links in /usr/local/bin, then Debian's versioned directories
/// (newest first).
fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("/usr/local/bin")];
    let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versioned.sort_by_key(|p| {
        let version = p.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).unwrap_or("");
        std::cmp::Reverse(version.parse::<u32>().unwrap_or(0))
    });
    dirs.extend(versioned);
    dirs
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`, or why there is none.
pub fn binaries() -> Result<PathBuf, String> {
    let dirs = candidate_dirs();
    dirs.iter()
        .find(|dir| ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file()))
        .cloned()
        .ok_or_else(|| format!("no initdb, pg_ctl and postgres in any of {dirs:?}"))
}

/// A running private PostgreSQL server.
pub struct PrivatePostgres {
    /// Its loopback port.
    pub port: u16,
    bin: PathBuf,
    as_postgres: bool,
    dir: tempfile::TempDir,
}

impl PrivatePostgres {
    /// Creates and starts a server; an error (the reason) only when the binaries are absent.
    pub fn start() -> Result<Self, String> {
        let bin = binaries()?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("fedproof-pg").tempdir().expect("temp dir");
        let mut pg = Self { port: 0, bin, as_postgres, dir };
        std::fs::create_dir(pg.sockets()).expect("socket dir");
        if as_postgres {
            let owned = Command::new("chown").args(["-R", "postgres:postgres"]).arg(pg.dir.path()).status();
            assert!(owned.expect("run chown").success(), "chown of the temp dir to postgres failed");
        }
        let data = pg.data();
        pg.run("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
        // A free port: bound and released just before the server takes it (retried if someone
        // else took it meanwhile).
        for _ in 0..3 {
            pg.port = free_port();
            if pg.try_start().status.success() {
                return Ok(pg);
            }
        }
        panic!("the private PostgreSQL did not start: {}", pg.log());
    }

    /// Its URL (the `postgres` database, which initdb creates).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl stop -m fast`: open sessions are ended (each client sees its connection close), new
    /// connections are refused, and it waits until the server has exited.
    pub fn stop(&self) {
        let out = self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60"]);
        assert!(out.status.success(), "pg_ctl stop failed: {}{}", text(&out), self.log());
    }

    /// Starts the stopped server again on the same port, waiting until it takes connections.
    pub fn start_again(&self) {
        let out = self.try_start();
        assert!(out.status.success(), "pg_ctl start failed: {}{}", text(&out), self.log());
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn try_start(&self) -> Output {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=50",
            self.port,
            self.sockets()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log, "-o", &options])
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let data = self.data();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        self.command("pg_ctl", &all)
    }

    fn run(&self, binary: &str, args: &[&str]) {
        let out = self.command(binary, args);
        assert!(out.status.success(), "{binary} failed: {}", text(&out));
    }

    /// Runs one of the binaries, as `postgres` when we are root, from the temp dir (the
    /// `postgres` user may not read our working directory).
    fn command(&self, binary: &str, args: &[&str]) -> Output {
        let path = self.bin.join(binary);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        cmd.args(args).current_dir(self.dir.path()).output().unwrap_or_else(|e| panic!("run {binary}: {e}"))
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn sockets(&self) -> String {
        self.dir.path().join("sockets").display().to_string()
    }

    /// The temp dir holding the data, the sockets and the log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Immediate: nothing to keep. Harmless when it is already stopped; the TempDir goes next.
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w", "-t", "30"]);
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
