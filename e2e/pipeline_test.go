package e2e

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"testing"
	"time"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/devstack"
	"github.com/touchstream/touchstream/generate"
	"github.com/touchstream/touchstream/report"
)

// startStack runs the whole pipeline on free loopback ports and returns
// where it listens. It stops when the test ends.
func startStack(t *testing.T) devstack.Addrs {
	t.Helper()
	cfg := devstack.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.KafkaListen = "127.0.0.1:0"
	cfg.ClickHouseListen = "127.0.0.1:0"
	cfg.CollectorListen = "127.0.0.1:0"
	cfg.Partitions = 4
	cfg.WriteKeys = []string{"e2e"}
	cfg.Processor.FlushInterval = 200 * time.Millisecond
	// The generated week arrives in a random order; a lateness allowance
	// longer than the week lets every event be sessionized.
	cfg.Processor.Session.Allowance = 30 * 24 * time.Hour
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
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
	stats, err := generate.Send(t.Context(), world, addrs.Collector, opts)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if stats.Duplicates == 0 {
		t.Fatal("no batch was sent twice; the duplicate path is untested")
	}
	waitFor(t, addrs.ClickHouseDSN, want.Events, want.TimeOnSite.Sessions)
	checkReports(t, addrs.ClickHouseDSN, world, want)
	checkEnrichment(t, addrs.ClickHouseDSN)
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

// checkReports runs the three reports over the world's whole range and
// compares them with the generator's answers: counts exactly, rates and
// durations to 1e-9.
func checkReports(t *testing.T, dsn string, world *generate.World, want generate.Expected) {
	t.Helper()
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cfg := world.Config
	opts := report.Options{From: cfg.Start, To: cfg.End().Add(48 * time.Hour), Steps: generate.DefaultSteps}

	f, err := report.Funnel(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Steps) != len(want.Funnel.Steps) {
		t.Fatalf("funnel: %d steps, want %d", len(f.Steps), len(want.Funnel.Steps))
	}
	for i, w := range want.Funnel.Steps {
		g := f.Steps[i]
		if g.Step != w.Step || int(g.Count) != w.Count || !near(g.ConversionFromStart, w.ConversionFromStart) || !near(g.ConversionFromPrevious, w.ConversionFromPrevious) {
			t.Errorf("funnel step %d: got %+v, want %+v", i+1, g, w)
		}
	}

	a, err := report.Abandonment(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	wc, wk := want.Abandonment.Cart, want.Abandonment.Checkout
	if int(a.Cart.Carts) != wc.Carts || int(a.Cart.Abandoned) != wc.Abandoned || int(a.Cart.Recovered) != wc.Recovered || !near(a.Cart.AbandonmentRate, wc.AbandonmentRate) {
		t.Errorf("cart abandonment: got %+v, want %+v", a.Cart, wc)
	}
	if int(a.Checkout.Checkouts) != wk.Checkouts || int(a.Checkout.Abandoned) != wk.Abandoned || int(a.Checkout.Recovered) != wk.Recovered || !near(a.Checkout.AbandonmentRate, wk.AbandonmentRate) {
		t.Errorf("checkout abandonment: got %+v, want %+v", a.Checkout, wk)
	}
	if wc.Abandoned == 0 || wc.Recovered == 0 || wk.Abandoned == 0 {
		t.Errorf("the generated world lacks abandoned or recovered carts: %+v %+v", wc, wk)
	}

	ts, err := report.TimeOnSite(t.Context(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	wt := want.TimeOnSite
	if int(ts.Sessions) != wt.Sessions || !near(ts.DurationSeconds.Mean, wt.DurationSeconds.Mean) ||
		!near(ts.DurationSeconds.Median, wt.DurationSeconds.Median) || !near(ts.DurationSeconds.P90, wt.DurationSeconds.P90) ||
		!near(ts.BounceRate, wt.BounceRate) || !near(ts.EngagementRate, wt.EngagementRate) {
		t.Errorf("time on site: got %+v, want %+v", *ts, wt)

		st, err := report.Stages(t.Context(), conn, opts)
		if err != nil {
			t.Fatal(err)
		}
		for name, w := range want.Stages.KPIs() {
			got, ok := 0.0, false
			for _, s := range st.Stages {
				if v, found := s.KPIs.Get(name); found {
					got, ok = v, true
				}
			}
			if !ok || !near(got, w) {
				t.Errorf("stages: %s = %v (reported %v), want %v", name, got, ok, w)
			}
		}
		if ws := want.Stages; ws.AdClicks == 0 || ws.Leads == 0 || ws.CSATResponses == 0 || ws.NPSResponses == 0 || ws.Referrals == 0 || ws.SocialShares == 0 {
			t.Errorf("the generated world lacks an omnichannel kind: %+v", ws)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
