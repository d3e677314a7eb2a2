-- abandonment: cart and checkout abandonment (DESIGN.md section 5, "Cart
-- abandonment"; `touchstream report abandonment`).
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  carts whose time is in [from, to)
--   {site:String}            keep events whose write_key is this; '' keeps all
--   {within_seconds:UInt64}  T, how soon an order must follow (default 24 h)
--
-- Definitions (events FINAL, so a redelivered event counts once):
--
--   cart       one per cart key: the event's cart_id, else its session_id
--              (else its message_id), over the 'Product Added' events. Its
--              time is its first 'Product Added' (looked for over all time,
--              so a cart started before `from` is not in the range), its
--              visitor the visitor_id of that first event.
--   order      an 'Order Completed' event, at any time (also after `to`).
--   converted  a cart with an order by the same visitor_id at a time t with
--              cart time <= t <= cart time + T. Any order of the visitor
--              counts, whatever its cart_id (DESIGN.md: "by the same
--              visitor").
--   abandoned  a cart that is not converted. A cart whose T has not passed
--              yet counts as abandoned until its order arrives.
--   recovered  an abandoned cart with an order by the same visitor after
--              cart time + T.
--   abandonment_rate  abandoned / carts (0 when there are no carts).
--
-- Checkouts are the same with 'Checkout Started' in place of 'Product Added'.
--
-- Two rows: kind ('cart', 'checkout'), carts, abandoned, recovered,
-- abandonment_rate (for kind = 'checkout', `carts` counts checkouts).
WITH
    starts AS
    (
        SELECT
            if(event_name = 'Product Added', 'cart', 'checkout') AS kind,
            multiIf(cart_id != '', 'cart_id:' || cart_id,
                    session_id != '', 'session_id:' || session_id,
                    'message_id:' || message_id) AS cart_key,
            min(event_time) AS cart_time,
            argMin(visitor_id, event_time) AS visitor_id
        FROM events FINAL
        WHERE event_name IN ('Product Added', 'Checkout Started')
          -- no lower bound: a cart first added to before `from` is not
          -- in the range, however often it is added to later
          AND event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR write_key = {site:String})
        GROUP BY kind, cart_key
        HAVING cart_time >= {from:DateTime64(3)} AND cart_time < {to:DateTime64(3)}
    ),
    orders AS
    (
        SELECT visitor_id, groupArray(event_time) AS order_times
        FROM events FINAL
        WHERE event_name = 'Order Completed'
          AND event_time >= {from:DateTime64(3)}
          AND ({site:String} = '' OR write_key = {site:String})
        GROUP BY visitor_id
    ),
    outcomes AS
    (
        SELECT
            starts.kind AS kind,
            starts.cart_time + toIntervalSecond({within_seconds:UInt64}) AS deadline,
            arrayExists(t -> t >= starts.cart_time AND t <= deadline, orders.order_times) AS converted,
            arrayExists(t -> t > deadline, orders.order_times) AS ordered_later
        FROM starts
        LEFT JOIN orders ON orders.visitor_id = starts.visitor_id
    )
SELECT
    kinds.kind AS kind,
    toUInt64(countIf(outcomes.kind != '')) AS carts,
    toUInt64(countIf(outcomes.kind != '' AND NOT converted)) AS abandoned,
    toUInt64(countIf(outcomes.kind != '' AND NOT converted AND ordered_later)) AS recovered,
    toFloat64(if(carts = 0, 0, abandoned / carts)) AS abandonment_rate
FROM (SELECT arrayJoin(['cart', 'checkout']) AS kind) AS kinds
LEFT JOIN outcomes ON outcomes.kind = kinds.kind
GROUP BY kinds.kind
ORDER BY kinds.kind
