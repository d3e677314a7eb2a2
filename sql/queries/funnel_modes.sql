-- funnel_modes: the funnel in modes strict and any (DESIGN.md section 5,
-- "Funnel"; `touchstream report funnel --mode strict|any`). Mode ordered is
-- funnel.sql. Plain SQL: the steps are arrays, not a template.
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  events with event_time in [from, to)
--   {site:String}            keep events whose write_key is this; '' keeps all
--   {window_seconds:UInt64}  the conversion window
--   {steps:Array(String)}    the steps as the user wrote them (the `step` column)
--   {step_events:Array(Array(String))}  per step, the event names that count
--                            as the step ("A|B": two names)
--   {step_pages:Array(Array(String))}   per step, LIKE patterns of page paths:
--                            a page or screen view whose page_path matches
--                            one counts as the step ([] for none)
--   {mode:String}            'strict' or 'any'
--   {by:String}              'visitor' or 'person' (as in funnel.sql: the
--                            person_id of the visitor in persons, else the
--                            visitor_id)
--
-- Definitions (events FINAL; a unit's events in [from, to), every event of
-- any name, ordered by event_time, then message_id):
--
--   strict  a unit reaches step k when k consecutive events of its sequence
--           e_i, e_(i+1), ..., e_(i+k-1) are a step-1, step-2, ..., step-k
--           event, with no other event between them, and t(e_(i+k-1)) -
--           t(e_i) <= window. Any event in between breaks the chain, also
--           a page view or a repeat of an earlier step (a chain may start
--           again at a later step-1 event). time to convert: t(e_(i+k-1))
--           - t(e_i) of the earliest such chain.
--   any     a unit reaches step k when there is a time a such that each of
--           steps 1..k has an event in [a, a + window], in any order (so
--           step 1 need not come first). time to convert: with a the
--           earliest such time (always an event time), the largest of the
--           steps' first times at or after a, minus a.
--   count, conversion_from_start, conversion_from_previous as in funnel.sql;
--   median_seconds_to_convert: quantileExact(0.5) of the time to convert
--   over the units that reached the step (0 for step 1 and for a step
--   nobody reached); p90_seconds_to_convert the same with
--   quantileExact(0.9).
--   value   always '' (no breakdown in these modes; the column matches
--           funnel.sql's).
--
-- One row per step, in order: position, step, count,
-- conversion_from_start, conversion_from_previous, median_seconds_to_convert,
-- p90_seconds_to_convert, value.
WITH
    per_unit AS
    (
        SELECT
            if({by:String} = 'person', coalesce(nullIf(p.person_id, ''), e.visitor_id), e.visitor_id) AS unit,
            arraySort(x -> (x.1, x.2), groupArray((
                toInt64(toUnixTimestamp64Milli(e.event_time)),
                e.message_id,
                arrayMap(j -> has({step_events:Array(Array(String))}[j], e.event_name)
                              OR (e.type IN ('page', 'screen')
                                  AND arrayExists(q -> e.page_path LIKE q, {step_pages:Array(Array(String))}[j])),
                         range(1, length({steps:Array(String)}) + 1))))) AS evs
        FROM events AS e FINAL
        LEFT JOIN (SELECT visitor_id, person_id FROM persons) AS p ON p.visitor_id = e.visitor_id
        WHERE e.event_time >= {from:DateTime64(3)}
          AND e.event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR e.write_key = {site:String})
        GROUP BY unit
    ),
    per_unit_steps AS
    (
        SELECT
            arrayMap(x -> x.1, evs) AS t,
            arrayMap(x -> x.3, evs) AS m,
            length(evs) AS n,
            {window_seconds:UInt64} * 1000 AS win_ms,
            -- times[j]: the unit's step-j event times (ms), ascending
            arrayMap(j -> arrayFilter((x, mm) -> mm[j], t, m), range(1, length({steps:Array(String)}) + 1)) AS times,
            -- strict: starts[k] = the indexes i where a chain of steps 1..k starts
            arrayMap(k -> arrayFilter(i -> i + k - 1 <= n
                                           AND arrayAll(j -> m[i + j - 1][j], range(1, k + 1))
                                           AND t[i + k - 1] - t[i] <= win_ms,
                                      range(1, n + 1)),
                     range(1, length({steps:Array(String)}) + 1)) AS starts,
            -- any: anchors[k] = the times a with every step 1..k in [a, a + w]
            arrayMap(k -> arraySort(arrayFilter(a -> arrayAll(j -> arrayExists(x -> x >= a AND x <= a + win_ms, times[j]), range(1, k + 1)),
                                                arrayFlatten(arraySlice(times, 1, k)))),
                     range(1, length({steps:Array(String)}) + 1)) AS anchors,
            if({mode:String} = 'strict',
               arrayMap(s -> notEmpty(s), starts),
               arrayMap(a -> notEmpty(a), anchors)) AS reached,
            if({mode:String} = 'strict',
               arrayMap((s, k) -> if(empty(s), 0, t[s[1] + k - 1] - t[s[1]]), starts, range(1, length(starts) + 1)),
               arrayMap((a, k) -> if(empty(a), 0,
                                     arrayMax(arrayMap(j -> arrayFirst(x -> x >= a[1], times[j]) - a[1], range(1, k + 1)))),
                        anchors, range(1, length(anchors) + 1))) AS ms_to_convert
        FROM per_unit
    ),
    per_step AS
    (
        SELECT
            k,
            countIf(reached[k]) AS hits,
            quantileExactIf(0.5)(ms_to_convert[k], reached[k]) AS median_ms,
            quantileExactIf(0.9)(ms_to_convert[k], reached[k]) AS p90_ms
        FROM per_unit_steps
        ARRAY JOIN range(1, length({steps:Array(String)}) + 1) AS k
        GROUP BY k
    ),
    all_steps AS
    (
        SELECT arrayJoin(range(1, length({steps:Array(String)}) + 1)) AS k
    ),
    counted AS
    (
        SELECT
            all_steps.k AS k,
            per_step.hits AS reached_units,
            if(per_step.hits = 0, 0, per_step.median_ms / 1000) AS median_seconds,
            if(per_step.hits = 0, 0, per_step.p90_ms / 1000) AS p90_seconds
        FROM all_steps
        LEFT JOIN per_step ON per_step.k = all_steps.k
    )
SELECT
    toUInt64(k) AS position,
    {steps:Array(String)}[k] AS step,
    toUInt64(reached_units) AS count,
    toFloat64(if(first_value(reached_units) OVER w = 0, 0, reached_units / first_value(reached_units) OVER w)) AS conversion_from_start,
    toFloat64(if(lagInFrame(reached_units, 1, reached_units) OVER w = 0, 0, reached_units / lagInFrame(reached_units, 1, reached_units) OVER w)) AS conversion_from_previous,
    toFloat64(median_seconds) AS median_seconds_to_convert,
    toFloat64(p90_seconds) AS p90_seconds_to_convert,
    '' AS value
FROM counted
WINDOW w AS (ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY k
