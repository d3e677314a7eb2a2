package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"text/template"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// stageNames are the journey stages in the order of the stages report
// (DESIGN.md section 5).
var stageNames = []string{"awareness", "evaluation", "purchase", "return", "advocacy"}

// StagesReport is the answer of `touchstream report stages`; its JSON is
// {"stages":[{"stage":"awareness","visitors":N,"events":N,"kpis":{"ctr":x,...}}, ...]}.
type StagesReport struct {
	// Stages has one entry per stage, in the order of stageNames.
	Stages []Stage `json:"stages"`
}

// Stage is one journey stage; sql/queries/stages.sql defines each number.
type Stage struct {
	Stage string `json:"stage"`
	// Visitors is the number of visitors with an event of the stage.
	Visitors uint64 `json:"visitors"`
	// Events is the number of events of the stage.
	Events uint64 `json:"events"`
	// KPIs are the stage's KPIs, in the order stages.sql gives them.
	KPIs KPIs `json:"kpis"`
}

// KPI is one named number.
type KPI struct {
	Name  string
	Value float64
}

// KPIs are named numbers in a fixed order; their JSON is an object with the
// keys in that order.
type KPIs []KPI

// Get returns the value of the KPI called name.
func (k KPIs) Get(name string) (float64, bool) {
	for _, kpi := range k {
		if kpi.Name == name {
			return kpi.Value, true
		}
	}
	return 0, false
}

// MarshalJSON writes {"name":value,...} in order.
func (k KPIs) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kpi := range k {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(kpi.Name)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(kpi.Value)
		if err != nil {
			return nil, fmt.Errorf("kpi %s: %w", kpi.Name, err)
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Kind is KindStages.
func (*StagesReport) Kind() string { return KindStages }

// Stages runs sql/queries/stages.sql: opts.From, To, Site and Within (for
// the cart and checkout abandonment of the purchase stage).
func Stages(ctx context.Context, conn driver.Conn, opts Options) (*StagesReport, error) {
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("stages: %w", err)
	}
	within := opts.Within
	if within == 0 {
		within = DefaultWithin
	}
	if within < 0 {
		return nil, fmt.Errorf("stages: within %s is negative", within)
	}
	query, err := stagesSQL(opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("stages: %w", err)
	}
	params := append(opts.rangeParams(), chgo.Named("within_seconds", seconds(within)))
	stages, err := readStages(ctx, conn, query, params...)
	if err != nil {
		return nil, err
	}
	r := &StagesReport{Stages: stages}
	if len(r.Stages) != len(stageNames) {
		return nil, fmt.Errorf("stages: query returned %d stages, want %d", len(r.Stages), len(stageNames))
	}
	for i, s := range r.Stages {
		if s.Stage != stageNames[i] {
			return nil, fmt.Errorf("stages: query returned stage %q at position %d, want %q", s.Stage, i+1, stageNames[i])
		}
	}
	return r, nil
}

// readStages runs query (stages.sql, or the view report_stages) and reads
// its rows: stage, visitors, events, kpis.
func readStages(ctx context.Context, conn driver.Conn, query string, params ...any) ([]Stage, error) {
	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		return nil, fmt.Errorf("stages: query: %w", err)
	}
	defer rows.Close()
	out := make([]Stage, 0, len(stageNames))
	for rows.Next() {
		var s Stage
		if err := rows.Scan(&s.Stage, &s.Visitors, &s.Events, &kpiScanner{&s.KPIs}); err != nil {
			return nil, fmt.Errorf("stages: scan: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stages: query: %w", err)
	}
	return out, nil
}

// stagesTemplate is stages.sql, parsed once.
var stagesTemplate = sync.OnceValues(func() (*template.Template, error) {
	return sqlfiles.Template("stages")
})

// stagesSQL renders stages.sql with abandonment.sql and time_on_site.sql
// as the bodies of its CTEs of the same names, and time_on_site.sql's WITH
// clause (up to its line scopeEnd: the sessions in scope) in front of the
// CTE `retention`'s SELECT. With filter f (not zero), the first two are
// their filtered texts and stages.sql its filtered variant, while the
// sessions behind retention_rate stay unfiltered (stages.sql keeps the
// kept visitors' sessions).
func stagesSQL(f Filter) (string, error) {
	t, err := stagesTemplate()
	if err != nil {
		return "", err
	}
	if t, err = sqlfiles.Variant(t, nil, !f.IsZero()); err != nil {
		return "", err
	}
	var data struct{ Abandonment, TimeOnSite, TimeOnSiteScope string }
	for _, q := range []struct {
		name string
		f    Filter
		dst  *string
	}{{"abandonment", f, &data.Abandonment}, {"time_on_site", f, &data.TimeOnSite}, {"time_on_site", Filter{}, &data.TimeOnSiteScope}} {
		text, err := filteredSQL(q.name, q.f)
		if err != nil {
			return "", err
		}
		// A statement's closing semicolon would end the CTE early.
		*q.dst = strings.TrimRight(strings.TrimSpace(text), "; \t\r\n")
	}
	i := strings.Index(data.TimeOnSiteScope, "\n"+scopeEnd+"\n")
	if i < 0 {
		return "", fmt.Errorf("render stages.sql: time_on_site.sql has no line %q", scopeEnd)
	}
	data.TimeOnSiteScope = data.TimeOnSiteScope[:i+1]
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render stages.sql: %w", err)
	}
	return b.String(), nil
}

// kpiScanner reads a Map(String, Float64) column into KPIs, keeping the
// order of the map's keys (column.IterableOrderedMap).
type kpiScanner struct{ kpis *KPIs }

var _ column.IterableOrderedMap = (*kpiScanner)(nil)

func (s *kpiScanner) Put(key, value any) {
	name, _ := key.(string)
	v, _ := value.(float64)
	*s.kpis = append(*s.kpis, KPI{Name: name, Value: v})
}

// Iterator is required by column.IterableOrderedMap; the driver uses it
// only to send a map, which the report never does.
func (s *kpiScanner) Iterator() column.MapIterator { return &kpiIterator{kpis: *s.kpis, i: -1} }

type kpiIterator struct {
	kpis KPIs
	i    int
}

func (it *kpiIterator) Next() bool { it.i++; return it.i < len(it.kpis) }
func (it *kpiIterator) Key() any   { return it.kpis[it.i].Name }
func (it *kpiIterator) Value() any { return it.kpis[it.i].Value }

// kpiFormats say how the table shows each KPI; others are plain numbers.
var kpiFormats = map[string]struct {
	label  string
	format func(float64) string
}{
	"sessions":                  {"sessions", formatFloat},
	"ad_impressions":            {"ad impressions", formatFloat},
	"ad_clicks":                 {"ad clicks", formatFloat},
	"ctr":                       {"CTR", formatPercent},
	"engagement_rate":           {"engagement rate", formatPercent},
	"mean_time_on_site_seconds": {"time on site (mean)", formatSeconds},
	"leads":                     {"leads", formatFloat},
	"lead_conversion_rate":      {"lead conversion rate", formatPercent},
	"orders":                    {"orders", formatFloat},
	"conversion_rate":           {"conversion rate", formatPercent},
	"aov":                       {"AOV", formatMoney},
	"cart_abandonment_rate":     {"cart abandonment", formatPercent},
	"checkout_abandonment_rate": {"checkout abandonment", formatPercent},
	"retention_rate":            {"retention rate", formatPercent},
	"repeat_purchase_rate":      {"repeat purchase rate", formatPercent},
	"csat":                      {"CSAT", formatScore},
	"csat_responses":            {"CSAT responses", formatFloat},
	"referrals":                 {"referrals", formatFloat},
	"referral_rate":             {"referral rate", formatPercent},
	"nps":                       {"NPS", formatScore},
	"nps_responses":             {"NPS responses", formatFloat},
	"social_shares":             {"social shares", formatFloat},
	"visitors_to_next":          {"went on to the next stage", formatFloat},
	"conversion_to_next":        {"conversion to the next stage", formatPercent},
	"median_seconds_to_next":    {"time to the next stage (median)", formatSeconds},
}

// formatMoney prints an amount with two decimals.
func formatMoney(x float64) string { return fmt.Sprintf("%.2f", x) }

// formatScore prints a score out of 100 (CSAT, NPS) with one decimal.
func formatScore(x float64) string { return fmt.Sprintf("%.1f", x) }

func (r *StagesReport) records() [][]string {
	out := [][]string{{"stage", "visitors", "events", "kpi", "value"}}
	for _, s := range r.Stages {
		for _, kpi := range s.KPIs {
			out = append(out, []string{s.Stage, formatUint(s.Visitors), formatUint(s.Events), kpi.Name, formatFloat(kpi.Value)})
		}
	}
	return out
}

func (r *StagesReport) display() []table {
	out := table{{"STAGE", "VISITORS", "EVENTS", "KPI", "VALUE"}}
	for _, s := range r.Stages {
		row := []string{s.Stage, formatUint(s.Visitors), formatUint(s.Events), "", ""}
		if len(s.KPIs) == 0 {
			out = append(out, row)
		}
		for i, kpi := range s.KPIs {
			if i > 0 {
				row = []string{"", "", "", "", ""}
			}
			row[3], row[4] = kpi.Name, formatFloat(kpi.Value)
			if f, ok := kpiFormats[kpi.Name]; ok {
				row[3], row[4] = f.label, f.format(kpi.Value)
			}
			out = append(out, row)
		}
	}
	return []table{out}
}
