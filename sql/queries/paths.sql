-- paths: the most common sequences of pages and events in a session, from
-- its entry or from a starting event, or leading to an ending event
-- (`touchstream report paths`).
-- Reads sessions FINAL (live rows, is_deleted = 0) and events FINAL.
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  sessions with start_time in [from, to)
--   {site:String}        keep events whose write_key is this; '' keeps all
--   {from_event:String}  the starting event as a label (below); '' for the
--                        session's entry
--   {to_event:String}    the ending event as a label; '' for none. At most
--                        one of from_event and to_event is set
--   {depth:UInt64}       the most labels a path has, the start included (>= 1)
--   {limit:UInt64}       how many paths to return
--
-- Definitions:
--
--   label      of an event: 'page:' || page_path for a page or screen view
--              (the funnel's page-step syntax), the event name for a track
--              call. Other types (identify, group, alias) are not part of
--              paths.
--   session    a live session; its events are the visitor's events with
--              event_time in [start_time, end_time], ordered by event_time,
--              then message_id (joined by visitor and time, not by
--              events.session_id, which is not rewritten when a session is
--              restated). Its events may lie after `to`.
--   sequence   the session's labels with consecutive repeats collapsed to
--              one (a reload, or two Product Viewed in a row, is one
--              element), from the start on: the session's first label, or
--              with from_event its first element equal to from_event
--              (sessions without it have no path).
--   path       the first `depth` elements of the sequence; shorter when the
--              session ends sooner (a path of 2 ended after 2 elements).
--              With to_event instead: the `depth` elements of the sequence
--              that end with its first element equal to to_event, that
--              element included; shorter when the session started sooner
--              (a path of 2 began the session). Sessions without it have
--              no path.
--   visitors   the distinct visitor_ids with at least one session whose
--              path it is; sessions: the number of such sessions.
--
-- One row per path, the `limit` most common: path (Array(String)), visitors,
-- sessions (UInt64), ordered by visitors descending, then sessions
-- descending, then path.
{{/*
This file is a Go text/template (package sqlfiles renders it; its one
action renders nothing without a filter). With a report filter
(`--channel`, `--touchpoint`, `--where`), filters.sql's "session_filter"
keeps the sessions of `live` whose first event passes, as time_on_site.sql
does, so both reports keep the same sessions. A session that passes keeps
its whole path, from its entry or from from_event: its later events (the
one from_event names, an order from another channel) decide nothing.
*/ -}}
WITH
    live AS
    (
        SELECT visitor_id, session_id, start_time, end_time
        FROM sessions FINAL
        WHERE is_deleted = 0
          AND start_time >= {from:DateTime64(3)}
          AND start_time < {to:DateTime64(3)}{{template "session_filter"}}
    ),
    per_session AS
    (
        SELECT
            s.visitor_id AS visitor_id,
            s.session_id AS session_id,
            arrayMap(x -> x.3, arraySort(groupArray((e.event_time, e.message_id,
                if(e.type = 'track', toString(e.event_name), concat('page:', e.page_path))))))  AS labels,
            -- collapse consecutive repeats: keep a label unless it equals
            -- the one before (labels shifted right by one). The previous
            -- label is an argument of the lambda, not labels[i - 1]: a
            -- lambda that names an array gets a copy of it for each element
            arrayFilter((x, prev, i) -> i = 1 OR x != prev, labels, arrayPushFront(arrayPopBack(labels), ''), arrayEnumerate(labels)) AS sequence,
            -- what the path is cut from: the sequence from its start (the
            -- entry, or its first from_event) on, or with to_event up to
            -- its first to_event; empty without such an event (indexOf 0:
            -- arraySlice from 0, or of length 0, is empty)
            if({to_event:String} != '',
               arraySlice(sequence, 1, indexOf(sequence, {to_event:String})),
               arraySlice(sequence, if({from_event:String} = '', 1, indexOf(sequence, {from_event:String})))) AS cut
        FROM events AS e FINAL
        INNER JOIN live AS s ON s.visitor_id = e.visitor_id
        -- sessions last at most 24 h: this bound only prunes partitions
        WHERE e.event_time >= {from:DateTime64(3)}
          AND e.event_time < {to:DateTime64(3)} + toIntervalDay(1)
          AND e.event_time >= s.start_time
          AND e.event_time <= s.end_time
          AND e.type IN ('page', 'screen', 'track')
          AND ({site:String} = '' OR e.write_key = {site:String})
        GROUP BY s.visitor_id, s.session_id
    )
SELECT
    -- its first depth elements, or with to_event its last
    if({to_event:String} != '', arraySlice(cut, -toInt64({depth:UInt64})), arraySlice(cut, 1, {depth:UInt64})) AS path,
    uniqExact(visitor_id) AS visitors,
    count() AS sessions
FROM per_session
WHERE notEmpty(cut)
GROUP BY path
ORDER BY visitors DESC, sessions DESC, path
LIMIT {limit:UInt64}
