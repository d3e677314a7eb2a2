package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/devstack"
	"github.com/touchstream/touchstream/generate"
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
}
