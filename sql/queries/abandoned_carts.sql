-- abandoned_carts: the abandoned carts themselves, for follow-up (the
-- `abandoned_carts` of `touchstream report abandonment`).
--
-- Not a query of its own: report.Abandonment runs abandonment.sql up to its
-- line "-- outcomes end" (the CTE `outcomes`, one row per cart or checkout,
-- which defines cart, abandoned, value and items) followed by this text.
-- Parameters as abandonment.sql.
--
-- One row per abandoned cart (kind 'cart'; checkouts are not listed), by
-- cart time, then cart key:
--   cart_key, visitor_id, cart_time,
--   user_id    the first non-empty user_id of the cart's events, else the
--              person_id of its visitor (view persons), else ''
--   value, items  as outcomes defines them
--   recovered  1 if the cart was recovered later (UInt8)
SELECT
    outcomes.cart_key AS cart_key,
    outcomes.visitor_id AS visitor_id,
    if(outcomes.user_id != '', outcomes.user_id, ifNull(p.person_id, '')) AS user_id,
    outcomes.cart_time AS cart_time,
    toFloat64(outcomes.value) AS value,
    toFloat64(outcomes.items) AS items,
    toUInt8(is_recovered) AS recovered
FROM outcomes
LEFT JOIN persons AS p ON p.visitor_id = outcomes.visitor_id
WHERE outcomes.kind = 'cart' AND is_abandoned
ORDER BY cart_time, cart_key
