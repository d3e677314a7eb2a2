-- funnel: how many visitors reach each step of an ordered funnel, and how
-- long they take (DESIGN.md section 5, "Funnel"; `touchstream report funnel`).
--
-- This file is a Go text/template: the number of steps decides how many
-- conditions windowFunnel gets, so the template repeats the one step
-- condition ("cond") once per step. Render it with .Steps = a list with
-- one entry per step (report.funnelSQL does). "unit" and "events" say what
-- is counted and what is read: visitors, from events alone. To count
-- persons, report.FunnelBy redefines them as "person_unit" and
-- "person_events", so counting visitors pays for no join. It splices in
-- nothing but step numbers and those fragments; every value is a query
-- parameter:
--
--   {from:DateTime64(3)}, {to:DateTime64(3)}  events with event_time in [from, to)
--   {site:String}            keep events whose write_key is this; '' keeps all
--   {window_seconds:UInt64}  the conversion window
--   {steps:Array(String)}    the steps as the user wrote them (the `step` column)
--   {step_0:Array(String)}, {step_1:Array(String)}, ...  the event names that
--                            count as step 1, 2, ... (more than one: "A|B")
--   {page_0:Array(String)}, {page_1:Array(String)}, ...  LIKE patterns of page
--                            paths: a page or screen view whose page_path
--                            matches one counts as the step ("page:/p/*"
--                            becomes '/p/%'); empty for event-only steps
--
-- Definitions (mode "ordered": other events may come between the steps):
--
--   visitors   events are grouped by visitor_id; events FINAL, so a
--              redelivered event (same visitor_id and message_id) counts once.
--              Only events in [from, to) take part: a visitor's path must
--              lie entirely in the range.
--   persons    (`--by person`) events are grouped by person instead: the
--              person_id of the event's visitor_id in the persons view (the
--              user id of the visitor's most recent identity link), else the
--              visitor_id itself. All events of a linked visitor count for
--              its person, those before the link too, so steps done on
--              different devices (or an email click carrying the user id)
--              join one path. Below, "visitor" then reads "person".
--   count      step k: visitors with windowFunnel(window)(...) >= k, that is
--              visitors with a step-1 event s and then step-2..k events in
--              that order, each at or after the one before, the step-k event
--              at most `window` after s (s + window inclusive). Event times
--              are compared to the millisecond.
--   conversion_from_start     count_k / count_1 (0 when count_1 is 0).
--   conversion_from_previous  count_k / count_(k-1); for step 1 it is
--              count_1 / count_1 (1, or 0 when no visitor started).
--   median_seconds_to_convert step k: over the visitors who reached step k,
--              the median of (t_k - t_1) in seconds, where t_1 is the
--              visitor's earliest step-1 event from which step k is reached
--              within the window, and t_2..t_k are the greedy chain of first
--              occurrences from it: t_j = the first step-j event at or after
--              t_(j-1). Median = quantileExact(0.5): the value at position
--              floor(0.5 * n) of the n sorted values (0-based; the upper of
--              the two middle values when n is even), an observed value,
--              never an interpolation. 0 for step 1 and for a step nobody
--              reached.
--
-- One row per step, in order: position, step, count,
-- conversion_from_start, conversion_from_previous, median_seconds_to_convert.
{{define "cond"}}(has({step_{{.}}:Array(String)}, event_name) OR (type IN ('page', 'screen') AND arrayExists(p -> page_path LIKE p, {page_{{.}}:Array(String)}))){{end -}}
{{define "unit"}}visitor_id{{end -}}
{{define "events"}}events FINAL{{end -}}
{{define "person_unit"}}coalesce(nullIf(p.person_id, ''), e.visitor_id){{end -}}
{{define "person_events"}}events AS e FINAL
        LEFT JOIN (SELECT visitor_id, person_id FROM persons) AS p ON p.visitor_id = e.visitor_id{{end -}}
WITH
    per_visitor AS
    (
        SELECT
            {{template "unit"}} AS unit,
            windowFunnel({window_seconds:UInt64} * 1000)(
                toUInt64(toUnixTimestamp64Milli(event_time))
                {{- range $i, $_ := .Steps}},
                {{template "cond" $i}}
                {{- end}}
            ) AS level,
            -- times[j]: the visitor's step-j event times (ms), ascending
            [
                {{- range $i, $_ := .Steps}}{{if $i}},{{end}}
                arraySort(groupArrayIf(toUnixTimestamp64Milli(event_time), {{template "cond" $i}}))
                {{- end}}
            ] AS times
        FROM {{template "events"}}
        WHERE event_time >= {from:DateTime64(3)}
          AND event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR write_key = {site:String})
          AND (
            {{- range $i, $_ := .Steps}}{{if $i}} OR{{end}}
                {{template "cond" $i}}
            {{- end}}
          )
        GROUP BY unit
    ),
    per_visitor_chains AS
    (
        SELECT
            level,
            -- chains[i]: the greedy chain t_1..t_N from the i-th step-1 event;
            -- a missing step is 2^63-1, past any window. Only for visitors
            -- past step 1: nobody else has a time to convert. (The cost is
            -- (step-1 events) x (events of the other steps) per visitor.)
            arrayMap(s -> arrayFold(
                    (acc, j) -> arrayPushBack(acc, arrayFirst(x -> x >= acc[-1], arrayPushBack(times[j], 9223372036854775807))),
                    range(2, length(times) + 1),
                    [s]),
                if(level < 2, [], times[1])) AS chains,
            -- ms_to_convert[k]: t_k - t_1 of the earliest chain that reaches
            -- step k ([] when none does: 0 - 0)
            arrayMap(k -> arrayFirst(c -> c[k] - c[1] <= {window_seconds:UInt64} * 1000, chains),
                range(1, length(times) + 1)) AS chain_to_step,
            arrayMap((k, c) -> c[k] - c[1], range(1, length(times) + 1), chain_to_step) AS ms_to_convert
        FROM per_visitor
    ),
    per_step AS
    (
        SELECT
            k,
            countIf(level >= k) AS reached,
            quantileExactIf(0.5)(ms_to_convert[k], level >= k) AS median_ms
        FROM per_visitor_chains
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
            per_step.reached AS reached,
            if(per_step.reached = 0, 0, per_step.median_ms / 1000) AS median_seconds
        FROM all_steps
        LEFT JOIN per_step ON per_step.k = all_steps.k
    )
SELECT
    toUInt64(k) AS position,
    {steps:Array(String)}[k] AS step,
    toUInt64(reached) AS count,
    toFloat64(if(first_value(reached) OVER w = 0, 0, reached / first_value(reached) OVER w)) AS conversion_from_start,
    toFloat64(if(lagInFrame(reached, 1, reached) OVER w = 0, 0, reached / lagInFrame(reached, 1, reached) OVER w)) AS conversion_from_previous,
    toFloat64(median_seconds) AS median_seconds_to_convert
FROM counted
WINDOW w AS (ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY k
