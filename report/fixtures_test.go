package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// touch is one row of sessions with the columns attribution reads.
type touch struct {
	id, visitor                                   string
	start                                         time.Time
	channel, source, medium, campaign, touchpoint string
	deleted                                       bool
}

// insertTouches inserts sessions (version 1, or 2 for a tombstone).
func insertTouches(t *testing.T, conn driver.Conn, rows ...touch) {
	t.Helper()
	var values []string
	for _, r := range rows {
		version, deleted := 1, 0
		if r.deleted {
			version, deleted = 2, 1
		}
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %d, %d)",
			sqlString(r.id), sqlString(r.visitor), sqlTime(r.start), sqlTime(r.start.Add(time.Minute)),
			sqlString(r.channel), sqlString(r.source), sqlString(r.medium), sqlString(r.campaign),
			sqlString(r.touchpoint), sqlString("/"), version, deleted))
	}
	exec(t, conn, "INSERT INTO sessions (session_id, visitor_id, start_time, end_time, traffic_channel, utm_source, utm_medium, utm_campaign, touchpoint, entry_page, version, is_deleted) VALUES "+
		strings.Join(values, ", "))
}

// rich is one row of events with the columns the customer reports read;
// name defaults to 'Order Completed', typ to 'track'.
type rich struct {
	id, visitor, user, name, typ string
	at                           time.Time
	revenue                      float64
	orderID, properties, site    string
}

// insertRich inserts events with one plain INSERT ... VALUES statement.
func insertRich(t *testing.T, conn driver.Conn, rows ...rich) {
	t.Helper()
	var values []string
	for _, r := range rows {
		if r.name == "" && r.typ == "" {
			r.name = "Order Completed"
		}
		if r.typ == "" {
			r.typ = "track"
		}
		if r.properties == "" {
			r.properties = "{}"
		}
		values = append(values, fmt.Sprintf("(%s, %s, %s, %s, %s, %s, %v, %s, %s, %s)",
			sqlString(r.id), sqlTime(r.at), sqlString(r.name), sqlString(r.typ), sqlString(r.visitor),
			sqlString(r.user), r.revenue, sqlString(r.orderID), sqlString(r.properties), sqlString(r.site)))
	}
	exec(t, conn, "INSERT INTO events (message_id, event_time, event_name, type, visitor_id, user_id, revenue, order_id, properties, write_key) VALUES "+
		strings.Join(values, ", "))
}
