//! The schema and the service's own writes on SQLite and PostgreSQL.

mod support;

use fedproof_web_api::db::{Db, JobFilter, Upload, UploadOutcome};
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

    db.store_metrics(1, 0, 0.5, "0xa").await.expect("metrics");
    db.store_metrics(1, 0, 0.75, "0xb").await.expect("metrics replaced");
    assert_eq!(db.accuracy(1, 0).await.expect("accuracy"), Some(0.75));
    assert_eq!(db.accuracy(1, 1).await.expect("accuracy"), None);
}
