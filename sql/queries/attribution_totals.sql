-- attribution_totals: how many conversions attribution.sql credits (DESIGN.md
-- section 5, "Attribution"; the totals line of `touchstream report
-- attribution`).
--
-- Parameters: {from:DateTime64(3)}, {to:DateTime64(3)}, {site:String},
-- {lookback_seconds:UInt64} and {by:String}, as in attribution.sql.
--
-- Definitions: conversion and touch as in attribution.sql.
--
--   conversions             the orders in [from, to) (site filtered): the
--                           CTE `orders`, 'Order Completed' events that
--                           are not cancelled.
--   revenue                 their revenue, net of refunds.
--   attributed_conversions  the conversions with at least one touch: a
--                           session of the same visitor_id (by = 'person':
--                           of the same person) that started in
--                           [conversion time - lookback, conversion time].
--                           For every model of attribution.sql the credited
--                           conversions add up to this number.
--   attributed_revenue      their revenue.
--
-- One row: conversions (UInt64), revenue (Float64), attributed_conversions
-- (UInt64), attributed_revenue (Float64).
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
          AND ({site:String} = '' OR o.write_key = {site:String})
    ),
    conversions AS
    (
        SELECT visitor_id, unit, message_id AS conversion_id, event_time AS conversion_time, net_revenue AS amount
        FROM orders
    ),
    touched AS
    (
        SELECT DISTINCT c.visitor_id AS visitor_id, c.conversion_id AS conversion_id
        FROM conversions AS c
        INNER JOIN
        (
            SELECT if({by:String} = 'person', coalesce(nullIf(p.person_id, ''), s.visitor_id), s.visitor_id) AS unit, s.start_time AS start_time
            FROM sessions AS s FINAL
            LEFT JOIN (SELECT visitor_id, person_id FROM persons WHERE {by:String} = 'person') AS p ON p.visitor_id = s.visitor_id
            WHERE s.is_deleted = 0
              AND s.start_time >= {from:DateTime64(3)} - toIntervalSecond({lookback_seconds:UInt64})
              AND s.start_time < {to:DateTime64(3)}
        ) AS s ON s.unit = c.unit
        WHERE s.start_time <= c.conversion_time
          AND s.start_time >= c.conversion_time - toIntervalSecond({lookback_seconds:UInt64})
    )
SELECT
    toUInt64(count()) AS conversions,
    toFloat64(sum(amount)) AS revenue,
    toUInt64(countIf((visitor_id, conversion_id) IN (SELECT visitor_id, conversion_id FROM touched))) AS attributed_conversions,
    toFloat64(sumIf(amount, (visitor_id, conversion_id) IN (SELECT visitor_id, conversion_id FROM touched))) AS attributed_revenue
FROM conversions
