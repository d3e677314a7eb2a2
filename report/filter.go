package report

import (
	"fmt"
	"strings"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
)

// Filter narrows a report to what its defining event passes
// (sql/README.md, "Report filters"): a funnel unit by its earliest step-1
// event, a cart or checkout by its first event, a session (time on site,
// paths) by its first event, a conversion (attribution) by its order
// event, a retention unit by its cohort entry event, a customer (segments)
// by its first order, a traffic rollup row by its own channel and
// touchpoint. Where a report has a breakdown by channel or touchpoint, it
// reads the same event, so a filtered report is that breakdown's row; the
// events that only decide an outcome (orders, returns, later steps) are
// not filtered. The zero Filter keeps everything. Every value goes in as
// a query parameter.
type Filter struct {
	// Channels keeps an event whose traffic_channel is one of them; empty
	// keeps any.
	Channels []string
	// Touchpoints keeps an event whose touchpoint is one of them; empty
	// keeps any.
	Touchpoints []string
	// Where keeps an event whose properties have every one of them.
	Where []Property
}

// Property is a condition on an event's top-level property: Key's value,
// compared as a string (a JSON string by its value, any other JSON value by
// its JSON text; a missing property is ""), is Value.
type Property struct {
	Key, Value string
}

// IsZero reports whether f keeps everything.
func (f Filter) IsZero() bool {
	return len(f.Channels) == 0 && len(f.Touchpoints) == 0 && len(f.Where) == 0
}

// ParseWhere parses property conditions "k=v,k2=v2" (all must hold): the
// key trimmed and not empty, the value as written after the first "=" (it
// cannot hold a comma). Empty s is none.
func ParseWhere(s string) ([]Property, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Property
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("where %q: want key=value, comma-separated", part)
		}
		out = append(out, Property{Key: k, Value: v})
	}
	return out, nil
}

// params are the filter's query parameters (sql/queries/filters.sql), bound
// whether or not the query reads them.
func (f Filter) params() []any {
	keys := make([]string, len(f.Where))
	values := make([]string, len(f.Where))
	for i, p := range f.Where {
		keys[i], values[i] = p.Key, p.Value
	}
	return []any{
		chgo.Named("only_channels", nonNil(f.Channels)),
		chgo.Named("only_touchpoints", nonNil(f.Touchpoints)),
		chgo.Named("only_keys", keys),
		chgo.Named("only_values", values),
	}
}

// String describes f for people, as WriteFiltered heads a filtered
// report's table and HTML outputs: "channel Email or Paid Search; touchpoint app;
// plan=pro, country=DE"; "" for the zero Filter.
func (f Filter) String() string {
	var parts []string
	if len(f.Channels) > 0 {
		parts = append(parts, "channel "+strings.Join(f.Channels, " or "))
	}
	if len(f.Touchpoints) > 0 {
		parts = append(parts, "touchpoint "+strings.Join(f.Touchpoints, " or "))
	}
	if len(f.Where) > 0 {
		where := make([]string, len(f.Where))
		for i, p := range f.Where {
			where[i] = p.Key + "=" + p.Value
		}
		parts = append(parts, strings.Join(where, ", "))
	}
	return strings.Join(parts, "; ")
}
