//! Shared test support: throw-away databases (SQLite file or PostgreSQL database), rows and older
//! schemas for the database tests, and a real anvil chain with the fedproof contracts and a short,
//! really proven job.
#![allow(dead_code, missing_docs)] // each test binary uses a part of it

pub mod chain;
pub mod migrations;
pub mod postgres;
pub mod proxy;
pub mod rows;
pub mod server;
pub mod upload;
pub mod verifier;

use fedproof_web_api::db::Db;
use std::sync::atomic::{AtomicU32, Ordering};

/// Which database engine a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    _blank: BlankDb,
}

/// An empty database (no migrations applied) that is removed afterwards.
pub struct BlankDb {
    /// Its URL, as `Db::connect` takes it.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh database on `engine`, migrated.
    pub async fn new(engine: Engine) -> Self {
        Self::migrate(BlankDb::new(engine).await).await
    }

    /// Applies the migrations to `blank` and connects.
    pub async fn migrate(blank: BlankDb) -> Self {
        let db = Db::connect(&blank.url).await.expect("database connects and migrates");
        Self { db, url: blank.url.clone(), _blank: blank }
    }
}

impl BlankDb {
    /// A fresh, empty database on `engine`.
    pub async fn new(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("fedproof.db").display());
                Self { url, _dir: Some(dir), pg_drop: None }
            }
            Engine::Postgres => {
                let admin = std::env::var("DATABASE_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
                // Unique per process and test so that parallel runs never share a database.
                let name = format!(
                    "fedproof_t{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.subsec_nanos())
                        .unwrap_or(0)
                );
                admin_exec(&admin, &format!("CREATE DATABASE {name}")).await;
                let mut url = url::Url::parse(&admin).expect("DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                Self { url: url.to_string(), _dir: None, pg_drop: Some((admin, name)) }
            }
        }
    }

    /// A raw pool on it (the SQLite file is created on first use), without migrations.
    pub async fn pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let url = if self.url.starts_with("sqlite:") { format!("{}?mode=rwc", self.url) } else { self.url.clone() };
        sqlx::AnyPool::connect(&url).await.expect("blank database connects")
    }
}

async fn admin_exec(admin: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(admin).await.expect("PostgreSQL at DATABASE_URL");
    sqlx::query(sql).execute(&pool).await.expect("admin statement");
    pool.close().await;
}

/// Runs `f` on a plain thread with its own runtime (Drop runs outside async).
fn block_on_thread<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(f);
    })
    .join();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Close the pool before the database goes (the blank's Drop runs after this one).
        if self._blank.pg_drop.is_some() {
            let db = self.db.clone();
            block_on_thread(async move { db.close().await });
        }
    }
}

impl Drop for BlankDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_drop.take() {
            block_on_thread(async move {
                admin_exec(&admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            });
        }
    }
}

/// Runs `f` on both engines.
pub const ENGINES: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

/// The invariants of a stored round's bitmaps that the schema cannot state on 0x text (see
/// migrations/20261201000001_slots_256.sql): every bitmap is 0x + 64 lowercase hex digits, the
/// inliers are among the present slots, no present slot is unavailable, and no bit lies at or above
/// the job's `n` slots.
pub fn assert_round_bitmaps(round: &fedproof_web_api::db::RoundRow, n: usize) {
    use alloy::primitives::U256;
    let what = format!("round {} of job {}", round.round, round.job_id);
    for bits in [&round.inlier_bits, &round.unavailable_bits, &round.presence_bits].into_iter().flatten() {
        assert!(
            bits.len() == 66 && bits.starts_with("0x") && bits[2..].chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
            "{what}: bitmap {bits:?} is not 0x + 64 lowercase hex digits"
        );
    }
    let (inliers, presence, unavailable) = (round.inliers(), round.presence(), round.unavailable());
    assert_eq!(inliers & presence, inliers, "{what}: an inlier that is not present");
    assert_eq!(presence & unavailable, U256::ZERO, "{what}: a present slot declared unavailable");
    for bits in [inliers, presence, unavailable] {
        assert!(n >= 256 || bits >> n == U256::ZERO, "{what}: a bit at or above slot {n}");
    }
}
