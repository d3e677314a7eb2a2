-- attribution_totals: how many conversions attribution.sql credits (DESIGN.md
-- section 5, "Attribution"; the totals line of `touchstream report
-- attribution`).
--
-- Not a query of its own: report.Attribution runs attribution.sql up to its
-- line "-- credits end" (the CTE `journeys`: one row per conversion, with
-- its touches in `path`, empty for a conversion without one) followed by
-- this text, so conversions are evaluated once. Parameters as
-- attribution.sql ({dimension} too, although no total depends on it).
--
--   conversions             the conversions in [from, to) (site filtered):
--                           orders that are not cancelled.
--   revenue                 their revenue, net of refunds.
--   attributed_conversions  the conversions with at least one touch (a
--                           non-empty path). For every model of
--                           attribution.sql the credited conversions add
--                           up to this number.
--   attributed_revenue      their revenue.
--
-- One row: conversions (UInt64), revenue (Float64), attributed_conversions
-- (UInt64), attributed_revenue (Float64).
SELECT
    toUInt64(count()) AS conversions,
    toFloat64(sum(j.revenue)) AS revenue,
    toUInt64(countIf(notEmpty(j.path))) AS attributed_conversions,
    toFloat64(sumIf(j.revenue, notEmpty(j.path))) AS attributed_revenue
FROM journeys AS j
