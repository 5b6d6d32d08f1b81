//! Rows as the indexer writes them, as SQL for the schema and migration tests, and a fixture
//! with rows of every kind.

use alloy::primitives::U256;
use fedproof_web_api::format::bits;
use sqlx::AnyPool;

pub const ALICE: &str = "0x00000000000000000000000000000000000000aa";
pub const BOB: &str = "0x00000000000000000000000000000000000000bb";
pub const CAROL: &str = "0x00000000000000000000000000000000000000cc";
pub const DAVE: &str = "0x00000000000000000000000000000000000000dd";
pub const EVE: &str = "0x00000000000000000000000000000000000000ee";

/// A 32-byte 0x word.
pub fn w(n: u64) -> String {
    format!("0x{n:064x}")
}

/// A job row as the indexer writes it (3 slots, 2 rounds), with `status`.
pub fn job(id: i64, status: &str) -> String {
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

pub fn trainer(job: i64, who: &str, slot: i64, active: i64) -> String {
    format!(
        "INSERT INTO job_trainers (job_id, trainer, slot, stake, active, joined_block) \
         VALUES ({job}, '{who}', {slot}, '10', {active}, 6)"
    )
}

/// A finalized round as the indexer writes it: presence, inliers and unavailable slots as 0x
/// bitmaps, ‖S‖² 21.
pub fn finalized(
    job: i64,
    round: i64,
    presence: U256,
    inliers: U256,
    unavailable: U256,
    proof: Option<&str>,
) -> String {
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
pub fn finalized_v1(
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
pub fn slots(of: &[usize]) -> U256 {
    of.iter().fold(U256::ZERO, |acc, &i| acc | (U256::from(1) << i))
}

pub fn round_slot(job: i64, round: i64, slot: i64, present: i64, inlier: i64) -> String {
    format!(
        "INSERT INTO round_slots (job_id, round, slot, trainer, present, inlier, score, payout) \
         VALUES ({job}, {round}, {slot}, '{ALICE}', {present}, {inlier}, '1', '166')"
    )
}

pub async fn exec(pool: &AnyPool, sql: &str) {
    sqlx::query(sql).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Rows of every kind the writers produce, under the first schema.
pub async fn representative_rows(p: &AnyPool) {
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
