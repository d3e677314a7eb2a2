-- stages: the journey stages and the KPIs of each (DESIGN.md section 5,
-- "Journey stage", "NPS", "CSAT" and the stage table; `touchstream report
-- stages`).
--
-- This file is a Go text/template, not plain SQL: report.stagesSQL puts the
-- text of abandonment.sql and time_on_site.sql in place of the template
-- actions .Abandonment and .TimeOnSite below (the bodies of the CTEs
-- `abandonment` and `time_on_site`), and the WITH clause of time_on_site.sql
-- (its text up to the line "-- scope end", which defines the sessions in
-- scope, its CTE `scoped`) in place of .TimeOnSiteScope (in front of the CTE
-- `retention`'s SELECT), so that cart and checkout abandonment, sessions,
-- engagement, time on site and the sessions behind retention_rate are
-- defined in one place and equal the numbers of those reports. To run it by
-- hand, paste the text there. The only other templates are those of the
-- report filter (`--channel`, `--touchpoint`, `--where`; sql/README.md
-- "Report filters"): with a filter, report.stagesSQL puts the filtered
-- texts of abandonment.sql and time_on_site.sql there (carts and sessions
-- by their first event, as those reports), and "visitor_columns",
-- "visitor_passes" and "kept_visitors" become their "filtered_" forms:
-- the visitor KPIs (per_visitor, and through it the orders and customers)
-- count the visitors whose first event in the range (ties by message_id)
-- passes filters.sql's report_filter, the rule of the retention report's
-- first-visit cohorts, with all their events and orders; retention_rate
-- counts those visitors' sessions, unfiltered (a return through another
-- channel still counts). Every value is a parameter.
--
-- Parameters:
--   {from:DateTime64(3)}, {to:DateTime64(3)}  events with event_time in
--                            [from, to); sessions with start_time in [from,
--                            to); carts and checkouts whose first event is
--                            in [from, to) (abandonment.sql)
--   {site:String}            keep events whose write_key is this, and
--                            sessions with such an event (as
--                            time_on_site.sql); '' keeps all
--   {within_seconds:UInt64}  abandonment.sql's T (the report's default is
--                            86400 = 24 h)
--
-- Definitions (events FINAL, so a redelivered event counts once; sessions
-- FINAL with is_deleted = 0). Every ratio is 0 when its denominator is 0.
--
--   visitor        a visitor_id with at least one event in the range (any
--                  type, with or without a stage).
--   "an event named X"  a `track` event with event_name X. A page or screen
--                  whose name is X does not count.
--   customer       a visitor with at least one order in the range.
--   order          a row of the CTE `orders` (sql/README.md, "Orders,
--                  refunds and cancellations"): an event named 'Order
--                  Completed' in the range whose order_id has no event
--                  named 'Order Cancelled'. Its revenue is net of the
--                  events named 'Order Refunded' of its order_id: revenue
--                  - the amounts refunded (abs(revenue) of each refund), 0
--                  when a refund has no amount (revenue 0), never below 0.
--                  Cancellations and refunds are matched by order_id alone
--                  (any site, any visitor) whenever they happened, also
--                  before `from` or after `to`. A refunded order is still
--                  an order (the customer bought). Currencies are not
--                  converted.
--   score          properties.score of the event, a number or a numeric
--                  string. An answer counts only when its score is a whole
--                  number on the scale of the question (4.0 is 4; 4.5, 11,
--                  a missing or non-numeric score do not count).
--
-- One row per stage, in the order awareness, evaluation, purchase, return,
-- advocacy, even when it is empty:
--
--   stage          the stage (events.stage, set by the processor's stage
--                  rules, stage/default_rules.json by default).
--   visitors       visitors with at least one event of this stage.
--   events         events of this stage.
--   kpis           Map(String, Float64), the stage's KPIs in this order:
--
-- awareness
--   sessions                  sessions (time_on_site.sql `sessions`:
--                             start_time in the range).
--   ad_impressions            events named 'Ad Impression' or 'Ad Viewed'.
--   ad_clicks                 events named 'Ad Clicked'.
--   ctr                       ad_clicks / ad_impressions.
-- evaluation
--   engagement_rate           engaged sessions / sessions
--                             (time_on_site.sql `engagement_rate`).
--   mean_time_on_site_seconds mean session duration, end_time - start_time
--                             (time_on_site.sql `duration_mean`).
--   leads                     events named 'Lead Submitted', 'Demo
--                             Requested', 'Trial Started' or 'Signed Up'.
--   lead_conversion_rate      visitors of the evaluation stage who have a
--                             lead event / visitors of the evaluation stage.
--                             A lead by a visitor with no evaluation event
--                             (a 'Signed Up' straight away) counts in
--                             `leads` but not here, so the rate is at most 1.
-- purchase
--   orders                    orders.
--   conversion_rate           customers / visitors.
--   aov                       net revenue of the orders / orders.
--   cart_abandonment_rate     abandonment.sql, kind 'cart': abandoned carts
--                             / carts. A cart converts on any 'Order
--                             Completed', a later cancelled one too: the
--                             visitor did check out.
--   checkout_abandonment_rate abandonment.sql, kind 'checkout'.
-- return
--   retention_rate            visitors with sessions starting on 2 or more
--                             distinct days (UTC) / visitors with a session;
--                             the sessions of `sessions` above (the rows of
--                             time_on_site.sql's CTE `scoped`).
--   repeat_purchase_rate      customers with 2 or more orders / customers.
--   csat                      answers of 4 or 5 / answers x 100, over the
--                             answers on 1-5 of the events named 'CSAT Rated'
--                             or 'CSAT Submitted'. From 0 to 100.
--   csat_responses            those answers.
-- advocacy
--   referrals                 events named 'Referral Sent'.
--   referral_rate             customers with a referral / customers. A
--                             referral by a visitor who is not a customer
--                             counts in `referrals` but not here.
--   nps                       % promoters (9-10) - % detractors (0-6) of the
--                             answers on 0-10 of the events named 'NPS
--                             Rated', 'NPS Submitted' or 'Survey Answered'
--                             (a 'Survey Answered' without a score is not an
--                             answer). From -100 to 100.
--   nps_responses             those answers.
--   social_shares             events named 'Social Share', 'Product Shared'
--                             or 'Content Shared'.
-- and for every stage but advocacy, from it to the next stage in the order
-- above (awareness to evaluation, ..., return to advocacy), by the time a
-- visitor first had an event of each in the range:
--   visitors_to_next          visitors of this stage whose first event of
--                             the next stage is at or after their first
--                             event of this stage. A visitor who reached
--                             the next stage first, or skipped this one,
--                             does not count.
--   conversion_to_next        visitors_to_next / visitors of this stage.
--   median_seconds_to_next    over those visitors, the median of (first
--                             event of the next stage - first event of this
--                             stage) in seconds: quantileExact(0.5), the
--                             value at position floor(0.5 * n) of the n
--                             sorted values (0-based), as the funnel's
--                             median. 0 when there are none.
{{define "to_next"}}'visitors_to_next', toFloat64(visitors_to_next[{{.}}]),
        'conversion_to_next', toFloat64(if(stage_visitors[{{.}}] = 0, 0, visitors_to_next[{{.}}] / stage_visitors[{{.}}])),
        'median_seconds_to_next', toFloat64(ifNull(medians_to_next[{{.}}], 0)){{end -}}
{{define "visitor_columns"}}{{end -}}
{{define "filtered_visitor_columns"}},
                (event_time, message_id) AS passes_order,
                {{template "report_filter"}} AS passes{{end -}}
{{define "visitor_passes"}}{{end -}}
{{define "filtered_visitor_passes"}}
        HAVING argMin(passes, passes_order){{end -}}
{{define "kept_visitors"}}{{end -}}
{{define "filtered_kept_visitors"}}
            WHERE visitor_id IN (SELECT visitor_id FROM per_visitor){{end -}}
WITH
    -- orders: the orders in [from, to) of the site, from the view
    -- net_orders (migration 00006: not cancelled, revenue net of refunds;
    -- sql/README.md, "Orders, refunds and cancellations")
    orders AS
    (
        SELECT visitor_id, message_id, event_time, net_revenue
        FROM net_orders
        WHERE event_time >= {from:DateTime64(3)}
          AND event_time < {to:DateTime64(3)}
          AND ({site:String} = '' OR write_key = {site:String})
    ),
    abandonment AS
    (
{{.Abandonment}}
    ),
    time_on_site AS
    (
{{.TimeOnSite}}
    ),
    -- one row per visitor with an event in the range
    per_visitor AS
    (
        SELECT
            visitor_id,
            countIf(stage = 'awareness') AS n_awareness,
            countIf(stage = 'evaluation') AS n_evaluation,
            countIf(stage = 'purchase') AS n_purchase,
            countIf(stage = 'return') AS n_return,
            countIf(stage = 'advocacy') AS n_advocacy,
            countIf(is_track AND event_name IN ('Ad Impression', 'Ad Viewed')) AS n_ad_impressions,
            countIf(is_track AND event_name = 'Ad Clicked') AS n_ad_clicks,
            countIf(is_track AND event_name IN ('Lead Submitted', 'Demo Requested', 'Trial Started', 'Signed Up')) AS n_leads,
            countIf(is_csat) AS n_csat,
            countIf(is_csat AND score >= 4) AS n_csat_satisfied,
            countIf(is_nps) AS n_nps,
            countIf(is_nps AND score >= 9) AS n_promoters,
            countIf(is_nps AND score <= 6) AS n_detractors,
            countIf(is_track AND event_name = 'Referral Sent') AS n_referrals,
            countIf(is_track AND event_name IN ('Social Share', 'Product Shared', 'Content Shared')) AS n_social_shares,
            -- the stages in order: each one's events, and its first event
            -- (only meaningful when there are events)
            [n_awareness, n_evaluation, n_purchase, n_return, n_advocacy] AS stage_events,
            [minIf(event_time, stage = 'awareness'), minIf(event_time, stage = 'evaluation'),
             minIf(event_time, stage = 'purchase'), minIf(event_time, stage = 'return'),
             minIf(event_time, stage = 'advocacy')] AS stage_firsts,
            -- from each stage but advocacy to the next: the seconds from
            -- the first event of the one to the first of the next, when
            -- the visitor has both in that order; NULL otherwise (each
            -- stage against the next: the arrays without their last and
            -- their first element)
            arrayMap((n, n_next, t, t_next) -> if(n > 0 AND n_next > 0 AND t_next >= t,
                                                  toNullable(dateDiff('millisecond', t, t_next) / 1000), NULL),
                     arrayPopBack(stage_events), arrayPopFront(stage_events),
                     arrayPopBack(stage_firsts), arrayPopFront(stage_firsts)) AS seconds_to_next
        FROM
        (
            SELECT
                visitor_id,
                stage,
                event_time,
                event_name,
                type = 'track' AS is_track,
                -- properties.score as a number; nan when missing or not numeric
                if(is_track AND event_name IN ('CSAT Rated', 'CSAT Submitted', 'NPS Rated', 'NPS Submitted', 'Survey Answered'),
                   ifNull(toFloat64OrNull(trim(BOTH '"' FROM JSONExtractRaw(properties, 'score'))), nan),
                   nan) AS score,
                is_track AND event_name IN ('CSAT Rated', 'CSAT Submitted')
                    AND score = floor(score) AND score >= 1 AND score <= 5 AS is_csat,
                is_track AND event_name IN ('NPS Rated', 'NPS Submitted', 'Survey Answered')
                    AND score = floor(score) AND score >= 0 AND score <= 10 AS is_nps{{template "visitor_columns"}}
            FROM events FINAL
            WHERE event_time >= {from:DateTime64(3)}
              AND event_time < {to:DateTime64(3)}
              AND ({site:String} = '' OR write_key = {site:String})
        )
        GROUP BY visitor_id{{template "visitor_passes"}}
    ),
    -- one row per customer: a visitor with an order (`orders` above)
    per_customer AS
    (
        SELECT visitor_id, toUInt64(count()) AS n_orders, sum(net_revenue) AS order_revenue
        FROM orders
        GROUP BY visitor_id
    ),
    totals AS
    (
        SELECT
            toUInt64(count()) AS all_visitors,
            toUInt64(countIf(n_awareness > 0)) AS awareness_visitors,
            toUInt64(sum(n_awareness)) AS awareness_events,
            toUInt64(countIf(n_evaluation > 0)) AS evaluation_visitors,
            toUInt64(sum(n_evaluation)) AS evaluation_events,
            toUInt64(countIf(n_purchase > 0)) AS purchase_visitors,
            toUInt64(sum(n_purchase)) AS purchase_events,
            toUInt64(countIf(n_return > 0)) AS return_visitors,
            toUInt64(sum(n_return)) AS return_events,
            toUInt64(countIf(n_advocacy > 0)) AS advocacy_visitors,
            toUInt64(sum(n_advocacy)) AS advocacy_events,
            toUInt64(sum(n_ad_impressions)) AS ad_impressions,
            toUInt64(sum(n_ad_clicks)) AS ad_clicks,
            toUInt64(sum(n_leads)) AS leads,
            toUInt64(countIf(n_evaluation > 0 AND n_leads > 0)) AS evaluation_leads,
            toUInt64(sum(n_orders)) AS orders,
            toFloat64(sum(order_revenue)) AS revenue,
            toUInt64(countIf(n_orders > 0)) AS customers,
            toUInt64(countIf(n_orders >= 2)) AS repeat_customers,
            toUInt64(sum(n_csat)) AS csat_responses,
            toUInt64(sum(n_csat_satisfied)) AS csat_satisfied,
            toUInt64(sum(n_nps)) AS nps_responses,
            toUInt64(sum(n_promoters)) AS promoters,
            toUInt64(sum(n_detractors)) AS detractors,
            toUInt64(sum(n_referrals)) AS referrals,
            toUInt64(countIf(n_orders > 0 AND n_referrals > 0)) AS referring_customers,
            toUInt64(sum(n_social_shares)) AS social_shares,
            -- from each stage but advocacy to the next: the visitors who
            -- went on (a gap that is not NULL), and the median gap (NULL
            -- when none did). Over no visitors both are [], whose
            -- elements read as 0 and NULL (the template to_next)
            countForEach(seconds_to_next) AS visitors_to_next,
            quantileExactForEach(0.5)(seconds_to_next) AS medians_to_next
        FROM per_visitor AS v
        LEFT JOIN per_customer AS c ON c.visitor_id = v.visitor_id
    ),
    -- visitors with a session in the range: the sessions of
    -- time_on_site.sql, its CTE `scoped`
    retention AS
    (
{{.TimeOnSiteScope}}
        SELECT
            toUInt64(count()) AS session_visitors,
            toUInt64(countIf(days >= 2)) AS returning_visitors
        FROM
        (
            SELECT visitor_id, uniqExact(toDate(start_time, 'UTC')) AS days
            FROM scoped{{template "kept_visitors"}}
            GROUP BY visitor_id
        )
    ),
    -- every KPI, once
    kpi AS
    (
        SELECT
            totals.*,
            toFloat64(time_on_site.sessions) AS sessions,
            toFloat64(if(ad_impressions = 0, 0, ad_clicks / ad_impressions)) AS ctr,
            toFloat64(time_on_site.engagement_rate) AS engagement_rate,
            toFloat64(time_on_site.duration_mean) AS mean_time_on_site_seconds,
            toFloat64(if(evaluation_visitors = 0, 0, evaluation_leads / evaluation_visitors)) AS lead_conversion_rate,
            toFloat64(if(all_visitors = 0, 0, customers / all_visitors)) AS conversion_rate,
            toFloat64(if(orders = 0, 0, revenue / orders)) AS aov,
            toFloat64(abandonment_rates.cart) AS cart_abandonment_rate,
            toFloat64(abandonment_rates.checkout) AS checkout_abandonment_rate,
            -- the visitors of each stage but advocacy, as visitors_to_next
            [awareness_visitors, evaluation_visitors, purchase_visitors, return_visitors] AS stage_visitors,
            toFloat64(if(retention.session_visitors = 0, 0, retention.returning_visitors / retention.session_visitors)) AS retention_rate,
            toFloat64(if(customers = 0, 0, repeat_customers / customers)) AS repeat_purchase_rate,
            toFloat64(if(csat_responses = 0, 0, 100 * csat_satisfied / csat_responses)) AS csat,
            toFloat64(if(customers = 0, 0, referring_customers / customers)) AS referral_rate,
            toFloat64(if(nps_responses = 0, 0, 100 * (toInt64(promoters) - toInt64(detractors)) / nps_responses)) AS nps
        FROM totals
        CROSS JOIN time_on_site
        CROSS JOIN retention
        CROSS JOIN
        (
            SELECT
                anyIf(abandonment_rate, kind = 'cart') AS cart,
                anyIf(abandonment_rate, kind = 'checkout') AS checkout
            FROM abandonment
        ) AS abandonment_rates
    )
SELECT
    tupleElement(row, 1) AS stage,
    tupleElement(row, 2) AS visitors,
    tupleElement(row, 3) AS events,
    tupleElement(row, 4) AS kpis
FROM kpi
ARRAY JOIN
[
    ('awareness', awareness_visitors, awareness_events, map(
        'sessions', sessions,
        'ad_impressions', toFloat64(ad_impressions),
        'ad_clicks', toFloat64(ad_clicks),
        'ctr', ctr,
        {{template "to_next" 1}})),
    ('evaluation', evaluation_visitors, evaluation_events, map(
        'engagement_rate', engagement_rate,
        'mean_time_on_site_seconds', mean_time_on_site_seconds,
        'leads', toFloat64(leads),
        'lead_conversion_rate', lead_conversion_rate,
        {{template "to_next" 2}})),
    ('purchase', purchase_visitors, purchase_events, map(
        'orders', toFloat64(orders),
        'conversion_rate', conversion_rate,
        'aov', aov,
        'cart_abandonment_rate', cart_abandonment_rate,
        'checkout_abandonment_rate', checkout_abandonment_rate,
        {{template "to_next" 3}})),
    ('return', return_visitors, return_events, map(
        'retention_rate', retention_rate,
        'repeat_purchase_rate', repeat_purchase_rate,
        'csat', csat,
        'csat_responses', toFloat64(csat_responses),
        {{template "to_next" 4}})),
    ('advocacy', advocacy_visitors, advocacy_events, map(
        'referrals', toFloat64(referrals),
        'referral_rate', referral_rate,
        'nps', nps,
        'nps_responses', toFloat64(nps_responses),
        'social_shares', toFloat64(social_shares)))
] AS row
ORDER BY indexOf(['awareness', 'evaluation', 'purchase', 'return', 'advocacy'], stage)
