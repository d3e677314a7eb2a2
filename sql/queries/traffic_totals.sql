-- traffic_totals: the totals lines of `touchstream report traffic`: the
-- numbers of traffic_daily.sql over all channels of each day, and over the
-- whole range, read from the rollup traffic_daily (migration 00004,
-- sql/README.md "Rollups").
--
-- Parameters: {from:DateTime64(3)}, {to:DateTime64(3)} and {site:String},
-- as in traffic_daily.sql (days whose start, 00:00 UTC, is in [from, to);
-- pass midnights).
--
-- Definitions: those of traffic_daily.sql (visitors, sessions, events,
-- orders, revenue, customers, conversion_rate), over the events of a day
-- of any channel (is_total 0), or of every day of the range, any channel
-- (is_total 1). They are distinct counts over the group, not sums of the
-- rows of traffic_daily.sql: a visitor with events of two channels, or on
-- two days of the range, counts once; a session spanning midnight counts
-- once in the range total. Orders and revenue are gross: every 'Order
-- Completed' event, cancelled and refunded ones too (the rollup has no
-- order_id; see "Orders, refunds and cancellations").
--
-- Rows: one per day that has events (is_total 0), ordered by day, then one
-- range total (is_total 1, day = the date of `from`; all zeros when the
-- range has no events): is_total (UInt8), day (Date), visitors, sessions,
-- events, orders, customers (UInt64), revenue, conversion_rate (Float64).
{{/*
This file is a Go text/template (package sqlfiles renders it; its one
action renders nothing without a filter). With a report filter
(`--channel`, `--touchpoint`), filters.sql's "rollup_filter" keeps the
rollup rows that traffic_daily.sql keeps; the totals are then the distinct
counts over those rows (merged uniqExact states, exact): a visitor seen on
two kept channels counts once, and a day's total with one channel kept is
that channel's row of traffic_daily.sql.
*/ -}}
SELECT
    is_total,
    group_day AS day,
    n_visitors AS visitors,
    n_sessions AS sessions,
    n_events AS events,
    toUInt64(length(order_set)) AS orders,
    n_customers AS customers,
    toFloat64(arraySum(o -> o.2, order_set)) AS revenue,
    toFloat64(if(n_visitors = 0, 0, n_customers / n_visitors)) AS conversion_rate
FROM
(
    -- One read of the rollup: the grouping set (day) gives the days, the
    -- empty set () the range total (also when no row is in the range).
    SELECT
        toUInt8(grouping(day)) AS is_total,
        if(is_total = 1, toDate({from:DateTime64(3)}, 'UTC'), day) AS group_day,
        toUInt64(uniqExactMerge(visitors)) AS n_visitors,
        toUInt64(uniqExactMerge(sessions)) AS n_sessions,
        toUInt64(uniqExactMerge(events)) AS n_events,
        groupUniqArrayMerge(orders) AS order_set,
        toUInt64(uniqExactMerge(customers)) AS n_customers
    FROM traffic_daily
    WHERE toDateTime64(day, 3, 'UTC') >= {from:DateTime64(3)}
      AND toDateTime64(day, 3, 'UTC') < {to:DateTime64(3)}
      AND ({site:String} = '' OR write_key = {site:String}){{template "rollup_filter"}}
    GROUP BY GROUPING SETS ((day), ())
    SETTINGS force_grouping_standard_compatibility = 1
)
ORDER BY is_total, group_day
