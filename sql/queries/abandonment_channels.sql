-- abandonment_channels: cart and checkout abandonment by the channel of the
-- cart (the `channels` of `touchstream report abandonment`).
--
-- Not a query of its own: report.Abandonment runs abandonment.sql up to its
-- line "-- outcomes end" (the CTE `outcomes`, one row per cart or checkout,
-- which defines cart, abandoned and recovered) followed by this text.
-- Parameters as abandonment.sql.
--
--   channel  the traffic_channel of the session the cart started in (the
--            session of its first event, sessions FINAL, not a tombstone),
--            else that event's own traffic_channel, else '(none)'
--            (filters.sql's cart_channel, which abandonment.sql's report
--            filter reads too).
--
-- One row per kind and channel with at least one cart: kind, channel,
-- carts, abandoned, recovered, abandonment_rate (abandoned / carts); by
-- kind, then most carts first, then channel. Summed over the channels,
-- carts, abandoned and recovered are abandonment.sql's.
SELECT
    outcomes.kind AS kind,
    {{template "cart_channel" "outcomes.event_channel"}} AS channel,
    toUInt64(count()) AS carts,
    toUInt64(countIf(is_abandoned)) AS abandoned,
    toUInt64(countIf(is_recovered)) AS recovered,
    toFloat64(if(carts = 0, 0, abandoned / carts)) AS abandonment_rate
FROM outcomes
LEFT JOIN {{template "cart_sessions"}} ON cart_sessions.visitor_id = outcomes.visitor_id
                                    AND cart_sessions.session_id = outcomes.session_id
GROUP BY kind, channel
ORDER BY kind, carts DESC, channel
