-- fedproof web-api schema. Portable between SQLite and PostgreSQL: BIGINT for counters, block
-- numbers and 0/1 flags, TEXT for amounts (decimal wei), field elements, addresses and hashes
-- (0x hex), DOUBLE PRECISION for floats; upserts use ON CONFLICT, which both engines accept.

-- The indexer's cursor: the last block whose logs are fully stored (written in the same
-- transaction as those rows, so a restart resumes exactly after it).
CREATE TABLE indexer_cursor (
    name TEXT PRIMARY KEY,
    last_block BIGINT NOT NULL
);

CREATE TABLE jobs (
    id BIGINT PRIMARY KEY,
    owner TEXT NOT NULL,
    aggregator TEXT NOT NULL,
    token TEXT NOT NULL,
    budget TEXT NOT NULL,
    round_budget TEXT NOT NULL,
    stake TEXT NOT NULL,
    bond TEXT NOT NULL,
    verifier TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    spec_uri TEXT NOT NULL,
    initial_model TEXT NOT NULL,
    rounds BIGINT NOT NULL,
    trainers BIGINT NOT NULL,
    max_malicious BIGINT NOT NULL,
    tau BIGINT NOT NULL,
    lr BIGINT NOT NULL,
    lr_decay BIGINT NOT NULL,
    dup_tol BIGINT NOT NULL,
    start_time BIGINT NOT NULL,
    submit_window BIGINT NOT NULL,
    finalize_window BIGINT NOT NULL,
    dispute_window BIGINT NOT NULL,
    current_round BIGINT NOT NULL,
    status TEXT NOT NULL,
    bond_posted BIGINT NOT NULL,
    created_block BIGINT NOT NULL,
    created_tx TEXT NOT NULL
);
CREATE INDEX jobs_owner ON jobs (owner);
CREATE INDEX jobs_status ON jobs (status);

-- One row per (job, trainer): a trainer who left before the start frees its slot (active = 0).
CREATE TABLE job_trainers (
    job_id BIGINT NOT NULL,
    trainer TEXT NOT NULL,
    slot BIGINT NOT NULL,
    stake TEXT NOT NULL,
    active BIGINT NOT NULL,
    joined_block BIGINT NOT NULL,
    PRIMARY KEY (job_id, trainer)
);
CREATE INDEX job_trainers_trainer ON job_trainers (trainer);

CREATE TABLE submissions (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    slot BIGINT NOT NULL,
    trainer TEXT NOT NULL,
    commitment TEXT NOT NULL,
    blob_ref TEXT NOT NULL,
    block BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    PRIMARY KEY (job_id, round, slot)
);

-- A settled round: status 'finalized' (with the proof from the finalizeRound calldata) or 'expired'.
CREATE TABLE rounds (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    status TEXT NOT NULL,
    model TEXT,
    new_model TEXT,
    flags TEXT,
    inlier_bits BIGINT,
    unavailable_bits BIGINT,
    presence_bits BIGINT,
    score_words TEXT,
    total_score TEXT,
    allocated TEXT,
    proof TEXT,
    finalized_at BIGINT,
    refunded TEXT,
    bond_slashed TEXT,
    block BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    PRIMARY KEY (job_id, round)
);

-- Per-slot outcome of a finalized round: flags, score and the payout allocated by the contract
-- (round_budget * score / total_score, floored, as JobMarket computes it).
CREATE TABLE round_slots (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    slot BIGINT NOT NULL,
    trainer TEXT NOT NULL,
    present BIGINT NOT NULL,
    inlier BIGINT NOT NULL,
    score TEXT NOT NULL,
    payout TEXT NOT NULL,
    PRIMARY KEY (job_id, round, slot)
);
CREATE INDEX round_slots_trainer ON round_slots (trainer);

CREATE TABLE claims (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    slot BIGINT NOT NULL,
    trainer TEXT NOT NULL,
    amount TEXT NOT NULL,
    block BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    PRIMARY KEY (job_id, round, slot)
);
CREATE INDEX claims_trainer ON claims (trainer);

CREATE TABLE disputes (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    slot BIGINT NOT NULL,
    trainer TEXT NOT NULL,
    slashed TEXT NOT NULL,
    block BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    PRIMARY KEY (job_id, round, slot)
);

CREATE TABLE withdrawals (
    tx_hash TEXT NOT NULL,
    log_index BIGINT NOT NULL,
    token TEXT NOT NULL,
    account TEXT NOT NULL,
    amount TEXT NOT NULL,
    block BIGINT NOT NULL,
    PRIMARY KEY (tx_hash, log_index)
);

-- Reliability observations as logged (one row per source per event); score is the record after it.
CREATE TABLE reliability_events (
    tx_hash TEXT NOT NULL,
    log_index BIGINT NOT NULL,
    position BIGINT NOT NULL,
    source TEXT NOT NULL,
    observation TEXT NOT NULL,
    score TEXT NOT NULL,
    observations BIGINT NOT NULL,
    block BIGINT NOT NULL,
    job_id BIGINT,
    round BIGINT,
    PRIMARY KEY (tx_hash, log_index, position)
);
CREATE INDEX reliability_events_source ON reliability_events (source);

-- The latest record of each source (score in 1e18 fixed point).
CREATE TABLE reliability (
    source TEXT PRIMARY KEY,
    score TEXT NOT NULL,
    observations BIGINT NOT NULL,
    last_update BIGINT NOT NULL,
    block BIGINT NOT NULL
);

-- Update blobs accepted by the intake, with the aggregator's receipt.
CREATE TABLE uploads (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    slot BIGINT NOT NULL,
    trainer TEXT NOT NULL,
    commitment TEXT NOT NULL,
    cid TEXT NOT NULL,
    receipt_signature TEXT NOT NULL,
    PRIMARY KEY (job_id, round, slot)
);

-- Held-out accuracy the job owner published per round (signed).
CREATE TABLE round_metrics (
    job_id BIGINT NOT NULL,
    round BIGINT NOT NULL,
    accuracy DOUBLE PRECISION NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (job_id, round)
);
