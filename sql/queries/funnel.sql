-- funnel: how many visitors reach each step of an ordered funnel, and how
-- long they take (DESIGN.md section 5, "Funnel"; `touchstream report funnel`).
--
-- This file is a Go text/template: the template repeats the one step
-- condition ("cond") once per step, as a column is_step_N (N from 0) of
-- each event, and the bit N of each step event's key (per_visitor: a
-- visitor's step events are one sorted array of keys, time and steps
-- packed in one number, read off step by step). Render it with .Steps = a
-- list with one entry per step (report.funnelSQL does). "unit" and "events"
-- say what is counted and what is read: visitors, from events alone
-- ("events" is "in_range", the events in [from, to) of the site), grouped
-- by visitor_key (a stored 128-bit hash of visitor_id, cheaper to group by
-- than the string); the drop-off lists, which name each visitor, redefine
-- "unit" as "id_unit", visitor_id itself. To count
-- persons, report.FunnelBy redefines them as "person_unit" and
-- "person_events" (and, for funnel_dropoff.sql, "visitor", an event's
-- visitor id, and "linked", whether its visitor is linked to a user id, as
-- "person_visitor" and "person_linked"), so counting visitors pays for no
-- join; to count sessions, "unit" and "unit_where" (an extra condition of
-- "in_range") as "session_unit" and "session_unit_where". The same way,
-- only a funnel that needs them pays for page steps ("page_cond" becomes
-- "pages_page_cond"), property filters ("cond" becomes "filter_cond", which
-- matches page steps itself), exclusions ("row_excluded", "excluded",
-- "exclude_where" and "fast_excluded" become "exclude_row_excluded",
-- "exclude_excluded", "exclude_exclude_where" and
-- "exclude_fast_excluded"), per-step windows ("chains" and "step_gaps"
-- become "step_window_chains" and "step_window_step_gaps") and a breakdown
-- ("row_value" and "first_value" become "breakdown_row_value" and
-- "breakdown_first_value"), and a report filter (`--channel`,
-- `--touchpoint`, `--where`: "row_passes" and "unit_passes" become
-- "filtered_row_passes" and "filtered_unit_passes", sqlfiles.Variant; a
-- unit counts only when its earliest step-1 event, the one a breakdown
-- reads, passes filters.sql's "report_filter"); the defaults give the same
-- answer when there are no page steps, filters, exclusions, per-step
-- windows, breakdown or report filter.
-- The CTEs per_visitor to per_visitor_chains (per_visitor, chain_key_1 ..
-- chain_key_(N-1), first_chain, first_chain_end, fast_visitors,
-- slow_visitors, per_visitor_chains: each adds a column or a few to the
-- one before) are the template "visitors", which funnel_dropoff.sql reuses. It splices in nothing but step numbers
-- and those fragments; every value is a query parameter (bind them all,
-- whichever variant is rendered):
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
--   {filter_events_N:Array(String)}, {filter_keys_N:Array(Array(String))},
--   {filter_values_N:Array(Array(String))}  alternatives of step N+1 with
--                            property filters ("A[k=v][k2=v2]"): an event
--                            named filter_events_N[i] whose property
--                            filter_keys_N[i][j] equals filter_values_N[i][j]
--                            for every j counts as the step; empty for none
--   {step_window_ms:Array(Int64)}  per step, its per-step window in ms
--                            ("B within 10m": 600000); the conversion window
--                            (window_seconds * 1000) for a step without one,
--                            and for step 1 (unused)
--   {exclude:Array(String)}  exclusion steps: event names ([] for none)
--   {breakdown:String}       '' (none), 'channel', 'touchpoint', 'campaign',
--                            'device', 'source', 'property', 'day' or 'week'
--   {breakdown_property:String}  the property of breakdown 'property'
--
-- Definitions (mode "ordered": other events may come between the steps):
--
--   visitors   events are grouped by visitor_id; events FINAL, so a
--              redelivered event (same visitor_id and message_id, on the
--              same day of event_time) counts once.
--              Only events in [from, to) take part: a visitor's path must
--              lie entirely in the range.
--   persons    (`--by person`) events are grouped by person instead: the
--              person_id of the event's visitor_id in the persons view (the
--              user id of the visitor's most recent identity link), else the
--              visitor_id itself. All events of a linked visitor count for
--              its person, those before the link too, so steps done on
--              different devices (or an email click carrying the user id)
--              join one path. Below, "visitor" then reads "person".
--   sessions   (`--by session`) events are grouped by session_id, the
--              session the processor assigned; events whose session_id is
--              '' (not sessionized: older than the processor's lateness
--              allowance when they arrived) take no part. A funnel done
--              across two sessions of one visitor counts for neither
--              session past the steps each session did on its own. Below,
--              "visitor" then reads "session".
--   property   a property filter compares the event's top-level property
--              `k` of `properties` (JSON): a JSON string by its value, any
--              other JSON value by its JSON text (10, true); a missing
--              property is ''. Values are compared exactly, as strings.
--   chain      from a step-1 event s, the greedy chain t_1 = s and t_j = the
--              first step-j event at or after t_(j-1), j = 2..N. Event times
--              are compared to the millisecond.
--              With per-step windows (w_j: "step j within w_j"; w_j = window
--              for a step without one) a chain from s is instead t_1 = s and
--              t_j = the earliest step-j event x for which some step-(j-1)
--              event y reachable from s has y <= x <= y + w_j (inclusive, as
--              the conversion window: exactly w_j after y counts, 1 ms more
--              does not) and x <= s + window; a step-1 event s is reachable
--              from s, and x is then reachable from s. So t_j is the earliest
--              time step j can be done after s with every step within its
--              per-step window and all within the conversion window; t_j is
--              missing when no such x exists. (Greedy is not enough here: a
--              later step-(j-1) event may be the one a step-j event is close
--              enough to. Without per-step windows both definitions give the
--              same t_j.)
--   count      step k: visitors with a step-1 event s and then step-2..k
--              events in that order, each at or after the one before, the
--              step-k event at most `window` after s (s + window inclusive),
--              that is visitors with a chain whose t_k - t_1 <= window (the
--              greedy chain from s reaches each step as early as any
--              sequence from s can): windowFunnel(window)(...) >= k.
--              With per-step windows: visitors with a chain (above) whose
--              t_k exists, so each step j = 2..k at most w_j after the step
--              before it and step k at most `window` after s.
--              With exclusion steps: visitors with a chain whose t_k - t_1
--              <= window and with none of their excluded events strictly
--              between t_1 and t_k (an excluded event at the same
--              millisecond as t_1 or t_k does not count). A visitor whose
--              every chain has an excluded event before its step-k event
--              counts for the steps before it, not past it.
--   conversion_from_start     count_k / count_1 (0 when count_1 is 0).
--   conversion_from_previous  count_k / count_(k-1); for step 1 it is
--              count_1 / count_1 (1, or 0 when no visitor started).
--   median_seconds_to_convert step k: over the visitors who reached step k,
--              the median of (t_k - t_1) in seconds of the visitor's earliest
--              chain that reaches step k (see count). Median =
--              quantileExact(0.5): the value at position floor(0.5 * n) of
--              the n sorted values (0-based; the upper of the two middle
--              values when n is even), an observed value, never an
--              interpolation. 0 for step 1 and for a step nobody reached.
--   p90_seconds_to_convert    the same with quantileExact(0.9): the value
--              at position floor(0.9 * n) of the n sorted values.
--   value      the group a visitor is counted in (`--breakdown`, `--trend`):
--              taken from the visitor's first step event, its earliest
--              step-1 event in [from, to) (ties: the smallest message_id):
--              channel = traffic_channel, touchpoint, campaign =
--              utm_campaign, device = device_type, source = utm_source,
--              property = the property breakdown_property (as in property
--              above); day = the UTC date of that event, week = the Monday
--              (UTC) of its week. The steps and conversions are those above,
--              counted over the visitors of the group. Without a breakdown
--              every visitor is in the one group ''. Groups: every value of
--              a visitor who reached step 1; by day or week every period
--              from the one of `from` to the one of `to` - 1 ms, with zeros
--              when nobody started in it.
--
-- One row per group and step, ordered by value, then position: position,
-- step, count, conversion_from_start, conversion_from_previous,
-- median_seconds_to_convert, p90_seconds_to_convert, value.
{{define "cond"}}(event_name IN {step_{{.}}:Array(String)}{{template "page_cond" .}}){{end -}}
{{define "page_cond"}}{{end -}}
{{define "pages_page_cond"}} OR (type IN ('page', 'screen') AND arrayExists(p -> page_path LIKE p, {page_{{.}}:Array(String)})){{end -}}
{{define "filter_cond"}}(event_name IN {step_{{.}}:Array(String)} OR arrayExists((n, ks, vs) -> n = event_name AND arrayAll((k, v) -> {{template "prop" "k"}} = v, ks, vs), {filter_events_{{.}}:Array(String)}, {filter_keys_{{.}}:Array(Array(String))}, {filter_values_{{.}}:Array(Array(String))}) OR (type IN ('page', 'screen') AND arrayExists(p -> page_path LIKE p, {page_{{.}}:Array(String)}))){{end -}}
{{define "row_value"}}{{end -}}
{{define "breakdown_row_value"}}
                multiIf({breakdown:String} = 'channel', toString(traffic_channel), {breakdown:String} = 'touchpoint', toString(touchpoint), {breakdown:String} = 'campaign', utm_campaign, {breakdown:String} = 'device', toString(device_type), {breakdown:String} = 'source', utm_source, {breakdown:String} = 'property', {{template "prop" "{breakdown_property:String}"}}, '') AS row_value,
                (event_time, message_id) AS row_order,{{end -}}
{{define "row_passes"}}{{end -}}
{{define "filtered_row_passes"}}
                {{template "report_filter"}} AS passes,
                (event_time, message_id) AS passes_order,{{end -}}
{{define "unit_passes"}}{{end -}}
{{define "filtered_unit_passes"}}
           AND argMinIf(passes, passes_order, is_step_0){{end -}}
{{define "first_value"}}''{{end -}}
{{define "breakdown_first_value"}}argMinIf(row_value, row_order, is_step_0){{end -}}
{{define "row_excluded"}}{{end -}}
{{define "exclude_row_excluded"}}
                has({exclude:Array(String)}, event_name) AS is_excluded,{{end -}}
{{define "excluded"}}CAST([], 'Array(Int64)'){{end -}}
{{define "exclude_excluded"}}arraySort(groupArrayIf(ms, is_excluded)){{end -}}
{{define "exclude_where"}}{{end -}}
{{define "fast_excluded"}}{{end -}}
{{define "exclude_fast_excluded"}}
                          AND NOT arrayExists(x -> x > t_0 AND x < t_last, excluded){{end -}}
{{define "exclude_exclude_where"}} OR is_excluded{{end -}}
{{define "starts"}}arrayFilter(s -> arrayExists(x -> x >= s AND x - s <= {window_seconds:UInt64} * 1000, times[2]), times[1]){{end -}}
{{define "chains"}}arrayMap(s -> arrayFold(
                    (acc, j) -> arrayPushBack(acc, arrayFirst(x -> x >= acc[-1], arrayPushBack(times[j], 9223372036854775807))),
                    range(2, length(times) + 1),
                    [s]),
                {{template "starts"}}){{end -}}
{{define "step_window_chains"}}arrayMap(s -> arrayMap(r -> if(empty(r), toInt64(9223372036854775807), r[1]), arrayFold(
                    (acc, j) -> arrayPushBack(acc, arrayFilter(x -> x <= s + {window_seconds:UInt64} * 1000
                                                                   AND arrayExists(y -> y <= x AND x - y <= {step_window_ms:Array(Int64)}[j], acc[-1]),
                                                               times[j])),
                    range(2, length(times) + 1),
                    [[s]])),
                {{template "starts"}}){{end -}}
{{define "step_gaps"}}{{end -}}
{{define "step_window_step_gaps"}}
                          AND arrayAll(j -> first_chain[j] - first_chain[j - 1] <= {step_window_ms:Array(Int64)}[j], range(2, reach + 1)){{end -}}
{{define "unit"}}visitor_key{{end -}}
{{define "id_unit"}}visitor_id{{end -}}
{{define "visitor"}}visitor_id{{end -}}
{{define "unit_where"}}{{end -}}
{{define "session_unit"}}session_id{{end -}}
{{define "session_unit_where"}}
          AND session_id != ''{{end -}}
{{define "person_visitor"}}e.visitor_id{{end -}}
{{define "linked"}}false{{end -}}
{{define "person_linked"}}p.person_id != ''{{end -}}
{{define "events"}}{{template "in_range"}}{{end -}}
{{define "person_unit"}}coalesce(nullIf(p.person_id, ''), e.visitor_id){{end -}}
{{define "person_events"}}{{template "in_range"}} AS e
            LEFT JOIN (SELECT visitor_id, person_id FROM persons) AS p ON p.visitor_id = e.visitor_id{{end -}}
{{define "in_range"}}
            (
                -- the events in range (of the unit), filtered before the
                -- step conditions are computed (visitor_key is MATERIALIZED,
                -- which * leaves out)
                SELECT *, visitor_key
                FROM events FINAL
                WHERE event_time >= {from:DateTime64(3)}
                  AND event_time < {to:DateTime64(3)}
                  AND ({site:String} = '' OR write_key = {site:String}){{template "unit_where"}}
            ){{end -}}
{{define "visitors"}}
{{- /* n: the number of steps, the bits of a key's mask; key: the type of a
       key, UInt64 up to 20 steps (then 2^43 ms, centuries, fit above the
       mask), UInt128 past them */ -}}
{{- $n := len .Steps}}{{$key := "UInt64"}}{{if gt $n 20}}{{$key = "UInt128"}}{{end}}
    per_visitor AS
    (
        SELECT
            unit,
            -- keys: the visitor's step events, one number each, ascending:
            -- (ms - from) * 2^N + mask (N steps), where mask has bit j-1
            -- set when the event is a step-j event, so in order of time
            -- (with exclusions, an excluded event that is no step is there
            -- with mask 0, in no step)
            arraySort(groupArray(key)) AS keys,
            -- key_0: the key of the earliest step-1 event, the first key
            -- with bit 0 set (0 without one: a step event's key is not 0,
            -- its mask is not). Read off keys rather than a second
            -- aggregate (minIf), which costs more than the array
            arrayFirst(x -> bitAnd(x, 1) != 0, keys) AS key_0,
            -- excluded: the visitor's excluded event times (ms), ascending
            {{template "excluded"}} AS excluded,
            -- first_value: the breakdown value of the earliest step-1 event
            {{template "first_value"}} AS first_value
        FROM
        (
            -- the events that are a step (or excluded), each condition
            -- evaluated once
            SELECT
                {{template "unit"}} AS unit,
                {{- range $i, $_ := .Steps}}
                {{template "cond" $i}} AS is_step_{{$i}},
                {{- end}}
                {{- template "row_excluded"}}
                {{- template "row_value"}}
                {{- template "row_passes"}}
                toUnixTimestamp64Milli(event_time) AS ms,
                to{{$key}}(ms - toUnixTimestamp64Milli({from:DateTime64(3)})) * intExp2({{$n}})
                    {{- range $i, $_ := .Steps}} + is_step_{{$i}} * intExp2({{$i}}){{end}} AS key
            FROM {{template "events"}}
            WHERE {{range $i, $_ := .Steps}}{{if $i}} OR {{end}}is_step_{{$i}}{{end}}{{template "exclude_where"}}
        )
        GROUP BY unit
        -- a unit without a step-1 event reaches no step: what follows
        -- (the counts here, the drop-off lists of funnel_dropoff.sql) has
        -- no use for it
        HAVING key_0 != 0{{template "unit_passes"}}
    ),
    {{- /* The chain's keys, times and the visitor's level follow in CTEs
           of one or two columns each, every one reading the one before
           it: a column named twice in one SELECT (key_1 in key_2, t_1 and
           reach) is its whole expression written out twice in the query,
           lambdas and all, to analyse and plan again, and the funnel's
           planning time grew with it. (A CTE read once costs no more than
           a subquery.) */}}
    {{- $from := "per_visitor"}}
    {{- $prev := 0}}
    {{- range $i, $_ := .Steps}}{{if $i}}
    -- chain_key_{{$i}}: key_{{$i}}, the next key of the greedy chain from the
    -- earliest step-1 event (key_0): the first key with bit {{$i}} set at or
    -- after the millisecond of key_{{$prev}}, 0 when there is none. The bound is
    -- that millisecond * 2^N, and past every key when key_{{$prev}} is 0 (0 - 1
    -- wraps to the type's largest number)
    chain_key_{{$i}} AS
    (
        SELECT
            *,
            arrayFirst(x -> x >= intDiv(to{{$key}}(key_{{$prev}} - 1), intExp2({{$n}})) * intExp2({{$n}})
                            AND bitAnd(x, intExp2({{$i}})) != 0, keys) AS key_{{$i}}
        FROM {{$from}}
    ),
    {{- $from = printf "chain_key_%d" $i}}{{$prev = $i}}{{end}}
    {{- end}}
    first_chain AS
    (
        SELECT
            *,
            toUnixTimestamp64Milli({from:DateTime64(3)}) AS from_ms,
            -- t_j: the time (ms) of key_j, 2^63-1 without one; t_0, the
            -- earliest step-1 event, every unit here has (per_visitor keeps
            -- no other)
            {{- range $i, $_ := .Steps}}
            if(key_{{$i}} = 0, 9223372036854775807, toInt64(intDiv(key_{{$i}}, intExp2({{$n}}))) + from_ms) AS t_{{$i}},
            {{- end}}
            -- reach: how many steps that chain has; no chain has more,
            -- with per-step windows neither
            toUInt32({{range $i, $_ := .Steps}}{{if $i}} + {{end}}(key_{{$i}} != 0){{end}}) AS reach
        FROM {{$from}}
    ),
    first_chain_end AS
    (
        SELECT
            *,
            -- first_chain: the greedy chain t_1..t_N from the earliest
            -- step-1 event t_0; a missing step is 2^63-1, past any
            -- window
            [{{range $i, $_ := .Steps}}{{if $i}}, {{end}}t_{{$i}}{{end}}] AS first_chain,
            -- t_last: the time of that chain's last step (t_reach), a
            -- scalar: first_chain[reach] would build an array for every
            -- visitor
            {{- $last := ""}}{{$prev := 0}}{{range $i, $_ := .Steps}}{{if $i}}{{$last = printf "%sreach = %d, t_%d, " $last $i $prev}}{{$prev = $i}}{{end}}{{end}}
            {{if $last}}multiIf({{$last}}t_{{$prev}}){{else}}t_0{{end}} AS t_last
        FROM first_chain
    ),
    fast_visitors AS
    (
        SELECT
            *,
            -- fast: the first chain reaches its last step within the window
            -- (with per-step windows, each step within its own) and with no
            -- excluded event strictly between its t_1 and that step's time,
            -- or it has no step past 1. Then the visitor reached step reach,
            -- that chain is the earliest that reaches each step up to it,
            -- and the chains from the later step-1 events are not needed.
            -- (scalars, not first_chain[reach]: this is computed for every
            -- visitor, and an array per visitor costs)
            reach < 2 OR (t_last - t_0 <= {window_seconds:UInt64} * 1000{{template "step_gaps"}}{{template "fast_excluded"}}) AS fast
        FROM first_chain_end
    ),
    slow_visitors AS
    (
        SELECT
            *,
            -- step_times[j]: for a visitor that is not fast, its step-j
            -- event times (ms), ascending, read off keys; [] for the others
            arrayMap(j -> arrayMap(x -> toInt64(intDiv(x, intExp2({{$n}}))) + from_ms,
                                   arrayFilter(x -> bitAnd(x, intExp2(j)) != 0, keys)),
                     range(if(fast, 0, {{$n}}))) AS step_times,
            -- slow_times: [step_times] for a visitor that is not fast, []
            -- for the others. Everything below about all the chains maps
            -- over it (as times), so that its lambdas run for the visitors
            -- that are not fast only and the others pay for none of it;
            -- slow_x[1] is then the x of such a visitor
            arraySlice([step_times], 1, if(fast, 0, 1)) AS slow_times,
            -- chains: the chains t_1..t_N from the visitor's step-1 events
            -- s, in order, that have a step-2 event within the window of s
            -- (the other starts reach no step past 1). Greedy; with per-step
            -- windows the earliest reachable times, kept in the step's
            -- reachable set. A missing step is 2^63-1, past any window. (The
            -- cost is (step-1 events) x (events of the other steps) per such
            -- visitor; with per-step windows times the events of the step
            -- before.)
            arrayMap(times -> {{template "chains"}}, slow_times) AS slow_chains
        FROM fast_visitors
    ),
    per_visitor_chains AS
    (
        SELECT
            unit,
            -- lvl: the last step reached: the last step k some chain reaches
            -- within the window with no excluded event strictly between its
            -- t_1 and t_k; for a fast visitor reach
            arrayMap(chains -> 1 + arrayCount(k -> arrayExists(c -> c[k] - c[1] <= {window_seconds:UInt64} * 1000
                                                                  AND NOT arrayExists(x -> x > c[1] AND x < c[k], excluded), chains),
                                             range(2, {{$n}} + 1)),
                     slow_chains) AS slow_lvl,
            if(fast, reach, slow_lvl[1]) AS lvl,
            -- chain_to_step[k]: the earliest chain that reaches step k:
            -- within the window and no excluded event strictly between its
            -- t_1 and t_k ([] when none does); for a fast visitor that is
            -- the first chain, up to step reach
            arrayMap(chains -> arrayMap(k -> arrayFirst(c -> c[k] - c[1] <= {window_seconds:UInt64} * 1000
                                                             AND NOT arrayExists(x -> x > c[1] AND x < c[k], excluded), chains),
                                        range(1, {{$n}} + 1)),
                     slow_chains) AS slow_chain_to_step,
            -- ms_to_convert[k]: t_k - t_1 of that chain (0 without one);
            -- one if over the arrays, so that the slow path is named once
            if(fast,
               [{{range $i, $_ := .Steps}}{{if $i}},
                {{end}}if({{$i}} < reach, t_{{$i}} - t_0, 0){{end}}],
               arrayMap(cts -> arrayMap((k, c) -> c[k] - c[1], range(1, length(cts) + 1), cts), slow_chain_to_step)[1]) AS ms_to_convert,
            -- step_ms[k]: the time of the visitor's step-k event: t_k of that
            -- chain; for step 1, or with no chain, the earliest step-1 event
            if(fast,
               [{{range $i, $_ := .Steps}}{{if $i}},
                {{end}}if({{$i}} < reach, t_{{$i}}, t_0){{end}}],
               arrayMap(cts -> arrayMap((k, c) -> if(k = 1 OR empty(c), t_0, c[k]), range(1, length(cts) + 1), cts),
                        slow_chain_to_step)[1]) AS step_ms,
            multiIf({breakdown:String} = 'day', toString(toDate(fromUnixTimestamp64Milli(t_0, 'UTC'))),
                    {breakdown:String} = 'week', toString(toMonday(fromUnixTimestamp64Milli(t_0, 'UTC'))),
                    first_value) AS value
        FROM slow_visitors
    ){{end -}}
WITH
    {{- template "visitors" .}},
    -- the groups that are listed even when nobody is in them: without a
    -- breakdown the one group ''; by day or week every period of the range
    -- (empty_groups, in funnel_groups.sql, which funnel_modes.sql shares)
    periods AS
    (
        SELECT arrayJoin({{template "empty_groups"}}) AS value
    ),
    per_step AS
    (
        -- one row per group and step, from one per group: each step's
        -- count and quantiles over the visitors who reached it. The groups:
        -- every value of a visitor who reached step 1 (every visitor of
        -- per_visitor_chains has: lvl >= 1) and every period, each period
        -- as one row with lvl 0, which counts for no step (a group nobody
        -- reached a step of has quantiles 0). per_visitor_chains is read
        -- once, here: each reference to a CTE evaluates it again.
        SELECT value, k, reached, quantiles[1] / 1000 AS median_seconds, quantiles[2] / 1000 AS p90_seconds
        FROM
        (
            SELECT
                value,
                [{{range $i, $_ := .Steps}}{{if $i}}, {{end}}countIf(lvl > {{$i}}){{end}}] AS reached_per_k,
                -- (step 1's times to convert are all 0: t_1 - t_1)
                [CAST([0, 0], 'Array(Int64)'){{range $i, $_ := .Steps}}{{if $i}},
                 quantilesExactIf(0.5, 0.9)(ms_to_convert[{{$i}} + 1], lvl > {{$i}}){{end}}{{end}}] AS quantiles_per_k
            FROM
            (
                SELECT value, lvl, ms_to_convert FROM per_visitor_chains
                UNION ALL
                SELECT value, 0, [] FROM periods
            )
            GROUP BY value
        )
        ARRAY JOIN range(1, length({steps:Array(String)}) + 1) AS k, reached_per_k AS reached, quantiles_per_k AS quantiles
    )
SELECT
    toUInt64(k) AS position,
    {steps:Array(String)}[k] AS step,
    toUInt64(reached) AS count,
    toFloat64(if(first_value(reached) OVER w = 0, 0, reached / first_value(reached) OVER w)) AS conversion_from_start,
    toFloat64(if(lagInFrame(reached, 1, reached) OVER w = 0, 0, reached / lagInFrame(reached, 1, reached) OVER w)) AS conversion_from_previous,
    toFloat64(median_seconds) AS median_seconds_to_convert,
    toFloat64(p90_seconds) AS p90_seconds_to_convert,
    value
FROM per_step
WINDOW w AS (PARTITION BY value ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY value, k
