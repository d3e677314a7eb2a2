-- retention: cohorts of visitors by when they first came (or first
-- bought), and how many of each cohort were active in each later period
-- (DESIGN.md section 5, "return" stage: retention and repeat purchase rate;
-- `touchstream report retention`).
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  visitors whose first time
--                            (see cohort) is in [from, to); activity is
--                            counted up to `to`, exclusive
--   {site:String}            keep events whose write_key is this ('' keeps all)
--   {cohort:String}          'first-visit': a visitor's first time is its
--                            first event of any kind; 'first-purchase': its
--                            first 'Order Completed' (visitors who never
--                            ordered belong to no cohort)
--   {period:String}          'week' (weeks start on Monday, UTC) or 'month'
--   {by:String}              who is counted: 'visitor' (the report's
--                            default: visitor_ids) or 'person'
--
-- Definitions (events FINAL). Below, "visitor" is the unit counted: with
-- by = 'visitor' a visitor_id; with by = 'person' the person_id of the
-- event's visitor_id in the view persons (sql/README.md, "View persons"),
-- or the visitor_id itself when it has no link. A person's first time,
-- activity and purchases are then those of all its visitors (devices),
-- before the link too.
--
--   first time    the visitor's earliest event (first-visit) or earliest
--                 'Order Completed' (first-purchase), looked for over all
--                 time before `to`, so a visitor first seen before `from`
--                 is in no cohort.
--   cohort        the period (Monday of the week, or first of the month)
--                 that contains the first time.
--   size          the visitors of the cohort.
--   period_offset k = 0, 1, ... up to the period that contains `to` minus
--                 1 ms: the k-th period after the cohort's (0 is the
--                 cohort's own period). Every offset is listed, also those
--                 with nobody active.
--   active        cohort visitors with at least one event (any type) in the
--                 period. At offset 0 it is the whole cohort.
--   purchasers    cohort visitors with an 'Order Completed' in the period
--                 (for first-purchase cohorts: 100% at offset 0, repeat
--                 buyers after).
--   active_share, purchaser_share  active / size, purchasers / size.
--
-- One row per cohort and offset, ordered by cohort, period_offset: cohort
-- (Date), size (UInt64), period_offset (UInt64), active (UInt64),
-- active_share (Float64), purchasers (UInt64), purchaser_share (Float64).
{{/*
-- The report filter (`--channel`, `--touchpoint`, `--where`; sql/README.md,
-- "Report filters"; a Go template comment, so it is no part of the SQL)
-- keeps a unit (visitor, or person with by = 'person') when its cohort
-- entry event passes filters.sql's report_filter: the event whose time is
-- its first time, the earliest of its events (first-visit) or of its
-- 'Order Completed' events (first-purchase), ties in event_time broken by
-- the smaller message_id; with by = 'person' the earliest over all of the
-- person's visitors. That event's own traffic_channel, touchpoint and
-- properties decide. Its later events (the activity and purchases of each
-- period, whatever their channel) are not filtered: a kept visitor who
-- came through Email and returns through Direct is active. Sizes, and so
-- every share, are of the kept units. With a filter the report renders the
-- templates "filtered_NAME" in place of "NAME", which then read
-- {only_channels:Array(String)}, {only_touchpoints:Array(String)},
-- {only_keys:Array(String)} and {only_values:Array(String)} (filters.sql;
-- report.Retention always binds them); without one (and so the view
-- report_retention) they render to nothing and the query reads none of
-- them.
--
--   entry_columns  (filtered) unit_events' message_id, and passes: whether
--                  the event passes report_filter
--   entry_passes   (filtered) per_unit keeps a unit only when its entry
--                  event (argMinIf by (event_time, message_id), over the
--                  events first_time is the minimum of) passes
*/ -}}
{{- /* period: the period (Monday of the week, or first of the month)
       that contains the time named; offset: how many periods after the
       cohort's the period named is */ -}}
{{define "period"}}if({period:String} = 'week', toStartOfWeek({{.}}, 1), toStartOfMonth({{.}})){{end -}}
{{define "offset"}}toUInt64(if({period:String} = 'week',
                                 intDiv(dateDiff('day', cohort, {{.}}), 7),
                                 dateDiff('month', cohort, {{.}}))){{end -}}
{{define "entry_columns"}}{{end -}}
{{define "filtered_entry_columns"}},
            e.message_id AS message_id,
            {{template "report_filter"}} AS passes{{end -}}
{{define "entry_passes"}}{{end -}}
{{define "filtered_entry_passes"}}
           AND argMinIf(passes, (event_time, message_id),
                        {cohort:String} != 'first-purchase' OR event_name = 'Order Completed'){{end -}}
WITH
    -- the events before `to` of the site, each with its unit: the visitor,
    -- or with by = 'person' its person
    unit_events AS
    (
        SELECT
            if({by:String} = 'person', coalesce(nullIf(p.person_id, ''), e.visitor_id), e.visitor_id) AS unit,
            e.event_time AS event_time,
            e.event_name AS event_name{{template "entry_columns"}}
        FROM events AS e FINAL
        LEFT JOIN (SELECT visitor_id, person_id FROM persons WHERE {by:String} = 'person') AS p ON p.visitor_id = e.visitor_id
        WHERE e.event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR e.write_key = {site:String})
    ),
    -- one row per unit of a cohort: its first time, its cohort, and the
    -- periods it was active in and bought in (events are read once, here)
    per_unit AS
    (
        SELECT
            unit,
            if({cohort:String} = 'first-purchase',
               minIf(event_time, event_name = 'Order Completed'),
               min(event_time)) AS first_time,
            {{template "period" "first_time"}} AS cohort,
            groupUniqArray(period_start) AS active_periods,
            groupUniqArrayIf(period_start, event_name = 'Order Completed') AS purchase_periods
        FROM
        (
            SELECT *, {{template "period" "event_time"}} AS period_start
            FROM unit_events
        )
        GROUP BY unit
        HAVING ({cohort:String} != 'first-purchase' OR countIf(event_name = 'Order Completed') > 0)
           AND first_time >= {from:DateTime64(3)}{{template "entry_passes"}}
    ),
    -- per cohort and period from the cohort's own on: the units active
    -- in it, and those that bought in it
    activity AS
    (
        SELECT
            cohort,
            period_start,
            toUInt64(count()) AS active,
            toUInt64(countIf(has(purchase_periods, period_start))) AS purchasers
        FROM per_unit
        ARRAY JOIN active_periods AS period_start
        WHERE period_start >= cohort
        GROUP BY cohort, period_start
    ),
    -- per cohort: its size (every unit is active in its cohort's period:
    -- its first time is one of its events) and (offset, active,
    -- purchasers) of each period someone was active in
    per_cohort AS
    (
        SELECT
            cohort,
            toUInt64(sumIf(active, period_start = cohort)) AS size,
            -- the period of `to` - 1 ms, the last one listed
            {{template "period" "({to:DateTime64(3)} - toIntervalMillisecond(1))"}} AS last_period,
            groupArray(({{template "offset" "period_start"}}, active, purchasers)) AS counts
        FROM activity
        GROUP BY cohort
    )
-- every offset of each cohort up to the period of `to` - 1 ms, with zeros
-- where nobody was active
SELECT
    cohort,
    size,
    period_offset,
    toUInt64(arrayFirst(c -> c.1 = period_offset, counts).2) AS active,
    toFloat64(active / size) AS active_share,
    toUInt64(arrayFirst(c -> c.1 = period_offset, counts).3) AS purchasers,
    toFloat64(purchasers / size) AS purchaser_share
FROM per_cohort
ARRAY JOIN range({{template "offset" "last_period"}} + 1) AS period_offset
ORDER BY cohort, period_offset
