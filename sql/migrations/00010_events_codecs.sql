-- Codecs for the columns of events that no report reads in its hot path
-- and that hold the most text: the properties JSON, the page URL and the
-- referrer compress with ZSTD instead of ClickHouse's default LZ4, and the
-- engagement time (a small integer) with T64 before ZSTD. Measured on the
-- 10 M synthetic events of BenchmarkQuery, merged (BENCHMARKS.md, "Codecs
-- of events"): properties 78.5 -> 42.1 MiB, page_url 61.1 -> 21.2 MiB,
-- referrer 6.3 -> 3.8 MiB, engagement_time_msec 23.0 -> 14.4 MiB; the
-- table 803 -> 716 MiB. page_path stays LZ4: the paths report and the page
-- steps of funnels read it, and with ZSTD(1) (50 -> 17 MiB) a scan of it
-- took 0.05 s more. The segments report, which reads properties, took the
-- same time. message_id (random ids, 1.2x) and the times (in visitor
-- order, not time order) gain nothing from a codec.
--
-- A codec applies to the parts written after it; older parts keep LZ4
-- until a merge rewrites them (OPTIMIZE TABLE events FINAL does at once).
-- Only the codec changes: type, default and comment stay. Documented in
-- sql/README.md, "Table events".

-- +goose Up
ALTER TABLE events MODIFY COLUMN properties CODEC(ZSTD(3));
ALTER TABLE events MODIFY COLUMN page_url CODEC(ZSTD(3));
ALTER TABLE events MODIFY COLUMN referrer CODEC(ZSTD(3));
ALTER TABLE events MODIFY COLUMN engagement_time_msec CODEC(T64, ZSTD(1));

-- +goose Down
ALTER TABLE events MODIFY COLUMN properties REMOVE CODEC;
ALTER TABLE events MODIFY COLUMN page_url REMOVE CODEC;
ALTER TABLE events MODIFY COLUMN referrer REMOVE CODEC;
ALTER TABLE events MODIFY COLUMN engagement_time_msec REMOVE CODEC;
