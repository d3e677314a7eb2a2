-- filters: the defines every query file may use (package sqlfiles renders
-- each query file with this one). Not a query of its own.
--
--   prop           a top-level property of an event's `properties` (JSON)
--                  as a string: a JSON string by its value, any other JSON
--                  value by its JSON text (10, true); a missing property is
--                  ''. The argument is the key, an expression (a parameter,
--                  a lambda's variable).
--   report_filter  whether one event passes the report filter
--                  (`touchstream report --channel/--touchpoint/--where`,
--                  sql/README.md "Report filters"): its traffic_channel is
--                  one of {only_channels:Array(String)}, its touchpoint
--                  one of {only_touchpoints:Array(String)} (an empty list
--                  keeps any), and for every i its property
--                  {only_keys:Array(String)}[i] is
--                  {only_values:Array(String)}[i] (as prop). A report
--                  applies it to the event that defines what it counts (a
--                  funnel unit's earliest step-1 event, a cart's first
--                  event, a session's first event), through its templates
--                  "filtered_NAME", which take the place of "NAME" only when
--                  the report has a filter: the defaults, and so the
--                  parameterized views, never read these parameters.
--   filter_columns     report_filter's conditions on traffic_channel and
--                      touchpoint alone (of sessions too, which have both)
--   filter_properties  report_filter's conditions on properties alone
--
-- The places a report filter goes that several files share, each a
-- template that renders nothing and its "filtered_" form:
--   session_filter  (time_on_site.sql, paths.sql) filtered, the condition
--                   (" AND ...") that a session of `sessions` passes: its
--                   first event passes, so its own traffic_channel and
--                   touchpoint (those of its first event) by
--                   filter_columns, and the properties of its first event
--                   (events FINAL of its visitor_id and session_id with
--                   event_time in [from, to), the earliest by (event_time,
--                   message_id)) by filter_properties, read only when there
--                   are property conditions; so both reports keep the same
--                   sessions
--   rollup_filter   (traffic_daily.sql, traffic_totals.sql) filtered,
--                   " AND filter_columns" on a traffic_daily row: the
--                   rollup groups events by their own channel and
--                   touchpoint and has no properties (report.Traffic
--                   refuses --where)
--
-- And one definition two files share:
--   cart_channel    (abandonment.sql's filter, abandonment_channels.sql)
--                   the channel of a cart or checkout: the traffic_channel
--                   of the session its first event is in (the sessions
--                   joined as cart_sessions, see below), else that event's
--                   own traffic_channel (the argument: the column that
--                   holds it), else '(none)'
--   cart_sessions   the live sessions (sessions FINAL, no tombstones) with
--                   their traffic_channel, as the table cart_sessions to
--                   join by visitor_id and session_id
{{define "prop"}}if(JSONType(properties, {{.}}) = 'String', JSONExtractString(properties, {{.}}), JSONExtractRaw(properties, {{.}})){{end -}}
{{define "report_filter"}}({{template "filter_columns"}}
                  AND {{template "filter_properties"}}){{end -}}
{{define "filter_columns"}}(empty({only_channels:Array(String)}) OR has({only_channels:Array(String)}, toString(traffic_channel)))
                  AND (empty({only_touchpoints:Array(String)}) OR has({only_touchpoints:Array(String)}, toString(touchpoint))){{end -}}
{{define "filter_properties"}}arrayAll((fk, fv) -> {{template "prop" "fk"}} = fv, {only_keys:Array(String)}, {only_values:Array(String)}){{end -}}
{{define "cart_channel"}}multiIf(cart_sessions.traffic_channel != '', cart_sessions.traffic_channel,
                        {{.}} != '', {{.}},
                        '(none)'){{end -}}
{{define "cart_sessions"}}(
                SELECT visitor_id, session_id, traffic_channel
                FROM sessions FINAL
                WHERE is_deleted = 0
            ) AS cart_sessions{{end -}}
{{define "session_filter"}}{{end -}}
{{define "rollup_filter"}}{{end -}}
{{define "filtered_rollup_filter"}}
      AND {{template "filter_columns"}}{{end -}}
{{define "filtered_session_filter"}}
          AND {{template "filter_columns"}}
          AND (empty({only_keys:Array(String)})
               OR (visitor_id, session_id) IN (
                    SELECT visitor_id, session_id
                    FROM events FINAL
                    WHERE notEmpty({only_keys:Array(String)})
                      AND session_id != ''
                      AND event_time >= {from:DateTime64(3)}
                      AND event_time < {to:DateTime64(3)}
                    GROUP BY visitor_id, session_id
                    HAVING argMin({{template "filter_properties"}}, (event_time, message_id)))){{end -}}
