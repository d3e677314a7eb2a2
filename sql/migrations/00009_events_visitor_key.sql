-- visitor_key: a 128-bit number for each visitor_id, stored with the row,
-- so that a report grouping events by visitor groups 16-byte numbers
-- instead of hashing and copying the visitor_id strings. The funnel counts
-- visitors by it (funnel.sql); its drop-off lists, which name the
-- visitors, keep visitor_id. In BenchmarkQuery (10 M events, merged) it
-- took the 4-step funnel from 2.43-2.45x the baseline to 2.12-2.15x and
-- its floor from 1.68-1.72x to 1.50-1.53x (BENCHMARKS.md, "A stored
-- visitor key"). About 2 bytes a row on disk. Adding it is a change of
-- metadata only: no part is rewritten.
--
-- MurmurHash3 (x64, 128 bits) of visitor_id, a fixed published algorithm,
-- so the key of a visitor does not change between ClickHouse versions or
-- between parts written before and after an upgrade. Two visitor_ids with
-- one key would be counted as one visitor: for n visitors the chance that
-- any two share a key is about n^2 / 2^129 (1e-21 for a billion visitors),
-- the same bet ClickHouse's own uniqExact makes for strings.
--
-- MATERIALIZED: ClickHouse computes it on insert (writers send no value,
-- and `SELECT *` does not return it). Parts written before this migration
-- compute it when read until a merge writes it. Documented in
-- sql/README.md, "Table events".

-- +goose Up
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS visitor_key UInt128
        MATERIALIZED reinterpretAsUInt128(murmurHash3_128(visitor_id))
        COMMENT 'murmurHash3_128 of visitor_id as a number: a fixed-size key to group visitors by'
        AFTER visitor_id;

-- +goose Down
ALTER TABLE events DROP COLUMN IF EXISTS visitor_key;
