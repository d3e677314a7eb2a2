package report

import (
	"context"
	"fmt"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// AbandonmentReport is the answer of `touchstream report abandonment`;
// sql/queries/abandonment.sql defines each number.
type AbandonmentReport struct {
	Cart     CartAbandonment     `json:"cart"`
	Checkout CheckoutAbandonment `json:"checkout"`
}

// CartAbandonment counts carts (a cart_id, else a session, with a
// 'Product Added').
type CartAbandonment struct {
	Carts           uint64  `json:"carts"`
	Abandoned       uint64  `json:"abandoned"`
	Recovered       uint64  `json:"recovered"`
	AbandonmentRate float64 `json:"abandonment_rate"`
}

// CheckoutAbandonment counts checkouts (a cart_id, else a session, with a
// 'Checkout Started').
type CheckoutAbandonment struct {
	Checkouts       uint64  `json:"checkouts"`
	Abandoned       uint64  `json:"abandoned"`
	Recovered       uint64  `json:"recovered"`
	AbandonmentRate float64 `json:"abandonment_rate"`
}

// Kind is KindAbandonment.
func (*AbandonmentReport) Kind() string { return KindAbandonment }

// Abandonment runs sql/queries/abandonment.sql: opts.From, To, Site and
// Within.
func Abandonment(ctx context.Context, conn driver.Conn, opts Options) (*AbandonmentReport, error) {
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("abandonment: %w", err)
	}
	within := opts.Within
	if within == 0 {
		within = DefaultWithin
	}
	if within < 0 {
		return nil, fmt.Errorf("abandonment: within %s is negative", within)
	}
	query, err := querySQL("abandonment")
	if err != nil {
		return nil, fmt.Errorf("abandonment: %w", err)
	}
	params := append(opts.rangeParams(), chgo.Named("within_seconds", seconds(within)))
	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		return nil, fmt.Errorf("abandonment: query: %w", err)
	}
	defer rows.Close()
	var (
		r    AbandonmentReport
		seen = map[string]bool{}
	)
	for rows.Next() {
		var (
			kind string
			c    CartAbandonment
		)
		if err := rows.Scan(&kind, &c.Carts, &c.Abandoned, &c.Recovered, &c.AbandonmentRate); err != nil {
			return nil, fmt.Errorf("abandonment: scan: %w", err)
		}
		switch kind {
		case "cart":
			r.Cart = c
		case "checkout":
			r.Checkout = CheckoutAbandonment{Checkouts: c.Carts, Abandoned: c.Abandoned,
				Recovered: c.Recovered, AbandonmentRate: c.AbandonmentRate}
		default:
			return nil, fmt.Errorf("abandonment: query returned kind %q", kind)
		}
		seen[kind] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("abandonment: query: %w", err)
	}
	if !seen["cart"] || !seen["checkout"] {
		return nil, fmt.Errorf("abandonment: query returned %d of the 2 rows", len(seen))
	}
	return &r, nil
}

func (r *AbandonmentReport) records() [][]string {
	return [][]string{
		{"kind", "started", "abandoned", "recovered", "abandonment_rate"},
		{"cart", formatUint(r.Cart.Carts), formatUint(r.Cart.Abandoned), formatUint(r.Cart.Recovered), formatFloat(r.Cart.AbandonmentRate)},
		{"checkout", formatUint(r.Checkout.Checkouts), formatUint(r.Checkout.Abandoned), formatUint(r.Checkout.Recovered), formatFloat(r.Checkout.AbandonmentRate)},
	}
}

func (r *AbandonmentReport) display() []table {
	return []table{{
		{"", "STARTED", "ABANDONED", "RECOVERED", "ABANDONMENT RATE"},
		{"carts", formatUint(r.Cart.Carts), formatUint(r.Cart.Abandoned), formatUint(r.Cart.Recovered), formatPercent(r.Cart.AbandonmentRate)},
		{"checkouts", formatUint(r.Checkout.Checkouts), formatUint(r.Checkout.Abandoned), formatUint(r.Checkout.Recovered), formatPercent(r.Checkout.AbandonmentRate)},
	}}
}
