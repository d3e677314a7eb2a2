package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Attribution models (`touchstream report attribution --model`), in the
// order the report shows them; sql/queries/attribution.sql defines each.
const (
	ModelFirstTouch    = "first_touch"
	ModelLastNonDirect = "last_non_direct"
	ModelLinear        = "linear"
	ModelPositionBased = "position_based"
	ModelTimeDecay     = "time_decay"
	ModelAll           = "all" // every model side by side (the default)
)

// Models lists the attribution models in the report's order.
var Models = []string{ModelFirstTouch, ModelLastNonDirect, ModelLinear, ModelPositionBased, ModelTimeDecay}

// Attribution dimensions (`--dimension`): what one row of the report is.
const (
	DimensionChannel    = "channel" // the default: the touch's traffic_channel
	DimensionSource     = "source"
	DimensionMedium     = "medium"
	DimensionCampaign   = "campaign"
	DimensionTouchpoint = "touchpoint"
)

// Dimensions lists the attribution dimensions.
var Dimensions = []string{DimensionChannel, DimensionSource, DimensionMedium, DimensionCampaign, DimensionTouchpoint}

// DefaultLookback is the attribution lookback window.
const DefaultLookback = 30 * 24 * time.Hour

// AttributionReport is the answer of `touchstream report attribution`;
// sql/queries/attribution.sql and attribution_totals.sql define each number.
type AttributionReport struct {
	// Dimension is what a row is (DimensionChannel, ...).
	Dimension string `json:"dimension"`
	// By is ByPerson when the touches are the sessions of every visitor
	// of the converting visitor's person; empty (left out of the JSON)
	// for the default, the converting visitor's own sessions.
	By string `json:"by,omitempty"`
	// LookbackSeconds is the lookback window.
	LookbackSeconds uint64 `json:"lookback_seconds"`
	// Models are the models the rows carry, in order.
	Models []string `json:"models"`
	// Conversions and Revenue are all orders in the range: 'Order
	// Completed' events that are not cancelled, revenue net of refunds
	// (sql/README.md, "Orders, refunds and cancellations").
	Conversions uint64  `json:"conversions"`
	Revenue     float64 `json:"revenue"`
	// AttributedConversions and AttributedRevenue are those with at least
	// one touch: what every model's credits add up to.
	AttributedConversions uint64  `json:"attributed_conversions"`
	AttributedRevenue     float64 `json:"attributed_revenue"`
	// Rows has one entry per dimension value, ordered by value.
	Rows []AttributionRow `json:"rows"`
}

// AttributionRow is what the touches with one dimension value are credited
// with, under each model of the report (nil for a model not asked for).
type AttributionRow struct {
	Value         string  `json:"value"`
	FirstTouch    *Credit `json:"first_touch,omitempty"`
	LastNonDirect *Credit `json:"last_non_direct,omitempty"`
	Linear        *Credit `json:"linear,omitempty"`
	PositionBased *Credit `json:"position_based,omitempty"`
	TimeDecay     *Credit `json:"time_decay,omitempty"`
}

// Credit is the (fractional) conversions and the revenue a model credits.
type Credit struct {
	Conversions float64 `json:"conversions"`
	Revenue     float64 `json:"revenue"`
}

// Credit returns the row's credit under model (nil if not in the report).
func (r AttributionRow) Credit(model string) *Credit {
	switch model {
	case ModelFirstTouch:
		return r.FirstTouch
	case ModelLastNonDirect:
		return r.LastNonDirect
	case ModelLinear:
		return r.Linear
	case ModelPositionBased:
		return r.PositionBased
	case ModelTimeDecay:
		return r.TimeDecay
	}
	return nil
}

// credit is Credit, zero for a model the row lacks.
func (r AttributionRow) credit(model string) Credit {
	if c := r.Credit(model); c != nil {
		return *c
	}
	return Credit{}
}

// Kind is KindAttribution.
func (*AttributionReport) Kind() string { return KindAttribution }

// ParseModel checks a --model value: one of Models or "all" ("" is all);
// a hyphen may stand for the underscore (last-non-direct).
func ParseModel(s string) (string, error) {
	m := strings.ReplaceAll(strings.ToLower(s), "-", "_")
	if m == "" || m == ModelAll || slices.Contains(Models, m) {
		if m == "" {
			m = ModelAll
		}
		return m, nil
	}
	return "", fmt.Errorf("model %q: want all or one of %s", s, strings.Join(Models, ", "))
}

// Attribution runs sql/queries/attribution.sql and, for the totals,
// attribution_totals.sql after attribution.sql's CTEs:
// opts.From, To, Site, Model, Lookback, Dimension, By and Filter. By
// ByPerson the touches of a conversion are the sessions of every visitor of
// the converting visitor's person (the persons view), not only its own.
// With a Filter a conversion is kept when its order event (the 'Order
// Completed' event, by its own traffic_channel, touchpoint and properties)
// passes; its touches are not filtered, and every model's credits and the
// totals are of the kept conversions.
func Attribution(ctx context.Context, conn driver.Conn, opts Options) (*AttributionReport, error) {
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("attribution: %w", err)
	}
	model, err := ParseModel(opts.Model)
	if err != nil {
		return nil, fmt.Errorf("attribution: %w", err)
	}
	dimension := opts.Dimension
	if dimension == "" {
		dimension = DimensionChannel
	}
	if !slices.Contains(Dimensions, dimension) {
		return nil, fmt.Errorf("attribution: dimension %q: want one of %s", dimension, strings.Join(Dimensions, ", "))
	}
	by, err := checkBy(opts.By, ByVisitor, ByPerson) // a session converts once: nothing to attribute across
	if err != nil {
		return nil, fmt.Errorf("attribution: %w", err)
	}
	lookback := opts.Lookback
	if lookback == 0 {
		lookback = DefaultLookback
	}
	if lookback < 0 {
		return nil, fmt.Errorf("attribution: lookback %s is negative", lookback)
	}
	r := &AttributionReport{Dimension: dimension, LookbackSeconds: seconds(lookback), Models: Models, Rows: []AttributionRow{}}
	if model != ModelAll {
		r.Models = []string{model}
	}
	if by == ByPerson {
		r.By = ByPerson
	}
	params := append(opts.rangeParams(), chgo.Named("lookback_seconds", r.LookbackSeconds), chgo.Named("by", by),
		chgo.Named("dimension", dimension))

	// With a filter, the conversions whose order event passes it
	// (attribution.sql); the totals run after this text, so they count the
	// same conversions.
	query, err := filteredSQL("attribution", opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("attribution: %w", err)
	}
	totals, err := companionSQL(query, creditsEnd, "attribution_totals")
	if err != nil {
		return nil, fmt.Errorf("attribution: %w", err)
	}
	err = conn.QueryRow(ctx, totals, params...).Scan(&r.Conversions, &r.Revenue, &r.AttributedConversions, &r.AttributedRevenue)
	if err != nil {
		return nil, fmt.Errorf("attribution: totals: %w", err)
	}

	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		return nil, fmt.Errorf("attribution: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			row AttributionRow
			c   [5]Credit
		)
		if err := rows.Scan(&row.Value, &c[0].Conversions, &c[0].Revenue, &c[1].Conversions, &c[1].Revenue,
			&c[2].Conversions, &c[2].Revenue, &c[3].Conversions, &c[3].Revenue, &c[4].Conversions, &c[4].Revenue); err != nil {
			return nil, fmt.Errorf("attribution: scan: %w", err)
		}
		keep := func(m string, c *Credit) *Credit {
			if slices.Contains(r.Models, m) {
				return c
			}
			return nil
		}
		row.FirstTouch = keep(ModelFirstTouch, &c[0])
		row.LastNonDirect = keep(ModelLastNonDirect, &c[1])
		row.Linear = keep(ModelLinear, &c[2])
		row.PositionBased = keep(ModelPositionBased, &c[3])
		row.TimeDecay = keep(ModelTimeDecay, &c[4])
		r.Rows = append(r.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("attribution: query: %w", err)
	}
	return r, nil
}

// creditsEnd is the line of attribution.sql that ends its CTEs; the
// totals (attribution_totals.sql) count their conversions and journeys.
const creditsEnd = "-- credits end"

func (r *AttributionReport) records() [][]string {
	header := []string{r.Dimension}
	for _, m := range r.Models {
		header = append(header, m+"_conversions", m+"_revenue")
	}
	out := [][]string{header}
	for _, row := range r.Rows {
		rec := []string{row.Value}
		for _, m := range r.Models {
			c := row.credit(m)
			rec = append(rec, formatFloat(c.Conversions), formatFloat(c.Revenue))
		}
		out = append(out, rec)
	}
	return out
}

// modelLabels are the models' column headers in the table.
var modelLabels = map[string]string{
	ModelFirstTouch:    "FIRST TOUCH",
	ModelLastNonDirect: "LAST NON-DIRECT",
	ModelLinear:        "LINEAR",
	ModelPositionBased: "POSITION 40/20/40",
	ModelTimeDecay:     "TIME DECAY 7D",
}

func (r *AttributionReport) display() []table {
	summary := table{
		{"CONVERSIONS", "REVENUE", "ATTRIBUTED", "ATTRIBUTED REVENUE", "LOOKBACK"},
		{formatUint(r.Conversions), formatMoney(r.Revenue), formatUint(r.AttributedConversions),
			formatMoney(r.AttributedRevenue), formatLookback(r.LookbackSeconds)},
	}
	if r.By != "" {
		summary[0] = append(summary[0], "TOUCHES BY")
		summary[1] = append(summary[1], r.By)
	}
	header := []string{strings.ToUpper(r.Dimension)}
	for _, m := range r.Models {
		header = append(header, modelLabels[m]+" CONV", "REVENUE")
	}
	credits := table{header}
	for _, row := range r.Rows {
		line := []string{row.Value}
		for _, m := range r.Models {
			c := row.credit(m)
			line = append(line, fmt.Sprintf("%.2f", c.Conversions), formatMoney(c.Revenue))
		}
		credits = append(credits, line)
	}
	return []table{summary, credits}
}

// formatLookback prints whole days as "30d", anything else as a duration.
func formatLookback(s uint64) string {
	if s > 0 && s%86400 == 0 {
		return fmt.Sprintf("%dd", s/86400)
	}
	return formatSeconds(float64(s))
}
