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
-- The CTE `outcomes` (one row per cart or checkout) is the definition; the
-- companion queries abandonment_daily.sql, abandonment_channels.sql,
-- abandonment_recovered_by.sql and abandoned_carts.sql are run with the text
-- of this file up to the line "-- outcomes end" in front of them, so they
-- group the very same rows. Its columns:
--
--   kind           'cart' or 'checkout'
--   cart_key       'cart_id:<id>', 'session_id:<id>' or 'message_id:<id>'
--   cart_time      the cart's time (its first event, above)
--   visitor_id     the visitor of that first event
--   user_id        the first non-empty user_id of the cart's events, '' if none
--   session_id     the session_id of the first event ('' if not sessionized)
--   event_channel  the traffic_channel of the first event
--   value          the sum over the cart's events (of its kind, before `to`)
--                  of properties.price * properties.quantity (quantity 1
--                  when missing) when the event has a price, else of its
--                  revenue column; rounded to 2 decimals
--   items          the sum over the same events of properties.quantity (1
--                  when missing)
--   is_converted, is_abandoned, is_recovered   the definitions above (UInt8)
--   recovered_at   the recovering order: the visitor's first order after
--                  cart time + T (meaningful only when is_recovered)
--   recovered_session  the session_id of that order
--
-- This file's result is two rows: kind ('cart', 'checkout'), carts,
-- abandoned, recovered, abandonment_rate (for kind = 'checkout', `carts`
-- counts checkouts).
{{/*
-- The report filter (`--channel`, `--touchpoint`, `--where`; sql/README.md,
-- "Report filters"; a Go template comment, so it is no part of the SQL)
-- keeps a cart or checkout when its first event passes it: that event's
-- touchpoint and properties as report_filter reads them, and as its channel
-- the one abandonment_channels.sql gives the cart (the traffic_channel of
-- the first event's session, else the event's own, else '(none)'), so a
-- report filtered by channel X is the X row of the channel breakdown.
-- Every number, and every companion's, follows from the carts kept; the
-- orders, which only decide an outcome, are not filtered. With a filter
-- the report renders the templates "filtered_NAME" in place of "NAME";
-- without one (and so the view report_abandonment) they render to the
-- text around them, and the query reads none of the filter's parameters.
--
--   abandonment_first   (filtered) cart_first, the touchpoint and
--                       properties of the cart's first event: argMin by
--                       event_time like cart_session and cart_channel, so
--                       ties in event_time pick the same event
--   abandonment_kept    (filtered) the CTE kept_starts: the starts whose
--                       first event passes, with the columns the filter
--                       reads (traffic_channel, touchpoint, properties)
--   abandonment_starts  the starts outcomes reads: starts, filtered
--                       kept_starts (named starts)
*/ -}}
{{define "abandonment_first"}}{{end -}}
{{define "filtered_abandonment_first"}}
            argMin((touchpoint, properties), event_time) AS cart_first,{{end -}}
{{define "abandonment_kept"}}{{end -}}
{{define "filtered_abandonment_kept"}}
    kept_starts AS
    (
        SELECT *
        FROM
        (
            SELECT
                starts.*,
                -- abandonment_channels.sql's channel of the cart
                {{template "cart_channel" "starts.cart_channel"}} AS traffic_channel,
                tupleElement(starts.cart_first, 1) AS touchpoint,
                tupleElement(starts.cart_first, 2) AS properties
            FROM starts
            LEFT JOIN {{template "cart_sessions"}} ON cart_sessions.visitor_id = starts.visitor_id
                              AND cart_sessions.session_id = starts.cart_session
        )
        WHERE {{template "report_filter"}}
    ),{{end -}}
{{define "abandonment_starts"}}starts{{end -}}
{{define "filtered_abandonment_starts"}}kept_starts AS starts{{end -}}
WITH
    starts AS
    (
        SELECT
            if(event_name = 'Product Added', 'cart', 'checkout') AS kind,
            multiIf(cart_id != '', 'cart_id:' || cart_id,
                    session_id != '', 'session_id:' || session_id,
                    'message_id:' || message_id) AS cart_key,
            min(event_time) AS cart_time,
            argMin(visitor_id, event_time) AS visitor_id,
            argMinIf(user_id, event_time, user_id != '') AS cart_user,
            argMin(session_id, event_time) AS cart_session,
            argMin(traffic_channel, event_time) AS cart_channel,{{template "abandonment_first"}}
            round(sum(if(JSONHas(properties, 'price'),
                         JSONExtractFloat(properties, 'price')
                           * if(JSONHas(properties, 'quantity'), JSONExtractFloat(properties, 'quantity'), 1),
                         revenue)), 2) AS value,
            sum(if(JSONHas(properties, 'quantity'), JSONExtractFloat(properties, 'quantity'), 1)) AS items
        FROM events FINAL
        WHERE event_name IN ('Product Added', 'Checkout Started')
          -- no lower bound: a cart first added to before `from` is not
          -- in the range, however often it is added to later
          AND event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR write_key = {site:String})
        GROUP BY kind, cart_key
        HAVING cart_time >= {from:DateTime64(3)} AND cart_time < {to:DateTime64(3)}
    ),{{template "abandonment_kept"}}
    orders AS
    (
        SELECT
            visitor_id,
            groupArray(event_time) AS order_times,
            groupArray(session_id) AS order_sessions
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
            starts.cart_key AS cart_key,
            starts.cart_time AS cart_time,
            starts.visitor_id AS visitor_id,
            starts.cart_user AS user_id,
            starts.cart_session AS session_id,
            starts.cart_channel AS event_channel,
            starts.value AS value,
            starts.items AS items,
            starts.cart_time + toIntervalSecond({within_seconds:UInt64}) AS deadline,
            arrayExists(t -> t >= starts.cart_time AND t <= deadline, orders.order_times) AS is_converted,
            NOT is_converted AS is_abandoned,
            is_abandoned AND arrayExists(t -> t > deadline, orders.order_times) AS is_recovered,
            arrayMin(arrayFilter(t -> t > deadline, orders.order_times)) AS recovered_at,
            orders.order_sessions[indexOf(orders.order_times, recovered_at)] AS recovered_session
        FROM {{template "abandonment_starts"}}
        LEFT JOIN orders ON orders.visitor_id = starts.visitor_id
    )
-- outcomes end
SELECT
    kinds.kind AS kind,
    toUInt64(countIf(outcomes.kind != '')) AS carts,
    toUInt64(countIf(outcomes.kind != '' AND is_abandoned)) AS abandoned,
    toUInt64(countIf(outcomes.kind != '' AND is_recovered)) AS recovered,
    toFloat64(if(carts = 0, 0, abandoned / carts)) AS abandonment_rate
FROM (SELECT arrayJoin(['cart', 'checkout']) AS kind) AS kinds
LEFT JOIN outcomes ON outcomes.kind = kinds.kind
GROUP BY kinds.kind
ORDER BY kinds.kind
