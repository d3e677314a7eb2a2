-- funnel_modes_dropoff: who reached step K of a strict or any funnel and
-- not step K+1, and what they did next (`touchstream report funnel --mode
-- strict|any --dropoff K`). Mode ordered is funnel_dropoff.sql; the row
-- shapes are the same.
--
-- A Go text/template rendered together with funnel_modes.sql
-- (report.funnelQuery.modesDropoffSQL): it reuses its template "units"
-- (the CTEs per_unit and per_unit_steps), so "reached" means exactly what
-- it means there, with the same variant (sessions, property filters,
-- per-step windows, exclusions in mode any). It redefines "value_column"
-- (a breakdown's, unused here: a drop-off list takes no breakdown) to
-- carry each event's visitor_id, channel, label, user_id and whether its
-- unit is a linked person, so it reads the events once, and "mode_where"
-- (mode any's filter to step events) to read every event. (A define
-- replaces one of funnel_modes.sql only with a body of its own, so this
-- one holds an SQL comment.) Besides
-- funnel_modes.sql's parameters (breakdown '') it takes
-- {dropoff_step:UInt64}, K (from 1 to the number of steps - 1), and
-- sees .Next. It splices in no value.
--
-- A unit's events are its events in [from, to) (of the site), of any kind,
-- in its sequence: ordered by event_time, then message_id (funnel_modes.sql).
--
-- Definitions:
--
--   dropped     the units that reach step K and not step K+1 in the mode
--               (funnel_modes.sql's "reached").
--   step event  strict: the step-K event of the unit's earliest chain that
--               reaches step K, e_(i+K-1) of the smallest i (for K = 1 the
--               unit's earliest step-1 event).
--               any: the event that completed steps 1..K. With a the
--               earliest time from which the unit reaches step K (as for
--               the time to convert; with exclusions the earliest a whose
--               span holds no excluded event) and c the largest of the
--               steps' first times at or after a (c - a is the time to
--               convert), the first event of the sequence at time c that is,
--               for some j <= K, a step-j event and the first one at or
--               after a (for K = 1: the earliest step-1 event, c = a).
--   step_time   the time of the step event.
--   unit        the unit's id: the visitor_id; the person_id (the user id
--               of a linked person, else its visitor_id); the session_id.
--   visitor_id  the visitor_id of the step event.
--   visitor_ids the distinct visitor_ids of the unit's events, sorted.
--   user_id     for a linked person, its person_id; else the user_id of
--               the unit's last event (in the sequence) that has one; ''
--               if none.
--   channel     the traffic_channel of the step event.
--   next event  strict: the event right after the step event in the
--               sequence, the one that ended the chain (an event at the
--               same millisecond with a larger message_id counts: strict
--               orders the sequence that way); none when the step event is
--               the unit's last.
--               any: the unit's first event strictly after step_time (as
--               funnel_dropoff.sql; an event at the same millisecond, maybe
--               another of the steps done at c, does not count).
--               Its label: 'page:' || page_path for a page or screen view,
--               the event name for a track call, else the type.
--
-- .Next false: one row per dropped unit, ordered by step_time, then unit:
-- unit, visitor_id, visitor_ids (Array(String)), user_id, step_time
-- (DateTime64(3, 'UTC')), channel.
-- .Next true: the 10 most common next events: event, visitors (UInt64, the
-- dropped units whose next event it is; units with none are in no row),
-- ordered by visitors descending, then event.
{{define "mode_where"}}
          -- every event of the unit (mode any too): the next event can be of any kind{{end -}}
{{define "value_column"}},
                e.visitor_id,
                toString(e.traffic_channel),
                multiIf(e.type IN ('page', 'screen'), concat('page:', e.page_path), e.type = 'track', toString(e.event_name), toString(e.type)),
                e.user_id,
                {{template "linked"}}{{end -}}
WITH
    {{- template "units" .}},
    dropped AS
    (
        SELECT
            unit,
            evs,
            {dropoff_step:UInt64} AS step_k,
            -- any: a (anchor_ms) and c (done_ms)
            t[anchor[step_k]] AS anchor_ms,
            anchor_ms + ms_to_convert[step_k] AS done_ms,
            -- any: the steps j <= K whose first event at or after a is at c
            -- (their gaps from the anchor event, the first of its millisecond)
            arrayFilter(j -> anchor_ms + gaps[j][anchor[step_k]] = done_ms, range(1, step_k + 1)) AS done_steps,
            -- step_i: the index of the step event in evs
            if({mode:String} = 'strict',
               starts[step_k][1] + step_k - 1,
               arrayFirstIndex(x -> x.1 = done_ms AND arrayExists(j -> bitTest(x.3, j - 1), done_steps), evs)) AS step_i,
            -- next_i: the index of the next event in evs, 0 for none
            if({mode:String} = 'strict',
               if(step_i < n, step_i + 1, 0),
               arrayFirstIndex(x -> x.1 > done_ms, evs)) AS next_i
        FROM per_unit_steps
        WHERE reached[{dropoff_step:UInt64}] AND NOT reached[{dropoff_step:UInt64} + 1]
    )
{{- if .Next}}
SELECT evs[next_i].6 AS event, count() AS visitors
FROM dropped
WHERE next_i > 0
GROUP BY event
ORDER BY visitors DESC, event
LIMIT 10
{{- else}}
SELECT
    unit,
    evs[step_i].4 AS visitor_id,
    arraySort(arrayDistinct(arrayMap(x -> x.4, evs))) AS visitor_ids,
    if(arrayExists(x -> x.8, evs), unit, arrayLast(x -> x.7 != '', evs).7) AS user_id,
    fromUnixTimestamp64Milli(evs[step_i].1, 'UTC') AS step_time,
    evs[step_i].5 AS channel
FROM dropped
ORDER BY step_time, unit
{{- end}}
