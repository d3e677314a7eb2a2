-- funnel_dropoff: who reached step K of an ordered funnel and not step K+1,
-- and what they did next (`touchstream report funnel --dropoff K`).
--
-- A Go text/template rendered together with funnel.sql (report.dropoffSQL):
-- it reuses funnel.sql's template "visitors" (the CTEs per_visitor and
-- per_visitor_chains), so "reached" means exactly what it means there,
-- exclusion steps and property filters included. Besides .Steps it sees
-- .K (the step, from 1), .Cond (K - 1, the step's condition) and .Next.
-- It splices in nothing but those numbers; the parameters are funnel.sql's.
-- Visitors only (not persons).
--
-- Definitions:
--
--   dropped     the visitors whose last reached step (funnel.sql's level,
--               with exclusions) is K.
--   step_time   the time of the visitor's step-K event: t_K of its earliest
--               chain that reaches step K (funnel.sql "chain"); for K = 1
--               its earliest step-1 event in [from, to).
--   user_id     the user_id of the visitor's newest event in [from, to)
--               that has one (ties: the largest message_id); '' if none.
--   channel     the traffic_channel of the visitor's step-K event: its
--               event at step_time that counts as step K (ties: the
--               smallest message_id).
--   next event  the visitor's first event strictly after step_time (by
--               event_time, then message_id), in [from, to), of any kind.
--               Its label: 'page:' || page_path for a page or screen view,
--               the event name for a track call, else the type (identify,
--               group, alias). A repeat of step K counts too.
--
-- .Next false: one row per dropped visitor, ordered by step_time, then
-- visitor_id: visitor_id, user_id, step_time (DateTime64(3, 'UTC')), channel.
-- .Next true: the 10 most common next events: event, visitors (UInt64, the
-- dropped visitors whose next event it is; visitors with no later event in
-- the range are in no row), ordered by visitors descending, then event.
WITH
    {{- template "visitors" .}},
    dropped AS
    (
        SELECT unit AS dropped_id, step_ms[{{.K}}] AS dropped_ms
        FROM per_visitor_chains
        WHERE lvl = {{.K}}
    ),
    details AS
    (
        SELECT
            d.dropped_id AS visitor_id,
            any(d.dropped_ms) AS step_ms,
            argMaxIf(user_id, (event_time, message_id), user_id != '') AS user_id,
            argMinIf(toString(traffic_channel), (event_time, message_id),
                     toUnixTimestamp64Milli(event_time) = d.dropped_ms AND {{template "cond" .Cond}}) AS channel,
            argMinIf(multiIf(type IN ('page', 'screen'), concat('page:', page_path), type = 'track', toString(event_name), toString(type)),
                     (event_time, message_id), toUnixTimestamp64Milli(event_time) > d.dropped_ms) AS next_event,
            countIf(toUnixTimestamp64Milli(event_time) > d.dropped_ms) > 0 AS has_next
        FROM events AS e FINAL
        INNER JOIN dropped AS d ON d.dropped_id = e.visitor_id
        WHERE event_time >= {from:DateTime64(3)}
          AND event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR write_key = {site:String})
        GROUP BY d.dropped_id
    )
{{- if .Next}}
SELECT next_event AS event, count() AS visitors
FROM details
WHERE has_next
GROUP BY next_event
ORDER BY visitors DESC, event
LIMIT 10
{{- else}}
SELECT visitor_id, user_id, fromUnixTimestamp64Milli(step_ms, 'UTC') AS step_time, channel
FROM details
ORDER BY step_time, visitor_id
{{- end}}
