-- time_on_site_histogram: how session duration and engaged time are
-- distributed (the `histogram` of `touchstream report time-on-site`).
--
-- Not a query of its own: report.TimeOnSite runs time_on_site.sql up to its
-- line "-- scope end" (the sessions in scope, with duration_seconds and
-- engaged_seconds as defined there) followed by this text. Parameters as
-- time_on_site.sql.
--
-- Buckets, each [lower, upper) in seconds: 0-10 s [0, 10), 10-30 s,
-- 30-60 s, 1-3 min [60, 180), 3-10 min, 10-30 min [600, 1800), 30+ min
-- [1800, no bound). A session falls in exactly one bucket by its duration
-- and in exactly one by its engaged time.
--
-- Seven rows, in bucket order, also when empty: bucket (1..7), label,
-- lower_seconds, upper_seconds (0 for the last, unbounded bucket),
-- duration_count and engaged_count (UInt64: the sessions in the bucket by
-- duration, by engaged time). Each count column sums to time_on_site.sql's
-- sessions.
SELECT
    toUInt64(grid.bucket) AS bucket,
    ['0-10 s', '10-30 s', '30-60 s', '1-3 min', '3-10 min', '10-30 min', '30+ min'][grid.bucket] AS label,
    toFloat64([0, 10, 30, 60, 180, 600, 1800][grid.bucket]) AS lower_seconds,
    toFloat64([10, 30, 60, 180, 600, 1800, 0][grid.bucket]) AS upper_seconds,
    toUInt64(sumIf(1, counted.by = 'duration' AND counted.bucket = grid.bucket)) AS duration_count,
    toUInt64(sumIf(1, counted.by = 'engaged' AND counted.bucket = grid.bucket)) AS engaged_count
FROM (SELECT arrayJoin(range(1, 8)) AS bucket) AS grid
LEFT JOIN
(
    SELECT
        pair.1 AS by,
        toUInt64(arrayCount(lower -> lower <= pair.2, [0, 10, 30, 60, 180, 600, 1800])) AS bucket
    FROM scoped
    ARRAY JOIN [('duration', duration_seconds), ('engaged', engaged_seconds)] AS pair
) AS counted ON counted.bucket = grid.bucket
GROUP BY grid.bucket
ORDER BY grid.bucket
