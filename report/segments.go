package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// SegmentNames are the RFM segments, in the report's order;
// sql/queries/segments.sql maps R and F scores to them.
var SegmentNames = []string{"Champions", "Loyal", "New", "Promising", "At risk", "Hibernating"}

// SegmentsReport is the answer of `touchstream report segments`:
// sql/queries/segments.sql defines each customer's numbers; the summary
// adds them up per segment. Its JSON is the summary; the customer list is
// what --format csv exports.
type SegmentsReport struct {
	// Customers is the number of customers (persons with an order).
	Customers uint64  `json:"customers"`
	Orders    uint64  `json:"orders"`
	Revenue   float64 `json:"revenue"`
	// Segments has one entry per name of SegmentNames, in that order.
	Segments []SegmentSummary `json:"segments"`
	// List is every customer, biggest revenue first.
	List []Customer `json:"-"`
}

// SegmentSummary adds up the customers of one RFM segment.
type SegmentSummary struct {
	Segment   string  `json:"segment"`
	Customers uint64  `json:"customers"`
	Share     float64 `json:"share"` // of all customers
	Orders    uint64  `json:"orders"`
	Revenue   float64 `json:"revenue"`
	AOV       float64 `json:"aov"` // revenue / orders
}

// Customer is one row of segments.sql.
type Customer struct {
	CustomerID  string
	VisitorIDs  []string
	UserID      string
	Email       string
	Orders      uint64
	Revenue     float64 // LTV in the range, net of refunds
	AOV         float64
	LastOrder   time.Time
	RecencyDays float64
	TopCategory string
	R, F, M     uint8
	Segment     string
}

// Kind is KindSegments.
func (*SegmentsReport) Kind() string { return KindSegments }

// Segments runs sql/queries/segments.sql: opts.From, To, Site and Filter.
// With a Filter a customer is kept when the event of its first order in the
// range (ties by message_id) passes; a kept customer's row is the
// unfiltered one (all its orders count, and its R, F, M rank it among all
// the customers of the range), so the filter only leaves customers out.
func Segments(ctx context.Context, conn driver.Conn, opts Options) (*SegmentsReport, error) {
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	query, err := filteredSQL("segments", opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	rows, err := conn.Query(ctx, query, opts.rangeParams()...)
	if err != nil {
		return nil, fmt.Errorf("segments: query: %w", err)
	}
	defer rows.Close()
	r := &SegmentsReport{Segments: make([]SegmentSummary, len(SegmentNames))}
	index := map[string]int{}
	for i, name := range SegmentNames {
		r.Segments[i].Segment = name
		index[name] = i
	}
	for rows.Next() {
		var c Customer
		if err := rows.Scan(&c.CustomerID, &c.VisitorIDs, &c.UserID, &c.Email, &c.Orders, &c.Revenue, &c.AOV,
			&c.LastOrder, &c.RecencyDays, &c.TopCategory, &c.R, &c.F, &c.M, &c.Segment); err != nil {
			return nil, fmt.Errorf("segments: scan: %w", err)
		}
		i, ok := index[c.Segment]
		if !ok {
			return nil, fmt.Errorf("segments: query returned segment %q, want one of %v", c.Segment, SegmentNames)
		}
		s := &r.Segments[i]
		s.Customers++
		s.Orders += c.Orders
		s.Revenue += c.Revenue
		r.Customers++
		r.Orders += c.Orders
		r.Revenue += c.Revenue
		r.List = append(r.List, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("segments: query: %w", err)
	}
	for i := range r.Segments {
		s := &r.Segments[i]
		if s.Orders > 0 {
			s.AOV = s.Revenue / float64(s.Orders)
		}
		if r.Customers > 0 {
			s.Share = float64(s.Customers) / float64(r.Customers)
		}
	}
	return r, nil
}

// records is the customer list, for email and SMS targeting.
func (r *SegmentsReport) records() [][]string {
	out := [][]string{{"customer_id", "visitor_ids", "user_id", "email", "orders", "revenue", "aov",
		"last_order", "recency_days", "top_category", "r", "f", "m", "segment"}}
	for _, c := range r.List {
		out = append(out, []string{c.CustomerID, strings.Join(c.VisitorIDs, " "), c.UserID, c.Email,
			formatUint(c.Orders), formatFloat(c.Revenue), formatFloat(c.AOV),
			c.LastOrder.UTC().Format("2006-01-02T15:04:05.000Z"), formatFloat(c.RecencyDays), c.TopCategory,
			formatUint(uint64(c.R)), formatUint(uint64(c.F)), formatUint(uint64(c.M)), c.Segment})
	}
	return out
}

func (r *SegmentsReport) display() []table {
	t := table{{"SEGMENT", "CUSTOMERS", "SHARE", "ORDERS", "REVENUE", "AOV"}}
	for _, s := range r.Segments {
		t = append(t, []string{s.Segment, formatUint(s.Customers), formatPercent(s.Share),
			formatUint(s.Orders), formatMoney(s.Revenue), formatMoney(s.AOV)})
	}
	aov := 0.0
	if r.Orders > 0 {
		aov = r.Revenue / float64(r.Orders)
	}
	t = append(t, []string{"all", formatUint(r.Customers), formatPercent(1), formatUint(r.Orders), formatMoney(r.Revenue), formatMoney(aov)})
	return []table{t}
}
