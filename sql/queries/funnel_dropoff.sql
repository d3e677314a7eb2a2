-- funnel_dropoff: who reached step K of an ordered funnel and not step K+1,
-- and what they did next (`touchstream report funnel --dropoff K`).
--
-- A Go text/template rendered together with funnel.sql (report.dropoffSQL):
-- it reuses funnel.sql's template "visitors" (the CTEs per_visitor to
-- per_visitor_chains), so "reached" means exactly what it means there,
-- exclusion steps and property filters included. Besides .Steps it sees
-- .K (the step, from 1), .Cond (K - 1, the step's condition) and .Next.
-- It splices in nothing but those numbers; the parameters are funnel.sql's.
-- It counts what funnel.sql's variant counts: visitors, persons ("unit",
-- "visitor", "events" and "linked" are then the person_ forms) or sessions
-- ("unit" and "unit_where" the session_ forms). A unit's events are its
-- events in [from, to) (of the site), of any kind: a visitor's, those of
-- every visitor of a person, a session's.
--
-- Definitions:
--
--   dropped     the units whose last reached step (funnel.sql's level,
--               with exclusions and per-step windows) is K.
--   unit        the unit's id: the visitor_id; the person_id (the user id
--               of a linked person, else its visitor_id); the session_id.
--   step_time   the time of the unit's step-K event: t_K of its earliest
--               chain that reaches step K (funnel.sql "chain"); for K = 1
--               its earliest step-1 event in [from, to).
--   visitor_id  the visitor_id of the unit's step-K event: its event at
--               step_time that counts as step K (ties: the smallest
--               message_id). For visitors, the unit itself.
--   visitor_ids the distinct visitor_ids of the unit's events, sorted.
--   user_id     for a linked person, its person_id (the user id it is
--               linked to); else the user_id of the unit's newest event
--               that has one (ties: the largest message_id); '' if none.
--   channel     the traffic_channel of the unit's step-K event (as
--               visitor_id).
--   next event  the unit's first event strictly after step_time (by
--               event_time, then message_id), of any kind. Its label:
--               'page:' || page_path for a page or screen view, the event
--               name for a track call, else the type (identify, group,
--               alias). A repeat of step K counts too.
--
-- .Next false: one row per dropped unit, ordered by step_time, then unit:
-- unit, visitor_id, visitor_ids (Array(String)), user_id, step_time
-- (DateTime64(3, 'UTC')), channel.
-- .Next true: the 10 most common next events: event, visitors (UInt64, the
-- dropped units whose next event it is; units with no later event in the
-- range are in no row), ordered by visitors descending, then event.
WITH
    {{- template "visitors" .}},
    dropped AS
    (
        SELECT unit AS dropped_id, step_ms[{{.K}}] AS dropped_ms
        FROM per_visitor_chains
        WHERE lvl = {{.K}}
    ),
    -- every unit's events (the join below keeps the dropped units'; CTEs
    -- are inlined, so filtering here on dropped would run the funnel twice)
    unit_events AS
    (
        SELECT
            {{template "unit"}} AS unit,
            {{template "visitor"}} AS visitor,
            {{template "linked"}} AS linked,
            event_time, message_id, type, event_name, page_path, properties, user_id, traffic_channel
        FROM {{template "events"}}
        WHERE event_time >= {from:DateTime64(3)}
          AND event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR write_key = {site:String}){{template "unit_where"}}
    ),
    details AS
    (
        SELECT
            d.dropped_id AS unit,
            any(d.dropped_ms) AS step_ms,
            argMinIf(e.visitor, (event_time, message_id),
                     toUnixTimestamp64Milli(event_time) = d.dropped_ms AND {{template "cond" .Cond}}) AS visitor_id,
            arraySort(groupUniqArray(e.visitor)) AS visitor_ids,
            if(max(e.linked), d.dropped_id, argMaxIf(user_id, (event_time, message_id), user_id != '')) AS user_id,
            argMinIf(toString(traffic_channel), (event_time, message_id),
                     toUnixTimestamp64Milli(event_time) = d.dropped_ms AND {{template "cond" .Cond}}) AS channel,
            argMinIf(multiIf(type IN ('page', 'screen'), concat('page:', page_path), type = 'track', toString(event_name), toString(type)),
                     (event_time, message_id), toUnixTimestamp64Milli(event_time) > d.dropped_ms) AS next_event,
            countIf(toUnixTimestamp64Milli(event_time) > d.dropped_ms) > 0 AS has_next
        FROM unit_events AS e
        INNER JOIN dropped AS d ON d.dropped_id = e.unit
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
SELECT unit, visitor_id, visitor_ids, user_id, fromUnixTimestamp64Milli(step_ms, 'UTC') AS step_time, channel
FROM details
ORDER BY step_time, unit
{{- end}}
