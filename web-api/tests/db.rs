//! The schema and the service's own writes on SQLite and PostgreSQL.

mod support;

use alloy::primitives::U256;
use fedproof_web_api::db::{Db, DbError, JobFilter, Upload, UploadOutcome};
use fedproof_web_api::format::bits;
use sqlx::error::ErrorKind;
use sqlx::AnyPool;
use support::{BlankDb, Engine, TestDb, ENGINES};

#[tokio::test(flavor = "multi_thread")]
async fn schema_and_writes_work_on_both_engines() {
    for engine in ENGINES {
        exercise(engine).await;
    }
}

async fn exercise(engine: Engine) {
    let t = TestDb::new(engine).await;
    // Migrations are recorded: connecting again applies nothing twice.
    let again = Db::connect(&t.url).await.expect("second connect migrates idempotently");
    again.close().await;
    let db = &t.db;
    let (jobs, total) = db.jobs(&JobFilter { page: 1, per_page: 20, ..Default::default() }).await.expect("jobs");
    assert!(jobs.is_empty());
    assert_eq!(total, 0);

    let upload = Upload {
        job_id: 1,
        round: 0,
        slot: 2,
        trainer: "0x00000000000000000000000000000000000000aa".into(),
        commitment: format!("0x{:064x}", 7),
        cid: "bafy-one".into(),
        receipt_signature: "0xsig".into(),
    };
    assert_eq!(db.store_upload(&upload).await.expect("stored"), UploadOutcome::Stored);
    assert_eq!(db.store_upload(&upload).await.expect("retry"), UploadOutcome::AlreadyStored("0xsig".into()));
    let other = Upload { cid: "bafy-two".into(), receipt_signature: "0xother".into(), ..upload.clone() };
    assert_eq!(db.store_upload(&other).await.expect("conflict"), UploadOutcome::Conflict);
    let stored = db.uploads(1, 0).await.expect("uploads");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].cid, "bafy-one", "a conflicting upload changes nothing stored");

    // Metrics are published for an indexed job.
    exec(db.pool(), &job(1, "active")).await;
    db.store_metrics(1, 0, 0.5, "0xa").await.expect("metrics");
    db.store_metrics(1, 0, 0.75, "0xb").await.expect("metrics replaced");
    assert_eq!(db.accuracy(1, 0).await.expect("accuracy"), Some(0.75));
    assert_eq!(db.accuracy(1, 1).await.expect("accuracy"), None);
}

/// The first migration's version: the invariants migration rebuilds the tables it created.
const INVARIANTS: i64 = 20261129000001;
/// Statement v2: submission ranks and round domains.
const STATEMENT_V2: i64 = 20261129000002;
/// The latest migration (256 slots: 0x hex bitmaps, ‖S‖² and H columns, no flags).
const SLOTS_256: i64 = 20261201000001;

const ALICE: &str = "0x00000000000000000000000000000000000000aa";
const BOB: &str = "0x00000000000000000000000000000000000000bb";
const CAROL: &str = "0x00000000000000000000000000000000000000cc";
const DAVE: &str = "0x00000000000000000000000000000000000000dd";
const EVE: &str = "0x00000000000000000000000000000000000000ee";

/// A 32-byte 0x word.
fn w(n: u64) -> String {
    format!("0x{n:064x}")
}

/// A job row as the indexer writes it (3 slots, 2 rounds), with `status`.
fn job(id: i64, status: &str) -> String {
    let current = if status == "completed" { 2 } else { 0 };
    format!(
        "INSERT INTO jobs (id, owner, aggregator, token, budget, round_budget, stake, bond, verifier, spec_hash, \
         spec_uri, initial_model, rounds, trainers, max_malicious, tau, lr, lr_decay, dup_tol, start_time, \
         submit_window, finalize_window, dispute_window, current_round, status, bond_posted, created_block, \
         created_tx) VALUES ({id}, '{ALICE}', '{BOB}', '0x0000000000000000000000000000000000000000', '1000', \
         '500', '10', '20', '0x00000000000000000000000000000000000000ee', '{spec}', 'ipfs://spec', '{model}', 2, \
         3, 1, 65536, 1000, 10, 100, 1700000000, 60, 60, 60, {current}, '{status}', 1, 5, '{tx}')",
        spec = w(0x5bec),
        model = w(7),
        tx = w(0x100 + id as u64),
    )
}

fn trainer(job: i64, who: &str, slot: i64, active: i64) -> String {
    format!(
        "INSERT INTO job_trainers (job_id, trainer, slot, stake, active, joined_block) \
         VALUES ({job}, '{who}', {slot}, '10', {active}, 6)"
    )
}

/// A finalized round as the indexer writes it: presence, inliers and unavailable slots as 0x
/// bitmaps, ‖S‖² 21.
fn finalized(job: i64, round: i64, presence: U256, inliers: U256, unavailable: U256, proof: Option<&str>) -> String {
    let proof = proof.map_or_else(|| "NULL".to_owned(), |p| format!("'{p}'"));
    format!(
        "INSERT INTO rounds (job_id, round, status, model, new_model, inlier_bits, unavailable_bits, presence_bits, \
         aggregate_norm_sq, score_words, total_score, allocated, proof, finalized_at, block, tx_hash) VALUES \
         ({job}, {round}, 'finalized', '{m}', '{n}', '{i}', '{u}', '{p}', '21', '[\"3\"]', '3', '500', {proof}, \
         1700000100, 9, '{tx}')",
        m = w(7),
        n = w(8),
        i = bits(&inliers),
        u = bits(&unavailable),
        p = bits(&presence),
        tx = w(0x200 + round as u64),
    )
}

/// A finalized round under the schema before `SLOTS_256`: BIGINT bitmaps (negative when bit 63 is
/// set) and the flags word (presence | inliers << 64 | ‖S‖² << 128).
fn finalized_v1(
    job: i64,
    round: i64,
    presence: i64,
    inliers: i64,
    unavailable: i64,
    norm: u64,
    proof: Option<&str>,
) -> String {
    let proof = proof.map_or_else(|| "NULL".to_owned(), |p| format!("'{p}'"));
    let flags = (U256::from(norm) << 128) | (U256::from(inliers as u64) << 64) | U256::from(presence as u64);
    format!(
        "INSERT INTO rounds (job_id, round, status, model, new_model, flags, inlier_bits, unavailable_bits, \
         presence_bits, score_words, total_score, allocated, proof, finalized_at, block, tx_hash) VALUES \
         ({job}, {round}, 'finalized', '{m}', '{n}', '{f}', {inliers}, {unavailable}, {presence}, '[\"3\"]', '3', \
         '500', {proof}, 1700000100, 9, '{tx}')",
        m = w(7),
        n = w(8),
        f = bits(&flags),
        tx = w(0x200 + round as u64),
    )
}

/// A bitmap of the given slots.
fn slots(of: &[usize]) -> U256 {
    of.iter().fold(U256::ZERO, |acc, &i| acc | (U256::from(1) << i))
}

fn round_slot(job: i64, round: i64, slot: i64, present: i64, inlier: i64) -> String {
    format!(
        "INSERT INTO round_slots (job_id, round, slot, trainer, present, inlier, score, payout) \
         VALUES ({job}, {round}, {slot}, '{ALICE}', {present}, {inlier}, '1', '166')"
    )
}

async fn exec(pool: &AnyPool, sql: &str) {
    sqlx::query(sql).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Asserts that the database refuses `sql` with a violation of `kind`.
async fn refused(pool: &AnyPool, kind: ErrorKind, what: &str, sql: &str) {
    match sqlx::query(sql).execute(pool).await {
        Ok(_) => panic!("{what}: stored, but should be refused"),
        Err(sqlx::Error::Database(e)) => assert_eq!(e.kind(), kind, "{what}: {e}"),
        Err(e) => panic!("{what}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_refuses_rows_breaking_an_invariant() {
    for engine in ENGINES {
        refuses(engine).await;
    }
}

async fn refuses(engine: Engine) {
    use ErrorKind::{CheckViolation as Check, ForeignKeyViolation as Orphan, UniqueViolation as Unique};
    let t = TestDb::new(engine).await;
    let p = t.db.pool();
    exec(p, &job(1, "active")).await;

    // jobs: status, hex, counts.
    refused(p, Check, "an unknown job status", &job(2, "paused")).await;
    refused(p, Check, "an owner that is not lowercase 0x hex", &job(2, "open").replace(ALICE, &ALICE.to_uppercase()))
        .await;
    refused(p, Check, "a job without trainer slots", &job(2, "open").replace("2, 3, 1,", "2, 0, 1,")).await;
    refused(p, Check, "a job of 257 slots", &job(2, "open").replace("2, 3, 1,", "2, 257, 1,")).await;
    exec(p, &job(9, "open").replace("2, 3, 1,", "2, 256, 1,")).await; // JobMarket's MAX_SLOTS
    refused(
        p,
        Check,
        "a completed job before its last round",
        &job(2, "completed").replace(", 2, 'completed'", ", 1, 'completed'"),
    )
    .await;
    refused(p, Check, "a 0/1 flag set to 2", &job(2, "open").replace("'open', 1,", "'open', 2,")).await;

    // job_trainers: orphans, flags, one live trainer per slot.
    refused(p, Orphan, "a trainer of a job not indexed", &trainer(99, ALICE, 0, 1)).await;
    refused(p, Check, "a slot beyond 255", &trainer(1, ALICE, 256, 1)).await;
    exec(p, &trainer(9, EVE, 255, 1)).await; // the last slot of a 256-slot job
    refused(p, Check, "an active flag of 2", &trainer(1, ALICE, 0, 2)).await;
    exec(p, &trainer(1, ALICE, 0, 1)).await;
    refused(p, Unique, "a second live trainer in slot 0", &trainer(1, BOB, 0, 1)).await;
    exec(p, &trainer(1, BOB, 0, 0)).await; // one who left that slot is fine
    refused(
        p,
        Unique,
        "reviving the one who left slot 0",
        &format!("UPDATE job_trainers SET active = 1 WHERE job_id = 1 AND trainer = '{BOB}'"),
    )
    .await;
    exec(p, &trainer(1, CAROL, 1, 1)).await;

    // submissions: by a trainer of the job, once per trainer and round.
    let submission = |slot: i64, who: &str| {
        format!(
            "INSERT INTO submissions (job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash) \
             VALUES (1, 0, {slot}, '{who}', '{c}', '{b}', 8, '{tx}')",
            c = w(11),
            b = w(12),
            tx = w(13)
        )
    };
    refused(p, Orphan, "a submission by someone who never joined", &submission(2, DAVE)).await;
    exec(p, &submission(0, ALICE)).await;
    refused(p, Unique, "a second submission by the same trainer in a round", &submission(2, ALICE)).await;
    refused(p, Check, "a commitment that is not a 0x word", &submission(1, CAROL).replace(&w(11), "0x0b")).await;
    let ranked = |rank: i64| {
        format!(
            "INSERT INTO submissions (job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash, rank) \
             VALUES (9, 0, 255, '{EVE}', '{c}', '{b}', 8, '{tx}', {rank})",
            c = w(11),
            b = w(12),
            tx = w(13)
        )
    };
    refused(p, Check, "a submission rank beyond 256", &ranked(257)).await;
    refused(p, Check, "a submission rank of 0", &ranked(0)).await;
    exec(p, &ranked(256)).await;

    // rounds: orphans, status, what a finalized round has.
    let round0 = finalized(1, 0, slots(&[0, 1]), slots(&[0]), U256::ZERO, None);
    refused(p, Orphan, "a round of a job not indexed", &finalized(99, 0, U256::ONE, U256::ONE, U256::ZERO, None)).await;
    refused(p, Check, "an unknown round status", &round0.replace("'finalized'", "'pending'")).await;
    refused(p, Check, "a finalized round without its new model", &round0.replace(&format!("'{}'", w(8)), "NULL")).await;
    refused(p, Check, "a bitmap as a decimal number", &round0.replace(&bits(&slots(&[0, 1])), "3")).await;
    refused(
        p,
        Check,
        "a bitmap in uppercase hex",
        &round0.replace(&bits(&slots(&[0, 1])), &format!("0x{:064X}", 0xab)),
    )
    .await;
    refused(p, Check, "a bitmap of 63 hex digits", &round0.replace(&bits(&slots(&[0, 1])), &format!("0x{:063x}", 3)))
        .await;
    refused(p, Check, "a finalized round without its ‖S‖²", &round0.replace("'21'", "NULL")).await;
    refused(p, Check, "an ‖S‖² that is not decimal", &round0.replace("'21'", "'0x15'")).await;
    let with_digest = |digest: &str| {
        round0.replace("aggregate_norm_sq,", "aggregate_norm_sq, digest,").replace("'21',", &format!("'21', {digest},"))
    };
    refused(p, Check, "an H that is not a 0x word", &with_digest("'0x1'")).await;
    // Not stated on 0x text (see the migration): the bitwise invariants are the tests' to check.
    exec(p, &finalized(9, 0, slots(&[200]), slots(&[200]), slots(&[255]), None)).await;
    let wide = t.db.round(9, 0).await.expect("round").expect("stored");
    support::assert_round_bitmaps(&wide, 256);
    assert_eq!((wide.presence(), wide.unavailable()), (slots(&[200]), slots(&[255])), "read back exactly");
    exec(p, &with_digest(&format!("'{}'", w(0xd1)))).await; // relayed: no proof
    assert_eq!(t.db.round(1, 0).await.expect("round").expect("stored").digest, Some(w(0xd1)));
    let expired = |digest: &str| {
        format!(
            "INSERT INTO rounds (job_id, round, status, refunded, bond_slashed, presence_bits, digest, block, tx_hash) \
             VALUES (1, 3, 'expired', '500', '20', '{}', {digest}, 11, '{}')",
            bits(&U256::ONE),
            w(50)
        )
    };
    refused(p, Check, "an expired round with an H", &expired(&format!("'{}'", w(0xd1)))).await;
    exec(p, &expired("NULL")).await;

    // round_slots, claims, disputes: under a stored round and slot.
    refused(p, Orphan, "a slot outcome of a round not stored", &round_slot(1, 1, 0, 1, 1)).await;
    refused(p, Check, "an inlier slot that was not present", &round_slot(1, 0, 0, 0, 1)).await;
    exec(p, &round_slot(1, 0, 0, 1, 1)).await;
    refused(p, Check, "a slot outcome beyond slot 255", &round_slot(9, 0, 256, 1, 1)).await;
    exec(p, &round_slot(9, 0, 200, 1, 1)).await;
    let claim = |slot: i64| {
        format!(
            "INSERT INTO claims (job_id, round, slot, trainer, amount, block, tx_hash) \
             VALUES (1, 0, {slot}, '{ALICE}', '166', 10, '{tx}')",
            tx = w(14)
        )
    };
    refused(p, Orphan, "a claim of a slot with no outcome", &claim(1)).await;
    exec(p, &claim(0)).await;
    let dispute = format!(
        "INSERT INTO disputes (job_id, round, slot, trainer, slashed, block, tx_hash) \
         VALUES (1, 0, 2, '{ALICE}', '6', 10, '{tx}')",
        tx = w(15)
    );
    refused(p, Orphan, "a dispute of a slot with no outcome", &dispute).await;
    exec(p, &dispute.replace("(1, 0, 2,", "(9, 0, 200,")).await; // slot 200 of the 256-slot job

    // reliability_events: a round both named and stored, or none.
    let event = |pos: i64, job: &str, round: &str| {
        format!(
            "INSERT INTO reliability_events (tx_hash, log_index, position, source, observation, score, \
             observations, block, job_id, round) VALUES ('{tx}', 3, {pos}, '{s}', '1000', '900', 1, 9, {job}, {round})",
            tx = w(0x200),
            s = w(0xaa)
        )
    };
    refused(p, Check, "a reliability event naming a job but no round", &event(0, "1", "NULL")).await;
    refused(p, Orphan, "a reliability event of a round not stored", &event(0, "1", "5")).await;
    exec(p, &event(0, "1", "0")).await;
    exec(p, &event(1, "NULL", "NULL")).await;

    // The service's own writes: metrics of an indexed job, an accuracy in [0, 1].
    assert!(matches!(t.db.store_metrics(1, 0, 1.5, "0xa").await, Err(DbError::Conflict(_))), "accuracy 1.5");
    assert!(matches!(t.db.store_metrics(99, 0, 0.5, "0xa").await, Err(DbError::Conflict(_))), "metrics of no job");
    t.db.store_metrics(1, 0, 0.5, "0xa").await.expect("metrics of an indexed job");
    // The database does not require an upload's job row (older uploads may precede it; see the
    // invariants migration), but it does check the row's own fields.
    let upload = Upload {
        job_id: 99,
        round: 0,
        slot: 0,
        trainer: ALICE.into(),
        commitment: w(11),
        cid: "bafy".into(),
        receipt_signature: "0xsig".into(),
    };
    assert_eq!(t.db.store_upload(&upload).await.expect("upload"), UploadOutcome::Stored);
    let bad = Upload { job_id: 98, trainer: "alice".into(), ..upload.clone() };
    assert!(matches!(t.db.store_upload(&bad).await, Err(DbError::Conflict(_))), "a trainer that is no address");
    let last = Upload { job_id: 97, slot: 255, ..upload.clone() };
    assert_eq!(t.db.store_upload(&last).await.expect("slot 255"), UploadOutcome::Stored);
    let beyond = Upload { job_id: 96, slot: 256, ..upload };
    assert!(matches!(t.db.store_upload(&beyond).await, Err(DbError::Conflict(_))), "an upload for slot 256");
}

/// Every table with its columns (as the first migration created them).
const TABLES: &[(&str, &str)] = &[
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
const TABLES_V2: &[(&str, &str)] = &[
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

/// The rounds columns both the schema before and after the 256-slot migration have, unchanged.
const ROUNDS_KEPT: (&str, &str) = (
    "rounds",
    "job_id, round, status, model, new_model, domain, score_words, total_score, allocated, proof, finalized_at, \
     refunded, bond_slashed, block, tx_hash",
);

/// Every row of every table, each value as text, in a fixed order.
async fn snapshot(pool: &AnyPool) -> Vec<(String, Vec<Vec<Option<String>>>)> {
    snapshot_of(pool, TABLES).await
}

/// Every row of `tables` (name, columns), each value as text, in a fixed order.
async fn snapshot_of(pool: &AnyPool, tables: &[(&str, &str)]) -> Vec<(String, Vec<Vec<Option<String>>>)> {
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
async fn migrator_to(last: i64) -> (tempfile::TempDir, sqlx::migrate::Migrator) {
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
async fn database_at(engine: Engine, last: i64) -> (BlankDb, AnyPool) {
    let blank = BlankDb::new(engine).await;
    let pool = blank.pool().await;
    migrate_to(&pool, last).await;
    (blank, pool)
}

/// Applies the migrations up to version `last` to a database at an earlier one (or a blank one).
async fn migrate_to(pool: &AnyPool, last: i64) {
    let (_dir, migrator) = migrator_to(last).await;
    assert!(migrator.iter().any(|m| m.version == last), "migration {last} exists");
    migrator.run(pool).await.expect("the older schema applies");
}

/// A database with only the migrations before the invariants applied, on a raw pool.
async fn before_invariants(engine: Engine) -> (BlankDb, AnyPool) {
    let blank = BlankDb::new(engine).await;
    let pool = blank.pool().await;
    let (_dir, old) = migrator_to(INVARIANTS - 1).await;
    assert_eq!(old.iter().count(), 1, "only the first schema");
    old.run(&pool).await.expect("first schema applies");
    (blank, pool)
}

/// Rows of every kind the writers produce, under the first schema.
async fn representative_rows(p: &AnyPool) {
    exec(p, "INSERT INTO indexer_cursor (name, last_block) VALUES ('chain', 42)").await;
    exec(p, &job(1, "completed")).await;
    exec(p, &job(2, "expired")).await;
    exec(p, &job(3, "cancelled")).await;
    exec(p, &job(4, "open")).await;
    exec(p, &trainer(1, ALICE, 0, 1)).await;
    exec(p, &trainer(1, BOB, 1, 1)).await;
    exec(p, &trainer(1, CAROL, 0, 0)).await; // left before the start; Alice took slot 0
    exec(p, &trainer(2, ALICE, 0, 1)).await;
    for (slot, who) in [(0, ALICE), (1, BOB)] {
        exec(
            p,
            &format!(
                "INSERT INTO submissions (job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash) \
                 VALUES (1, 0, {slot}, '{who}', '{c}', '{b}', 8, '{tx}')",
                c = w(20 + slot as u64),
                b = w(30 + slot as u64),
                tx = w(40 + slot as u64)
            ),
        )
        .await;
    }
    exec(p, &finalized_v1(1, 0, 0b011, 0b001, 0, 0, Some(&format!("[\"{}\"]", w(1))))).await;
    exec(p, &finalized_v1(1, 1, 0b001, 0b001, 0, 0, None)).await;
    exec(
        p,
        &format!(
            "INSERT INTO rounds (job_id, round, status, refunded, bond_slashed, presence_bits, block, tx_hash) \
             VALUES (2, 0, 'expired', '500', '20', 1, 11, '{}')",
            w(50)
        ),
    )
    .await;
    for slot in 0..3 {
        exec(p, &round_slot(1, 0, slot, i64::from(slot < 2), i64::from(slot == 0))).await;
    }
    // A relayed finalization whose slot has no live trainer row stores ''.
    exec(
        p,
        "INSERT INTO round_slots (job_id, round, slot, trainer, present, inlier, score, payout) \
         VALUES (1, 1, 0, '', 1, 1, '3', '500')",
    )
    .await;
    exec(
        p,
        &format!(
            "INSERT INTO claims (job_id, round, slot, trainer, amount, block, tx_hash) \
             VALUES (1, 0, 0, '{ALICE}', '166', 12, '{}')",
            w(60)
        ),
    )
    .await;
    exec(
        p,
        &format!(
            "INSERT INTO disputes (job_id, round, slot, trainer, slashed, block, tx_hash) \
             VALUES (1, 0, 1, '{BOB}', '6', 13, '{}')",
            w(61)
        ),
    )
    .await;
    exec(
        p,
        &format!(
            "INSERT INTO withdrawals (tx_hash, log_index, token, account, amount, block) \
             VALUES ('{}', 0, '0x0000000000000000000000000000000000000000', '{ALICE}', '166', 14)",
            w(62)
        ),
    )
    .await;
    for (pos, job, round) in [(0, "1", "0"), (1, "NULL", "NULL")] {
        exec(
            p,
            &format!(
                "INSERT INTO reliability_events (tx_hash, log_index, position, source, observation, score, \
                 observations, block, job_id, round) VALUES ('{tx}', 2, {pos}, '{s}', '1000000000000000000', \
                 '900000000000000000', 3, 9, {job}, {round})",
                tx = w(0x200),
                s = w(0xaa + pos as u64)
            ),
        )
        .await;
        exec(
            p,
            &format!(
                "INSERT INTO reliability (source, score, observations, last_update, block) \
                 VALUES ('{}', '900000000000000000', 3, 1700000100, 9)",
                w(0xaa + pos as u64)
            ),
        )
        .await;
    }
    for job in [1, 77] {
        exec(
            p,
            &format!(
                "INSERT INTO uploads (job_id, round, slot, trainer, commitment, cid, receipt_signature) \
                 VALUES ({job}, 0, 0, '{ALICE}', '{}', 'bafy{job}', '0x{}')",
                w(20),
                "ab".repeat(65)
            ),
        )
        .await;
    }
    exec(p, "INSERT INTO round_metrics (job_id, round, accuracy, signature) VALUES (1, 0, 0.875, '0xsig')").await;
    exec(p, "INSERT INTO round_metrics (job_id, round, accuracy, signature) VALUES (1, 1, 0, '0xsig')").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_invariants_migration_keeps_existing_rows() {
    for engine in ENGINES {
        keeps_rows(engine).await;
    }
}

async fn keeps_rows(engine: Engine) {
    let (blank, pool) = before_invariants(engine).await;
    representative_rows(&pool).await;
    let before = snapshot(&pool).await;
    assert!(before.iter().all(|(_, rows)| !rows.is_empty()), "every table has rows: {before:?}");
    migrate_to(&pool, STATEMENT_V2).await; // the invariants migration and statement v2
    assert_eq!(before, snapshot(&pool).await, "every row is kept as it was");
    let kept = snapshot_of(&pool, TABLES_V2).await;
    pool.close().await;

    let t = TestDb::migrate(blank).await; // and every later one
    assert_eq!(kept, snapshot_of(t.db.pool(), TABLES_V2).await, "the 256-slot migration keeps them too");
    let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(t.db.pool())
        .await
        .expect("migrations table");
    assert_eq!(version, SLOTS_256, "the invariants migration and every later one ran");
    let r = t.db.round(1, 0).await.expect("round").expect("kept");
    assert_eq!((r.presence(), r.inliers(), r.unavailable()), (slots(&[0, 1]), slots(&[0]), U256::ZERO));

    // The rebuilt tables state their invariants and kept their indexes' behaviour.
    let p = t.db.pool();
    refused(p, ErrorKind::CheckViolation, "an unknown status after migrating", &job(5, "paused")).await;
    refused(p, ErrorKind::UniqueViolation, "a second live trainer after migrating", &trainer(1, DAVE, 1, 1)).await;
    refused(p, ErrorKind::ForeignKeyViolation, "an orphan after migrating", &round_slot(1, 5, 0, 1, 1)).await;
    let (jobs, total) = t.db.jobs(&JobFilter { page: 1, per_page: 20, ..Default::default() }).await.expect("jobs");
    assert_eq!((jobs.len(), total), (4, 4));
    assert_eq!(t.db.accuracy(1, 0).await.expect("accuracy"), Some(0.875));
    let again = Db::connect(&t.url).await.expect("a second connect applies nothing");
    again.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_invariants_migration_refuses_a_broken_database_and_leaves_it_as_it_was() {
    for engine in ENGINES {
        let (blank, pool) = before_invariants(engine).await;
        representative_rows(&pool).await;
        // A row the writers never produce: a slot outcome of a round that is not stored.
        exec(&pool, &round_slot(1, 7, 0, 1, 1)).await;
        let before = snapshot(&pool).await;
        let err = Db::connect(&blank.url).await.expect_err("the migration refuses the orphan");
        assert!(matches!(err, DbError::Migrate(_)), "{err}");
        assert_eq!(snapshot(&pool).await, before, "rolled back: nothing changed");
        let versions: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(&pool).await.expect("count");
        assert_eq!(versions, 1, "the invariants migration is not recorded");
        pool.close().await;
    }
}

/// Rounds whose BIGINT bitmaps have bit 63 set (negative) and a flags word with ‖S‖², under the
/// schema before the 256-slot migration, with the bitmaps and ‖S‖² each must read as after it:
/// (job, round, presence, inliers, unavailable, ‖S‖²).
const WIDE_ROUNDS: [(i64, i64, i64, i64, i64, u64); 3] = [
    // Every one of 64 slots present (-1), inliers 0, 2 and 63.
    (5, 0, -1, i64::MIN | 0b101, 0, 0xffff_ffff_ffff),
    // Slot 63 declared unavailable, every other slot present; slot 0 the only inlier.
    (5, 1, i64::MAX, 1, i64::MIN, 1_250_999_896_491),
    // No inlier, ‖S‖² 0.
    (6, 0, i64::MIN, 0, 0, 0),
];

#[tokio::test(flavor = "multi_thread")]
async fn the_slots_256_migration_turns_negative_bigint_bitmaps_into_hex_on_both_engines() {
    for engine in ENGINES {
        let (blank, pool) = database_at(engine, STATEMENT_V2).await;
        representative_rows(&pool).await;
        for id in [5, 6] {
            exec(&pool, &job(id, "active").replace("2, 3, 1,", "2, 64, 1,")).await;
        }
        exec(&pool, &trainer(5, ALICE, 63, 1)).await;
        exec(
            &pool,
            &format!(
                "INSERT INTO submissions (job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash, rank) \
                 VALUES (5, 0, 63, '{ALICE}', '{}', '{}', 8, '{}', 64)",
                w(70),
                w(71),
                w(72)
            ),
        )
        .await;
        for (job, round, presence, inliers, unavailable, norm) in WIDE_ROUNDS {
            exec(&pool, &finalized_v1(job, round, presence, inliers, unavailable, norm, None)).await;
        }
        exec(&pool, &round_slot(5, 0, 63, 1, 1)).await;
        exec(
            &pool,
            &format!(
                "INSERT INTO rounds (job_id, round, status, refunded, bond_slashed, presence_bits, block, tx_hash) \
                 VALUES (6, 1, 'expired', '500', '20', {}, 11, '{}')",
                i64::MIN | 1,
                w(73)
            ),
        )
        .await;
        exec(&pool, &format!("UPDATE rounds SET domain = '{}' WHERE job_id = 5 AND round = 0", w(0xd0))).await;
        let rounds_before = snapshot_of(&pool, &[ROUNDS_KEPT]).await;
        let before = snapshot_of(&pool, TABLES_V2).await;
        pool.close().await;

        let t = TestDb::migrate(blank).await;
        assert_eq!(snapshot_of(t.db.pool(), TABLES_V2).await, before, "{engine:?}: every other row is kept");
        assert_eq!(snapshot_of(t.db.pool(), &[ROUNDS_KEPT]).await, rounds_before, "{engine:?}: rounds keep the rest");
        let hex = |x: i64| format!("0x{:064x}", x as u64);
        for (job, round, presence, inliers, unavailable, norm) in WIDE_ROUNDS {
            let r = t.db.round(job, round).await.expect("round").expect("kept");
            let what = format!("{engine:?}: round {round} of job {job}");
            assert_eq!(r.presence_bits, Some(hex(presence)), "{what}");
            assert_eq!(r.inlier_bits, Some(hex(inliers)), "{what}");
            assert_eq!(r.unavailable_bits, Some(hex(unavailable)), "{what}");
            assert_eq!(r.aggregate_norm_sq, Some(norm.to_string()), "{what}: ‖S‖² from bits 128.. of the flags");
            assert_eq!(r.digest, None, "{what}: no H is known for a round indexed before");
            assert_eq!(r.presence(), U256::from(presence as u64), "{what}");
            assert_eq!(r.presence().bit(63), presence < 0, "{what}: bit 63 (a negative BIGINT) is slot 63");
            support::assert_round_bitmaps(&r, 64);
        }
        let expired = t.db.round(6, 1).await.expect("round").expect("kept");
        assert_eq!(expired.presence_bits, Some(hex(i64::MIN | 1)), "{engine:?}: the expired round's submitted slots");
        assert_eq!((expired.aggregate_norm_sq, expired.digest), (None, None));
        // `flags` is gone, and slot 200 fits now.
        assert!(sqlx::query("SELECT flags FROM rounds").fetch_all(t.db.pool()).await.is_err(), "{engine:?}: no flags");
        exec(t.db.pool(), &job(7, "active").replace("2, 3, 1,", "2, 256, 1,")).await;
        exec(t.db.pool(), &finalized(7, 0, slots(&[200, 201]), slots(&[200]), slots(&[255]), None)).await;
        let wide = t.db.round(7, 0).await.expect("round").expect("stored");
        assert_eq!((wide.inliers(), wide.unavailable()), (slots(&[200]), slots(&[255])), "{engine:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_slots_256_migration_refuses_a_flags_word_whose_norm_it_cannot_read() {
    for engine in ENGINES {
        let (blank, pool) = database_at(engine, STATEMENT_V2).await;
        representative_rows(&pool).await;
        // ‖S‖² above bit 187 of the flags word (the old statement bounded it to 48 bits).
        exec(&pool, &finalized_v1(1, 2, 1, 1, 0, 1 << 60, None)).await;
        let before = snapshot(&pool).await;
        let err = Db::connect(&blank.url).await.expect_err("the migration refuses it");
        assert!(matches!(err, DbError::Migrate(_)), "{engine:?}: {err}");
        assert_eq!(snapshot(&pool).await, before, "{engine:?}: rolled back: nothing changed");
        let latest: i64 =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&pool).await.expect("version");
        assert_eq!(latest, STATEMENT_V2, "{engine:?}: the 256-slot migration is not recorded");
        pool.close().await;
    }
}
