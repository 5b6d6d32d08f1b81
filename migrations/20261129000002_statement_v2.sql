-- Statement v2 (prover/README.md): a round's proof also states the job's domain (chain, market,
-- job and roster) and each slot's submission rank, which decides which of two copies is the
-- duplicate. The index keeps both, so the API can rebuild a round's public inputs.

-- 1 for the round's first commitment on chain, 2 for the second, ...
ALTER TABLE submissions ADD COLUMN rank BIGINT CONSTRAINT submissions_rank CHECK (rank BETWEEN 1 AND 64);

-- The domain public input of the round (JobMarket.domain at finalization), 0x and 64 hex digits.
ALTER TABLE rounds ADD COLUMN domain TEXT CONSTRAINT rounds_domain_hex
    CHECK (length(domain) = 66 AND substr(domain, 1, 2) = '0x' AND trim(substr(domain, 3), '0123456789abcdef') = '');
