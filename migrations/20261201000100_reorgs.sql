-- Reorgs (web-api/src/indexer/reorg.rs).
--
-- * indexed_blocks: the hash of indexed blocks, written in the transaction that stores their range
--   with the cursor, and pruned to the newest 256 block numbers. Before each catch-up the indexer
--   compares the cursor block's stored hash with the chain's; on a mismatch it walks back through
--   these rows to the fork point (the newest stored block whose hash still matches), logs the
--   reorg and rolls the chain-derived tables back.
-- * round_metrics loses its reference to jobs. The rollback deletes every chain-derived row
--   (jobs included) and re-indexes from the start block, while the rows the service writes itself
--   (uploads and the owner's metrics) are never deleted: a metrics row must be able to outlive its
--   job's row for the time of the re-index, as an upload may precede it. The metrics handler
--   still refuses metrics of a job it has not indexed (it looks the job up first).

CREATE TABLE indexed_blocks (
    number BIGINT NOT NULL CONSTRAINT indexed_blocks_pk PRIMARY KEY CONSTRAINT indexed_blocks_number CHECK (number >= 0),
    hash TEXT NOT NULL CONSTRAINT indexed_blocks_hash_hex
        CHECK (length(hash) = 66 AND substr(hash, 1, 2) = '0x' AND trim(substr(hash, 3), '0123456789abcdef') = '')
);

-- round_metrics without REFERENCES jobs: the rows aside, the table rebuilt under its own name
-- (nothing references it, so it can be dropped on both engines), the rows back.
CREATE TABLE reorgs_round_metrics AS SELECT * FROM round_metrics;
DROP TABLE round_metrics;
CREATE TABLE round_metrics (
    job_id BIGINT NOT NULL CONSTRAINT round_metrics_job_id CHECK (job_id >= 0),
    round BIGINT NOT NULL CONSTRAINT round_metrics_round CHECK (round >= 0),
    accuracy DOUBLE PRECISION NOT NULL CONSTRAINT round_metrics_accuracy CHECK (accuracy BETWEEN 0 AND 1),
    signature TEXT NOT NULL CONSTRAINT round_metrics_signature CHECK (signature <> ''),
    CONSTRAINT round_metrics_pk PRIMARY KEY (job_id, round)
);
INSERT INTO round_metrics (job_id, round, accuracy, signature)
SELECT job_id, round, accuracy, signature FROM reorgs_round_metrics;
DROP TABLE reorgs_round_metrics;
