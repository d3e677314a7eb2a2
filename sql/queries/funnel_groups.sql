-- funnel_groups: the groups a funnel lists even when nobody is in them, the
-- one definition funnel.sql and funnel_modes.sql share (`touchstream report
-- funnel`). Not a query of its own: a Go text/template "define" that
-- report parses together with each of them.
--
--   empty_groups  an Array(String): without a breakdown the one group '';
--                 by day (`--trend day`) every UTC date from the one of
--                 `from` to the one of `to` - 1 ms; by week every Monday
--                 (UTC) of those weeks; for any other breakdown none (its
--                 groups are the values of the units that reached step 1).
--
-- Parameters: {breakdown:String}, {from:DateTime64(3)}, {to:DateTime64(3)}.
{{define "empty_groups"}}multiIf(
            {breakdown:String} = '', [''],
            {breakdown:String} = 'day',
                arrayMap(i -> toString(toDate({from:DateTime64(3)}, 'UTC') + i),
                         range(toUInt64(toDate({to:DateTime64(3)} - toIntervalMillisecond(1), 'UTC') - toDate({from:DateTime64(3)}, 'UTC') + 1))),
            {breakdown:String} = 'week',
                arrayMap(i -> toString(toMonday({from:DateTime64(3)}, 'UTC') + 7 * i),
                         range(toUInt64(intDiv(toMonday({to:DateTime64(3)} - toIntervalMillisecond(1), 'UTC') - toMonday({from:DateTime64(3)}, 'UTC'), 7) + 1))),
            []){{end}}
