package report

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// AbandonmentReport is the answer of `touchstream report abandonment`;
// sql/queries/abandonment.sql defines each number, and its companion
// queries (abandonment_daily.sql, abandonment_channels.sql,
// abandonment_recovered_by.sql, abandoned_carts.sql) group the same carts.
type AbandonmentReport struct {
	Cart     CartAbandonment     `json:"cart"`
	Checkout CheckoutAbandonment `json:"checkout"`
	// Days has one entry per UTC day of the range, by cart time.
	Days []AbandonmentGroup `json:"days,omitempty"`
	// Channels has one entry per traffic channel of the carts' sessions,
	// most carts first.
	Channels []AbandonmentGroup `json:"channels,omitempty"`
	// RecoveredBy says what brought recovered carts and checkouts back: the
	// touchpoint and campaign of the session of the recovering order.
	RecoveredBy []Recovery `json:"recovered_by,omitempty"`
	// AbandonedCarts lists the abandoned carts (not checkouts) by cart time.
	AbandonedCarts []AbandonedCart `json:"abandoned_carts,omitempty"`
}

// AbandonmentGroup is the abandonment of the carts of one day or channel.
type AbandonmentGroup struct {
	// Day is the UTC day (2026-11-02) of the Days entries.
	Day string `json:"day,omitempty"`
	// Channel is the channel of the Channels entries ("(none)" if unknown).
	Channel  string              `json:"channel,omitempty"`
	Cart     CartAbandonment     `json:"cart"`
	Checkout CheckoutAbandonment `json:"checkout"`
}

// Recovery counts the carts or checkouts recovered through one touchpoint
// and campaign.
type Recovery struct {
	Kind       string `json:"kind"` // "cart" or "checkout"
	Touchpoint string `json:"touchpoint"`
	Campaign   string `json:"campaign"`
	Recovered  uint64 `json:"recovered"`
}

// AbandonedCart is one abandoned cart (sql/queries/abandoned_carts.sql).
type AbandonedCart struct {
	CartKey   string    `json:"cart_key"`
	VisitorID string    `json:"visitor_id"`
	UserID    string    `json:"user_id"`
	CartTime  time.Time `json:"cart_time"`
	Value     float64   `json:"value"`
	Items     float64   `json:"items"`
	Recovered bool      `json:"recovered"`
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

// Abandonment runs sql/queries/abandonment.sql, and with opts.Detail its
// companions: opts.From, To, Site, Within and Filter (a cart or checkout is
// kept when its first event passes the filter, its channel being the one
// of the channel breakdown; orders are not filtered).
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
	// With a filter, the carts whose first event passes it (abandonment.sql);
	// the companions splice this text, so they group the same carts.
	query, err := filteredSQL("abandonment", opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("abandonment: %w", err)
	}
	params := append(opts.rangeParams(), chgo.Named("within_seconds", seconds(within)))
	var (
		r     AbandonmentReport
		total AbandonmentGroup
		seen  = map[string]bool{}
	)
	err = scanRows(ctx, conn, query, params, func(rows driver.Rows) error {
		var (
			kind string
			c    CartAbandonment
		)
		if err := rows.Scan(&kind, &c.Carts, &c.Abandoned, &c.Recovered, &c.AbandonmentRate); err != nil {
			return err
		}
		seen[kind] = true
		return total.set(kind, c)
	})
	if err != nil {
		return nil, fmt.Errorf("abandonment: %w", err)
	}
	if !seen["cart"] || !seen["checkout"] {
		return nil, fmt.Errorf("abandonment: query returned %d of the 2 rows", len(seen))
	}
	r.Cart, r.Checkout = total.Cart, total.Checkout
	if !opts.Detail {
		return &r, nil
	}
	for _, step := range []struct {
		name string
		run  func(string) error
	}{
		{"abandonment_daily", func(q string) error { return r.scanDays(ctx, conn, q, params) }},
		{"abandonment_channels", func(q string) error { return r.scanChannels(ctx, conn, q, params) }},
		{"abandonment_recovered_by", func(q string) error { return r.scanRecoveredBy(ctx, conn, q, params) }},
		{"abandoned_carts", func(q string) error { return r.scanCarts(ctx, conn, q, params) }},
	} {
		q, err := companionSQL(query, outcomesEnd, step.name)
		if err == nil {
			err = step.run(q)
		}
		if err != nil {
			return nil, fmt.Errorf("abandonment: %s: %w", step.name, err)
		}
	}
	return &r, nil
}

// outcomesEnd is the line of abandonment.sql that ends its CTEs, the
// per-cart outcomes its companion queries group.
const outcomesEnd = "-- outcomes end"

// companionSQL is a companion query of base (the text of a query file): base
// up to its line marker, the CTEs that define the numbers, followed by
// sql/queries/<name>.sql, which only groups or lists their rows. So each
// number is defined once, in base.
func companionSQL(base, marker, name string) (string, error) {
	i := strings.Index(base, "\n"+marker+"\n")
	if i < 0 {
		return "", fmt.Errorf("query %s: base query has no line %q", name, marker)
	}
	tail, err := querySQL(name)
	if err != nil {
		return "", err
	}
	return base[:i+1] + tail, nil
}

// scanRows runs query and calls scan for each row.
func scanRows(ctx context.Context, conn driver.Conn, query string, params []any, scan func(driver.Rows) error) error {
	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return nil
}

// set puts the counts c of kind ("cart" or "checkout") into g.
func (g *AbandonmentGroup) set(kind string, c CartAbandonment) error {
	switch kind {
	case "cart":
		g.Cart = c
	case "checkout":
		g.Checkout = CheckoutAbandonment{Checkouts: c.Carts, Abandoned: c.Abandoned,
			Recovered: c.Recovered, AbandonmentRate: c.AbandonmentRate}
	default:
		return fmt.Errorf("query returned kind %q", kind)
	}
	return nil
}

// abandonmentGroupOf returns the entry of groups for key, appending it when it is new
// (rows come ordered by kind, so each key's cart and checkout rows meet
// here).
func abandonmentGroupOf(groups *[]AbandonmentGroup, index map[string]int, key string, newGroup func() AbandonmentGroup) *AbandonmentGroup {
	i, ok := index[key]
	if !ok {
		i = len(*groups)
		index[key] = i
		*groups = append(*groups, newGroup())
	}
	return &(*groups)[i]
}

// scanDays reads abandonment_daily.sql: kind, day, counts.
func (r *AbandonmentReport) scanDays(ctx context.Context, conn driver.Conn, query string, params []any) error {
	index := map[string]int{}
	return scanRows(ctx, conn, query, params, func(rows driver.Rows) error {
		var (
			kind string
			day  time.Time
			c    CartAbandonment
		)
		if err := rows.Scan(&kind, &day, &c.Carts, &c.Abandoned, &c.Recovered, &c.AbandonmentRate); err != nil {
			return err
		}
		d := day.Format(time.DateOnly)
		return abandonmentGroupOf(&r.Days, index, d, func() AbandonmentGroup { return AbandonmentGroup{Day: d} }).set(kind, c)
	})
}

// scanChannels reads abandonment_channels.sql: kind, channel, counts. The
// channels keep the order of the carts' rows (most carts first); a channel
// with checkouts only comes after them.
func (r *AbandonmentReport) scanChannels(ctx context.Context, conn driver.Conn, query string, params []any) error {
	index := map[string]int{}
	return scanRows(ctx, conn, query, params, func(rows driver.Rows) error {
		var (
			kind, channel string
			c             CartAbandonment
		)
		if err := rows.Scan(&kind, &channel, &c.Carts, &c.Abandoned, &c.Recovered, &c.AbandonmentRate); err != nil {
			return err
		}
		return abandonmentGroupOf(&r.Channels, index, channel, func() AbandonmentGroup { return AbandonmentGroup{Channel: channel} }).set(kind, c)
	})
}

// scanRecoveredBy reads abandonment_recovered_by.sql.
func (r *AbandonmentReport) scanRecoveredBy(ctx context.Context, conn driver.Conn, query string, params []any) error {
	return scanRows(ctx, conn, query, params, func(rows driver.Rows) error {
		var v Recovery
		if err := rows.Scan(&v.Kind, &v.Touchpoint, &v.Campaign, &v.Recovered); err != nil {
			return err
		}
		r.RecoveredBy = append(r.RecoveredBy, v)
		return nil
	})
}

// scanCarts reads abandoned_carts.sql.
func (r *AbandonmentReport) scanCarts(ctx context.Context, conn driver.Conn, query string, params []any) error {
	return scanRows(ctx, conn, query, params, func(rows driver.Rows) error {
		var (
			c         AbandonedCart
			recovered uint8
		)
		if err := rows.Scan(&c.CartKey, &c.VisitorID, &c.UserID, &c.CartTime, &c.Value, &c.Items, &recovered); err != nil {
			return err
		}
		c.CartTime = c.CartTime.UTC()
		c.Recovered = recovered == 1
		r.AbandonedCarts = append(r.AbandonedCarts, c)
		return nil
	})
}

func (r *AbandonmentReport) records() [][]string {
	return [][]string{
		{"kind", "started", "abandoned", "recovered", "abandonment_rate"},
		{"cart", formatUint(r.Cart.Carts), formatUint(r.Cart.Abandoned), formatUint(r.Cart.Recovered), formatFloat(r.Cart.AbandonmentRate)},
		{"checkout", formatUint(r.Checkout.Checkouts), formatUint(r.Checkout.Abandoned), formatUint(r.Checkout.Recovered), formatFloat(r.Checkout.AbandonmentRate)},
	}
}

// maxCartRows is how many abandoned carts the table and HTML formats show;
// JSON has them all, and so has CSV of AbandonedCartList.
const maxCartRows = 20

func (r *AbandonmentReport) display() []table {
	tables := []table{{
		{"", "STARTED", "ABANDONED", "RECOVERED", "ABANDONMENT RATE"},
		{"carts", formatUint(r.Cart.Carts), formatUint(r.Cart.Abandoned), formatUint(r.Cart.Recovered), formatPercent(r.Cart.AbandonmentRate)},
		{"checkouts", formatUint(r.Checkout.Checkouts), formatUint(r.Checkout.Abandoned), formatUint(r.Checkout.Recovered), formatPercent(r.Checkout.AbandonmentRate)},
	}}
	groups := func(first string, gs []AbandonmentGroup, key func(AbandonmentGroup) string) table {
		t := table{{first, "CARTS", "ABANDONED", "RECOVERED", "RATE", "CHECKOUTS", "ABANDONED", "RECOVERED", "RATE"}}
		for _, g := range gs {
			t = append(t, []string{key(g),
				formatUint(g.Cart.Carts), formatUint(g.Cart.Abandoned), formatUint(g.Cart.Recovered), formatPercent(g.Cart.AbandonmentRate),
				formatUint(g.Checkout.Checkouts), formatUint(g.Checkout.Abandoned), formatUint(g.Checkout.Recovered), formatPercent(g.Checkout.AbandonmentRate)})
		}
		return t
	}
	if len(r.Days) > 0 {
		tables = append(tables, groups("DAY", r.Days, func(g AbandonmentGroup) string { return g.Day }))
	}
	if len(r.Channels) > 0 {
		tables = append(tables, groups("CHANNEL", r.Channels, func(g AbandonmentGroup) string { return g.Channel }))
	}
	if len(r.RecoveredBy) > 0 {
		t := table{{"KIND", "RECOVERED THROUGH TOUCHPOINT", "CAMPAIGN", "RECOVERED"}}
		for _, v := range r.RecoveredBy {
			t = append(t, []string{v.Kind + "s", v.Touchpoint, v.Campaign, formatUint(v.Recovered)})
		}
		tables = append(tables, t)
	}
	if len(r.AbandonedCarts) > 0 {
		t := table{{"ABANDONED CART", "VISITOR", "USER", "CART TIME", "VALUE", "ITEMS", "RECOVERED"}}
		for i, c := range r.AbandonedCarts {
			if i == maxCartRows {
				t = append(t, []string{fmt.Sprintf("... %d more", len(r.AbandonedCarts)-maxCartRows), "-", "-", "-", "-", "-", "-"})
				break
			}
			t = append(t, cartRow(c, true))
		}
		tables = append(tables, t)
	}
	return tables
}

// cartRow is one abandoned cart's cells: for CSV, plain values (cart time
// in RFC 3339 with milliseconds, recovered 0 or 1); forPeople, an empty
// user as "-", the time to the second, the value with cents, yes or no.
func cartRow(c AbandonedCart, forPeople bool) []string {
	if forPeople {
		user, recovered := c.UserID, "no"
		if user == "" {
			user = "-"
		}
		if c.Recovered {
			recovered = "yes"
		}
		return []string{c.CartKey, c.VisitorID, user, c.CartTime.UTC().Format(time.DateTime),
			strconv.FormatFloat(c.Value, 'f', 2, 64), formatFloat(c.Items), recovered}
	}
	recovered := "0"
	if c.Recovered {
		recovered = "1"
	}
	return []string{c.CartKey, c.VisitorID, c.UserID, c.CartTime.UTC().Format(cartTimeLayout),
		formatFloat(c.Value), formatFloat(c.Items), recovered}
}

// cartTimeLayout prints a cart time in UTC with milliseconds.
const cartTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// AbandonedCartList is the abandoned-cart list of an abandonment report as
// a report of its own, so that Write prints it in any format: CSV gives
// one row per cart (cart_key, visitor_id, user_id, cart_time, value,
// items, recovered), for export to an email or SMS tool.
type AbandonedCartList struct {
	Carts []AbandonedCart `json:"abandoned_carts"`
}

// KindAbandonedCarts is the Kind of an AbandonedCartList.
const KindAbandonedCarts = "abandoned-carts"

// CartList returns r's abandoned carts as an AbandonedCartList.
func (r *AbandonmentReport) CartList() *AbandonedCartList {
	carts := r.AbandonedCarts
	if carts == nil {
		carts = []AbandonedCart{}
	}
	return &AbandonedCartList{Carts: carts}
}

// Kind is KindAbandonedCarts.
func (*AbandonedCartList) Kind() string { return KindAbandonedCarts }

func (l *AbandonedCartList) records() [][]string {
	rows := [][]string{{"cart_key", "visitor_id", "user_id", "cart_time", "value", "items", "recovered"}}
	for _, c := range l.Carts {
		rows = append(rows, cartRow(c, false))
	}
	return rows
}

func (l *AbandonedCartList) display() []table {
	t := table{{"ABANDONED CART", "VISITOR", "USER", "CART TIME", "VALUE", "ITEMS", "RECOVERED"}}
	for _, c := range l.Carts {
		t = append(t, cartRow(c, true))
	}
	return []table{t}
}
