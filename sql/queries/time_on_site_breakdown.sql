-- time_on_site_breakdown: time on site by channel, landing page,
-- touchpoint, device and stage reached (DESIGN.md section 5, "Time on
-- site"; the `breakdowns` of `touchstream report time-on-site`).
--
-- Not a query of its own: report.TimeOnSite runs time_on_site.sql up to its
-- line "-- scope end" (the sessions in scope and the named aggregates that
-- define every number) followed by this text. Parameters as time_on_site.sql.
--
-- Dimensions (each session falls in exactly one group of each):
--   channel       the session's traffic_channel
--   landing_page  the session's entry_page (page_path of its first page or
--                 screen view)
--   touchpoint    the session's touchpoint (of its first event)
--   device        the session's device_type
--   stage         the furthest journey stage of the session's events
--                 (events FINAL, events.stage) in the order awareness,
--                 evaluation, purchase, return, advocacy
--   An empty value is '(none)'.
--
-- One row per dimension and value with at least one session: dimension,
-- value, then the columns of time_on_site.sql; by dimension (in the order
-- above), then most sessions first, then value (stages in journey order,
-- '(none)' first). Summed over the values of
-- one dimension, sessions and engaged_sessions are time_on_site.sql's.
SELECT
    multiIf(grouping(channel) = 0, 'channel',
            grouping(landing_page) = 0, 'landing_page',
            grouping(touchpoint_value) = 0, 'touchpoint',
            grouping(device) = 0, 'device',
            'stage') AS dimension,
    multiIf(dimension = 'channel', channel,
            dimension = 'landing_page', landing_page,
            dimension = 'touchpoint', touchpoint_value,
            dimension = 'device', device,
            stage_reached) AS value,
    sessions, duration_mean, duration_median, duration_p90,
    engaged_mean, engaged_median, engaged_p90,
    engaged_sessions, bounce_rate, engagement_rate
FROM
(
    SELECT
        scoped.duration_seconds AS duration_seconds,
        scoped.engaged_seconds AS engaged_seconds,
        scoped.engaged AS engaged,
        if(scoped.traffic_channel != '', toString(scoped.traffic_channel), '(none)') AS channel,
        if(scoped.entry_page != '', scoped.entry_page, '(none)') AS landing_page,
        if(scoped.touchpoint != '', toString(scoped.touchpoint), '(none)') AS touchpoint_value,
        if(scoped.device_type != '', toString(scoped.device_type), '(none)') AS device,
        ['(none)', 'awareness', 'evaluation', 'purchase', 'return', 'advocacy'][reached.furthest + 1] AS stage_reached
    FROM scoped
    LEFT JOIN
    (
        SELECT
            visitor_id, session_id,
            max(indexOf(['awareness', 'evaluation', 'purchase', 'return', 'advocacy'], stage)) AS furthest
        FROM events FINAL
        WHERE event_time >= {from:DateTime64(3)}
          AND stage != ''
          AND (visitor_id, session_id) IN (SELECT visitor_id, session_id FROM scoped)
        GROUP BY visitor_id, session_id
    ) AS reached ON reached.visitor_id = scoped.visitor_id AND reached.session_id = scoped.session_id
)
GROUP BY GROUPING SETS ((channel), (landing_page), (touchpoint_value), (device), (stage_reached))
ORDER BY indexOf(['channel', 'landing_page', 'touchpoint', 'device', 'stage'], dimension),
    indexOf(['(none)', 'awareness', 'evaluation', 'purchase', 'return', 'advocacy'], if(dimension = 'stage', value, '')),
    sessions DESC, value
