-- funnel_modes: the funnel in modes strict and any (DESIGN.md section 5,
-- "Funnel"; `touchstream report funnel --mode strict|any`). Mode ordered is
-- funnel.sql. The steps are arrays, but the file is a Go text/template
-- like funnel.sql, so that a funnel pays only for the parts it uses:
-- report.FunnelBy redefines "unit" and "unit_where" as "session_unit" and
-- "session_unit_where" to count sessions (the session_id, events without
-- one left out), "unit", "person_join" and "linked" as "person_unit",
-- "person_person_join" and "person_linked" to count persons (as in
-- funnel.sql: the person_id of the visitor in persons, else the
-- visitor_id; without them no event is joined with persons), "page_cond" as
-- "pages_page_cond" for page steps (without one no event's page_path is
-- read: the step conditions run per step of each event, and every column
-- they name is copied per step), "cond" as "filter_cond" for
-- property filters, "step_window" as "step_window_step_window" for
-- per-step windows, "excluded" and "any_exclude" as "exclude_excluded"
-- and "exclude_any_exclude" for exclusion steps in mode any, "mode_where"
-- as "any_mode_where" in mode any (with page steps "any_where_pages" as
-- "pages_any_where_pages"): it reads only the events that can be a step or
-- an exclusion (by name, or a page view for a page step), since no other
-- event changes its numbers (the drop-off list, which names the next event
-- of any kind, reads them all), and
-- "value_column" and "value" as "breakdown_value_column" and
-- "breakdown_value" for a breakdown (or "value" as "trend_value" for a
-- trend); with a report filter (`--channel`, `--touchpoint`, `--where`)
-- "unit_passes" is "filtered_unit_passes" (sqlfiles.Variant): a unit
-- counts only when its earliest step-1 event, the one a breakdown reads,
-- passes filters.sql's "report_filter". The defaults give the same answer without sessions, filters,
-- per-step windows, exclusions or groups. The CTEs per_unit and
-- per_unit_steps are the template "units", which funnel_modes_dropoff.sql
-- (the drop-off list of these modes) reuses. It splices in no value: bind
-- every parameter below whichever variant is rendered.
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
--   {filter_steps:Array(UInt64)}, {filter_events:Array(String)},
--   {filter_keys:Array(Array(String))}, {filter_values:Array(Array(String))}
--                            the step alternatives with property filters,
--                            one entry each: an event named filter_events[i]
--                            whose property filter_keys[i][j] equals
--                            filter_values[i][j] for every j counts as step
--                            filter_steps[i] (from 1); [] for none. (Flat,
--                            because an empty Array(Array(Array(String)))
--                            parameter does not parse.)
--   {step_window_ms:Array(Int64)}  per step, its per-step window in ms
--                            ("B within 10m"), as in funnel.sql: the
--                            conversion window for a step without one (mode
--                            strict only; report.FunnelBy refuses per-step
--                            windows in mode any, whose steps have no order)
--   {exclude:Array(String)}  exclusion steps: event names ([] for none;
--                            read in mode any only, see below)
--   {mode:String}            'strict' or 'any'
--   {breakdown:String}, {breakdown_property:String}  as in funnel.sql
--
-- Definitions (events FINAL; a unit's events in [from, to), every event of
-- any name, ordered by event_time, then message_id):
--
--   strict  a unit reaches step k when k consecutive events of its sequence
--           e_i, e_(i+1), ..., e_(i+k-1) are a step-1, step-2, ..., step-k
--           event, with no other event between them, and t(e_(i+k-1)) -
--           t(e_i) <= window. Any event in between breaks the chain, also
--           a page view or a repeat of an earlier step (a chain may start
--           again at a later step-1 event). With per-step windows, also
--           t(e_(i+j-1)) - t(e_(i+j-2)) <= w_j for j = 2..k (inclusive, as
--           the window). time to convert: t(e_(i+k-1)) - t(e_i) of the
--           earliest such chain.
--   any     a unit reaches step k when there is a time a such that each of
--           steps 1..k has an event in [a, a + window], in any order (so
--           step 1 need not come first). time to convert: with a the
--           earliest such time (always an event time), the largest of the
--           steps' first times at or after a, minus a. With exclusion
--           steps, see below.
--   count, conversion_from_start, conversion_from_previous as in funnel.sql;
--   median_seconds_to_convert: quantileExact(0.5) of the time to convert
--   over the units that reached the step (0 for step 1 and for a step
--   nobody reached); p90_seconds_to_convert the same with
--   quantileExact(0.9).
--   property filters  a step alternative "A[k=v]" is an event A whose
--           top-level property k equals v, compared as in funnel.sql.
--   exclusion steps   (events named in {exclude})
--           strict: change nothing: an excluded event strictly between t_1
--           and t_k (funnel.sql's rule) is an event between two steps,
--           which already breaks a strict chain (report.FunnelBy renders
--           no exclusion variant for it).
--           any: a unit reaches step k when it has step-1..k events x_1..x_k
--           (x_j a step-j event, in any order) with max(x) - min(x) <=
--           window and none of its excluded events strictly between min(x)
--           and max(x) (one at the same millisecond as either end does not
--           count, as in funnel.sql). Equivalently: a time a (an event time
--           of steps 1..k) such that with c(a) the largest of the steps'
--           first times at or after a, c(a) - a <= window and no excluded
--           event is in (a, c(a)): picking each step's first event at or
--           after a gives the shortest span that starts at a, so if any
--           choice starting at a is clean, that one is. Without exclusions
--           this is the definition of reaching above. Time to convert:
--           c(a) - a for the earliest such a. Step 1 is never excluded (its
--           span is one event); reaching k+1 implies reaching k.
--   value   the group a unit is counted in (`--breakdown`, `--trend`), as
--           in funnel.sql: from the unit's earliest step-1 event in [from,
--           to) (ties: the smallest message_id), also in mode any, where
--           step 1 need not come first; groups as in funnel.sql. Without
--           a breakdown the one group ''.
--
-- One row per group and step, ordered by value, then position: position,
-- step, count, conversion_from_start, conversion_from_previous,
-- median_seconds_to_convert, p90_seconds_to_convert, value.
{{define "unit"}}e.visitor_id{{end -}}
{{define "person_unit"}}coalesce(nullIf(p.person_id, ''), e.visitor_id){{end -}}
{{define "person_join"}}{{end -}}
{{define "person_person_join"}}
        LEFT JOIN (SELECT visitor_id, person_id FROM persons) AS p ON p.visitor_id = e.visitor_id{{end -}}
{{define "linked"}}false{{end -}}
{{define "person_linked"}}p.person_id != ''{{end -}}
{{define "session_unit"}}e.session_id{{end -}}
{{define "unit_where"}}{{end -}}
{{define "session_unit_where"}}
          AND e.session_id != ''{{end -}}
{{define "cond"}}{{template "step_cond"}}{{end -}}
{{define "step_cond"}}has({step_events:Array(Array(String))}[j], e.event_name){{template "page_cond"}}{{end -}}
{{define "page_cond"}}{{end -}}
{{define "pages_page_cond"}}
                              OR (e.type IN ('page', 'screen')
                                  AND arrayExists(q -> e.page_path LIKE q, {step_pages:Array(Array(String))}[j])){{end -}}
{{define "filter_cond"}}{{template "step_cond"}}
                              OR arrayExists((fj, n, ks, vs) -> fj = j AND n = e.event_name
                                                            AND arrayAll((pk, pv) -> {{template "prop" "pk"}} = pv, ks, vs),
                                             {filter_steps:Array(UInt64)}, {filter_events:Array(String)},
                                             {filter_keys:Array(Array(String))}, {filter_values:Array(Array(String))}){{end -}}
{{define "step_window"}}{{end -}}
{{define "step_window_step_window"}}
                                                AND (j = 1 OR tj - tp <= {step_window_ms:Array(Int64)}[j]){{end -}}
{{define "value_column"}}{{end -}}
{{define "value"}}''{{end -}}
{{define "trend_value"}}multiIf({breakdown:String} = 'day', toString(toDate(fromUnixTimestamp64Milli(first.1, 'UTC'))),
                    {breakdown:String} = 'week', toString(toMonday(fromUnixTimestamp64Milli(first.1, 'UTC'))),
                    ''){{end -}}
{{define "breakdown_value"}}first.4{{end -}}
{{define "breakdown_value_column"}},
                multiIf({breakdown:String} = 'channel', toString(e.traffic_channel),
                        {breakdown:String} = 'touchpoint', toString(e.touchpoint),
                        {breakdown:String} = 'campaign', e.utm_campaign,
                        {breakdown:String} = 'device', toString(e.device_type),
                        {breakdown:String} = 'source', e.utm_source,
                        {breakdown:String} = 'property', {{template "prop" "{breakdown_property:String}"}},
                        ''){{end -}}
{{define "unit_passes"}}{{end -}}
{{define "filtered_unit_passes"}}
        HAVING argMinIf({{template "report_filter"}}, (e.event_time, e.message_id),
                        arrayMap(j -> {{template "cond"}}, [toUInt64(1)])[1]){{end -}}
{{define "excluded"}}CAST([], 'Array(Int64)'){{end -}}
{{define "exclude_excluded"}}arraySort(groupArrayIf(toInt64(toUnixTimestamp64Milli(e.event_time)), has({exclude:Array(String)}, e.event_name))){{end -}}
{{define "any_exclude"}}{{end -}}
{{define "mode_where"}}{{end -}}
{{define "any_mode_where"}}
          AND (has(arrayConcat(arrayFlatten({step_events:Array(Array(String))}), {filter_events:Array(String)}, {exclude:Array(String)}),
                   e.event_name){{template "any_where_pages"}}){{end -}}
{{define "any_where_pages"}}{{end -}}
{{define "pages_any_where_pages"}}
               OR (e.type IN ('page', 'screen') AND arrayExists(q -> e.page_path LIKE q, arrayFlatten({step_pages:Array(Array(String))}))){{end -}}
{{define "exclude_any_exclude"}} AND NOT arrayExists(x -> x > ti AND x < ti + s, excluded){{end -}}
{{define "units"}}
    per_unit AS
    (
        SELECT
            {{template "unit"}} AS unit,
            -- evs: (time ms, message_id, steps: bit j - 1 set when the event
            -- is step j (one number, not an array per event)[, breakdown value])
            arraySort(x -> (x.1, x.2), groupArray((
                toInt64(toUnixTimestamp64Milli(e.event_time)),
                e.message_id,
                arraySum(arrayMap(j -> toUInt64({{template "cond"}}) * bitShiftLeft(toUInt64(1), j - 1),
                                  range(1, length({steps:Array(String)}) + 1))){{template "value_column"}}))) AS evs,
            -- excluded: the unit's excluded event times (ms), ascending
            {{template "excluded"}} AS excluded
        FROM events AS e FINAL{{template "person_join"}}
        WHERE e.event_time >= {from:DateTime64(3)}
          AND e.event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR e.write_key = {site:String}){{template "unit_where"}}{{template "mode_where"}}
        GROUP BY unit{{template "unit_passes"}}
    ),
    per_unit_steps AS
    (
        SELECT
            unit,
            evs,
            arrayMap(x -> x.1, evs) AS t,
            arrayMap(x -> x.3, evs) AS m,
            length(evs) AS n,
            {window_seconds:UInt64} * 1000 AS win_ms,
            -- strict: runs[i] = how many steps the events from index i on
            -- are in a row: the largest k with event i + j - 1 a step-j
            -- event for j = 1..k (with per-step windows, each within its
            -- step's window of the one before). One pass per step over
            -- the events shifted by j - 1 (mj, tj; tp the one before), so
            -- that no lambda reads the unit's arrays by index: a lambda
            -- that names an array gets a copy of it for every element it
            -- runs on
            arrayFold((acc, j) -> arrayMap((r, mj, tj, tp) -> if(r = j - 1 AND bitTest(mj, j - 1){{template "step_window"}}, j, r),
                                           acc, arrayShiftLeft(m, j - 1), arrayShiftLeft(t, j - 1), arrayShiftLeft(t, greatest(j, 2) - 2)),
                      range(1, length({steps:Array(String)}) + 1), arrayWithConstant(n, toUInt64(0))) AS runs,
            -- strict: starts[k] = the indexes i where a chain of steps 1..k
            -- starts: runs[i] >= k, and its step k at most the window after
            -- its step 1 (tk: the time of event i + k - 1)
            arrayMap(k -> arrayFilter((i, r, ti, tk) -> r >= k AND tk - ti <= win_ms,
                                      arrayEnumerate(t), runs, t, arrayShiftLeft(t, k - 1, toInt64(9223372036854775807))),
                     range(1, length({steps:Array(String)}) + 1)) AS starts,
            -- any: gaps[j][i] = (the time of the first step-j event at or
            -- after event i) - t[i], 2^62 when none: arrayReverseFill
            -- carries each step-j event's time back over the events before
            -- it (an event at the same millisecond as the one before it
            -- can miss a step of that millisecond and read a larger gap,
            -- but never a smaller one, and the first event of the
            -- millisecond, which comes first below, reads them all)
            arrayMap(j -> arrayMap((nx, ti) -> nx - ti,
                                   arrayReverseFill((x, mm) -> bitTest(mm, j - 1),
                                                    arrayMap((ti, mm) -> if(bitTest(mm, j - 1), ti, toInt64(4611686018427387904)), t, m), m),
                                   t),
                     range(1, length({steps:Array(String)}) + 1)) AS gaps,
            -- any: spans[k][i] = the largest of gaps[1..k][i], the time from
            -- t[i] until every step 1..k has happened; closest[k][i] the
            -- smallest, 0 when one of steps 1..k happens at t[i]
            arrayPopFront(arrayFold((acc, g) -> arrayPushBack(acc, arrayMap((a, b) -> greatest(a, b), acc[-1], g)),
                                    gaps, [arrayWithConstant(n, toInt64(0))])) AS spans,
            arrayPopFront(arrayFold((acc, g) -> arrayPushBack(acc, arrayMap((a, b) -> least(a, b), acc[-1], g)),
                                    gaps, [arrayWithConstant(n, toInt64(4611686018427387904))])) AS closest,
            -- any: anchor[k] = the index of the earliest anchor of steps
            -- 1..k: the first event at whose time one of them happens and
            -- from which all of them happen within the window (with
            -- exclusions: and no excluded event strictly between its time
            -- and the last of them); 0 for none
            arrayMap((sk, ck) -> arrayFirstIndex((s, c, ti) -> c = 0 AND s <= win_ms{{template "any_exclude"}}, sk, ck, t),
                     spans, closest) AS anchor,
            if({mode:String} = 'strict',
               arrayMap(s -> notEmpty(s), starts),
               arrayMap(i -> i > 0, anchor)) AS reached,
            if({mode:String} = 'strict',
               arrayMap((s, k) -> if(empty(s), 0, t[s[1] + k - 1] - t[s[1]]), starts, range(1, length(starts) + 1)),
               arrayMap((sk, i) -> if(i = 0, 0, sk[i]), spans, anchor)) AS ms_to_convert,
            -- first: the unit's earliest step-1 event (ties: the smallest message_id)
            arrayFirst(x -> bitTest(x.3, 0), evs) AS first,
            {{template "value"}} AS value
        FROM per_unit
    ){{end -}}
WITH
    {{- template "units" .}},
    per_step AS
    (
        SELECT
            value,
            k,
            countIf(reached[k]) AS hits,
            quantileExactIf(0.5)(ms_to_convert[k], reached[k]) AS median_ms,
            quantileExactIf(0.9)(ms_to_convert[k], reached[k]) AS p90_ms
        FROM per_unit_steps
        ARRAY JOIN range(1, length({steps:Array(String)}) + 1) AS k
        WHERE reached[1]
        GROUP BY value, k
    ),
    all_steps AS
    (
        SELECT arrayJoin(range(1, length({steps:Array(String)}) + 1)) AS k
    ),
    -- the groups, as in funnel.sql (empty_groups: funnel_groups.sql)
    all_values AS
    (
        SELECT DISTINCT value FROM per_unit_steps WHERE reached[1] AND {breakdown:String} != ''
        UNION DISTINCT
        SELECT arrayJoin({{template "empty_groups"}}) AS value
    ),
    counted AS
    (
        SELECT
            all_values.value AS value,
            all_steps.k AS k,
            per_step.hits AS reached_units,
            if(per_step.hits = 0, 0, per_step.median_ms / 1000) AS median_seconds,
            if(per_step.hits = 0, 0, per_step.p90_ms / 1000) AS p90_seconds
        FROM all_values
        CROSS JOIN all_steps
        LEFT JOIN per_step ON per_step.value = all_values.value AND per_step.k = all_steps.k
    )
SELECT
    toUInt64(k) AS position,
    {steps:Array(String)}[k] AS step,
    toUInt64(reached_units) AS count,
    toFloat64(if(first_value(reached_units) OVER w = 0, 0, reached_units / first_value(reached_units) OVER w)) AS conversion_from_start,
    toFloat64(if(lagInFrame(reached_units, 1, reached_units) OVER w = 0, 0, reached_units / lagInFrame(reached_units, 1, reached_units) OVER w)) AS conversion_from_previous,
    toFloat64(median_seconds) AS median_seconds_to_convert,
    toFloat64(p90_seconds) AS p90_seconds_to_convert,
    value
FROM counted
WINDOW w AS (PARTITION BY value ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY value, k
