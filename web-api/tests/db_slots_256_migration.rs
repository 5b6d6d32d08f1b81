//! Migration `20261201000001_slots_256.sql` on SQLite and PostgreSQL: BIGINT bitmaps (negative
//! when bit 63 is set) become 0x hex, ‖S‖² is read from the flags word, and a flags word it cannot
//! read is refused.

mod support;

use alloy::primitives::U256;
use fedproof_web_api::db::{Db, DbError};
use support::migrations::{database_at, snapshot, snapshot_of, STATEMENT_V2, TABLES_V2};
use support::rows::{exec, finalized, finalized_v1, job, representative_rows, round_slot, slots, trainer, w, ALICE};
use support::{TestDb, ENGINES};

/// The rounds columns both the schema before and after the 256-slot migration have, unchanged.
const ROUNDS_KEPT: (&str, &str) = (
    "rounds",
    "job_id, round, status, model, new_model, domain, score_words, total_score, allocated, proof, finalized_at, \
     refunded, bond_slashed, block, tx_hash",
);

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
