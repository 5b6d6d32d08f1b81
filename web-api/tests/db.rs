//! The schema, its invariants migration and the service's own writes on SQLite and PostgreSQL (the
//! 256-slot migration: `db_slots_256_migration.rs`).

mod support;

use alloy::primitives::U256;
use fedproof_web_api::db::{Db, DbError, JobFilter, Upload, UploadOutcome};
use fedproof_web_api::format::bits;
use sqlx::error::ErrorKind;
use sqlx::AnyPool;
use support::migrations::{before_invariants, migrate_to, snapshot, snapshot_of, REORGS, STATEMENT_V2, TABLES_V2};
use support::rows::{exec, finalized, job, representative_rows, round_slot, slots, trainer, w};
use support::rows::{ALICE, BOB, CAROL, DAVE, EVE};
use support::{Engine, TestDb, ENGINES};

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
    // Metrics outlive a reorg's rollback of their job's row, so the table does not reference jobs
    // (the handler refuses metrics of a job it has not indexed).
    assert!(matches!(t.db.store_metrics(1, -1, 0.5, "0xa").await, Err(DbError::Conflict(_))), "round -1");
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
    assert_eq!(version, REORGS, "the invariants migration and every later one ran");
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
