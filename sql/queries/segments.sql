-- segments: customers with their orders, LTV, AOV, top category and RFM
-- scores and segment, the inputs of email and SMS targeting (DESIGN.md
-- section 5, "Customers are also segmented by AOV, LTV, purchase count and
-- purchase category (and RFM)"; `touchstream report segments`).
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  orders with event_time in
--                            [from, to); `to` is also the "now" of recency
--   {site:String}            keep events whose write_key is this ('' keeps all)
--
-- Definitions (events FINAL):
--
--   customer      a person with at least one order in the range: the
--                 person_id of the event's visitor_id in the view persons
--                 (the user id it is linked to), else the visitor_id. So a
--                 customer who signed in on two devices is one customer.
--   order         an order of the CTE `orders` (sql/README.md, "Orders,
--                 refunds and cancellations"): a track event 'Order
--                 Completed' in the range whose order_id has no 'Order
--                 Cancelled' event. Its revenue is net of the 'Order
--                 Refunded' events of its order_id: revenue - the amounts
--                 refunded (abs(revenue) of each refund), 0 when a refund
--                 has no amount (revenue 0), never below 0; a refunded
--                 order is still an order. Cancellations and refunds are
--                 matched by order_id alone (any site, any visitor, so a
--                 refund sent by a server counts) whenever they happened,
--                 also before `from` or after `to`. The person of an order
--                 is that of the order event's visitor_id.
--   orders        the customer's orders; revenue (LTV in the range) their
--                 net revenue; aov revenue / orders; last_order the time
--                 of the newest one; recency_days (to - last_order) in
--                 days. A customer whose every order is cancelled is no
--                 customer.
--   visitor_ids   the customer's visitor_ids with an event before `to`,
--                 sorted.
--   user_id       the person_id if linked, else the user_id of the newest
--                 event with one ('' if none).
--   email         the 'email' property (identify: trait) of the newest
--                 event of the customer that has a non-empty one, else ''.
--   top_category  the 'category' property most often seen on the
--                 customer's 'Order Completed' and 'Product Added' events
--                 in the range (ties: the first by name); '' if none. It
--                 measures interest, so a cancelled order's category
--                 counts.
--   r, f, m       RFM scores 1-5, quintiles over the customers of the
--                 result: score = 1 + floor(5 * (rank - 1) / customers),
--                 rank being rank() over last_order (R), orders (F),
--                 net revenue (M) ascending, so equal values score the same
--                 and the newest, most frequent, biggest spenders get 5.
--   segment       from R and F, the first that matches:
--                   Champions    R >= 4 and F >= 4
--                   Loyal        R >= 3 and F >= 3
--                   New          R >= 4 and F = 1
--                   Promising    R >= 3
--                   At risk      F >= 3 (and R <= 2)
--                   Hibernating  everything else (R <= 2 and F <= 2)
--
-- One row per customer, ordered by revenue descending, then customer_id:
-- customer_id, visitor_ids (Array(String)), user_id, email, orders (UInt64),
-- revenue, aov (Float64), last_order (DateTime64(3, 'UTC')), recency_days
-- (Float64), top_category, r, f, m (UInt8), segment.
{{/*
-- The report filter (`--channel`, `--touchpoint`, `--where`; sql/README.md,
-- "Report filters"; a Go template comment, so it is no part of the SQL)
-- keeps a customer when the event of its first order in the range passes
-- filters.sql's report_filter: of the customer's orders (the CTE orders,
-- all its visitors), the earliest by event_time, ties broken by the
-- smaller message_id; its own traffic_channel, touchpoint and properties,
-- read from events FINAL by (visitor_id, message_id) since net_orders has
-- none of them. A kept customer's row is the unfiltered one: all its
-- orders count, whatever their channel (orders, revenue, aov, last_order,
-- top_category), and r, f, m rank it among all the customers of the
-- range, so the filter only leaves customers out and a filtered report is
-- the matching part of the unfiltered list. With a filter the report
-- renders "filtered_kept_customers" in place of "kept_customers", which
-- then reads {only_channels:Array(String)},
-- {only_touchpoints:Array(String)}, {only_keys:Array(String)} and
-- {only_values:Array(String)} (filters.sql; report.Segments always binds
-- them); without one it renders to nothing and the query reads none of
-- them.
--
--   kept_customers  (filtered) the final SELECT's WHERE: the customers
--                   whose first order's event passes
*/ -}}
{{define "kept_customers"}}{{end -}}
{{define "filtered_kept_customers"}}
WHERE customer_id IN
(
    SELECT coalesce(nullIf(p.person_id, ''), o.visitor_id) AS customer_id
    FROM orders AS o
    INNER JOIN
    (
        SELECT visitor_id, message_id, traffic_channel, touchpoint, properties
        FROM events FINAL
        WHERE type = 'track'
          AND event_name = 'Order Completed'
          AND event_time >= {from:DateTime64(3)}
          AND event_time < {to:DateTime64(3)}
    ) AS e ON e.visitor_id = o.visitor_id AND e.message_id = o.message_id
    LEFT JOIN (SELECT visitor_id, person_id FROM persons) AS p ON p.visitor_id = o.visitor_id
    GROUP BY customer_id
    HAVING argMin({{template "report_filter"}}, (o.event_time, o.message_id))
){{end -}}
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
    customer_events AS
    (
        SELECT
            coalesce(nullIf(p.person_id, ''), e.visitor_id) AS customer_id,
            p.person_id != '' AS linked,
            e.visitor_id AS visitor_id,
            e.user_id AS uid,
            e.event_name AS event_name,
            e.event_time AS event_time,
            -- the two properties the report reads. JSON is parsed only
            -- where it can hold them (the if()s run their JSON branch on
            -- those rows alone): a key "email" is either in the text as
            -- it is or written with a \u escape, so a text with neither
            -- 'email' nor a backslash has none. category is read only
            -- from the events top_category counts.
            if(position(e.properties, 'email') > 0 OR position(e.properties, '\\') > 0,
               JSONExtractString(e.properties, 'email'), '') AS email,
            if(e.event_name IN ('Order Completed', 'Product Added') AND e.event_time >= {from:DateTime64(3)},
               JSONExtractString(e.properties, 'category'), '') AS category
        FROM events AS e FINAL
        LEFT JOIN (SELECT visitor_id, person_id FROM persons) AS p ON p.visitor_id = e.visitor_id
        WHERE e.event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR e.write_key = {site:String})
    ),
    -- the orders of each customer (the person of the order's visitor)
    customer_orders AS
    (
        SELECT
            coalesce(nullIf(p.person_id, ''), o.visitor_id) AS customer_id,
            toUInt64(count()) AS orders,
            toFloat64(sum(o.net_revenue)) AS revenue,
            max(o.event_time) AS last_order
        FROM orders AS o
        LEFT JOIN (SELECT visitor_id, person_id FROM persons) AS p ON p.visitor_id = o.visitor_id
        GROUP BY customer_id
    ),
    customers AS
    (
        SELECT
            e.customer_id AS customer_id,
            e.visitor_ids AS visitor_ids,
            e.user_id AS user_id,
            e.email AS email,
            k.orders AS orders,
            k.revenue AS revenue,
            toFloat64(k.revenue / k.orders) AS aov,
            k.last_order AS last_order,
            -- the most counted; indexOf finds the first of equal counts,
            -- the first by name
            if(empty(e.category_counts.1), '',
               e.category_counts.1[indexOf(e.category_counts.2, arrayMax(e.category_counts.2))]) AS top_category
        FROM
        (
            SELECT
                customer_id,
                arraySort(groupUniqArray(visitor_id)) AS visitor_ids,
                if(max(linked), customer_id, argMaxIf(uid, event_time, uid != '')) AS user_id,
                argMaxIf(email, event_time, email != '') AS email,
                -- (categories sorted by name, their counts)
                sumMapIf([category], [toInt64(1)], category != '') AS category_counts
            FROM customer_events
            GROUP BY customer_id
        ) AS e
        INNER JOIN customer_orders AS k ON k.customer_id = e.customer_id
    ),
    scored AS
    (
        SELECT
            c.customer_id AS customer_id,
            c.visitor_ids AS visitor_ids,
            c.user_id AS user_id,
            c.email AS email,
            c.orders AS orders,
            c.revenue AS revenue,
            c.aov AS aov,
            c.last_order AS last_order,
            toFloat64(dateDiff('millisecond', c.last_order, {to:DateTime64(3)}) / 86400000) AS recency_days,
            c.top_category AS top_category,
            toUInt8(1 + intDiv(5 * (rank() OVER (ORDER BY c.last_order) - 1), count() OVER ())) AS r,
            toUInt8(1 + intDiv(5 * (rank() OVER (ORDER BY c.orders) - 1), count() OVER ())) AS f,
            toUInt8(1 + intDiv(5 * (rank() OVER (ORDER BY c.revenue) - 1), count() OVER ())) AS m
        FROM customers AS c
    )
SELECT
    customer_id, visitor_ids, user_id, email, orders, revenue, aov, last_order,
    recency_days, top_category, r, f, m,
    multiIf(r >= 4 AND f >= 4, 'Champions',
            r >= 3 AND f >= 3, 'Loyal',
            r >= 4 AND f = 1, 'New',
            r >= 3, 'Promising',
            f >= 3, 'At risk',
            'Hibernating') AS segment
FROM scored{{template "kept_customers"}}
ORDER BY revenue DESC, customer_id
