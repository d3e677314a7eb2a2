-- Cheaper inserts into events: a part smaller than 64 MiB uncompressed is
-- written in the Compact format (all columns in one file) instead of Wide
-- (two files per column). ClickHouse's default threshold is 10 MiB, below
-- the processor's batch of 40,000 events (~12 MB of the benchmark's
-- events), so every insert wrote a Wide part: ~148 files opened and ~143 MB
-- of write buffers for 30 columns. Compact cuts the engine's CPU time of
-- such an insert by about a third once optimize_on_insert is off (the
-- Sink's events insert; BENCHMARKS.md, "The processor's sink"). Merges turn
-- parts past the threshold into Wide parts, which is where large reads go.
-- The format of a part changes no row a query returns. Documented in
-- sql/README.md, "Table events".
--
-- Existing parts keep their format until a merge rewrites them.

-- +goose Up
ALTER TABLE touchstream.events_local ON CLUSTER touchstream_cluster MODIFY SETTING min_bytes_for_wide_part = 67108864;

-- +goose Down
ALTER TABLE touchstream.events_local ON CLUSTER touchstream_cluster RESET SETTING min_bytes_for_wide_part;
