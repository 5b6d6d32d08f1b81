-- 256 trainer slots (statement v4; prover/README.md, section 6). JobMarket's slot bitmaps are
-- uint256 now (MAX_SLOTS = 256), so this migration rebuilds every table whose invariants name the
-- slot bound and the tables that reference them:
-- * jobs.trainers in 1..256 (was 1..64); slots in 0..255 (job_trainers, submissions, round_slots,
--   uploads; claims and disputes reference a round_slots row); submissions.rank in 1..256.
-- * rounds: inlier_bits, unavailable_bits and presence_bits become lowercase 0x + 64 hex digit
--   TEXT (bit i = slot i, as `format::word` writes a uint256; they were BIGINT, negative when bit
--   63 was set). `flags` goes: RoundFinalized no longer carries it, and the API builds the flags
--   words from the bitmaps and ‖S‖² (`fedproof_prover::round::public_inputs::flags_words`).
--   ‖S‖² gets its own column, `aggregate_norm_sq` (decimal, RoundFinalized.aggregateNormSq; for
--   an existing round it is read from bits 128.. of its old flags word). `digest` is H, the chunk
--   digest root of a chunked round (ChunkedRoundFinalized.digest), public input 3; NULL for a
--   round proven whole (public input 3 is then 0) and for rounds indexed before this migration.
--
-- Not stated, because neither engine can say it of 256-bit values held as text (they have no
-- 256-bit integer, and PostgreSQL's bit strings and SQLite's blobs have no common operators):
-- the bitwise invariants the old BIGINT columns had, "inliers among the present slots"
-- ((inlier_bits & presence_bits) = inlier_bits) and "no present slot unavailable"
-- ((presence_bits & unavailable_bits) = 0), nor "no bit at or above jobs.trainers". The web-api
-- tests check them on every round they index (tests/support/mod.rs, `assert_round_bitmaps`).
--
-- How the tables are rebuilt. The invariants migration created each new table beside the old one
-- and renamed it; that cannot work twice: the old tables are now referenced by their children
-- (SQLite refuses to drop a parent whose rows are referenced, PostgreSQL any referenced table) and
-- own the index-backed constraint names the new ones reuse (in PostgreSQL a PRIMARY KEY or UNIQUE
-- constraint is an index, whose name is unique in the schema). So this one copies the rows aside
-- (CREATE TABLE … AS SELECT), drops the old tables children first, creates the new ones under
-- their own names parents first (so every REFERENCES names the final table on both engines),
-- copies the rows back, converting the round bitmaps, recreates every index the old tables had
-- and drops the copies. It runs in one transaction on both engines: a row breaking an invariant
-- fails it, and the database is left as it was.
--
-- The BIGINT to hex conversion is portable: `>>` and `&` act on the two's complement on both
-- engines, so nibble k of x is `(x >> 4k) & 15` also for a negative x; PostgreSQL's substr takes an
-- INTEGER position, hence the CAST.

-- The rows, aside.
CREATE TABLE slots_256_jobs AS SELECT * FROM jobs;
CREATE TABLE slots_256_job_trainers AS SELECT * FROM job_trainers;
CREATE TABLE slots_256_submissions AS SELECT * FROM submissions;
CREATE TABLE slots_256_rounds AS SELECT * FROM rounds;
CREATE TABLE slots_256_round_slots AS SELECT * FROM round_slots;
CREATE TABLE slots_256_claims AS SELECT * FROM claims;
CREATE TABLE slots_256_disputes AS SELECT * FROM disputes;
CREATE TABLE slots_256_reliability_events AS SELECT * FROM reliability_events;
CREATE TABLE slots_256_uploads AS SELECT * FROM uploads;
CREATE TABLE slots_256_round_metrics AS SELECT * FROM round_metrics;

-- The old tables, children before parents (their indexes go with them).
DROP TABLE claims;
DROP TABLE disputes;
DROP TABLE reliability_events;
DROP TABLE round_slots;
DROP TABLE submissions;
DROP TABLE rounds;
DROP TABLE job_trainers;
DROP TABLE round_metrics;
DROP TABLE uploads;
DROP TABLE jobs;

-- jobs: a known status ('open' until the first submission; STATUSES in http/jobs.rs); addresses
-- and hashes as lowercase 0x hex; amounts decimal; 1..256 trainer slots (JobMarket's MAX_SLOTS),
-- fewer tolerated malicious than slots, at least one round; current_round in 0..rounds and equal
-- to rounds once completed; bond_posted a 0/1 flag; non-negative parameters and blocks.
CREATE TABLE jobs (
    id BIGINT NOT NULL CONSTRAINT jobs_pk PRIMARY KEY CONSTRAINT jobs_id CHECK (id >= 0),
    owner TEXT NOT NULL CONSTRAINT jobs_owner_hex
        CHECK (length(owner) = 42 AND substr(owner, 1, 2) = '0x' AND trim(substr(owner, 3), '0123456789abcdef') = ''),
    aggregator TEXT NOT NULL CONSTRAINT jobs_aggregator_hex
        CHECK (length(aggregator) = 42 AND substr(aggregator, 1, 2) = '0x'
            AND trim(substr(aggregator, 3), '0123456789abcdef') = ''),
    token TEXT NOT NULL CONSTRAINT jobs_token_hex
        CHECK (length(token) = 42 AND substr(token, 1, 2) = '0x' AND trim(substr(token, 3), '0123456789abcdef') = ''),
    budget TEXT NOT NULL CONSTRAINT jobs_budget_decimal CHECK (budget <> '' AND trim(budget, '0123456789') = ''),
    round_budget TEXT NOT NULL CONSTRAINT jobs_round_budget_decimal
        CHECK (round_budget <> '' AND trim(round_budget, '0123456789') = ''),
    stake TEXT NOT NULL CONSTRAINT jobs_stake_decimal CHECK (stake <> '' AND trim(stake, '0123456789') = ''),
    bond TEXT NOT NULL CONSTRAINT jobs_bond_decimal CHECK (bond <> '' AND trim(bond, '0123456789') = ''),
    verifier TEXT NOT NULL CONSTRAINT jobs_verifier_hex
        CHECK (length(verifier) = 42 AND substr(verifier, 1, 2) = '0x'
            AND trim(substr(verifier, 3), '0123456789abcdef') = ''),
    spec_hash TEXT NOT NULL CONSTRAINT jobs_spec_hash_hex
        CHECK (length(spec_hash) = 66 AND substr(spec_hash, 1, 2) = '0x'
            AND trim(substr(spec_hash, 3), '0123456789abcdef') = ''),
    spec_uri TEXT NOT NULL,
    initial_model TEXT NOT NULL CONSTRAINT jobs_initial_model_hex
        CHECK (length(initial_model) = 66 AND substr(initial_model, 1, 2) = '0x'
            AND trim(substr(initial_model, 3), '0123456789abcdef') = ''),
    rounds BIGINT NOT NULL CONSTRAINT jobs_rounds CHECK (rounds > 0),
    trainers BIGINT NOT NULL CONSTRAINT jobs_trainers CHECK (trainers BETWEEN 1 AND 256),
    max_malicious BIGINT NOT NULL,
    tau BIGINT NOT NULL CONSTRAINT jobs_tau CHECK (tau >= 0),
    lr BIGINT NOT NULL CONSTRAINT jobs_lr CHECK (lr > 0),
    lr_decay BIGINT NOT NULL CONSTRAINT jobs_lr_decay CHECK (lr_decay >= 0),
    dup_tol BIGINT NOT NULL CONSTRAINT jobs_dup_tol CHECK (dup_tol >= 0),
    start_time BIGINT NOT NULL CONSTRAINT jobs_start_time CHECK (start_time >= 0),
    submit_window BIGINT NOT NULL CONSTRAINT jobs_submit_window CHECK (submit_window > 0),
    finalize_window BIGINT NOT NULL CONSTRAINT jobs_finalize_window CHECK (finalize_window > 0),
    dispute_window BIGINT NOT NULL CONSTRAINT jobs_dispute_window CHECK (dispute_window >= 0),
    current_round BIGINT NOT NULL,
    status TEXT NOT NULL CONSTRAINT jobs_status
        CHECK (status IN ('open', 'active', 'completed', 'expired', 'cancelled')),
    bond_posted BIGINT NOT NULL CONSTRAINT jobs_bond_posted CHECK (bond_posted IN (0, 1)),
    created_block BIGINT NOT NULL CONSTRAINT jobs_created_block CHECK (created_block >= 0),
    created_tx TEXT NOT NULL CONSTRAINT jobs_created_tx_hex
        CHECK (length(created_tx) = 66 AND substr(created_tx, 1, 2) = '0x'
            AND trim(substr(created_tx, 3), '0123456789abcdef') = ''),
    CONSTRAINT jobs_max_malicious CHECK (max_malicious >= 0 AND max_malicious < trainers),
    CONSTRAINT jobs_current_round CHECK (current_round BETWEEN 0 AND rounds),
    CONSTRAINT jobs_completed CHECK (status <> 'completed' OR current_round = rounds)
);
INSERT INTO jobs (id, owner, aggregator, token, budget, round_budget, stake, bond, verifier, spec_hash, spec_uri,
    initial_model, rounds, trainers, max_malicious, tau, lr, lr_decay, dup_tol, start_time, submit_window,
    finalize_window, dispute_window, current_round, status, bond_posted, created_block, created_tx)
SELECT id, owner, aggregator, token, budget, round_budget, stake, bond, verifier, spec_hash, spec_uri,
    initial_model, rounds, trainers, max_malicious, tau, lr, lr_decay, dup_tol, start_time, submit_window,
    finalize_window, dispute_window, current_round, status, bond_posted, created_block, created_tx
FROM slots_256_jobs;
CREATE INDEX jobs_owner ON jobs (owner);
CREATE INDEX jobs_status ON jobs (status);

-- job_trainers: one row per (job, trainer) of an indexed job (JobCreated precedes every Joined);
-- a slot in 0..255; active a 0/1 flag (0 once the trainer left); at most one live trainer per
-- (job, slot) (JobMarket gives a slot to one staker at a time; Left is applied before a later join
-- takes the slot).
CREATE TABLE job_trainers (
    job_id BIGINT NOT NULL CONSTRAINT job_trainers_job REFERENCES jobs (id),
    trainer TEXT NOT NULL CONSTRAINT job_trainers_trainer_hex
        CHECK (length(trainer) = 42 AND substr(trainer, 1, 2) = '0x'
            AND trim(substr(trainer, 3), '0123456789abcdef') = ''),
    slot BIGINT NOT NULL CONSTRAINT job_trainers_slot CHECK (slot BETWEEN 0 AND 255),
    stake TEXT NOT NULL CONSTRAINT job_trainers_stake_decimal CHECK (stake <> '' AND trim(stake, '0123456789') = ''),
    active BIGINT NOT NULL CONSTRAINT job_trainers_active CHECK (active IN (0, 1)),
    joined_block BIGINT NOT NULL CONSTRAINT job_trainers_joined_block CHECK (joined_block >= 0),
    CONSTRAINT job_trainers_pk PRIMARY KEY (job_id, trainer)
);
INSERT INTO job_trainers (job_id, trainer, slot, stake, active, joined_block)
SELECT job_id, trainer, slot, stake, active, joined_block FROM slots_256_job_trainers;
CREATE INDEX job_trainers_trainer ON job_trainers (trainer);
CREATE UNIQUE INDEX job_trainers_live_slot ON job_trainers (job_id, slot) WHERE active = 1;

-- submissions: by a trainer of the job (the submitter joined earlier; this implies the job row);
-- one per (job, round, slot) and, the roster being frozen once rounds run, one per
-- (job, round, trainer); commitment, blob ref and tx as lowercase 0x hex; the submission rank in
-- 1..256 (1 for the round's first commitment on chain; NULL in rows indexed before ranks).
CREATE TABLE submissions (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL CONSTRAINT submissions_round CHECK (round >= 0),
    slot BIGINT NOT NULL CONSTRAINT submissions_slot CHECK (slot BETWEEN 0 AND 255),
    trainer TEXT NOT NULL,
    commitment TEXT NOT NULL CONSTRAINT submissions_commitment_hex
        CHECK (length(commitment) = 66 AND substr(commitment, 1, 2) = '0x'
            AND trim(substr(commitment, 3), '0123456789abcdef') = ''),
    blob_ref TEXT NOT NULL CONSTRAINT submissions_blob_ref_hex
        CHECK (length(blob_ref) = 66 AND substr(blob_ref, 1, 2) = '0x'
            AND trim(substr(blob_ref, 3), '0123456789abcdef') = ''),
    block BIGINT NOT NULL CONSTRAINT submissions_block CHECK (block >= 0),
    tx_hash TEXT NOT NULL CONSTRAINT submissions_tx_hash_hex
        CHECK (length(tx_hash) = 66 AND substr(tx_hash, 1, 2) = '0x'
            AND trim(substr(tx_hash, 3), '0123456789abcdef') = ''),
    rank BIGINT CONSTRAINT submissions_rank CHECK (rank BETWEEN 1 AND 256),
    CONSTRAINT submissions_pk PRIMARY KEY (job_id, round, slot),
    CONSTRAINT submissions_one_per_trainer UNIQUE (job_id, round, trainer),
    CONSTRAINT submissions_trainer FOREIGN KEY (job_id, trainer) REFERENCES job_trainers (job_id, trainer)
);
INSERT INTO submissions (job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash, rank)
SELECT job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash, rank FROM slots_256_submissions;

-- rounds: a settled round of an indexed job, 'finalized' or 'expired'. A finalized round has its
-- models, bitmaps, ‖S‖², scores and allocation (the proof and domain only if the finalizeRound
-- calldata was found; H only if the job is chunked); an expired round has its refund, slashed
-- bond and submitted slots (presence_bits), and no model, proof or H. Bitmaps are 0x + 64 hex.
CREATE TABLE rounds (
    job_id BIGINT NOT NULL CONSTRAINT rounds_job REFERENCES jobs (id),
    round BIGINT NOT NULL CONSTRAINT rounds_round CHECK (round >= 0),
    status TEXT NOT NULL CONSTRAINT rounds_status CHECK (status IN ('finalized', 'expired')),
    model TEXT CONSTRAINT rounds_model_hex
        CHECK (length(model) = 66 AND substr(model, 1, 2) = '0x' AND trim(substr(model, 3), '0123456789abcdef') = ''),
    new_model TEXT CONSTRAINT rounds_new_model_hex
        CHECK (length(new_model) = 66 AND substr(new_model, 1, 2) = '0x'
            AND trim(substr(new_model, 3), '0123456789abcdef') = ''),
    domain TEXT CONSTRAINT rounds_domain_hex
        CHECK (length(domain) = 66 AND substr(domain, 1, 2) = '0x' AND trim(substr(domain, 3), '0123456789abcdef') = ''),
    digest TEXT CONSTRAINT rounds_digest_hex
        CHECK (length(digest) = 66 AND substr(digest, 1, 2) = '0x' AND trim(substr(digest, 3), '0123456789abcdef') = ''),
    inlier_bits TEXT CONSTRAINT rounds_inlier_bits_hex
        CHECK (length(inlier_bits) = 66 AND substr(inlier_bits, 1, 2) = '0x'
            AND trim(substr(inlier_bits, 3), '0123456789abcdef') = ''),
    unavailable_bits TEXT CONSTRAINT rounds_unavailable_bits_hex
        CHECK (length(unavailable_bits) = 66 AND substr(unavailable_bits, 1, 2) = '0x'
            AND trim(substr(unavailable_bits, 3), '0123456789abcdef') = ''),
    presence_bits TEXT CONSTRAINT rounds_presence_bits_hex
        CHECK (length(presence_bits) = 66 AND substr(presence_bits, 1, 2) = '0x'
            AND trim(substr(presence_bits, 3), '0123456789abcdef') = ''),
    aggregate_norm_sq TEXT CONSTRAINT rounds_aggregate_norm_sq_decimal
        CHECK (aggregate_norm_sq <> '' AND trim(aggregate_norm_sq, '0123456789') = ''),
    score_words TEXT,
    total_score TEXT CONSTRAINT rounds_total_score_decimal
        CHECK (total_score <> '' AND trim(total_score, '0123456789') = ''),
    allocated TEXT CONSTRAINT rounds_allocated_decimal CHECK (allocated <> '' AND trim(allocated, '0123456789') = ''),
    proof TEXT,
    finalized_at BIGINT CONSTRAINT rounds_finalized_at CHECK (finalized_at >= 0),
    refunded TEXT CONSTRAINT rounds_refunded_decimal CHECK (refunded <> '' AND trim(refunded, '0123456789') = ''),
    bond_slashed TEXT CONSTRAINT rounds_bond_slashed_decimal
        CHECK (bond_slashed <> '' AND trim(bond_slashed, '0123456789') = ''),
    block BIGINT NOT NULL CONSTRAINT rounds_block CHECK (block >= 0),
    tx_hash TEXT NOT NULL CONSTRAINT rounds_tx_hash_hex
        CHECK (length(tx_hash) = 66 AND substr(tx_hash, 1, 2) = '0x'
            AND trim(substr(tx_hash, 3), '0123456789abcdef') = ''),
    CONSTRAINT rounds_pk PRIMARY KEY (job_id, round),
    CONSTRAINT rounds_finalized CHECK (status <> 'finalized' OR (model IS NOT NULL AND new_model IS NOT NULL
        AND inlier_bits IS NOT NULL AND unavailable_bits IS NOT NULL AND presence_bits IS NOT NULL
        AND aggregate_norm_sq IS NOT NULL AND score_words IS NOT NULL AND total_score IS NOT NULL
        AND allocated IS NOT NULL AND finalized_at IS NOT NULL)),
    CONSTRAINT rounds_expired CHECK (status <> 'expired' OR (refunded IS NOT NULL AND bond_slashed IS NOT NULL
        AND presence_bits IS NOT NULL AND new_model IS NULL AND proof IS NULL AND digest IS NULL))
);
-- ‖S‖² of an existing round: bits 128.. of its flags word (old statement: at most 48 bits wide).
-- Hex digits 20..34 of the 0x word are bits 187..128; digit d at position p weighs 16^(34 - p).
-- A flags word with a bit set above them reads as NULL, which rounds_finalized refuses.
CREATE TABLE slots_256_hex_digits (digit TEXT NOT NULL PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO slots_256_hex_digits (digit, value) VALUES ('0', 0), ('1', 1), ('2', 2), ('3', 3), ('4', 4), ('5', 5),
    ('6', 6), ('7', 7), ('8', 8), ('9', 9), ('a', 10), ('b', 11), ('c', 12), ('d', 13), ('e', 14), ('f', 15);
CREATE TABLE slots_256_hex_places (position INTEGER NOT NULL PRIMARY KEY, weight BIGINT NOT NULL);
INSERT INTO slots_256_hex_places (position, weight) VALUES
    (20, 72057594037927936), (21, 4503599627370496), (22, 281474976710656), (23, 17592186044416),
    (24, 1099511627776), (25, 68719476736), (26, 4294967296), (27, 268435456),
    (28, 16777216), (29, 1048576), (30, 65536), (31, 4096),
    (32, 256), (33, 16), (34, 1);
INSERT INTO rounds (job_id, round, status, model, new_model, domain, digest, inlier_bits, unavailable_bits,
    presence_bits, aggregate_norm_sq, score_words, total_score, allocated, proof, finalized_at, refunded,
    bond_slashed, block, tx_hash)
SELECT r.job_id, r.round, r.status, r.model, r.new_model, r.domain, NULL,
    '0x' || '000000000000000000000000000000000000000000000000'
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 60) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 56) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 52) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 48) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 44) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 40) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 36) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 32) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 28) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 24) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 20) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 16) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 12) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 8) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 4) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.inlier_bits >> 0) & 15) + 1 AS INTEGER), 1),
    '0x' || '000000000000000000000000000000000000000000000000'
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 60) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 56) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 52) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 48) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 44) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 40) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 36) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 32) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 28) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 24) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 20) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 16) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 12) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 8) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 4) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.unavailable_bits >> 0) & 15) + 1 AS INTEGER), 1),
    '0x' || '000000000000000000000000000000000000000000000000'
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 60) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 56) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 52) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 48) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 44) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 40) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 36) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 32) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 28) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 24) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 20) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 16) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 12) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 8) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 4) & 15) + 1 AS INTEGER), 1)
        || substr('0123456789abcdef', CAST(((r.presence_bits >> 0) & 15) + 1 AS INTEGER), 1),
    CASE WHEN trim(substr(r.flags, 3, 17), '0') = '' THEN CAST((SELECT CAST(SUM(d.value * p.weight) AS BIGINT)
        FROM slots_256_hex_places p JOIN slots_256_hex_digits d ON d.digit = substr(r.flags, p.position, 1)) AS TEXT)
    END,
    r.score_words, r.total_score, r.allocated, r.proof, r.finalized_at, r.refunded, r.bond_slashed, r.block, r.tx_hash
FROM slots_256_rounds r;

-- round_slots: slots 0..n-1 (at most 0..255) of a stored round (written right after its round
-- row); present and inlier 0/1 flags, an inlier is present; score and payout decimal. The trainer
-- is not checked (see the invariants migration).
CREATE TABLE round_slots (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    slot BIGINT NOT NULL CONSTRAINT round_slots_slot CHECK (slot BETWEEN 0 AND 255),
    trainer TEXT NOT NULL,
    present BIGINT NOT NULL CONSTRAINT round_slots_present CHECK (present IN (0, 1)),
    inlier BIGINT NOT NULL CONSTRAINT round_slots_inlier CHECK (inlier IN (0, 1)),
    score TEXT NOT NULL CONSTRAINT round_slots_score_decimal CHECK (score <> '' AND trim(score, '0123456789') = ''),
    payout TEXT NOT NULL CONSTRAINT round_slots_payout_decimal CHECK (payout <> '' AND trim(payout, '0123456789') = ''),
    CONSTRAINT round_slots_pk PRIMARY KEY (job_id, round, slot),
    CONSTRAINT round_slots_round FOREIGN KEY (job_id, round) REFERENCES rounds (job_id, round),
    CONSTRAINT round_slots_inlier_present CHECK (inlier <= present)
);
INSERT INTO round_slots (job_id, round, slot, trainer, present, inlier, score, payout)
SELECT job_id, round, slot, trainer, present, inlier, score, payout FROM slots_256_round_slots;
CREATE INDEX round_slots_trainer ON round_slots (trainer);

-- claims: of a slot of a finalized round (JobMarket only pays a slot < n of a round whose outcome
-- it stored, logged by RoundFinalized before); amount decimal; addresses and tx as 0x hex.
CREATE TABLE claims (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    slot BIGINT NOT NULL,
    trainer TEXT NOT NULL CONSTRAINT claims_trainer_hex
        CHECK (length(trainer) = 42 AND substr(trainer, 1, 2) = '0x'
            AND trim(substr(trainer, 3), '0123456789abcdef') = ''),
    amount TEXT NOT NULL CONSTRAINT claims_amount_decimal CHECK (amount <> '' AND trim(amount, '0123456789') = ''),
    block BIGINT NOT NULL CONSTRAINT claims_block CHECK (block >= 0),
    tx_hash TEXT NOT NULL CONSTRAINT claims_tx_hash_hex
        CHECK (length(tx_hash) = 66 AND substr(tx_hash, 1, 2) = '0x'
            AND trim(substr(tx_hash, 3), '0123456789abcdef') = ''),
    CONSTRAINT claims_pk PRIMARY KEY (job_id, round, slot),
    CONSTRAINT claims_slot FOREIGN KEY (job_id, round, slot) REFERENCES round_slots (job_id, round, slot)
);
INSERT INTO claims (job_id, round, slot, trainer, amount, block, tx_hash)
SELECT job_id, round, slot, trainer, amount, block, tx_hash FROM slots_256_claims;
CREATE INDEX claims_trainer ON claims (trainer);

-- disputes: of a slot of a finalized round (JobMarket only accepts a slot declared unavailable,
-- which is a submitted slot < n, of a round whose outcome it stored); slashed decimal.
CREATE TABLE disputes (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    slot BIGINT NOT NULL,
    trainer TEXT NOT NULL CONSTRAINT disputes_trainer_hex
        CHECK (length(trainer) = 42 AND substr(trainer, 1, 2) = '0x'
            AND trim(substr(trainer, 3), '0123456789abcdef') = ''),
    slashed TEXT NOT NULL CONSTRAINT disputes_slashed_decimal CHECK (slashed <> '' AND trim(slashed, '0123456789') = ''),
    block BIGINT NOT NULL CONSTRAINT disputes_block CHECK (block >= 0),
    tx_hash TEXT NOT NULL CONSTRAINT disputes_tx_hash_hex
        CHECK (length(tx_hash) = 66 AND substr(tx_hash, 1, 2) = '0x'
            AND trim(substr(tx_hash, 3), '0123456789abcdef') = ''),
    CONSTRAINT disputes_pk PRIMARY KEY (job_id, round, slot),
    CONSTRAINT disputes_slot FOREIGN KEY (job_id, round, slot) REFERENCES round_slots (job_id, round, slot)
);
INSERT INTO disputes (job_id, round, slot, trainer, slashed, block, tx_hash)
SELECT job_id, round, slot, trainer, slashed, block, tx_hash FROM slots_256_disputes;

-- reliability_events: source as a 0x bytes32; observation and score decimal; (job_id, round) both
-- set, naming a stored round (looked up in rounds by the finalization's tx), or both NULL (a write
-- by another registry writer, or outside a finalization).
CREATE TABLE reliability_events (
    tx_hash TEXT NOT NULL CONSTRAINT reliability_events_tx_hash_hex
        CHECK (length(tx_hash) = 66 AND substr(tx_hash, 1, 2) = '0x'
            AND trim(substr(tx_hash, 3), '0123456789abcdef') = ''),
    log_index BIGINT NOT NULL CONSTRAINT reliability_events_log_index CHECK (log_index >= 0),
    position BIGINT NOT NULL CONSTRAINT reliability_events_position CHECK (position >= 0),
    source TEXT NOT NULL CONSTRAINT reliability_events_source_hex
        CHECK (length(source) = 66 AND substr(source, 1, 2) = '0x'
            AND trim(substr(source, 3), '0123456789abcdef') = ''),
    observation TEXT NOT NULL CONSTRAINT reliability_events_observation_decimal
        CHECK (observation <> '' AND trim(observation, '0123456789') = ''),
    score TEXT NOT NULL CONSTRAINT reliability_events_score_decimal CHECK (score <> '' AND trim(score, '0123456789') = ''),
    observations BIGINT NOT NULL CONSTRAINT reliability_events_observations CHECK (observations >= 0),
    block BIGINT NOT NULL CONSTRAINT reliability_events_block CHECK (block >= 0),
    job_id BIGINT,
    round BIGINT,
    CONSTRAINT reliability_events_pk PRIMARY KEY (tx_hash, log_index, position),
    CONSTRAINT reliability_events_round FOREIGN KEY (job_id, round) REFERENCES rounds (job_id, round),
    CONSTRAINT reliability_events_round_both CHECK ((job_id IS NULL) = (round IS NULL))
);
INSERT INTO reliability_events (tx_hash, log_index, position, source, observation, score, observations, block,
    job_id, round)
SELECT tx_hash, log_index, position, source, observation, score, observations, block, job_id, round
FROM slots_256_reliability_events;
CREATE INDEX reliability_events_source ON reliability_events (source);

-- uploads: one per (job, round, slot), a slot in 0..255; trainer and commitment as 0x hex, a CID
-- and the receipt. No reference to jobs (see the invariants migration).
CREATE TABLE uploads (
    job_id BIGINT NOT NULL CONSTRAINT uploads_job_id CHECK (job_id >= 0),
    round BIGINT NOT NULL CONSTRAINT uploads_round CHECK (round >= 0),
    slot BIGINT NOT NULL CONSTRAINT uploads_slot CHECK (slot BETWEEN 0 AND 255),
    trainer TEXT NOT NULL CONSTRAINT uploads_trainer_hex
        CHECK (length(trainer) = 42 AND substr(trainer, 1, 2) = '0x'
            AND trim(substr(trainer, 3), '0123456789abcdef') = ''),
    commitment TEXT NOT NULL CONSTRAINT uploads_commitment_hex
        CHECK (length(commitment) = 66 AND substr(commitment, 1, 2) = '0x'
            AND trim(substr(commitment, 3), '0123456789abcdef') = ''),
    cid TEXT NOT NULL CONSTRAINT uploads_cid CHECK (cid <> ''),
    receipt_signature TEXT NOT NULL CONSTRAINT uploads_receipt_signature CHECK (receipt_signature <> ''),
    CONSTRAINT uploads_pk PRIMARY KEY (job_id, round, slot)
);
INSERT INTO uploads (job_id, round, slot, trainer, commitment, cid, receipt_signature)
SELECT job_id, round, slot, trainer, commitment, cid, receipt_signature FROM slots_256_uploads;

-- round_metrics: of an indexed job (the handler looks the job up first), a round >= 0, an
-- accuracy in [0, 1], a signature. No reference to rounds (see the invariants migration).
CREATE TABLE round_metrics (
    job_id BIGINT NOT NULL CONSTRAINT round_metrics_job REFERENCES jobs (id),
    round BIGINT NOT NULL CONSTRAINT round_metrics_round CHECK (round >= 0),
    accuracy DOUBLE PRECISION NOT NULL CONSTRAINT round_metrics_accuracy CHECK (accuracy BETWEEN 0 AND 1),
    signature TEXT NOT NULL CONSTRAINT round_metrics_signature CHECK (signature <> ''),
    CONSTRAINT round_metrics_pk PRIMARY KEY (job_id, round)
);
INSERT INTO round_metrics (job_id, round, accuracy, signature)
SELECT job_id, round, accuracy, signature FROM slots_256_round_metrics;

-- The copies and the conversion tables, gone.
DROP TABLE slots_256_hex_places;
DROP TABLE slots_256_hex_digits;
DROP TABLE slots_256_round_metrics;
DROP TABLE slots_256_uploads;
DROP TABLE slots_256_reliability_events;
DROP TABLE slots_256_disputes;
DROP TABLE slots_256_claims;
DROP TABLE slots_256_round_slots;
DROP TABLE slots_256_rounds;
DROP TABLE slots_256_submissions;
DROP TABLE slots_256_job_trainers;
DROP TABLE slots_256_jobs;
