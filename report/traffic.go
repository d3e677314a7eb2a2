package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ErrNotWholeDays is returned by Traffic when From or To is not a midnight
// (00:00 UTC): the rollup it reads has one row per day and cannot answer
// for part of one.
var ErrNotWholeDays = errors.New("not whole UTC days")

// ErrTrafficProperties is returned by Traffic when Options.Filter has
// property conditions (Where, `--where`): the rollup traffic_daily it reads
// keeps no event properties, only the channel and touchpoint it filters by.
var ErrTrafficProperties = errors.New("the traffic_daily rollup has no event properties: filter traffic by channel and touchpoint only")

// TrafficReport is the answer of `touchstream report traffic`: visitors,
// sessions, events, orders, revenue, customers and conversion rate per day
// and channel, read from the rollup traffic_daily, not from events.
// sql/queries/traffic_daily.sql defines each number of a channel row and
// traffic_totals.sql those of the totals. Orders and revenue are gross:
// every 'Order Completed' event counts, cancelled and refunded ones too,
// unlike the orders of attribution and segments (sql/README.md, "Rollups").
type TrafficReport struct {
	// From and To are the range's first day and the day after its last
	// (2026-11-01, 2026-12-01).
	From string `json:"from"`
	To   string `json:"to"`
	// Days are the days of the range that have events, oldest first.
	Days []TrafficDay `json:"days"`
	// Totals are the numbers over every day and channel of the range:
	// distinct counts, so a visitor who came on two days counts once.
	Totals TrafficNumbers `json:"totals"`
}

// TrafficDay is one UTC day of a TrafficReport.
type TrafficDay struct {
	// Day is the date, 2026-11-01.
	Day string `json:"day"`
	// Channels has one entry per traffic_channel with events that day,
	// ordered by channel ("" is an unknown channel).
	Channels []TrafficChannel `json:"channels"`
	// Total is the day's numbers over every channel: a visitor with
	// events of two channels counts once.
	Total TrafficNumbers `json:"total"`
}

// TrafficChannel is one channel's numbers on one day: the events of that
// day whose own traffic_channel is Channel.
type TrafficChannel struct {
	Channel string `json:"channel"`
	TrafficNumbers
}

// TrafficNumbers are the numbers of one group of events; traffic_daily.sql
// defines them.
type TrafficNumbers struct {
	Visitors  uint64  `json:"visitors"`
	Sessions  uint64  `json:"sessions"`
	Events    uint64  `json:"events"`
	Orders    uint64  `json:"orders"`
	Revenue   float64 `json:"revenue"`
	Customers uint64  `json:"customers"`
	// ConversionRate is Customers / Visitors (0 without visitors).
	ConversionRate float64 `json:"conversion_rate"`
}

// Kind is KindTraffic.
func (*TrafficReport) Kind() string { return KindTraffic }

// checkWholeDays refuses a range whose ends are not midnights UTC.
func checkWholeDays(from, to time.Time) error {
	for _, end := range []struct {
		name string
		t    time.Time
	}{{"from", from}, {"to", to}} {
		if u := end.t.UTC(); !u.Equal(u.Truncate(24 * time.Hour)) {
			return fmt.Errorf("%s %s: %w: the daily rollup needs a date or a time at 00:00 UTC", end.name, end.t.Format(time.RFC3339Nano), ErrNotWholeDays)
		}
	}
	return nil
}

// Traffic runs sql/queries/traffic_daily.sql and traffic_totals.sql:
// opts.From, To (both midnights UTC, else ErrNotWholeDays), Site and
// Filter. The filter keeps the rollup rows whose own traffic_channel and
// touchpoint pass, that is the events that pass, each by its own channel
// and touchpoint (an order too): the report filtered by channel X has, each
// day, the X row of the unfiltered report, and its totals are distinct
// counts over the kept rows. Filter.Where is refused
// (ErrTrafficProperties): the rollup has no properties.
func Traffic(ctx context.Context, conn driver.Conn, opts Options) (*TrafficReport, error) {
	if len(opts.Filter.Where) > 0 {
		return nil, fmt.Errorf("traffic: where %s=%s: %w", opts.Filter.Where[0].Key, opts.Filter.Where[0].Value, ErrTrafficProperties)
	}
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	if err := checkWholeDays(opts.From, opts.To); err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	r := &TrafficReport{From: opts.From.UTC().Format(time.DateOnly), To: opts.To.UTC().Format(time.DateOnly), Days: []TrafficDay{}}
	params := opts.rangeParams()

	daily, err := filteredSQL("traffic_daily", opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	rows, err := conn.Query(ctx, daily, params...)
	if err != nil {
		return nil, fmt.Errorf("traffic: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			day time.Time
			c   TrafficChannel
		)
		if err := rows.Scan(&day, &c.Channel, &c.Visitors, &c.Sessions, &c.Events, &c.Orders, &c.Revenue, &c.Customers, &c.ConversionRate); err != nil {
			return nil, fmt.Errorf("traffic: scan: %w", err)
		}
		d := day.Format(time.DateOnly)
		if n := len(r.Days); n == 0 || r.Days[n-1].Day != d {
			r.Days = append(r.Days, TrafficDay{Day: d, Channels: []TrafficChannel{}})
		}
		last := &r.Days[len(r.Days)-1]
		last.Channels = append(last.Channels, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("traffic: query: %w", err)
	}
	rows.Close()

	totals, err := filteredSQL("traffic_totals", opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	trows, err := conn.Query(ctx, totals, params...)
	if err != nil {
		return nil, fmt.Errorf("traffic: totals: %w", err)
	}
	defer trows.Close()
	i := 0
	for trows.Next() {
		var (
			isTotal uint8
			day     time.Time
			n       TrafficNumbers
		)
		if err := trows.Scan(&isTotal, &day, &n.Visitors, &n.Sessions, &n.Events, &n.Orders, &n.Customers, &n.Revenue, &n.ConversionRate); err != nil {
			return nil, fmt.Errorf("traffic: totals: scan: %w", err)
		}
		if isTotal == 1 {
			r.Totals = n
			continue
		}
		// Both queries list the days that have rows in the rollup, in order.
		if d := day.Format(time.DateOnly); i >= len(r.Days) || r.Days[i].Day != d {
			return nil, fmt.Errorf("traffic: totals: day %s has no channel rows", d)
		}
		r.Days[i].Total = n
		i++
	}
	if err := trows.Err(); err != nil {
		return nil, fmt.Errorf("traffic: totals: %w", err)
	}
	if i != len(r.Days) {
		return nil, fmt.Errorf("traffic: totals: %d days, the channel rows have %d", i, len(r.Days))
	}
	return r, nil
}

// allLabel marks a totals row in the CSV and the table.
const allLabel = "(all)"

func (n TrafficNumbers) record() []string {
	return []string{formatUint(n.Visitors), formatUint(n.Sessions), formatUint(n.Events), formatUint(n.Orders),
		formatFloat(n.Revenue), formatUint(n.Customers), formatFloat(n.ConversionRate)}
}

func (n TrafficNumbers) cells() []string {
	return []string{formatUint(n.Visitors), formatUint(n.Sessions), formatUint(n.Events), formatUint(n.Orders),
		formatMoney(n.Revenue), formatUint(n.Customers), formatPercent(n.ConversionRate)}
}

// records are the channel rows, each day's total (channel "(all)") after
// its channels, and the range total last (day and channel "(all)").
func (r *TrafficReport) records() [][]string {
	out := [][]string{{"day", "channel", "visitors", "sessions", "events", "orders", "revenue", "customers", "conversion_rate"}}
	for _, d := range r.Days {
		for _, c := range d.Channels {
			out = append(out, append([]string{d.Day, c.Channel}, c.record()...))
		}
		out = append(out, append([]string{d.Day, allLabel}, d.Total.record()...))
	}
	return append(out, append([]string{allLabel, allLabel}, r.Totals.record()...))
}

func (r *TrafficReport) display() []table {
	numbers := []string{"VISITORS", "SESSIONS", "EVENTS", "ORDERS (GROSS)", "REVENUE (GROSS)", "CUSTOMERS", "CONV RATE"}
	// The table names the last day of the range, not the day after it.
	last := r.To
	if to, err := time.Parse(time.DateOnly, r.To); err == nil {
		last = to.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	summary := table{append([]string{"DAYS"}, numbers...),
		append([]string{r.From + " .. " + last}, r.Totals.cells()...)}
	days := table{append([]string{"DAY", "CHANNEL"}, numbers...)}
	for _, d := range r.Days {
		for _, c := range d.Channels {
			name := c.Channel
			if name == "" {
				name = "(not set)"
			}
			days = append(days, append([]string{d.Day, name}, c.cells()...))
		}
		days = append(days, append([]string{d.Day, allLabel}, d.Total.cells()...))
	}
	return []table{summary, days}
}
