-- Orders net of cancellations and refunds: the one definition of an order
-- and its revenue that the stages, attribution and segments queries read
-- (sql/README.md, "Orders, refunds and cancellations").
--
-- An order is a track event 'Order Completed' whose order_id has no track
-- event 'Order Cancelled' (at any time, from any site or visitor). Its
-- net_revenue is its revenue minus the amounts of the track events
-- 'Order Refunded' with its order_id (a refund's amount is abs(revenue); a
-- refund whose amount is 0 refunds the whole order), never below 0. An
-- empty order_id matches nothing. Events are read FINAL, so a redelivered
-- refund counts once. Queries filter the view by event_time and write_key.

-- +goose Up
CREATE VIEW IF NOT EXISTS net_orders AS
WITH order_changes AS
(
    SELECT
        order_id,
        max(event_name = 'Order Cancelled') AS cancelled,
        max(event_name = 'Order Refunded' AND abs(revenue) = 0) AS refunded_in_full,
        sumIf(abs(revenue), event_name = 'Order Refunded') AS refunded
    FROM events FINAL
    WHERE type = 'track'
      AND event_name IN ('Order Cancelled', 'Order Refunded')
      AND order_id != ''
    GROUP BY order_id
)
SELECT
    o.message_id AS message_id,
    o.event_time AS event_time,
    o.visitor_id AS visitor_id,
    o.user_id AS user_id,
    o.session_id AS session_id,
    o.order_id AS order_id,
    o.write_key AS write_key,
    o.revenue AS revenue,
    toFloat64(ifNull(c.refunded, 0)) AS refunded,
    toFloat64(if(ifNull(c.refunded_in_full, 0) != 0, 0,
                 greatest(0, o.revenue - ifNull(c.refunded, 0)))) AS net_revenue
FROM events AS o FINAL
LEFT JOIN order_changes AS c ON c.order_id = o.order_id
WHERE o.type = 'track'
  AND o.event_name = 'Order Completed'
  AND ifNull(c.cancelled, 0) = 0;

-- +goose Down
DROP VIEW IF EXISTS net_orders;
