package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/devstack"
	"github.com/touchstream/touchstream/generate"
	"github.com/touchstream/touchstream/processor"
)

// TestMain lets the test binary stand in for a processor process: with
// TOUCHSTREAM_E2E_PROCESSOR=1 it runs a processor (configured from the
// environment) until SIGTERM, so a test can start one as a child process
// and SIGKILL it.
func TestMain(m *testing.M) {
	if os.Getenv("TOUCHSTREAM_E2E_PROCESSOR") == "1" {
		if err := runChildProcessor(); err != nil {
			fmt.Fprintf(os.Stderr, "processor: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashAllowance is the lateness allowance of both processors of the crash
// test, as in startStack.
const crashAllowance = 30 * 24 * time.Hour

func crashProcessorConfig(brokers, group string, log *slog.Logger) processor.Config {
	cfg := processor.DefaultConfig()
	cfg.Brokers = []string{brokers}
	cfg.GroupID = group
	cfg.FlushInterval = 200 * time.Millisecond
	cfg.Session.Allowance = crashAllowance
	cfg.Logger = log
	return cfg
}

func runChildProcessor() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	dsn := os.Getenv("TOUCHSTREAM_CLICKHOUSE_DSN")
	conn, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	cfg := crashProcessorConfig(os.Getenv("TOUCHSTREAM_KAFKA_BROKERS"), os.Getenv("TOUCHSTREAM_PROCESSOR_GROUP"), log)
	proc, err := processor.New(cfg, clickhouse.NewSink(conn, clickhouse.SinkOptions{Database: os.Getenv("TOUCHSTREAM_E2E_DATABASE")}), prometheus.NewRegistry())
	if err != nil {
		return err
	}
	return proc.Run(ctx)
}

// startChild starts a processor child process and returns it with a
// channel closed once it has joined the group (its first partition runs).
// Lines of its log that say where a partition starts are added to starts.
func startChild(t *testing.T, addrs devstack.Addrs, starts *lines) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"TOUCHSTREAM_E2E_PROCESSOR=1",
		"TOUCHSTREAM_KAFKA_BROKERS="+addrs.Kafka,
		"TOUCHSTREAM_CLICKHOUSE_DSN="+addrs.ClickHouseDSN,
		"TOUCHSTREAM_E2E_DATABASE=touchstream",
		"TOUCHSTREAM_PROCESSOR_GROUP=crashing",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	joined := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "partition run started") && !once {
				once = true
				close(joined)
			}
			if strings.Contains(line, "partition run started") || !strings.Contains(line, "level=INFO") {
				starts.add(line)
			}
		}
	}()
	return cmd, joined
}

// lines collects log lines from the children, to log at the end.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) add(s string) { l.mu.Lock(); l.l = append(l.l, s); l.mu.Unlock() }

// TestProcessorCrashes SIGKILLs the processor several times while the
// events stream in and checks that what the reports read equals both the
// generator's answers and a fault-free processor's rows exactly (issue 5).
// The fault-free processor runs in this process, in its own consumer group,
// into its own database, over the same topic (so in the same order).
func TestProcessorCrashes(t *testing.T) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	addrs := startStackWithoutProcessor(t, 4, log)
	refDSN := startFaultFree(t, addrs, log)

	// The crashing run.
	starts := &lines{}
	child, joined := startChild(t, addrs, starts)

	world := generate.Generate(generate.Config{Visitors: 300, Seed: 7, Days: 7, WriteKey: "e2e"})
	want := world.Expected(nil, 0, 0)
	opts := generate.DefaultSendOptions()
	opts.WriteKey = "e2e"
	opts.Duplicate = 0.1
	opts.BatchSize = 10
	opts.Concurrency = 1
	opts.Progress = io.Discard
	var sendErr error
	var sent sync.WaitGroup
	sent.Add(1)
	sendStart := time.Now()
	go func() {
		defer sent.Done()
		_, sendErr = generate.Send(t.Context(), world, addrs.Collector, opts)
	}()

	conn, err := clickhouse.Open(t.Context(), addrs.ClickHouseDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	count := func() uint64 {
		var n uint64
		if err := conn.QueryRow(t.Context(), "SELECT count() FROM events FINAL").Scan(&n); err != nil {
			t.Fatalf("count: %v", err)
		}
		return n
	}
	// Kill the child three times, each time a second after it has joined
	// the group (so it is reading, replaying and writing), then let a
	// fourth one finish.
	for kill := 1; kill <= 3; kill++ {
		select {
		case <-joined:
		case <-time.After(60 * time.Second):
			t.Fatalf("kill %d: the processor did not join within 60s", kill)
		}
		time.Sleep(time.Second)
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		child.Wait()
		t.Logf("kill %d after %s: %d of %d events in ClickHouse", kill, time.Since(sendStart).Round(time.Millisecond), count(), want.Events)
		child, joined = startChild(t, addrs, starts)
	}
	sent.Wait()
	if sendErr != nil {
		t.Fatalf("send: %v", sendErr)
	}
	t.Logf("sent in %s", time.Since(sendStart).Round(time.Millisecond))

	waitFor(t, refDSN, want.Events, want.TimeOnSite.Sessions)
	waitFor(t, addrs.ClickHouseDSN, want.Events, want.TimeOnSite.Sessions)
	// Let the last batches of sessions (written last) land in both.
	time.Sleep(time.Second)
	starts.mu.Lock()
	for _, line := range starts.l {
		t.Logf("child: %s", line)
	}
	starts.mu.Unlock()
	checkReports(t, addrs.ClickHouseDSN, world, want)
	checkEnrichment(t, addrs.ClickHouseDSN)
	compareWithFaultFree(t, addrs.ClickHouseDSN)
	child.Process.Signal(syscall.SIGTERM)
	child.Wait()
}

// dump runs query and returns its rows, one string each.
func dump(t *testing.T, conn driver.Conn, query string) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	var out []string
	for rows.Next() {
		vals := make([]any, len(types))
		for i, ct := range types {
			vals[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		var b strings.Builder
		for i, v := range vals {
			fmt.Fprintf(&b, "%s=%v ", types[i].Name(), reflect.ValueOf(v).Elem().Interface())
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}
