-- attribution: conversions and revenue credited to the touches before them,
-- under five models side by side (DESIGN.md section 5, "Attribution";
-- `touchstream report attribution`).
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  conversions with event_time in
--                            [from, to)
--   {site:String}            keep conversions whose write_key is this ('' keeps
--                            all). Touches are not filtered by site: every
--                            session of the converting visitor (or person)
--                            is a touch
--   {by:String}              whose sessions are the touches: 'visitor' (the
--                            report's default: the converting visitor_id's)
--                            or 'person' (those of every visitor of the
--                            converting visitor's person)
--   {lookback_seconds:UInt64} the lookback window (report default 30 days)
--   {dimension:String}       what a row is: 'channel' (traffic_channel),
--                            'source' (utm_source), 'medium' (utm_medium),
--                            'campaign' (utm_campaign) or 'touchpoint'
--
-- Definitions (events FINAL, sessions FINAL without tombstones):
--
--   conversion  an order of the CTE `orders` (sql/README.md, "Orders,
--               refunds and cancellations"): a track event 'Order
--               Completed' in the range whose order_id has no 'Order
--               Cancelled' event (a cancelled order is no conversion).
--               Its revenue is net of the 'Order Refunded' events of its
--               order_id: revenue - the amounts refunded (abs(revenue) of
--               each refund), 0 when a refund has no amount (revenue 0),
--               never below 0; a refunded order is still a conversion.
--               Cancellations and refunds are matched by order_id alone
--               (any site, any visitor) whenever they happened, also
--               before `from` or after `to`. Each event is one conversion
--               (two events with the same order_id are two conversions,
--               and a refund of that order_id nets each of them).
--   unit        whose sessions count: with by = 'visitor' the visitor_id;
--               with by = 'person' the person_id of the visitor in the view
--               persons (sql/README.md, "View persons"), or the visitor_id
--               itself when it has no link. A person's touches are then
--               the sessions of all its visitors (devices), those before
--               the link too.
--   touch       a session of the converting unit (same visitor_id, or same
--               person) whose start_time t satisfies conversion time -
--               lookback <= t <= conversion time. By visitor, the session
--               in which the conversion happened is its last touch; by
--               person, a session of another device that started later
--               (not after the conversion) comes after it. A touch carries the session's
--               landing traffic_channel, utm_source, utm_medium,
--               utm_campaign and touchpoint (those of its first event).
--               Touches are ordered by start_time, then session_id. Touches
--               are sessions, not events: every session is one touch.
--   direct      a touch whose traffic_channel is 'Direct' or '' (unknown).
--   Only conversions with at least one touch are credited; for each model
--   the credits of one conversion add up to 1 and its revenue to the
--   conversion's revenue. With n touches, touch i (1..n) gets:
--     first_touch      1 for i = 1.
--     last_non_direct  1 for the last touch that is not direct; when every
--                      touch is direct, 1 for the last touch (GA4).
--     linear           1 / n.
--     position_based   n = 1: 1; n = 2: 0.5 each; n >= 3: 0.4 for the first
--                      and the last, 0.2 / (n - 2) for each in between.
--     time_decay       w_i / (w_1 + ... + w_n), w_i = 2^(-d_i / 7 days),
--                      d_i = conversion time - touch start (half-life 7
--                      days, to the millisecond).
--   A row sums the credits (conversions, fractional) and credits x revenue
--   (revenue) of the touches whose dimension value is the row's. An empty
--   value is shown as '(not set)'.
--
-- The CTEs are the definitions: `conversions` every conversion, `journeys`
-- one row per conversion with its touches in order (`path`, empty for a
-- conversion without one, which `credits` then leaves out).
-- attribution_totals.sql is run with the text of this file up to the line
-- "-- credits end" in front of it, so its totals count the very
-- conversions and touches the rows credit.
--
-- One row per dimension value, ordered by value: value,
-- first_touch_conversions, first_touch_revenue, last_non_direct_conversions,
-- last_non_direct_revenue, linear_conversions, linear_revenue,
-- position_based_conversions, position_based_revenue,
-- time_decay_conversions, time_decay_revenue (all Float64 but value).
{{/*
-- The report filter (`--channel`, `--touchpoint`, `--where`; sql/README.md,
-- "Report filters"; a Go template comment, so it is no part of the SQL)
-- keeps a conversion when its order event passes it: the 'Order
-- Completed' event behind the net_orders row (events FINAL, same
-- visitor_id and message_id, event_time in [from, to)), by its own
-- traffic_channel, touchpoint and properties as report_filter
-- (filters.sql) reads them. So `--touchpoint app` credits the orders
-- placed in the app, `--where category=shoes` those whose order event has
-- category shoes, and the reports filtered by each order channel add up,
-- row by row and model by model, to the unfiltered one. The touches are
-- not filtered: a kept order credits every touch of its unit, whatever
-- their channel. Every model's credits, and attribution_totals.sql's
-- totals (which run after this text), follow from the kept conversions.
-- With a filter the report renders "filtered_NAME" in place of "NAME";
-- without one (and so the view report_attribution) the templates render
-- to nothing, and the query reads none of the filter's parameters
-- ({only_channels:Array(String)}, {only_touchpoints:Array(String)},
-- {only_keys:Array(String)}, {only_values:Array(String)}, which
-- report.Attribution always binds).
--
--   attribution_kept  (filtered) the condition of the CTE orders that the
--                     order's event passes the filter
*/ -}}
{{define "attribution_kept"}}{{end -}}
{{define "filtered_attribution_kept"}}
          AND (o.visitor_id, o.message_id) IN
          (
              -- the order events in the range that pass the filter
              SELECT visitor_id, message_id
              FROM events FINAL
              WHERE type = 'track'
                AND event_name = 'Order Completed'
                AND event_time >= {from:DateTime64(3)}
                AND event_time < {to:DateTime64(3)}
                AND {{template "report_filter"}}
          ){{end -}}
WITH
    -- orders: the orders in [from, to) of the site, from the view
    -- net_orders (migration 00006: not cancelled, revenue net of refunds;
    -- sql/README.md, "Orders, refunds and cancellations"), each with its
    -- unit: the visitor, or with by = 'person' its person (the persons
    -- view; the visitor itself when it has no link)
    orders AS
    (
        SELECT
            o.visitor_id AS visitor_id,
            if({by:String} = 'person', coalesce(nullIf(p.person_id, ''), o.visitor_id), o.visitor_id) AS unit,
            o.message_id AS message_id,
            o.event_time AS event_time,
            o.net_revenue AS net_revenue
        FROM net_orders AS o
        LEFT JOIN (SELECT visitor_id, person_id FROM persons WHERE {by:String} = 'person') AS p ON p.visitor_id = o.visitor_id
        WHERE o.event_time >= {from:DateTime64(3)}
          AND o.event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR o.write_key = {site:String}){{template "attribution_kept"}}
    ),
    conversions AS
    (
        SELECT visitor_id, unit, message_id AS conversion_id, event_time AS conversion_time, net_revenue AS revenue
        FROM orders
    ),
    touches AS
    (
        SELECT
            if({by:String} = 'person', coalesce(nullIf(p.person_id, ''), s.visitor_id), s.visitor_id) AS unit,
            s.session_id AS session_id,
            s.start_time AS start_time,
            s.traffic_channel IN ('Direct', '') AS direct,
            true AS touched,
            toString(multiIf({dimension:String} = 'channel', toString(s.traffic_channel),
                             {dimension:String} = 'source', s.utm_source,
                             {dimension:String} = 'medium', s.utm_medium,
                             {dimension:String} = 'campaign', s.utm_campaign,
                             {dimension:String} = 'touchpoint', toString(s.touchpoint),
                             '')) AS value
        FROM sessions AS s FINAL
        LEFT JOIN (SELECT visitor_id, person_id FROM persons WHERE {by:String} = 'person') AS p ON p.visitor_id = s.visitor_id
        WHERE s.is_deleted = 0
          AND s.start_time >= {from:DateTime64(3)} - toIntervalSecond({lookback_seconds:UInt64})
          AND s.start_time < {to:DateTime64(3)}
    ),
    journeys AS
    (
        SELECT
            c.unit AS unit,
            c.visitor_id AS visitor_id,
            c.conversion_id AS conversion_id,
            any(c.conversion_time) AS conversion_time,
            any(c.revenue) AS revenue,
            arraySort(x -> (x.1, x.2), groupArrayIf((t.start_time, t.session_id, t.value, t.direct), t.touched)) AS path
        -- conversions on the right: the join holds them in memory and the
        -- touches stream past; and they are named once, since each
        -- reference to a CTE evaluates it again (net_orders reads events
        -- FINAL twice). A RIGHT JOIN, so that a conversion without a touch
        -- is a row too (t.touched false: the columns' defaults), and
        -- attribution_totals.sql counts every conversion from journeys
        -- alone, without naming conversions a second time.
        FROM touches AS t
        RIGHT JOIN conversions AS c ON c.unit = t.unit
          AND t.start_time <= c.conversion_time
          AND t.start_time >= c.conversion_time - toIntervalSecond({lookback_seconds:UInt64})
        GROUP BY unit, visitor_id, conversion_id
    ),
    -- one row per touch of a journey: arrayJoin of an empty path gives
    -- none, so a conversion without a touch is credited to nothing
    credits AS
    (
        SELECT
            length(path) AS n,
            arrayMap(x -> pow(2, -dateDiff('millisecond', x.1, conversion_time) / 604800000), path) AS decay,
            arrayLastIndex(x -> NOT x.4, path) AS last_non_direct,
            arrayJoin(arrayEnumerate(path)) AS i,
            if(path[i].3 = '', '(not set)', path[i].3) AS value,
            toFloat64(i = 1) AS w_first,
            toFloat64(i = if(last_non_direct = 0, n, last_non_direct)) AS w_last_non_direct,
            1 / n AS w_linear,
            multiIf(n = 1, 1, n = 2, 0.5, i = 1 OR i = n, 0.4, 0.2 / (n - 2)) AS w_position,
            decay[i] / arraySum(decay) AS w_decay,
            revenue
        FROM journeys
    )
-- credits end
SELECT
    value,
    toFloat64(sum(w_first)) AS first_touch_conversions,
    toFloat64(sum(w_first * revenue)) AS first_touch_revenue,
    toFloat64(sum(w_last_non_direct)) AS last_non_direct_conversions,
    toFloat64(sum(w_last_non_direct * revenue)) AS last_non_direct_revenue,
    toFloat64(sum(w_linear)) AS linear_conversions,
    toFloat64(sum(w_linear * revenue)) AS linear_revenue,
    toFloat64(sum(w_position)) AS position_based_conversions,
    toFloat64(sum(w_position * revenue)) AS position_based_revenue,
    toFloat64(sum(w_decay)) AS time_decay_conversions,
    toFloat64(sum(w_decay * revenue)) AS time_decay_revenue
FROM credits
GROUP BY value
ORDER BY value
