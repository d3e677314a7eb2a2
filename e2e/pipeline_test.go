package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/devstack"
	"github.com/touchstream/touchstream/generate"
	"github.com/touchstream/touchstream/internal/expect"
	"github.com/touchstream/touchstream/report"
)

// stackConfig is the e2e stack on free loopback ports: Kafka with the given
// partitions, ClickHouse in a temporary directory, the collector taking the
// write key "e2e", a processor flushing every 200 ms whose lateness
// allowance (30 days) covers the generated weeks even when they arrive in
// a random order.
func stackConfig(t *testing.T, partitions int, log *slog.Logger) devstack.Config {
	cfg := devstack.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.KafkaListen = "127.0.0.1:0"
	cfg.ClickHouseListen = "127.0.0.1:0"
	cfg.CollectorListen = "127.0.0.1:0"
	cfg.Partitions = partitions
	cfg.WriteKeys = []string{"e2e"}
	cfg.Processor.FlushInterval = 200 * time.Millisecond
	cfg.Processor.Session.Allowance = 30 * 24 * time.Hour
	cfg.Logger = log
	return cfg
}

// runStack runs the stack of cfg and returns where it listens. It stops
// when the test ends.
func runStack(t *testing.T, cfg devstack.Config) devstack.Addrs {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan devstack.Addrs, 1)
	done := make(chan error, 1)
	go func() { done <- devstack.Run(ctx, cfg, func(a devstack.Addrs) { ready <- a }) }()
	var addrs devstack.Addrs
	select {
	case addrs = <-ready:
	case err := <-done:
		t.Fatalf("stack failed to start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("stack did not start within 60s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stack: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("stack did not stop within 30s")
		}
	})
	return addrs
}

// startStack runs the whole pipeline, processor included.
func startStack(t *testing.T) devstack.Addrs {
	t.Helper()
	return runStack(t, stackConfig(t, 4, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
}

// waitFor polls ClickHouse until both counts reach what the world holds.
func waitFor(t *testing.T, dsn string, events, sessions int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	conn, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var gotEvents, gotSessions uint64
	for {
		if err := conn.QueryRow(ctx, "SELECT (SELECT count() FROM events FINAL), (SELECT count() FROM sessions FINAL)").Scan(&gotEvents, &gotSessions); err != nil {
			t.Fatalf("count: %v", err)
		}
		if int(gotEvents) == events && int(gotSessions) == sessions {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after 120s: %d events and %d sessions in ClickHouse, want %d and %d", gotEvents, gotSessions, events, sessions)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func TestPipelineEndToEnd(t *testing.T) {
	addrs := startStack(t)
	world := generate.Generate(generate.Config{Visitors: 300, Seed: 7, Days: 7, WriteKey: "e2e"})
	want := world.Expected(nil, 0, 0)
	// Client retries send 10% of batches twice, and the batches go in a
	// shuffled order, so events arrive out of order.
	opts := generate.DefaultSendOptions()
	opts.WriteKey = "e2e"
	opts.Duplicate = 0.1
	opts.Shuffle = true
	opts.Progress = io.Discard
	opts.LinkSecret = addrs.LinkSecret // email/SMS clicks through GET /r/{token}
	stats, err := generate.Send(t.Context(), world, addrs.Collector, opts)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if stats.Duplicates == 0 {
		t.Fatal("no batch was sent twice; the duplicate path is untested")
	}
	if stats.Pixels == 0 || stats.Clicks == 0 || stats.SegmentClicks != 0 {
		t.Fatalf("email/SMS traffic: %d pixel opens, %d redirect clicks, %d clicks through the Segment API; want opens and clicks through their own endpoints", stats.Pixels, stats.Clicks, stats.SegmentClicks)
	}
	waitFor(t, addrs.ClickHouseDSN, want.Events, want.TimeOnSite.Sessions)
	checkReports(t, addrs.ClickHouseDSN, world, want)
	checkEnrichment(t, addrs.ClickHouseDSN)
	checkLibraries(t, addrs.ClickHouseDSN, map[string]int{"touchstream-redirect": stats.Clicks})
	checkDeadLetter(t, addrs)
}

// checkDeadLetter sends a batch whose one event the collector refuses and
// waits for its dead letter in rejected_events, the reason included.
func checkDeadLetter(t *testing.T, addrs devstack.Addrs) {
	t.Helper()
	body := `{"writeKey":"e2e","batch":[{"type":"track","anonymousId":"dead-letter-e2e","messageId":"dl-1"}]}`
	resp, err := http.Post(addrs.Collector+"/v1/batch", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), `"accepted":0`) {
		t.Fatalf("a batch of one bad event: %d %s", resp.StatusCode, answer)
	}
	conn, err := clickhouse.Open(t.Context(), addrs.ClickHouseDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n uint64
		var reason string
		err := conn.QueryRow(t.Context(), `SELECT count(), any(error) FROM rejected_events FINAL
			WHERE source = '/v1/batch' AND write_key = 'e2e' AND position(payload, 'dead-letter-e2e') > 0`).Scan(&n, &reason)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 && reason != "" {
			return
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("rejected_events: %d rows for the refused event (reason %q), want 1 within 30 s", n, reason)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkLibraries checks how many events each endpoint library stored.
func checkLibraries(t *testing.T, dsn string, want map[string]int) {
	t.Helper()
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for lib, n := range want {
		var got uint64
		if err := conn.QueryRow(t.Context(), "SELECT count() FROM events FINAL WHERE library_name = {lib:String}", chgo.Named("lib", lib)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != uint64(n) {
			t.Errorf("events with library_name %q: %d, want %d", lib, got, n)
		}
	}
}

// checkEnrichment checks the processor's channel and stage columns: every
// event has a channel, every order a purchase or return stage, every page
// view a stage, and every visitor with a staged event a first transition.
func checkEnrichment(t *testing.T, dsn string) {
	t.Helper()
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var noChannel, badOrders, orders, staged, visitorsStaged, firstTransitions uint64
	err = conn.QueryRow(t.Context(), `SELECT
		countIf(traffic_channel = ''),
		countIf(event_name = 'Order Completed' AND stage NOT IN ('purchase', 'return')),
		countIf(event_name = 'Order Completed'),
		countIf(stage != ''),
		uniqExactIf(visitor_id, stage != ''),
		(SELECT count() FROM stage_transitions FINAL WHERE from_stage = '')
		FROM events FINAL`).Scan(&noChannel, &badOrders, &orders, &staged, &visitorsStaged, &firstTransitions)
	if err != nil {
		t.Fatal(err)
	}
	if firstTransitions != visitorsStaged {
		rows, _ := conn.Query(t.Context(), `SELECT visitor_id, from_stage, to_stage, message_id, event_time FROM stage_transitions FINAL WHERE visitor_id IN (SELECT visitor_id FROM events FINAL WHERE stage != '' GROUP BY visitor_id HAVING visitor_id NOT IN (SELECT visitor_id FROM stage_transitions FINAL WHERE from_stage = '')) ORDER BY visitor_id, event_time LIMIT 20`)
		for rows.Next() {
			var v, f, to, m string
			var at time.Time
			rows.Scan(&v, &f, &to, &m, &at)
			t.Logf("%s %q -> %q %s %s", v, f, to, m, at)
		}
		rows.Close()
	}
	if noChannel != 0 || badOrders != 0 || orders == 0 || staged == 0 || firstTransitions != visitorsStaged {
		t.Errorf("enrichment: %d events without a channel, %d of %d orders outside purchase/return, %d staged events, %d staged visitors but %d first transitions",
			noChannel, badOrders, orders, staged, visitorsStaged, firstTransitions)
	}
}

// checkReports runs every report over the world's whole range and
// compares them with the generator's answers (internal/expect), and checks
// that the world holds every kind of case the answers are about.
func checkReports(t *testing.T, dsn string, world *generate.World, want generate.Expected) {
	t.Helper()
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var results []report.Result
	for _, kind := range report.Kinds {
		r, err := report.Run(t.Context(), conn, kind, expect.Options(world))
		if err != nil {
			t.Fatalf("report %s: %v", kind, err)
		}
		results = append(results, r)
	}
	for _, d := range expect.Diff(want, results...) {
		t.Error(d)
	}
	// The report filter against the generator's own answer: the visitors
	// whose first Product Viewed is of one category.
	for _, category := range []string{"shoes", "hats"} {
		opts := expect.Options(world)
		opts.Filter = report.Filter{Where: []report.Property{{Key: "category", Value: category}}}
		got, err := report.Funnel(t.Context(), conn, opts)
		if err != nil {
			t.Fatalf("funnel --where category=%s: %v", category, err)
		}
		wantFunnel := world.FunnelWhere(nil, 0, "category", category)
		if n := wantFunnel.Steps[0].Count; n == 0 || n >= want.Funnel.Steps[0].Count {
			t.Errorf("category %s: %d of %d visitors, want some but not all", category, n, want.Funnel.Steps[0].Count)
		}
		for _, d := range expect.Diff(generate.Expected{Funnel: wantFunnel}, got) {
			t.Errorf("funnel --where category=%s: %s", category, d)
		}
	}
	if wc, wk := want.Abandonment.Cart, want.Abandonment.Checkout; wc.Abandoned == 0 || wc.Recovered == 0 || wk.Abandoned == 0 {
		t.Errorf("the generated world lacks abandoned or recovered carts: %+v %+v", wc, wk)
	}
	if ws := want.Stages; ws.AdClicks == 0 || ws.Leads == 0 || ws.CSATResponses == 0 || ws.NPSResponses == 0 || ws.Referrals == 0 || ws.SocialShares == 0 {
		t.Errorf("the generated world lacks an omnichannel kind: %+v", ws)
	}
}
