-- abandonment_daily: cart and checkout abandonment by day of cart time (the
-- `days` of `touchstream report abandonment`).
--
-- Not a query of its own: report.Abandonment runs abandonment.sql up to its
-- line "-- outcomes end" (the CTE `outcomes`, one row per cart or checkout,
-- which defines cart, abandoned and recovered) followed by this text.
-- Parameters as abandonment.sql.
--
-- One row per kind ('cart', 'checkout') and UTC day from the day of `from`
-- to the day of `to` - 1 ms, days without carts included (zero):
--   kind, day (Date, of cart_time), carts, abandoned, recovered,
--   abandonment_rate (abandoned / carts, 0 without carts).
-- Summed over the days, carts, abandoned and recovered are abandonment.sql's.
SELECT
    grid.kind AS kind,
    grid.day AS day,
    toUInt64(countIf(outcomes.kind != '')) AS carts,
    toUInt64(countIf(outcomes.kind != '' AND is_abandoned)) AS abandoned,
    toUInt64(countIf(outcomes.kind != '' AND is_recovered)) AS recovered,
    toFloat64(if(carts = 0, 0, abandoned / carts)) AS abandonment_rate
FROM
(
    SELECT
        arrayJoin(['cart', 'checkout']) AS kind,
        arrayJoin(arrayMap(i -> toDate({from:DateTime64(3)}, 'UTC') + i,
            range(toUInt32(dateDiff('day', toDate({from:DateTime64(3)}, 'UTC'),
                                    toDate({to:DateTime64(3)} - toIntervalMillisecond(1), 'UTC')) + 1)))) AS day
) AS grid
LEFT JOIN outcomes ON outcomes.kind = grid.kind AND toDate(outcomes.cart_time, 'UTC') = grid.day
GROUP BY grid.kind, grid.day
ORDER BY grid.kind, grid.day
