-- abandonment_recovered_by: what brought recovered carts and checkouts back
-- (the `recovered_by` of `touchstream report abandonment`).
--
-- Not a query of its own: report.Abandonment runs abandonment.sql up to its
-- line "-- outcomes end" (the CTE `outcomes`, one row per cart or checkout,
-- which defines recovered and the recovering order) followed by this text.
-- Parameters as abandonment.sql.
--
--   touchpoint, campaign  the touchpoint and utm_campaign of the session in
--            which the recovering order happened (sessions FINAL, not a
--            tombstone; a session's are those of its first event, so a
--            reminder email or SMS click that opened the session names it).
--            '(none)' when the order has no session or the session has no
--            value.
--
-- One row per kind, touchpoint and campaign with a recovered cart: kind,
-- touchpoint, campaign, recovered (UInt64); by kind, then most first. Summed
-- over the rows, recovered is abandonment.sql's.
SELECT
    outcomes.kind AS kind,
    if(s.touchpoint != '', toString(s.touchpoint), '(none)') AS touchpoint,
    if(s.utm_campaign != '', s.utm_campaign, '(none)') AS campaign,
    toUInt64(count()) AS recovered
FROM outcomes
LEFT JOIN
(
    SELECT visitor_id, session_id, touchpoint, utm_campaign
    FROM sessions FINAL
    WHERE is_deleted = 0
) AS s ON s.visitor_id = outcomes.visitor_id AND s.session_id = outcomes.recovered_session
WHERE is_recovered
GROUP BY kind, touchpoint, campaign
ORDER BY kind, recovered DESC, touchpoint, campaign
