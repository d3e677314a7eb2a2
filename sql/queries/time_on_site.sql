-- time_on_site: how long sessions last and how many are engaged (DESIGN.md
-- section 5, "Session duration", "Engaged session"; `touchstream report
-- time-on-site`).
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  sessions with start_time in
--                            [from, to) (a session belongs to the day it starts)
--   {site:String}            keep sessions with at least one event whose
--                            write_key is this ('' keeps all): sessions
--                            carry no write_key of their own
--
-- Definitions (sessions FINAL: the newest version of each session, and none
-- whose newest version is a tombstone, is_deleted = 1):
--
--   sessions          the number of sessions.
--   duration_seconds  the sessions table's ALIAS column: end_time - start_time.
--   engaged_seconds   the ALIAS column: engaged_msec / 1000.
--   mean, median, p90 of each over the sessions: avg, quantileExact(0.5) and
--                     quantileExact(0.9). quantileExact(q) is the value at
--                     position floor(q * n) of the n sorted values (0-based),
--                     an observed value, never an interpolation (for an even
--                     n the median is the upper of the two middle values).
--                     0 when there are no sessions.
--   engagement_rate   engaged sessions / sessions, engaged being the ALIAS
--                     column (duration >= 10 s, or >= 2 page/screen views,
--                     or a conversion).
--   bounce_rate       1 - engagement_rate. Both 0 when there are no sessions.
--
-- The WITH clause up to the line "-- scope end" is the definition: the CTE
-- `scoped` (the sessions above, one row each) and the named aggregates
-- (sessions, duration_mean, ... engagement_rate). The companion queries
-- time_on_site_breakdown.sql and time_on_site_histogram.sql are run with
-- that text in front of them, so they compute the very same numbers per
-- group; stages.sql's CTE `retention` reads `scoped` the same way. `scoped`
-- has the columns visitor_id, session_id, start_time, duration_seconds,
-- engaged_seconds, engaged and the session's traffic_channel, entry_page,
-- touchpoint and device_type. (A companion must not give any other column
-- one of the aggregates' names: ClickHouse would take the aggregate.)
--
-- This file's result is one row: sessions, duration_mean, duration_median,
-- duration_p90, engaged_mean, engaged_median, engaged_p90,
-- engaged_sessions, bounce_rate, engagement_rate.
{{/*
This file is a Go text/template (package sqlfiles renders it; its one
action renders nothing without a filter, so the view report_time_on_site
is the SQL above and below). With a report filter (`--channel`,
`--touchpoint`, `--where`), filters.sql's "session_filter" keeps the
sessions of `scoped` whose first event passes: the session's own
traffic_channel and touchpoint (those of its first event, which
time_on_site_breakdown.sql's channel and touchpoint read) and that event's
properties. The session's later events (an order, say) decide nothing.
Every number, and those of the companions, follows from the sessions that
pass.
*/ -}}
WITH
    scoped AS
    (
        SELECT
            visitor_id, session_id, start_time, duration_seconds, engaged_seconds, engaged,
            traffic_channel, entry_page, touchpoint, device_type
        FROM sessions FINAL
        WHERE start_time >= {from:DateTime64(3)}
          AND start_time < {to:DateTime64(3)}
          AND is_deleted = 0
          AND ({site:String} = ''
               OR (visitor_id, session_id) IN (
                    SELECT visitor_id, session_id
                    FROM events
                    WHERE write_key = {site:String}
                      AND event_time >= {from:DateTime64(3)})){{template "session_filter"}}
    ),
    toUInt64(count()) AS sessions,
    toFloat64(if(sessions = 0, 0, avg(duration_seconds))) AS duration_mean,
    toFloat64(if(sessions = 0, 0, quantileExact(0.5)(duration_seconds))) AS duration_median,
    toFloat64(if(sessions = 0, 0, quantileExact(0.9)(duration_seconds))) AS duration_p90,
    toFloat64(if(sessions = 0, 0, avg(engaged_seconds))) AS engaged_mean,
    toFloat64(if(sessions = 0, 0, quantileExact(0.5)(engaged_seconds))) AS engaged_median,
    toFloat64(if(sessions = 0, 0, quantileExact(0.9)(engaged_seconds))) AS engaged_p90,
    toUInt64(countIf(engaged)) AS engaged_sessions,
    toFloat64(if(sessions = 0, 0, 1 - engaged_sessions / sessions)) AS bounce_rate,
    toFloat64(if(sessions = 0, 0, engaged_sessions / sessions)) AS engagement_rate
-- scope end
SELECT
    sessions, duration_mean, duration_median, duration_p90,
    engaged_mean, engaged_median, engaged_p90,
    engaged_sessions, bounce_rate, engagement_rate
FROM scoped
