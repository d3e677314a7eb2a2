package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/devstack"
	"github.com/touchstream/touchstream/generate"
	"github.com/touchstream/touchstream/internal/expect"
	"github.com/touchstream/touchstream/report"
)

// runDemo is `make demo`: the embedded stack on free ports, a generated
// clickstream through the collector's HTTP API, the reports once it is all
// processed, out/report.html, then everything stops.
func runDemo(ctx context.Context, args []string) error {
	gen := generate.DefaultConfig()
	gen.Visitors = 2000
	gen.Days = 14
	out := "out"
	keep := false
	fs := newFlagSet("demo", "DEMO_")
	fs.Int(&gen.Visitors, "visitors", "generated visitors")
	fs.Int(&gen.Days, "days", "days of traffic, ending today")
	seed := int(gen.Seed)
	fs.Int(&seed, "seed", "generator seed")
	fs.String(&out, "out", "directory for report.html")
	fs.Bool(&keep, "keep", "keep the demo's ClickHouse data directory (its path is printed)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	gen.Seed = int64(seed)
	dataDir, err := os.MkdirTemp("", "touchstream-demo-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dataDir)
	}

	cfg := devstack.DefaultConfig()
	cfg.DataDir = dataDir
	cfg.KafkaListen, cfg.ClickHouseListen, cfg.CollectorListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.WriteKeys = []string{gen.WriteKey}
	cfg.Processor.FlushInterval = 250 * time.Millisecond
	// The demo replays days of history in seconds, so arrival order within a
	// partition jumps by hours; a lateness allowance covering the whole range
	// keeps every event sessionized (live traffic needs only the default).
	cfg.Processor.Session.Allowance = time.Duration(gen.Days+2) * 24 * time.Hour
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan devstack.Addrs, 1)
	stopped := make(chan error, 1)
	go func() { stopped <- devstack.Run(ctx, cfg, func(a devstack.Addrs) { ready <- a }) }()
	var addrs devstack.Addrs
	select {
	case addrs = <-ready:
	case err := <-stopped:
		return fmt.Errorf("start the embedded stack: %w", err)
	}
	fmt.Fprintf(os.Stderr, "demo: embedded stack up (collector %s, clickhouse %s, kafka %s)\n", addrs.Collector, addrs.ClickHouse, addrs.Kafka)

	world := generate.Generate(gen)
	want := world.Expected(nil, 0, 0)
	fmt.Fprintf(os.Stderr, "demo: sending %d events of %d visitors over %d days through the collector\n", want.Events, gen.Visitors, gen.Days)
	opts := generate.DefaultSendOptions()
	opts.WriteKey = gen.WriteKey
	opts.Progress = os.Stderr
	opts.LinkSecret = addrs.LinkSecret // email/SMS clicks through GET /r/{token}
	if _, err := generate.Send(ctx, world, addrs.Collector, opts); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	fmt.Fprintln(os.Stderr)

	conn, err := clickhouse.Open(ctx, addrs.ClickHouseDSN)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := waitProcessed(ctx, conn, want, os.Stderr); err != nil {
		return err
	}

	reportOpts := expect.Options(world)
	reportOpts.Detail = true           // the breakdowns, for the tables and report.html
	reportOpts.Trend = report.TrendDay // the funnel's conversion per day, for report.html
	var results []report.Result
	for _, kind := range report.Kinds {
		r, err := report.Run(ctx, conn, kind, reportOpts)
		if err != nil {
			return err
		}
		fmt.Printf("\n== %s ==\n", kind)
		if err := report.Write(os.Stdout, r, report.FormatTable); err != nil {
			return err
		}
		results = append(results, r)
	}
	if diff := expect.Diff(want, results...); len(diff) > 0 {
		return fmt.Errorf("the reports differ from the generator's answers:\n  %s", strings.Join(diff, "\n  "))
	}
	fmt.Printf("\nThe reports equal the generator's own answers (%d visitors, %d events, %d sessions).\n", want.Visitors, want.Events, want.TimeOnSite.Sessions)
	touched, err := checkAttribution(ctx, conn, reportOpts, results)
	if err != nil {
		return err
	}
	fmt.Printf("Every attribution model credits exactly the %d conversions with a touch in the lookback window.\n", touched)

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	page := filepath.Join(out, "report.html")
	f, err := os.Create(page)
	if err != nil {
		return err
	}
	if err := report.WritePage(f, "Touchstream demo", results...); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("Wrote %s\n", page)
	if keep {
		fmt.Printf("ClickHouse data kept in %s\n", dataDir)
	}
	cancel()
	if err := <-stopped; err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop the embedded stack: %w", err)
	}
	return nil
}

// waitProcessed polls ClickHouse until every generated event and session is
// there, with a progress line. It gives up when nothing moves for a minute.
func waitProcessed(ctx context.Context, conn driver.Conn, want generate.Expected, progress io.Writer) error {
	const stall = time.Minute
	var events, sessions, lastEvents, lastSessions uint64
	moved := time.Now()
	for {
		if err := conn.QueryRow(ctx, "SELECT (SELECT count() FROM events FINAL), (SELECT count() FROM sessions FINAL)").Scan(&events, &sessions); err != nil {
			return fmt.Errorf("count processed rows: %w", err)
		}
		if events != lastEvents || sessions != lastSessions {
			fmt.Fprintf(progress, "\rdemo: processed %d/%d events, %d/%d sessions", events, want.Events, sessions, want.TimeOnSite.Sessions)
			lastEvents, lastSessions, moved = events, sessions, time.Now()
		}
		if int(events) == want.Events && int(sessions) == want.TimeOnSite.Sessions {
			fmt.Fprintln(progress)
			return nil
		}
		if time.Since(moved) > stall {
			fmt.Fprintln(progress)
			return fmt.Errorf("processing stalled for %s at %d/%d events, %d/%d sessions", stall, events, want.Events, sessions, want.TimeOnSite.Sessions)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkAttribution checks the attribution report's invariant: under every
// model the credited conversions add up to the conversions with at least
// one touch (a session of the same visitor that started at most the
// lookback before the order). That number is counted here in Go from the
// raw orders and session starts, not by the report's SQL.
func checkAttribution(ctx context.Context, conn driver.Conn, opts report.Options, results []report.Result) (int, error) {
	var r *report.AttributionReport
	for _, res := range results {
		if a, ok := res.(*report.AttributionReport); ok {
			r = a
		}
	}
	if r == nil {
		return 0, errors.New("attribution: no attribution report")
	}
	lookback := time.Duration(r.LookbackSeconds) * time.Second
	starts := map[string][]time.Time{}
	rows, err := conn.Query(ctx, "SELECT visitor_id, start_time FROM sessions FINAL WHERE is_deleted = 0")
	if err != nil {
		return 0, fmt.Errorf("attribution check: sessions: %w", err)
	}
	for rows.Next() {
		var (
			visitor string
			start   time.Time
		)
		if err := rows.Scan(&visitor, &start); err != nil {
			rows.Close()
			return 0, fmt.Errorf("attribution check: sessions: %w", err)
		}
		starts[visitor] = append(starts[visitor], start)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("attribution check: sessions: %w", err)
	}
	rows, err = conn.Query(ctx, "SELECT visitor_id, event_time FROM events FINAL WHERE event_name = 'Order Completed'")
	if err != nil {
		return 0, fmt.Errorf("attribution check: orders: %w", err)
	}
	defer rows.Close()
	touched := 0
	for rows.Next() {
		var (
			visitor string
			at      time.Time
		)
		if err := rows.Scan(&visitor, &at); err != nil {
			return 0, fmt.Errorf("attribution check: orders: %w", err)
		}
		if at.Before(opts.From) || !at.Before(opts.To) {
			continue
		}
		for _, s := range starts[visitor] {
			if !s.After(at) && !s.Before(at.Add(-lookback)) {
				touched++
				break
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("attribution check: orders: %w", err)
	}
	if touched == 0 {
		return 0, errors.New("attribution check: no conversion with a touch in the demo data")
	}
	for _, m := range r.Models {
		credited := 0.0
		for _, row := range r.Rows {
			credited += row.Credit(m).Conversions
		}
		if !expect.Near(credited, float64(touched)) {
			return 0, fmt.Errorf("attribution %s credits %v conversions, want the %d with a touch", m, credited, touched)
		}
	}
	return touched, nil
}
