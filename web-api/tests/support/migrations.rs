//! Databases at an older migration, and snapshots of their rows to compare across a migration.

use super::{BlankDb, Engine};
use sqlx::AnyPool;

/// The first migration's version: the invariants migration rebuilds the tables it created.
pub const INVARIANTS: i64 = 20261129000001;

/// Statement v2: submission ranks and round domains.
pub const STATEMENT_V2: i64 = 20261129000002;

/// 256 slots: 0x hex bitmaps, ‖S‖² and H columns, no flags.
pub const SLOTS_256: i64 = 20261201000001;

/// The latest migration (reorgs: indexed block hashes, metrics without a reference to jobs).
pub const REORGS: i64 = 20261201000100;

/// Every table with its columns (as the first migration created them).
pub const TABLES: &[(&str, &str)] = &[
    ("indexer_cursor", "name, last_block"),
    (
        "jobs",
        "id, owner, aggregator, token, budget, round_budget, stake, bond, verifier, spec_hash, spec_uri, \
         initial_model, rounds, trainers, max_malicious, tau, lr, lr_decay, dup_tol, start_time, submit_window, \
         finalize_window, dispute_window, current_round, status, bond_posted, created_block, created_tx",
    ),
    ("job_trainers", "job_id, trainer, slot, stake, active, joined_block"),
    ("submissions", "job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash"),
    (
        "rounds",
        "job_id, round, status, model, new_model, flags, inlier_bits, unavailable_bits, presence_bits, score_words, \
         total_score, allocated, proof, finalized_at, refunded, bond_slashed, block, tx_hash",
    ),
    ("round_slots", "job_id, round, slot, trainer, present, inlier, score, payout"),
    ("claims", "job_id, round, slot, trainer, amount, block, tx_hash"),
    ("disputes", "job_id, round, slot, trainer, slashed, block, tx_hash"),
    ("withdrawals", "tx_hash, log_index, token, account, amount, block"),
    (
        "reliability_events",
        "tx_hash, log_index, position, source, observation, score, observations, block, job_id, round",
    ),
    ("reliability", "source, score, observations, last_update, block"),
    ("uploads", "job_id, round, slot, trainer, commitment, cid, receipt_signature"),
    ("round_metrics", "job_id, round, accuracy, signature"),
];

/// Every table but rounds with its columns as of statement v2 (which added submission ranks): the
/// tables the 256-slot migration rebuilds or keeps, whose rows it must keep as they were.
pub const TABLES_V2: &[(&str, &str)] = &[
    ("indexer_cursor", "name, last_block"),
    (
        "jobs",
        "id, owner, aggregator, token, budget, round_budget, stake, bond, verifier, spec_hash, spec_uri, \
         initial_model, rounds, trainers, max_malicious, tau, lr, lr_decay, dup_tol, start_time, submit_window, \
         finalize_window, dispute_window, current_round, status, bond_posted, created_block, created_tx",
    ),
    ("job_trainers", "job_id, trainer, slot, stake, active, joined_block"),
    ("submissions", "job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash, rank"),
    ("round_slots", "job_id, round, slot, trainer, present, inlier, score, payout"),
    ("claims", "job_id, round, slot, trainer, amount, block, tx_hash"),
    ("disputes", "job_id, round, slot, trainer, slashed, block, tx_hash"),
    ("withdrawals", "tx_hash, log_index, token, account, amount, block"),
    (
        "reliability_events",
        "tx_hash, log_index, position, source, observation, score, observations, block, job_id, round",
    ),
    ("reliability", "source, score, observations, last_update, block"),
    ("uploads", "job_id, round, slot, trainer, commitment, cid, receipt_signature"),
    ("round_metrics", "job_id, round, accuracy, signature"),
];

/// Every row of every table, each value as text, in a fixed order.
pub async fn snapshot(pool: &AnyPool) -> Vec<(String, Vec<Vec<Option<String>>>)> {
    snapshot_of(pool, TABLES).await
}

/// Every row of `tables` (name, columns), each value as text, in a fixed order.
pub async fn snapshot_of(pool: &AnyPool, tables: &[(&str, &str)]) -> Vec<(String, Vec<Vec<Option<String>>>)> {
    use sqlx::Row;
    let mut out = Vec::new();
    for &(table, columns) in tables {
        let cols: Vec<&str> = columns.split(',').map(str::trim).collect();
        let select = cols.iter().map(|c| format!("CAST({c} AS TEXT)")).collect::<Vec<_>>().join(", ");
        let order = (1..=cols.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(&format!("SELECT {select} FROM {table} ORDER BY {order}"))
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        let rows = rows
            .iter()
            .map(|r| (0..cols.len()).map(|i| r.try_get::<Option<String>, _>(i).expect("text")).collect())
            .collect();
        out.push((table.to_owned(), rows));
    }
    out
}

/// The migrations up to version `last` (their files copied into the returned directory).
pub async fn migrator_to(last: i64) -> (tempfile::TempDir, sqlx::migrate::Migrator) {
    let dir = tempfile::tempdir().expect("temp dir");
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    for entry in std::fs::read_dir(&all).expect("migrations/") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let version: i64 = name.split('_').next().and_then(|v| v.parse().ok()).expect("versioned file");
        if version <= last {
            std::fs::copy(&path, dir.path().join(&name)).expect("copy");
        }
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.expect("migrations");
    (dir, migrator)
}

/// A database with only the migrations up to version `last` applied, on a raw pool.
pub async fn database_at(engine: Engine, last: i64) -> (BlankDb, AnyPool) {
    let blank = BlankDb::new(engine).await;
    let pool = blank.pool().await;
    migrate_to(&pool, last).await;
    (blank, pool)
}

/// Applies the migrations up to version `last` to a database at an earlier one (or a blank one).
pub async fn migrate_to(pool: &AnyPool, last: i64) {
    let (_dir, migrator) = migrator_to(last).await;
    assert!(migrator.iter().any(|m| m.version == last), "migration {last} exists");
    migrator.run(pool).await.expect("the older schema applies");
}

/// A database with only the migrations before the invariants applied, on a raw pool.
pub async fn before_invariants(engine: Engine) -> (BlankDb, AnyPool) {
    let blank = BlankDb::new(engine).await;
    let pool = blank.pool().await;
    let (_dir, old) = migrator_to(INVARIANTS - 1).await;
    assert_eq!(old.iter().count(), 1, "only the first schema");
    old.run(&pool).await.expect("first schema applies");
    (blank, pool)
}
