-- attribution_totals: how many conversions attribution.sql credits (DESIGN.md
-- section 5, "Attribution"; the totals line of `touchstream report
-- attribution`).
--
-- Parameters: {from:DateTime64(3)}, {to:DateTime64(3)}, {site:String} and
-- {lookback_seconds:UInt64}, as in attribution.sql.
--
-- Definitions: conversion and touch as in attribution.sql.
--
--   conversions             the orders in [from, to) (site filtered): the
--                           CTE `orders`, 'Order Completed' events that
--                           are not cancelled.
--   revenue                 their revenue, net of refunds.
--   attributed_conversions  the conversions with at least one touch: a
--                           session of the same visitor_id that started in
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
        SELECT visitor_id, message_id AS conversion_id, event_time AS conversion_time, net_revenue AS amount
        FROM orders
    ),
    touched AS
    (
        SELECT DISTINCT c.visitor_id AS visitor_id, c.conversion_id AS conversion_id
        FROM conversions AS c
        INNER JOIN
        (
            SELECT visitor_id, start_time
            FROM sessions FINAL
            WHERE is_deleted = 0
              AND start_time >= {from:DateTime64(3)} - toIntervalSecond({lookback_seconds:UInt64})
              AND start_time < {to:DateTime64(3)}
        ) AS s ON s.visitor_id = c.visitor_id
        WHERE s.start_time <= c.conversion_time
          AND s.start_time >= c.conversion_time - toIntervalSecond({lookback_seconds:UInt64})
    )
SELECT
    toUInt64(count()) AS conversions,
    toFloat64(sum(amount)) AS revenue,
    toUInt64(countIf((visitor_id, conversion_id) IN (SELECT visitor_id, conversion_id FROM touched))) AS attributed_conversions,
    toFloat64(sumIf(amount, (visitor_id, conversion_id) IN (SELECT visitor_id, conversion_id FROM touched))) AS attributed_revenue
FROM conversions
