-- fedproof web-api schema, with its invariants. The first migration created the tables with primary
-- keys only; this one rebuilds each table (create the new table, copy every row, drop the old one,
-- rename, recreate its indexes), parents before children, so that the database itself refuses a
-- row the writers can never produce. It reads as the current schema.
--
-- Only what the writers guarantee is stated (indexer/store.rs writes chain logs in log order, one
-- transaction per block range; db/writes.rs writes uploads and metrics): a constraint the code can
-- break would stop indexing. SQLite enforces REFERENCES because sqlx turns `foreign_keys` on for
-- every connection. Everything here is portable: CHECK, REFERENCES, UNIQUE, partial indexes, and
-- length/substr/trim (lowercase 0x hex is "length n, prefix 0x, nothing left once hex digits are
-- trimmed"; a decimal amount is "non-empty, nothing left once digits are trimmed").
--
-- If an existing database holds a row breaking one of these, the migration fails and rolls back
-- (it runs in one transaction on both engines), leaving the database as it was.
--
-- Deliberately not constrained:
-- * uploads.job_id -> jobs: the intake now reads a job's spec through its indexed row before it
--   accepts an upload, but uploads accepted before that (when it asked only the contract) may
--   precede their job's row, and this migration must keep them.
-- * round_metrics -> rounds: the metrics handler requires the job to be indexed and the round to
--   be in 0..rounds, not the round to be settled (or indexed yet).
-- * reliability_events.source -> reliability: the event row is written before the record row.
-- * round_slots.trainer: the roster comes from the finalizeRound calldata; a finalization relayed
--   through another contract has none, and a slot without a live trainer row stores ''.
-- * rounds.proof: NULL for a relayed finalization (no direct calldata to read it from).
-- * The *_bits columns may be negative: a uint64 bitmap with bit 63 set stored as BIGINT.
-- * Cross-table bounds (slot < jobs.trainers, round < jobs.rounds): not expressible portably.
-- * Signatures and CIDs beyond non-empty: the metrics signature is stored as the owner sent it.

-- The indexer's cursor: the last block whose logs are fully stored.
CREATE TABLE indexer_cursor_new (
    name TEXT NOT NULL CONSTRAINT indexer_cursor_pk PRIMARY KEY,
    last_block BIGINT NOT NULL CONSTRAINT indexer_cursor_block CHECK (last_block >= 0)
);
INSERT INTO indexer_cursor_new (name, last_block) SELECT name, last_block FROM indexer_cursor;
DROP TABLE indexer_cursor;
ALTER TABLE indexer_cursor_new RENAME TO indexer_cursor;

-- jobs: a known status ('open' until the first submission; STATUSES in http/jobs.rs); addresses
-- and hashes as lowercase 0x hex; amounts decimal; 1..64 trainer slots (JobMarket's MAX_SLOTS),
-- fewer tolerated malicious than slots, at least one round; current_round in 0..rounds and equal
-- to rounds once completed; bond_posted a 0/1 flag; non-negative parameters and blocks.
CREATE TABLE jobs_new (
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
    trainers BIGINT NOT NULL CONSTRAINT jobs_trainers CHECK (trainers BETWEEN 1 AND 64),
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
INSERT INTO jobs_new (id, owner, aggregator, token, budget, round_budget, stake, bond, verifier, spec_hash, spec_uri,
    initial_model, rounds, trainers, max_malicious, tau, lr, lr_decay, dup_tol, start_time, submit_window,
    finalize_window, dispute_window, current_round, status, bond_posted, created_block, created_tx)
SELECT id, owner, aggregator, token, budget, round_budget, stake, bond, verifier, spec_hash, spec_uri,
    initial_model, rounds, trainers, max_malicious, tau, lr, lr_decay, dup_tol, start_time, submit_window,
    finalize_window, dispute_window, current_round, status, bond_posted, created_block, created_tx
FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_owner ON jobs (owner);
CREATE INDEX jobs_status ON jobs (status);

-- job_trainers: one row per (job, trainer) of an indexed job (JobCreated precedes every Joined);
-- a slot in 0..63; active a 0/1 flag (0 once the trainer left); at most one live trainer per
-- (job, slot) (JobMarket gives a slot to one staker at a time; Left is applied before a later join
-- takes the slot).
CREATE TABLE job_trainers_new (
    job_id BIGINT NOT NULL CONSTRAINT job_trainers_job REFERENCES jobs (id),
    trainer TEXT NOT NULL CONSTRAINT job_trainers_trainer_hex
        CHECK (length(trainer) = 42 AND substr(trainer, 1, 2) = '0x'
            AND trim(substr(trainer, 3), '0123456789abcdef') = ''),
    slot BIGINT NOT NULL CONSTRAINT job_trainers_slot CHECK (slot BETWEEN 0 AND 63),
    stake TEXT NOT NULL CONSTRAINT job_trainers_stake_decimal CHECK (stake <> '' AND trim(stake, '0123456789') = ''),
    active BIGINT NOT NULL CONSTRAINT job_trainers_active CHECK (active IN (0, 1)),
    joined_block BIGINT NOT NULL CONSTRAINT job_trainers_joined_block CHECK (joined_block >= 0),
    CONSTRAINT job_trainers_pk PRIMARY KEY (job_id, trainer)
);
INSERT INTO job_trainers_new (job_id, trainer, slot, stake, active, joined_block)
SELECT job_id, trainer, slot, stake, active, joined_block FROM job_trainers;
DROP TABLE job_trainers;
ALTER TABLE job_trainers_new RENAME TO job_trainers;
CREATE INDEX job_trainers_trainer ON job_trainers (trainer);
CREATE UNIQUE INDEX job_trainers_live_slot ON job_trainers (job_id, slot) WHERE active = 1;

-- submissions: by a trainer of the job (the submitter joined earlier; this implies the job row);
-- one per (job, round, slot) and, the roster being frozen once rounds run, one per
-- (job, round, trainer); commitment, blob ref and tx as lowercase 0x hex.
CREATE TABLE submissions_new (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL CONSTRAINT submissions_round CHECK (round >= 0),
    slot BIGINT NOT NULL CONSTRAINT submissions_slot CHECK (slot BETWEEN 0 AND 63),
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
    CONSTRAINT submissions_pk PRIMARY KEY (job_id, round, slot),
    CONSTRAINT submissions_one_per_trainer UNIQUE (job_id, round, trainer),
    CONSTRAINT submissions_trainer FOREIGN KEY (job_id, trainer) REFERENCES job_trainers (job_id, trainer)
);
INSERT INTO submissions_new (job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash)
SELECT job_id, round, slot, trainer, commitment, blob_ref, block, tx_hash FROM submissions;
DROP TABLE submissions;
ALTER TABLE submissions_new RENAME TO submissions;

-- rounds: a settled round of an indexed job, 'finalized' or 'expired'. A finalized round has its
-- models, flags, bitmaps, scores and allocation (the proof only if the finalizeRound calldata was
-- found), with inliers among the present slots and no present slot unavailable; an expired round
-- has its refund, slashed bond and submitted slots, and no model.
CREATE TABLE rounds_new (
    job_id BIGINT NOT NULL CONSTRAINT rounds_job REFERENCES jobs (id),
    round BIGINT NOT NULL CONSTRAINT rounds_round CHECK (round >= 0),
    status TEXT NOT NULL CONSTRAINT rounds_status CHECK (status IN ('finalized', 'expired')),
    model TEXT CONSTRAINT rounds_model_hex
        CHECK (length(model) = 66 AND substr(model, 1, 2) = '0x' AND trim(substr(model, 3), '0123456789abcdef') = ''),
    new_model TEXT CONSTRAINT rounds_new_model_hex
        CHECK (length(new_model) = 66 AND substr(new_model, 1, 2) = '0x'
            AND trim(substr(new_model, 3), '0123456789abcdef') = ''),
    flags TEXT CONSTRAINT rounds_flags_hex
        CHECK (length(flags) = 66 AND substr(flags, 1, 2) = '0x' AND trim(substr(flags, 3), '0123456789abcdef') = ''),
    inlier_bits BIGINT,
    unavailable_bits BIGINT,
    presence_bits BIGINT,
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
        AND flags IS NOT NULL AND inlier_bits IS NOT NULL AND unavailable_bits IS NOT NULL
        AND presence_bits IS NOT NULL AND score_words IS NOT NULL AND total_score IS NOT NULL
        AND allocated IS NOT NULL AND finalized_at IS NOT NULL
        AND (inlier_bits & presence_bits) = inlier_bits AND (presence_bits & unavailable_bits) = 0)),
    CONSTRAINT rounds_expired CHECK (status <> 'expired' OR (refunded IS NOT NULL AND bond_slashed IS NOT NULL
        AND presence_bits IS NOT NULL AND new_model IS NULL AND proof IS NULL))
);
INSERT INTO rounds_new (job_id, round, status, model, new_model, flags, inlier_bits, unavailable_bits, presence_bits,
    score_words, total_score, allocated, proof, finalized_at, refunded, bond_slashed, block, tx_hash)
SELECT job_id, round, status, model, new_model, flags, inlier_bits, unavailable_bits, presence_bits,
    score_words, total_score, allocated, proof, finalized_at, refunded, bond_slashed, block, tx_hash
FROM rounds;
DROP TABLE rounds;
ALTER TABLE rounds_new RENAME TO rounds;

-- round_slots: slots 0..n-1 of a stored round (written right after its round row); present and
-- inlier 0/1 flags, an inlier is present; score and payout decimal. The trainer is not checked
-- (see above).
CREATE TABLE round_slots_new (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    slot BIGINT NOT NULL CONSTRAINT round_slots_slot CHECK (slot BETWEEN 0 AND 63),
    trainer TEXT NOT NULL,
    present BIGINT NOT NULL CONSTRAINT round_slots_present CHECK (present IN (0, 1)),
    inlier BIGINT NOT NULL CONSTRAINT round_slots_inlier CHECK (inlier IN (0, 1)),
    score TEXT NOT NULL CONSTRAINT round_slots_score_decimal CHECK (score <> '' AND trim(score, '0123456789') = ''),
    payout TEXT NOT NULL CONSTRAINT round_slots_payout_decimal CHECK (payout <> '' AND trim(payout, '0123456789') = ''),
    CONSTRAINT round_slots_pk PRIMARY KEY (job_id, round, slot),
    CONSTRAINT round_slots_round FOREIGN KEY (job_id, round) REFERENCES rounds (job_id, round),
    CONSTRAINT round_slots_inlier_present CHECK (inlier <= present)
);
INSERT INTO round_slots_new (job_id, round, slot, trainer, present, inlier, score, payout)
SELECT job_id, round, slot, trainer, present, inlier, score, payout FROM round_slots;
DROP TABLE round_slots;
ALTER TABLE round_slots_new RENAME TO round_slots;
CREATE INDEX round_slots_trainer ON round_slots (trainer);

-- claims: of a slot of a finalized round (JobMarket only pays a slot < n of a round whose outcome
-- it stored, logged by RoundFinalized before); amount decimal; addresses and tx as 0x hex.
CREATE TABLE claims_new (
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
INSERT INTO claims_new (job_id, round, slot, trainer, amount, block, tx_hash)
SELECT job_id, round, slot, trainer, amount, block, tx_hash FROM claims;
DROP TABLE claims;
ALTER TABLE claims_new RENAME TO claims;
CREATE INDEX claims_trainer ON claims (trainer);

-- disputes: of a slot of a finalized round (JobMarket only accepts a slot declared unavailable,
-- which is a submitted slot < n, of a round whose outcome it stored); slashed decimal.
CREATE TABLE disputes_new (
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
INSERT INTO disputes_new (job_id, round, slot, trainer, slashed, block, tx_hash)
SELECT job_id, round, slot, trainer, slashed, block, tx_hash FROM disputes;
DROP TABLE disputes;
ALTER TABLE disputes_new RENAME TO disputes;

-- withdrawals: one per log; token and account as 0x hex, amount decimal.
CREATE TABLE withdrawals_new (
    tx_hash TEXT NOT NULL CONSTRAINT withdrawals_tx_hash_hex
        CHECK (length(tx_hash) = 66 AND substr(tx_hash, 1, 2) = '0x'
            AND trim(substr(tx_hash, 3), '0123456789abcdef') = ''),
    log_index BIGINT NOT NULL CONSTRAINT withdrawals_log_index CHECK (log_index >= 0),
    token TEXT NOT NULL CONSTRAINT withdrawals_token_hex
        CHECK (length(token) = 42 AND substr(token, 1, 2) = '0x' AND trim(substr(token, 3), '0123456789abcdef') = ''),
    account TEXT NOT NULL CONSTRAINT withdrawals_account_hex
        CHECK (length(account) = 42 AND substr(account, 1, 2) = '0x'
            AND trim(substr(account, 3), '0123456789abcdef') = ''),
    amount TEXT NOT NULL CONSTRAINT withdrawals_amount_decimal CHECK (amount <> '' AND trim(amount, '0123456789') = ''),
    block BIGINT NOT NULL CONSTRAINT withdrawals_block CHECK (block >= 0),
    CONSTRAINT withdrawals_pk PRIMARY KEY (tx_hash, log_index)
);
INSERT INTO withdrawals_new (tx_hash, log_index, token, account, amount, block)
SELECT tx_hash, log_index, token, account, amount, block FROM withdrawals;
DROP TABLE withdrawals;
ALTER TABLE withdrawals_new RENAME TO withdrawals;

-- reliability_events: source as a 0x bytes32; observation and score decimal; (job_id, round) both
-- set, naming a stored round (looked up in rounds by the finalization's tx), or both NULL (a write
-- by another registry writer, or outside a finalization).
CREATE TABLE reliability_events_new (
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
INSERT INTO reliability_events_new (tx_hash, log_index, position, source, observation, score, observations, block,
    job_id, round)
SELECT tx_hash, log_index, position, source, observation, score, observations, block, job_id, round
FROM reliability_events;
DROP TABLE reliability_events;
ALTER TABLE reliability_events_new RENAME TO reliability_events;
CREATE INDEX reliability_events_source ON reliability_events (source);

-- reliability: the latest record of each source; score decimal (1e18 fixed point).
CREATE TABLE reliability_new (
    source TEXT NOT NULL CONSTRAINT reliability_pk PRIMARY KEY CONSTRAINT reliability_source_hex
        CHECK (length(source) = 66 AND substr(source, 1, 2) = '0x'
            AND trim(substr(source, 3), '0123456789abcdef') = ''),
    score TEXT NOT NULL CONSTRAINT reliability_score_decimal CHECK (score <> '' AND trim(score, '0123456789') = ''),
    observations BIGINT NOT NULL CONSTRAINT reliability_observations CHECK (observations >= 0),
    last_update BIGINT NOT NULL CONSTRAINT reliability_last_update CHECK (last_update >= 0),
    block BIGINT NOT NULL CONSTRAINT reliability_block CHECK (block >= 0)
);
INSERT INTO reliability_new (source, score, observations, last_update, block)
SELECT source, score, observations, last_update, block FROM reliability;
DROP TABLE reliability;
ALTER TABLE reliability_new RENAME TO reliability;

-- uploads: one per (job, round, slot); trainer and commitment as 0x hex, a CID and the receipt.
-- No reference to jobs (see above).
CREATE TABLE uploads_new (
    job_id BIGINT NOT NULL CONSTRAINT uploads_job_id CHECK (job_id >= 0),
    round BIGINT NOT NULL CONSTRAINT uploads_round CHECK (round >= 0),
    slot BIGINT NOT NULL CONSTRAINT uploads_slot CHECK (slot BETWEEN 0 AND 63),
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
INSERT INTO uploads_new (job_id, round, slot, trainer, commitment, cid, receipt_signature)
SELECT job_id, round, slot, trainer, commitment, cid, receipt_signature FROM uploads;
DROP TABLE uploads;
ALTER TABLE uploads_new RENAME TO uploads;

-- round_metrics: of an indexed job (the handler looks the job up first), a round >= 0, an
-- accuracy in [0, 1], a signature. No reference to rounds (see above).
CREATE TABLE round_metrics_new (
    job_id BIGINT NOT NULL CONSTRAINT round_metrics_job REFERENCES jobs (id),
    round BIGINT NOT NULL CONSTRAINT round_metrics_round CHECK (round >= 0),
    accuracy DOUBLE PRECISION NOT NULL CONSTRAINT round_metrics_accuracy CHECK (accuracy BETWEEN 0 AND 1),
    signature TEXT NOT NULL CONSTRAINT round_metrics_signature CHECK (signature <> ''),
    CONSTRAINT round_metrics_pk PRIMARY KEY (job_id, round)
);
INSERT INTO round_metrics_new (job_id, round, accuracy, signature)
SELECT job_id, round, accuracy, signature FROM round_metrics;
DROP TABLE round_metrics;
ALTER TABLE round_metrics_new RENAME TO round_metrics;
