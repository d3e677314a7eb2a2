-- attribution: conversions and revenue credited to the touches before them,
-- under five models side by side (DESIGN.md section 5, "Attribution";
-- `touchstream report attribution`).
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  conversions with event_time in
--                            [from, to)
--   {site:String}            keep conversions whose write_key is this ('' keeps
--                            all). Touches are not filtered by site: every
--                            session of the converting visitor is a touch
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
--   touch       a session of the converting visitor (same visitor_id) whose
--               start_time t satisfies conversion time - lookback <= t <=
--               conversion time; the session in which the conversion
--               happened is its last touch. A touch carries the session's
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
-- One row per dimension value, ordered by value: value,
-- first_touch_conversions, first_touch_revenue, last_non_direct_conversions,
-- last_non_direct_revenue, linear_conversions, linear_revenue,
-- position_based_conversions, position_based_revenue,
-- time_decay_conversions, time_decay_revenue (all Float64 but value).
WITH
    -- orders: the orders in [from, to) of the site, from the view
    -- net_orders (migration 00006: not cancelled, revenue net of refunds;
    -- sql/README.md, "Orders, refunds and cancellations")
    orders AS
    (
        SELECT visitor_id, message_id, event_time, net_revenue
        FROM net_orders
        WHERE event_time >= {from:DateTime64(3)}
          AND event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR write_key = {site:String})
    ),
    conversions AS
    (
        SELECT visitor_id, message_id AS conversion_id, event_time AS conversion_time, net_revenue AS revenue
        FROM orders
    ),
    touches AS
    (
        SELECT
            visitor_id,
            session_id,
            start_time,
            traffic_channel IN ('Direct', '') AS direct,
            toString(multiIf({dimension:String} = 'channel', toString(traffic_channel),
                             {dimension:String} = 'source', utm_source,
                             {dimension:String} = 'medium', utm_medium,
                             {dimension:String} = 'campaign', utm_campaign,
                             {dimension:String} = 'touchpoint', toString(touchpoint),
                             '')) AS value
        FROM sessions FINAL
        WHERE is_deleted = 0
          AND start_time >= {from:DateTime64(3)} - toIntervalSecond({lookback_seconds:UInt64})
          AND start_time < {to:DateTime64(3)}
          AND visitor_id IN (SELECT visitor_id FROM conversions)
    ),
    journeys AS
    (
        SELECT
            c.visitor_id AS visitor_id,
            c.conversion_id AS conversion_id,
            any(c.conversion_time) AS conversion_time,
            any(c.revenue) AS revenue,
            arraySort(x -> (x.1, x.2), groupArray((t.start_time, t.session_id, t.value, t.direct))) AS path
        FROM conversions AS c
        INNER JOIN touches AS t ON t.visitor_id = c.visitor_id
        WHERE t.start_time <= c.conversion_time
          AND t.start_time >= c.conversion_time - toIntervalSecond({lookback_seconds:UInt64})
        GROUP BY visitor_id, conversion_id
    ),
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
