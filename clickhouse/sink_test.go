package clickhouse

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/pipeline"

	sqlfiles "github.com/touchstream/touchstream/sql"
)

// readEvents reads every event of database back with FINAL, ordered by
// message_id, into pipeline.Event.
func readEvents(t *testing.T, conn driver.Conn, database string) []pipeline.Event {
	t.Helper()
	rows, err := conn.Query(t.Context(), fmt.Sprintf(`SELECT
		message_id, event_time, received_at, type, event_name, touchpoint,
		visitor_id, user_id, session_id, stage, traffic_channel,
		utm_source, utm_medium, utm_campaign, click_id_type, click_id, page_url, page_path, referrer,
		library_name, device_type, browser, os, revenue, currency,
		order_id, cart_id, engagement_time_msec, properties, write_key
		FROM %s.events FINAL ORDER BY message_id`, quoteIdent(database)))
	if err != nil {
		t.Fatalf("select events: %v", err)
	}
	defer rows.Close()
	var out []pipeline.Event
	for rows.Next() {
		var (
			e          pipeline.Event
			engagement uint32
			properties string
		)
		if err := rows.Scan(&e.MessageID, &e.EventTime, &e.ReceivedAt, &e.Type, &e.EventName, &e.Touchpoint,
			&e.VisitorID, &e.UserID, &e.SessionID, &e.Stage, &e.Channel,
			&e.UTMSource, &e.UTMMedium, &e.UTMCampaign, &e.ClickIDType, &e.ClickID, &e.PageURL, &e.PagePath, &e.Referrer,
			&e.LibraryName, &e.DeviceType, &e.Browser, &e.OS, &e.Revenue, &e.Currency,
			&e.OrderID, &e.CartID, &engagement, &properties, &e.WriteKey); err != nil {
			t.Fatalf("scan event: %v", err)
		}
		e.EngagementMS = int64(engagement)
		if properties != "" {
			e.Properties = json.RawMessage(properties)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return out
}

func count(t *testing.T, conn driver.Conn, query string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestWriteEventsRoundTrip(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})

	berlin := time.FixedZone("CET", 3600)
	full := pipeline.Event{
		MessageID:    "msg-1",
		EventTime:    time.Date(2026, 11, 20, 10, 30, 15, 123_000_000, berlin),
		ReceivedAt:   time.Date(2026, 11, 20, 9, 30, 16, 456_000_000, time.UTC),
		Type:         pipeline.TypeTrack,
		EventName:    pipeline.EventOrderCompleted,
		Touchpoint:   pipeline.TouchpointEmail,
		VisitorID:    "anon-1",
		UserID:       "user-1",
		SessionID:    "sess-1",
		Stage:        "purchase",
		Channel:      "Email",
		UTMSource:    "newsletter",
		UTMMedium:    "email",
		UTMCampaign:  "black-friday",
		ClickIDType:  "gclid",
		ClickID:      "Cj0KCQiA-Ab_cD",
		PageURL:      "https://shop.example/checkout/done?x=1",
		PagePath:     "/checkout/done",
		Referrer:     "https://mail.example/",
		LibraryName:  "analytics.js",
		DeviceType:   "desktop",
		Browser:      "Firefox",
		OS:           "Linux",
		Revenue:      129.95,
		Currency:     "EUR",
		OrderID:      "order-9",
		CartID:       "cart-7",
		EngagementMS: 4321,
		Properties:   json.RawMessage(`{"order_id":"order-9","products":[{"sku":"a","price":129.95}],"note":"ünïcødé \"quoted\"\n\nblank lines"}`),
		WriteKey:     "dev",
	}
	bare := pipeline.Event{
		MessageID:  "msg-2",
		EventTime:  time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC),
		ReceivedAt: time.Date(2026, 11, 21, 0, 0, 1, 0, time.UTC),
		Type:       pipeline.TypePage,
		Touchpoint: pipeline.TouchpointWeb,
		VisitorID:  "anon-2",
	}
	if err := sink.WriteEvents(t.Context(), []pipeline.Event{full, bare}, "roundtrip-1"); err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}

	got := readEvents(t, conn, database)
	if len(got) != 2 {
		t.Fatalf("read %d events, want 2", len(got))
	}
	for i, want := range []pipeline.Event{full, bare} {
		g := got[i]
		if g.EventTime.Location() != time.UTC || g.ReceivedAt.Location() != time.UTC {
			t.Errorf("%s: times not in UTC: %v, %v", want.MessageID, g.EventTime.Location(), g.ReceivedAt.Location())
		}
		if !g.EventTime.Equal(want.EventTime) || !g.ReceivedAt.Equal(want.ReceivedAt) {
			t.Errorf("%s: times = %v, %v; want %v, %v", want.MessageID, g.EventTime, g.ReceivedAt, want.EventTime, want.ReceivedAt)
		}
		want.EventTime, want.ReceivedAt = want.EventTime.UTC(), want.ReceivedAt.UTC()
		if !reflect.DeepEqual(g, want) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", want.MessageID, g, want)
		}
	}
	// Empty properties are stored as "", not "null".
	if n := count(t, conn, fmt.Sprintf(`SELECT count() FROM %s.events WHERE message_id = 'msg-2' AND properties = ''`, quoteIdent(database))); n != 1 {
		t.Errorf("empty properties not stored as the empty string")
	}
}

func TestWriteEventsTruncatesToMilliseconds(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})
	at := time.Date(2026, 11, 20, 10, 0, 0, 123_456_789, time.UTC)
	ev := pipeline.Event{MessageID: "m", EventTime: at, ReceivedAt: at, Type: pipeline.TypeTrack, VisitorID: "v"}
	if err := sink.WriteEvents(t.Context(), []pipeline.Event{ev}, "ms"); err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}
	got := readEvents(t, conn, database)
	if len(got) != 1 || !got[0].EventTime.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("event_time = %v, want %v", got, at.Truncate(time.Millisecond))
	}
}

func TestWriteEventsSameTokenLandsOnce(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})
	batch := make([]pipeline.Event, 50)
	for i := range batch {
		batch[i] = pipeline.Event{
			MessageID:  fmt.Sprintf("m-%03d", i),
			EventTime:  time.Date(2026, 11, 20, 10, 0, i, 0, time.UTC),
			ReceivedAt: time.Date(2026, 11, 20, 10, 0, i, 1_000_000, time.UTC),
			Type:       pipeline.TypeTrack,
			EventName:  "Clicked",
			VisitorID:  fmt.Sprintf("v-%d", i%7),
		}
	}
	for range 2 {
		if err := sink.WriteEvents(t.Context(), batch, "partition-3/offsets-100-149"); err != nil {
			t.Fatalf("WriteEvents: %v", err)
		}
	}
	q := fmt.Sprintf(`SELECT count() FROM %s.events`, quoteIdent(database))
	if n := count(t, conn, q); n != uint64(len(batch)) {
		t.Errorf("count() after writing the batch twice with one token = %d, want %d", n, len(batch))
	}
	// The token, not the content, identifies the batch: a retry rebuilt
	// with a difference (here one changed field) still lands once.
	changed := slices.Clone(batch)
	changed[0].EventName = "Clicked Again"
	if err := sink.WriteEvents(t.Context(), changed, "partition-3/offsets-100-149"); err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}
	if n := count(t, conn, q); n != uint64(len(batch)) {
		t.Errorf("count() after a changed retry with the same token = %d, want %d", n, len(batch))
	}
	// The token is what deduplicates: the first half under another token
	// lands again (FINAL would fold those rows; count() without it does not).
	if err := sink.WriteEvents(t.Context(), batch[:25], "partition-3/offsets-100-124"); err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}
	if n := count(t, conn, q); n != uint64(len(batch)+25) {
		t.Errorf("count() after a batch with another token = %d, want %d", n, len(batch)+25)
	}
}

// TestWriteEventsDuplicatesInOneBatch: the Sink inserts events with
// optimize_on_insert = 0 (eventInsertSettings), so two copies of an event
// in one batch are both written as rows; what a reader sees (events FINAL,
// the traffic_daily rollup through traffic_daily.sql) must count the event
// once, as when the insert collapsed them.
func TestWriteEventsDuplicatesInOneBatch(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	order := pipeline.Event{MessageID: "o-1", EventTime: at, ReceivedAt: at.Add(time.Second),
		Type: pipeline.TypeTrack, EventName: pipeline.EventOrderCompleted, Touchpoint: pipeline.TouchpointWeb,
		VisitorID: "v1", SessionID: "s1", Channel: "Email", Revenue: 50, WriteKey: "wk"}
	page := pipeline.Event{MessageID: "p-1", EventTime: at.Add(time.Minute), ReceivedAt: at.Add(time.Minute),
		Type: pipeline.TypePage, Touchpoint: pipeline.TouchpointWeb,
		VisitorID: "v1", SessionID: "s1", Channel: "Email", WriteKey: "wk"}
	other := page // the same message_id from another visitor: another event
	other.VisitorID, other.SessionID = "v2", "s2"
	if err := sink.WriteEvents(t.Context(), []pipeline.Event{order, page, other, order, page}, "dup-1"); err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}
	// The block's copies are rows (with optimize_on_insert = 1 the insert
	// would have left 3): the setting is in effect.
	rows := fmt.Sprintf(`SELECT count() FROM %s.events`, quoteIdent(database))
	if n := count(t, conn, rows); n != 5 {
		t.Errorf("count() without FINAL = %d, want 5 (the batch's copies kept until a merge)", n)
	}
	// A redelivery in another batch, under another token.
	if err := sink.WriteEvents(t.Context(), []pipeline.Event{order}, "dup-2"); err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}
	if n := count(t, conn, rows); n != 6 {
		t.Errorf("count() without FINAL after the redelivery = %d, want 6", n)
	}

	got := readEvents(t, conn, database)
	slices.SortFunc(got, func(a, b pipeline.Event) int {
		return cmp.Or(cmp.Compare(a.MessageID, b.MessageID), cmp.Compare(a.VisitorID, b.VisitorID))
	})
	want := []pipeline.Event{order, page, other}
	if len(got) != len(want) {
		t.Fatalf("events FINAL: %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := got[i]
		g.EventTime, g.ReceivedAt = g.EventTime.UTC(), g.ReceivedAt.UTC()
		if !reflect.DeepEqual(g, want[i]) {
			t.Errorf("events FINAL row %d:\n got %+v\nwant %+v", i, g, want[i])
		}
	}

	query, err := sqlfiles.Query("traffic_daily", false)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: one day, channel Email; visitors v1 and v2, sessions s1 and
	// s2, three events, one order of 50 by v1.
	wantTraffic := []trafficRow{{Day: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Channel: "Email",
		Visitors: 2, Sessions: 2, Events: 3, Orders: 1, Customers: 1, Revenue: 50, ConversionRate: 0.5}}
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sameTraffic(t, "traffic_daily.sql", queryTraffic(t, conn, string(query), from, to, "wk"), wantTraffic)
	sameTraffic(t, "events FINAL", queryTraffic(t, conn, fromEventsFinal, from, to, "wk"), wantTraffic)
}

// TestEventsInsertWritesCompactParts: migration 00008 raises events'
// min_bytes_for_wide_part to 64 MiB, so a processor-sized batch (40,000
// events, more than ClickHouse's default threshold of 10 MiB) becomes one
// Compact part, and reads back whole.
func TestEventsInsertWritesCompactParts(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})
	const n = 40000
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	batch := make([]pipeline.Event, n)
	var revenue float64
	for i := range batch {
		batch[i] = pipeline.Event{
			MessageID: fmt.Sprintf("m-%05d", i), EventTime: at.Add(time.Duration(i) * time.Second), ReceivedAt: at,
			Type: pipeline.TypeTrack, EventName: "Product Viewed", Touchpoint: pipeline.TouchpointWeb,
			VisitorID: fmt.Sprintf("visitor-%04d", i/10), SessionID: fmt.Sprintf("session-%04d", i/10),
			PageURL:    fmt.Sprintf("https://shop.example/products/item-%d?ref=newsletter", i%500),
			PagePath:   fmt.Sprintf("/products/item-%d", i%500),
			Referrer:   "https://www.google.com/search?q=shoes",
			Properties: json.RawMessage(fmt.Sprintf(`{"product_id":"p-%d","price":19.9,"currency":"EUR","category":"shoes"}`, i%500)),
			Revenue:    float64(i % 7), WriteKey: "wk",
		}
		revenue += float64(i % 7)
	}
	if err := sink.WriteEvents(t.Context(), batch, "compact-1"); err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}
	var (
		parts, compact, rows, bytes uint64
	)
	if err := conn.QueryRow(t.Context(), `SELECT count(), countIf(part_type = 'Compact'), sum(rows), sum(data_uncompressed_bytes)
		FROM system.parts WHERE database = ? AND table = 'events' AND active`, database).Scan(&parts, &compact, &rows, &bytes); err != nil {
		t.Fatal(err)
	}
	if bytes <= 10<<20 {
		t.Fatalf("the batch is %d bytes uncompressed: too small to tell the threshold from the default of 10 MiB", bytes)
	}
	if parts != 1 || compact != 1 || rows != n {
		t.Errorf("events: %d parts, %d of them Compact, %d rows; want 1 Compact part of %d rows", parts, compact, rows, n)
	}
	var final uint64
	var sum float64
	if err := conn.QueryRow(t.Context(), fmt.Sprintf(`SELECT count(), sum(revenue) FROM %s.events FINAL`, quoteIdent(database))).Scan(&final, &sum); err != nil {
		t.Fatal(err)
	}
	if final != n || sum != revenue {
		t.Errorf("events FINAL: %d rows, revenue %v; want %d, %v", final, sum, n, revenue)
	}
}

func TestWriteEventsAcrossPartitions(t *testing.T) {
	t.Parallel()
	// events is partitioned by month: one batch becomes a part per month.
	// Every part must land the first time and none the second.
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})
	var batch []pipeline.Event
	for i, month := range []time.Month{time.October, time.November, time.December, time.November} {
		at := time.Date(2026, month, 28, 23, 59, 59, 999_000_000, time.UTC)
		batch = append(batch, pipeline.Event{
			MessageID: fmt.Sprintf("m-%d", i), EventTime: at, ReceivedAt: at,
			Type: pipeline.TypeTrack, EventName: "Same", VisitorID: "v",
		})
	}
	q := fmt.Sprintf(`SELECT count() FROM %s.events`, quoteIdent(database))
	for run := 1; run <= 2; run++ {
		if err := sink.WriteEvents(t.Context(), batch, "multi-month"); err != nil {
			t.Fatalf("WriteEvents: %v", err)
		}
		if n := count(t, conn, q); n != uint64(len(batch)) {
			t.Errorf("write %d: count() = %d, want %d", run, n, len(batch))
		}
	}
	// Another batch whose parts equal some of the first one's under a
	// different token lands.
	if err := sink.WriteEvents(t.Context(), batch[:2], "multi-month-2"); err != nil {
		t.Fatalf("WriteEvents: %v", err)
	}
	if n := count(t, conn, q); n != uint64(len(batch)+2) {
		t.Errorf("count() = %d, want %d", n, len(batch)+2)
	}
}

// TestEventsFinalByDay: the deduplication key of events is
// (toDate(event_time), visitor_id, message_id) (migration 00011). A retry
// the collector timed differently (another clock-skew correction) but on
// the same UTC day collapses under FINAL into the newest version; one whose
// time moved past midnight is a second event, on the next day, under FINAL
// as after a merge, and as in the rollup traffic_daily, which counts
// events per day (sql/README.md, "Table events").
func TestEventsFinalByDay(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})
	write := func(token string, evs ...pipeline.Event) {
		t.Helper()
		if err := sink.WriteEvents(t.Context(), evs, token); err != nil {
			t.Fatalf("WriteEvents %s: %v", token, err)
		}
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ev := func(id, when string) pipeline.Event {
		return pipeline.Event{MessageID: id, EventTime: at(when), ReceivedAt: at(when), Type: pipeline.TypeTrack, EventName: "Clicked", VisitorID: "v"}
	}
	// same: copies 3 s apart on one day; midnight: 2 ms apart across the
	// end of October, so in two days and two month partitions.
	write("first", ev("same", "2026-10-20T10:00:00Z"), ev("midnight", "2026-10-31T23:59:59.999Z"))
	write("retry", ev("same", "2026-10-20T10:00:03Z"), ev("midnight", "2026-11-01T00:00:00.001Z"))

	want := []string{
		"midnight 2026-10-31T23:59:59.999Z",
		"midnight 2026-11-01T00:00:00.001Z",
		"same 2026-10-20T10:00:03Z", // the newest write
	}
	final := func(when string) {
		t.Helper()
		var got []string
		for _, e := range readEvents(t, conn, database) {
			got = append(got, e.MessageID+" "+e.EventTime.UTC().Format(time.RFC3339Nano))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: events FINAL = %q, want %q", when, got, want)
		}
	}
	final("before a merge")
	if err := conn.Exec(t.Context(), fmt.Sprintf("OPTIMIZE TABLE %s.events FINAL", quoteIdent(database))); err != nil {
		t.Fatalf("optimize: %v", err)
	}
	if n := count(t, conn, fmt.Sprintf(`SELECT count() FROM %s.events`, quoteIdent(database))); n != 3 {
		t.Errorf("rows after OPTIMIZE FINAL = %d, want 3", n)
	}
	final("after a merge")
	// The rollup counts the same events on the same days.
	var days []string
	if err := conn.QueryRow(t.Context(), fmt.Sprintf(`SELECT groupArray(d) FROM (
		SELECT toString(day) || ':' || toString(uniqExactMerge(events)) AS d FROM %s.traffic_daily GROUP BY day ORDER BY day)`,
		quoteIdent(database))).Scan(&days); err != nil {
		t.Fatal(err)
	}
	if want := []string{"2026-10-20:1", "2026-10-31:1", "2026-11-01:1"}; !slices.Equal(days, want) {
		t.Errorf("traffic_daily events per day = %q, want %q", days, want)
	}
}

func TestWriteEmptyBatches(t *testing.T) {
	t.Parallel()
	// Nothing to write means no request at all, so even a sink on a
	// database that does not exist succeeds.
	conn, err := Open(t.Context(), testenv.ClickHouse(t)+"/default")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer conn.Close()
	sink := NewSink(conn, SinkOptions{Database: "no_such_database"})
	if err := sink.WriteEvents(t.Context(), nil, "t"); err != nil {
		t.Errorf("WriteEvents(nil): %v", err)
	}
	if err := sink.WriteSessions(t.Context(), nil, "t"); err != nil {
		t.Errorf("WriteSessions(nil): %v", err)
	}
}

// readSessions reads the sessions of database with FINAL, ordered by
// session_id.
func readSessions(t *testing.T, conn driver.Conn, database string) []pipeline.Session {
	t.Helper()
	rows, err := conn.Query(t.Context(), fmt.Sprintf(`SELECT
		session_id, visitor_id, user_id, start_time, end_time,
		events, page_views, engaged_msec, entry_page, exit_page,
		touchpoint, traffic_channel, utm_source, utm_medium, utm_campaign,
		device_type, conversions, revenue, version, is_deleted
		FROM %s.sessions FINAL ORDER BY session_id`, quoteIdent(database)))
	if err != nil {
		t.Fatalf("select sessions: %v", err)
	}
	defer rows.Close()
	var out []pipeline.Session
	for rows.Next() {
		var (
			s                              pipeline.Session
			events, pageViews, conversions uint32
			engaged                        uint64
			deleted                        uint8
		)
		if err := rows.Scan(&s.SessionID, &s.VisitorID, &s.UserID, &s.Start, &s.End,
			&events, &pageViews, &engaged, &s.EntryPage, &s.ExitPage,
			&s.Touchpoint, &s.Channel, &s.UTMSource, &s.UTMMedium, &s.UTMCampaign,
			&s.DeviceType, &conversions, &s.Revenue, &s.Version, &deleted); err != nil {
			t.Fatalf("scan session: %v", err)
		}
		s.Events, s.PageViews, s.Conversions = int(events), int(pageViews), int(conversions)
		s.EngagedMS = int64(engaged)
		s.Deleted = deleted != 0
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return out
}

func testSession(id string, version uint64) pipeline.Session {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	return pipeline.Session{
		SessionID:   id,
		VisitorID:   "anon-" + id,
		UserID:      "user-" + id,
		Start:       start,
		End:         start.Add(3*time.Minute + 250*time.Millisecond),
		Events:      5,
		PageViews:   3,
		EngagedMS:   61_500,
		EntryPage:   "/",
		ExitPage:    "/cart",
		Touchpoint:  pipeline.TouchpointWeb,
		Channel:     "Organic Search",
		UTMSource:   "google",
		UTMMedium:   "organic",
		UTMCampaign: "",
		DeviceType:  "mobile",
		Conversions: 0,
		Revenue:     0,
		Version:     version,
	}
}

func TestWriteSessionsRoundTrip(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})
	want := testSession("s1", 1)
	want.Conversions, want.Revenue, want.UTMCampaign = 1, 42.5, "spring"
	for range 2 {
		if err := sink.WriteSessions(t.Context(), []pipeline.Session{want}, "sessions-1"); err != nil {
			t.Fatalf("WriteSessions: %v", err)
		}
	}
	got := readSessions(t, conn, database)
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if n := count(t, conn, fmt.Sprintf(`SELECT count() FROM %s.sessions`, quoteIdent(database))); n != 1 {
		t.Errorf("count() after writing the batch twice with one token = %d, want 1", n)
	}
}

func TestWriteSessionsNewestVersionWins(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})

	v1 := testSession("s1", 1)
	v2 := testSession("s1", 2)
	v2.End = v2.End.Add(10 * time.Minute)
	v2.Events, v2.ExitPage = 9, "/checkout"
	other := testSession("s2", 1)
	// The newer version first, in its own batch: order of arrival must not
	// matter, only the version.
	if err := sink.WriteSessions(t.Context(), []pipeline.Session{v2, other}, "b1"); err != nil {
		t.Fatalf("WriteSessions: %v", err)
	}
	if err := sink.WriteSessions(t.Context(), []pipeline.Session{v1}, "b2"); err != nil {
		t.Fatalf("WriteSessions: %v", err)
	}
	got := readSessions(t, conn, database)
	if len(got) != 2 {
		t.Fatalf("FINAL returned %d sessions, want 2: %+v", len(got), got)
	}
	if !reflect.DeepEqual(got[0], v2) {
		t.Errorf("FINAL s1:\n got %+v\nwant %+v", got[0], v2)
	}

	// A tombstone with a newer version removes the session from FINAL.
	tomb := v2
	tomb.Deleted, tomb.Version = true, 3
	if err := sink.WriteSessions(t.Context(), []pipeline.Session{tomb}, "b3"); err != nil {
		t.Fatalf("WriteSessions tombstone: %v", err)
	}
	got = readSessions(t, conn, database)
	if len(got) != 1 || got[0].SessionID != "s2" {
		t.Errorf("after the tombstone FINAL returned %+v, want only s2", got)
	}
	// The rows are still there without FINAL (until a merge cleans up).
	if n := count(t, conn, fmt.Sprintf(`SELECT count() FROM %s.sessions WHERE session_id = 's1'`, quoteIdent(database))); n != 3 {
		t.Errorf("s1 has %d rows without FINAL, want 3", n)
	}
}

func TestSessionAliasColumns(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})

	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	mk := func(id string, d time.Duration, views, conversions int) pipeline.Session {
		return pipeline.Session{
			SessionID: id, VisitorID: "v", Start: start, End: start.Add(d),
			Events: max(views, 1), PageViews: views, Conversions: conversions,
			EngagedMS: 2_500, Version: 1,
		}
	}
	cases := []struct {
		session  pipeline.Session
		engaged  bool
		duration float64
	}{
		{mk("a-bounce", 0, 1, 0), false, 0},
		{mk("b-9999ms", 9_999*time.Millisecond, 1, 0), false, 9.999},
		{mk("c-10s", 10*time.Second, 1, 0), true, 10},
		{mk("d-2views", 2*time.Second, 2, 0), true, 2},
		{mk("e-conversion", 0, 0, 1), true, 0},
		{mk("f-all", 95*time.Second+500*time.Millisecond, 4, 2), true, 95.5},
	}
	sessions := make([]pipeline.Session, len(cases))
	for i, c := range cases {
		sessions[i] = c.session
		// The table agrees with the Go definition.
		if c.session.Engaged() != c.engaged {
			t.Fatalf("%s: pipeline.Session.Engaged() = %v, test wants %v", c.session.SessionID, c.session.Engaged(), c.engaged)
		}
	}
	if err := sink.WriteSessions(t.Context(), sessions, "alias"); err != nil {
		t.Fatalf("WriteSessions: %v", err)
	}
	rows, err := conn.Query(t.Context(), fmt.Sprintf(
		`SELECT session_id, duration_seconds, engaged_seconds, engaged FROM %s.sessions FINAL ORDER BY session_id`,
		quoteIdent(database)))
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var (
			id                string
			duration, engSecs float64
			engaged           uint8
		)
		if err := rows.Scan(&id, &duration, &engSecs, &engaged); err != nil {
			t.Fatalf("scan: %v", err)
		}
		c := cases[i]
		if id != c.session.SessionID {
			t.Fatalf("row %d is %s, want %s", i, id, c.session.SessionID)
		}
		if duration != c.duration {
			t.Errorf("%s: duration_seconds = %v, want %v", id, duration, c.duration)
		}
		if engSecs != 2.5 {
			t.Errorf("%s: engaged_seconds = %v, want 2.5", id, engSecs)
		}
		if (engaged == 1) != c.engaged {
			t.Errorf("%s: engaged = %d, want %v", id, engaged, c.engaged)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	if i != len(cases) {
		t.Errorf("read %d sessions, want %d", i, len(cases))
	}
}

func TestWriteToMissingDatabaseIsPermanent(t *testing.T) {
	t.Parallel()
	_, _, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: "no_such_database_" + t.Name()})
	ev := pipeline.Event{MessageID: "m", EventTime: time.Now(), ReceivedAt: time.Now(), Type: pipeline.TypeTrack, VisitorID: "v"}
	err := sink.WriteEvents(t.Context(), []pipeline.Event{ev}, "tok")
	if err == nil {
		t.Fatal("WriteEvents into a missing database succeeded")
	}
	var perm *PermanentError
	if !errors.As(err, &perm) {
		t.Fatalf("error is not a *PermanentError: %v", err)
	}
	t.Logf("error: %v", err)
	err = sink.WriteSessions(t.Context(), []pipeline.Session{testSession("s", 1)}, "tok")
	if !IsPermanent(err) {
		t.Fatalf("WriteSessions error is not permanent: %v", err)
	}
}

func TestWriteToStoppedServerIsRetryable(t *testing.T) {
	t.Parallel()
	// A server that has gone away: connection refused must be retryable.
	// Open would fail at its ping, so build the sink on a plain
	// clickhouse-go connection to a closed port (it connects lazily).
	opts, err := ParseDSN("http://127.0.0.1:1/default")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ch.Open(opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer conn.Close()
	sink := NewSink(conn, SinkOptions{Database: "touchstream"})
	ev := pipeline.Event{MessageID: "m", EventTime: time.Now(), ReceivedAt: time.Now(), Type: pipeline.TypeTrack, VisitorID: "v"}
	err = sink.WriteEvents(t.Context(), []pipeline.Event{ev}, "tok")
	if err == nil {
		t.Fatal("WriteEvents to a closed port succeeded")
	}
	if IsPermanent(err) {
		t.Errorf("connection refused is permanent: %v", err)
	}
	t.Logf("error: %v", err)
}

// TestSinkRelearnsColumnTypes checks that the Sink, which tells
// clickhouse-go the column types it learned on its first write instead of
// asking before every batch, still writes after a column changed type (the
// server converts the columns sent; should it refuse, send learns the
// types again and retries once).
func TestSinkRelearnsColumnTypes(t *testing.T) {
	t.Parallel()
	_, database, conn := migratedDB(t)
	sink := NewSink(conn, SinkOptions{Database: database})
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	event := func(id string) pipeline.Event {
		return pipeline.Event{MessageID: id, EventTime: at, ReceivedAt: at, Type: pipeline.TypePage,
			Touchpoint: pipeline.TouchpointWeb, VisitorID: "v-1", Browser: "Firefox"}
	}
	if err := sink.WriteEvents(t.Context(), []pipeline.Event{event("m-1")}, "relearn-1"); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if err := conn.Exec(t.Context(), fmt.Sprintf("ALTER TABLE %s.events MODIFY COLUMN browser String", quoteIdent(database))); err != nil {
		t.Fatalf("alter: %v", err)
	}
	if err := sink.WriteEvents(t.Context(), []pipeline.Event{event("m-2")}, "relearn-2"); err != nil {
		t.Fatalf("write after the columns changed type: %v", err)
	}
	if n := count(t, conn, fmt.Sprintf("SELECT count() FROM %s.events FINAL WHERE browser = 'Firefox'", quoteIdent(database))); n != 2 {
		t.Errorf("got %d events, want 2", n)
	}
}
