//! The service's database: one `sqlx::AnyPool` over SQLite or PostgreSQL, with the schema of
//! `migrations/` applied at start-up.

mod reads;
mod writes;

pub use reads::{
    JobFilter, JobRow, PageVersion, ReliabilityEventRow, ReliabilityRow, RoundRow, RoundSlotRow, SubmissionRow,
    TrainerRow, UploadRow,
};
pub use writes::{Upload, UploadOutcome};

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use std::time::Duration;

/// Errors of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The connection URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// A row would break a uniqueness or other constraint.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Any other failure of the driver.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// Migrations failed to apply.
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl DbError {
    /// Whether the database could not be reached (connection refused or lost, the pool empty for
    /// [`ACQUIRE_TIMEOUT`], PostgreSQL shutting down or starting up): worth retrying, unlike a
    /// failed statement.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Sqlx(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_)) => true,
            // SQLSTATE classes 08 (connection exception) and 57P (operator intervention: admin
            // shutdown, crash shutdown, cannot connect now).
            Self::Sqlx(sqlx::Error::Database(db)) => {
                db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
            }
            _ => false,
        }
    }
}

/// How long a request waits for a database connection before it is answered 503: well inside
/// the request timeout, so a database that went away gives a clear answer, not a 408.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Result of database operations.
pub type DbResult<T> = Result<T, DbError>;

/// The shared database handle (cheap to clone).
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
}

impl Db {
    /// Connects to `url` (`sqlite://file.db` — created if missing — or `postgres://…`) and applies
    /// the migrations.
    pub async fn connect(url: &str) -> DbResult<Self> {
        sqlx::any::install_default_drivers();
        let (url, max) = if let Some(rest) = url.strip_prefix("sqlite:") {
            // Create the file on first use; SQLite serialises writers, so a few connections suffice
            // for reads and more only add lock contention.
            let sep = if rest.contains('?') { '&' } else { '?' };
            let url = if rest.contains("mode=") { url.to_owned() } else { format!("{url}{sep}mode=rwc") };
            (url, 8)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (url.to_owned(), 16)
        } else {
            return Err(DbError::UnsupportedUrl(url.to_owned()));
        };
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL lets readers proceed while the indexer writes; writers wait for the lock
                        // instead of failing at once.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        sqlx::migrate!("../migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection (waits for them to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Maps a driver error to [`DbError::Conflict`] when it is a constraint violation.
pub(crate) fn classify(e: sqlx::Error) -> DbError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() || db.is_check_violation() || db.is_foreign_key_violation() {
            return DbError::Conflict(db.message().to_owned());
        }
    }
    DbError::Sqlx(e)
}
