-- traffic_daily: visitors, sessions, events, orders, revenue and conversion
-- rate per day and channel, read from the rollup traffic_daily (migration
-- 00004, sql/README.md "Rollups"), not from events. It equals the same
-- numbers computed from `events FINAL` (clickhouse/rollups_test.go).
-- `touchstream report traffic` prints these rows; traffic_totals.sql adds
-- the totals per day and over the range.
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  days whose start (00:00 UTC)
--                            is in [from, to): the rollup has no finer grain,
--                            so pass midnights
--   {site:String}            keep events with this write_key; '' keeps all
--
-- Definitions, over the events of the day (UTC) with that traffic_channel
-- (each event's own channel, so a visitor or a session with events of two
-- channels counts in both rows, once in each):
--
--   visitors         distinct visitor_id.
--   sessions         distinct session_id, events with no session ('': too
--                    late to sessionize) aside. A session spanning midnight
--                    counts on both days.
--   events           distinct (visitor_id, message_id) per day: a
--                    redelivered event counts once, as under FINAL.
--   orders           `track` events named 'Order Completed': gross, the
--                    cancelled and refunded ones too (the rollup has no
--                    order_id to match them; net_orders is not used).
--   revenue          the sum of their `revenue` (currencies not converted).
--   customers        visitors with at least one order.
--   conversion_rate  customers / visitors (0 when there are no visitors).
--
-- One row per day and channel that has events, ordered by day, then
-- traffic_channel: day (Date), traffic_channel (String), visitors,
-- sessions, events, orders, customers (UInt64), revenue, conversion_rate
-- (Float64).
{{/*
This file is a Go text/template (package sqlfiles renders it; its one
action renders nothing without a filter). With a report filter
(`--channel`, `--touchpoint`), filters.sql's "rollup_filter" keeps the
rollup rows whose own traffic_channel and touchpoint pass. A rollup row
aggregates the events of one day, site, channel and touchpoint, so the
rows that pass are exactly the events that pass: each event is its own
defining event, and the channel row X of the unfiltered report is the
report filtered by channel X. Orders and customers count by the order's
own channel and touchpoint, like every other event. Properties are not in
the rollup: report.Traffic refuses `--where` (ErrTrafficProperties).
*/ -}}
SELECT
    day,
    channel AS traffic_channel,
    n_visitors AS visitors,
    n_sessions AS sessions,
    n_events AS events,
    toUInt64(length(order_set)) AS orders,
    toFloat64(arraySum(o -> o.2, order_set)) AS revenue,
    n_customers AS customers,
    toFloat64(if(n_visitors = 0, 0, n_customers / n_visitors)) AS conversion_rate
FROM
(
    SELECT
        day,
        toString(traffic_channel) AS channel,
        toUInt64(uniqExactMerge(visitors)) AS n_visitors,
        toUInt64(uniqExactMerge(sessions)) AS n_sessions,
        toUInt64(uniqExactMerge(events)) AS n_events,
        groupUniqArrayMerge(orders) AS order_set,
        toUInt64(uniqExactMerge(customers)) AS n_customers
    FROM traffic_daily
    WHERE toDateTime64(day, 3, 'UTC') >= {from:DateTime64(3)}
      AND toDateTime64(day, 3, 'UTC') < {to:DateTime64(3)}
      AND ({site:String} = '' OR write_key = {site:String}){{template "rollup_filter"}}
    GROUP BY day, traffic_channel
)
ORDER BY day, traffic_channel
