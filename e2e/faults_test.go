package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/devstack"
	"github.com/touchstream/touchstream/generate"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/processor"
)

// startStackWithoutProcessor runs Kafka (with the given partitions),
// ClickHouse and the collector: the processors under test run as child
// processes. It stops when the test ends.
func startStackWithoutProcessor(t *testing.T, partitions int, log *slog.Logger) devstack.Addrs {
	t.Helper()
	cfg := stackConfig(t, partitions, log)
	cfg.Without = []string{devstack.PartProcessor}
	return runStack(t, cfg)
}

// startFaultFree runs a processor in this process, in its own consumer
// group, into the database faultfree, and returns that database's DSN. It
// stops when the test ends (before the stack does).
func startFaultFree(t *testing.T, addrs devstack.Addrs, log *slog.Logger) string {
	return startFaultFreeAllowance(t, addrs, log, 0)
}

// startFaultFreeAllowance is startFaultFree with the lateness allowance
// allowance (0: that of crashProcessorConfig).
func startFaultFreeAllowance(t *testing.T, addrs devstack.Addrs, log *slog.Logger, allowance time.Duration) string {
	t.Helper()
	refDSN := addrs.ClickHouse + "/faultfree"
	if err := clickhouse.Migrate(t.Context(), refDSN, log); err != nil {
		t.Fatal(err)
	}
	refConn, err := clickhouse.Open(t.Context(), refDSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg := crashProcessorConfig(addrs.Kafka, "faultfree", log)
	if allowance > 0 {
		cfg.Session.Allowance = allowance
	}
	ref, err := processor.New(cfg, clickhouse.NewSink(refConn, clickhouse.SinkOptions{Database: "faultfree"}), prometheus.NewRegistry())
	if err != nil {
		refConn.Close()
		t.Fatal(err)
	}
	refCtx, refStop := context.WithCancel(context.Background())
	refDone := make(chan error, 1)
	go func() { refDone <- ref.Run(refCtx) }()
	t.Cleanup(func() {
		refStop()
		if err := <-refDone; err != nil {
			t.Errorf("fault-free processor: %v", err)
		}
		refConn.Close()
	})
	return refDSN
}

// compareWithFaultFree checks that the rows of database touchstream equal
// those of database faultfree, table by table, read with FINAL.
func compareWithFaultFree(t *testing.T, dsn string) {
	t.Helper()
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"SELECT * EXCEPT (inserted_at) FROM %s.events FINAL ORDER BY visitor_id, message_id",
		"SELECT * EXCEPT (version) FROM %s.sessions FINAL ORDER BY visitor_id, session_id",
		"SELECT * EXCEPT (inserted_at) FROM %s.stage_transitions FINAL ORDER BY visitor_id, message_id",
		"SELECT * EXCEPT (inserted_at) FROM %s.identities FINAL ORDER BY visitor_id, user_id",
	} {
		got := dump(t, conn, fmt.Sprintf(q, "touchstream"))
		exp := dump(t, conn, fmt.Sprintf(q, "faultfree"))
		if len(got) == 0 && !strings.Contains(q, "identities") {
			t.Errorf("%s: no rows", q)
		}
		if slices.Equal(got, exp) {
			t.Logf("%s: %d rows, equal", strings.Fields(q)[5][3:], len(got))
			continue
		}
		n := 0
		for i := 0; i < max(len(got), len(exp)) && n < 10; i++ {
			var g, e string
			if i < len(got) {
				g = got[i]
			}
			if i < len(exp) {
				e = exp[i]
			}
			if g != e {
				t.Logf("row %d:\n faulty:     %s\n fault-free: %s", i, g, e)
				n++
			}
		}
		t.Errorf("%s: %d rows after the faults, %d in the fault-free run, or they differ", q, len(got), len(exp))
	}
}

// slowTransport delays every request, so that the generated traffic lasts
// long enough to overlap the faults.
type slowTransport struct{ delay time.Duration }

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-time.After(s.delay):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// faultWorld generates the world of the fault tests (as the crash test's)
// and starts sending it, in time order with 10% of the batches sent twice,
// each request delayed by delay. The returned function waits for the send
// to end and fails the test if it did not succeed.
func faultWorld(t *testing.T, collector string, delay time.Duration) (*generate.World, generate.Expected, func()) {
	t.Helper()
	world := generate.Generate(generate.Config{Visitors: 300, Seed: 7, Days: 7, WriteKey: "e2e"})
	want := world.Expected(nil, 0, 0)
	opts := generate.DefaultSendOptions()
	opts.WriteKey = "e2e"
	opts.Duplicate = 0.1
	opts.BatchSize = 10
	opts.Concurrency = 1
	opts.Progress = io.Discard
	opts.Client = &http.Client{Timeout: 30 * time.Second, Transport: slowTransport{delay}}
	var (
		stats   generate.SendStats
		sendErr error
		sent    sync.WaitGroup
	)
	sent.Add(1)
	start := time.Now()
	go func() {
		defer sent.Done()
		stats, sendErr = generate.Send(t.Context(), world, collector, opts)
	}()
	return world, want, func() {
		t.Helper()
		sent.Wait()
		if sendErr != nil {
			t.Fatalf("send: %v", sendErr)
		}
		if stats.Duplicates == 0 {
			t.Fatal("no batch was sent twice; the duplicate path is untested")
		}
		t.Logf("sent %d events in %s", want.Events, time.Since(start).Round(time.Millisecond))
	}
}

// waitJoined waits until a child has joined its group.
func waitJoined(t *testing.T, name string, joined <-chan struct{}) {
	t.Helper()
	select {
	case <-joined:
	case <-time.After(45 * time.Second):
		t.Fatalf("%s did not join within 45s", name)
	}
}

// stopChild sends a child SIGTERM and waits for it to exit cleanly.
func stopChild(t *testing.T, name string, child *exec.Cmd) {
	t.Helper()
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("%s exited with %v", name, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30s of SIGTERM", name)
	}
}

func logChildren(t *testing.T, l *lines) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.l {
		t.Logf("child: %s", line)
	}
}

// TestRebalance runs the processor as one to three members of a consumer
// group over 8 partitions while the events stream in: one member, then
// three (two join), then one again (two leave on SIGTERM). Every
// reassignment makes the new owner replay from the committed offset,
// rebuilding the state the old owner held. The rows must equal a
// fault-free processor's exactly, and the reports the generator's answers.
func TestRebalance(t *testing.T) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	addrs := startStackWithoutProcessor(t, 8, log)
	refDSN := startFaultFree(t, addrs, log)

	starts := &lines{}
	first, joined := startChild(t, addrs, starts)
	waitJoined(t, "member 1", joined)
	world, want, sendDone := faultWorld(t, addrs.Collector, 30*time.Millisecond)
	t0 := time.Now()

	time.Sleep(2 * time.Second)
	second, joined2 := startChild(t, addrs, starts)
	third, joined3 := startChild(t, addrs, starts)
	waitJoined(t, "member 2", joined2)
	waitJoined(t, "member 3", joined3)
	t.Logf("three members after %s", time.Since(t0).Round(time.Millisecond))

	time.Sleep(2 * time.Second)
	stopChild(t, "member 1", first)
	stopChild(t, "member 2", second)
	t.Logf("one member after %s", time.Since(t0).Round(time.Millisecond))

	sendDone()
	waitFor(t, refDSN, want.Events, want.TimeOnSite.Sessions)
	waitFor(t, addrs.ClickHouseDSN, want.Events, want.TimeOnSite.Sessions)
	// Let the last batches of sessions (written last) land in both.
	time.Sleep(time.Second)
	logChildren(t, starts)
	// The partitions were reassigned: several generations ran, and in the
	// last one the remaining member owns all 8.
	parts := make(map[int]map[int]bool) // generation -> partitions started
	starts.mu.Lock()
	for _, line := range starts.l {
		var gen, part int
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "generation="); ok {
				gen, _ = strconv.Atoi(v)
			}
			if v, ok := strings.CutPrefix(f, "partition="); ok {
				part, _ = strconv.Atoi(v)
			}
		}
		if strings.Contains(line, "partition run started") && gen > 0 {
			if parts[gen] == nil {
				parts[gen] = make(map[int]bool)
			}
			parts[gen][part] = true
		}
	}
	starts.mu.Unlock()
	last := slices.Max(slices.Collect(maps.Keys(parts)))
	t.Logf("partitions started by generation: %v", parts)
	if len(parts) < 3 || len(parts[last]) != 8 {
		t.Errorf("want at least 3 generations and all 8 partitions in the last, got %v", parts)
	}
	checkReports(t, addrs.ClickHouseDSN, world, want)
	checkEnrichment(t, addrs.ClickHouseDSN)
	compareWithFaultFree(t, addrs.ClickHouseDSN)
	stopChild(t, "member 3", third)
}

// chProxy forwards TCP connections to ClickHouse until stopped; a stopped
// proxy refuses connections (its port is closed) until started again on
// the same port.
type chProxy struct {
	target string
	addr   string // 127.0.0.1:0 until the first start

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

func (p *chProxy) start() error {
	var ln net.Listener
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.addr = ln.Addr().String()
	if p.conns == nil {
		p.conns = make(map[net.Conn]struct{})
	}
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	return nil
}

func (p *chProxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *chProxy) forward(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.track(c, true)
	p.track(u, true)
	defer func() {
		c.Close()
		u.Close()
		p.track(c, false)
		p.track(u, false)
	}()
	done := make(chan struct{}, 2)
	go func() { io.Copy(u, c); done <- struct{}{} }()
	go func() { io.Copy(c, u); done <- struct{}{} }()
	<-done
}

// stop closes the port and cuts every open connection, as a ClickHouse
// going down would.
func (p *chProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// committedOffsets returns the offsets group has committed on the events
// topic, by partition.
func committedOffsets(t *testing.T, kafkaAddr, group string, partitions int) map[int]int64 {
	t.Helper()
	ids := make([]int, partitions)
	for i := range ids {
		ids[i] = i
	}
	cl := &kafkago.Client{Addr: kafkago.TCP(kafkaAddr), Timeout: 10 * time.Second}
	res, err := cl.OffsetFetch(t.Context(), &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{pipeline.TopicEvents: ids}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	if res.Error != nil {
		t.Fatalf("offset fetch: %v", res.Error)
	}
	out := make(map[int]int64)
	for _, p := range res.Topics[pipeline.TopicEvents] {
		if p.Error != nil {
			t.Fatalf("offset fetch, partition %d: %v", p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// TestClickHouseOutage makes ClickHouse unreachable to the processor for
// a few seconds while events stream in: its connections are cut and its
// port refuses connections. The processor must keep retrying its batch
// with backoff (some writes are cut mid-request, so whether they landed is
// unknown and the retry must land once), commit nothing while ClickHouse is
// away, and once it is back write rows equal to a fault-free processor's,
// with the reports equal to the generator's answers. (With the crash test's
// 30-day allowance every visitor stays in the state, so the processor's
// committed offsets stay at the start of each partition throughout: the
// no-commit check cannot catch a premature commit here; the equal rows and
// the retries are what this test proves.)
func TestClickHouseOutage(t *testing.T) {
	const partitions = 4
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	addrs := startStackWithoutProcessor(t, partitions, log)
	refDSN := startFaultFree(t, addrs, log)

	proxy := &chProxy{target: strings.TrimPrefix(addrs.ClickHouse, "http://"), addr: "127.0.0.1:0"}
	if err := proxy.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.stop)
	viaProxy := addrs
	viaProxy.ClickHouse = "http://" + proxy.addr
	viaProxy.ClickHouseDSN = viaProxy.ClickHouse + "/touchstream"

	starts := &lines{}
	child, joined := startChild(t, viaProxy, starts)
	waitJoined(t, "the processor", joined)
	world, want, sendDone := faultWorld(t, addrs.Collector, 20*time.Millisecond)
	t0 := time.Now()

	conn, err := clickhouse.Open(t.Context(), addrs.ClickHouseDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	count := func() uint64 {
		var n uint64
		if err := conn.QueryRow(t.Context(), "SELECT count() FROM events").Scan(&n); err != nil {
			t.Fatalf("count: %v", err)
		}
		return n
	}

	time.Sleep(2 * time.Second)
	proxy.stop()
	t.Logf("ClickHouse down after %s: %d events written", time.Since(t0).Round(time.Millisecond), count())
	// A flush may have been between its write and its commit when the
	// connections were cut; let it finish.
	time.Sleep(time.Second)
	before, rowsBefore := committedOffsets(t, addrs.Kafka, "crashing", partitions), count()
	time.Sleep(4 * time.Second)
	after, rowsAfter := committedOffsets(t, addrs.Kafka, "crashing", partitions), count()
	if !maps.Equal(before, after) {
		t.Errorf("offsets committed while ClickHouse was down: %v, then %v", before, after)
	}
	if rowsBefore != rowsAfter {
		t.Errorf("events written while ClickHouse was down: %d, then %d", rowsBefore, rowsAfter)
	}
	if err := proxy.start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("ClickHouse up again after %s; committed offsets while down: %v", time.Since(t0).Round(time.Millisecond), after)

	sendDone()
	waitFor(t, refDSN, want.Events, want.TimeOnSite.Sessions)
	waitFor(t, addrs.ClickHouseDSN, want.Events, want.TimeOnSite.Sessions)
	time.Sleep(time.Second)
	logChildren(t, starts)
	starts.mu.Lock()
	retries := 0
	for _, line := range starts.l {
		if strings.Contains(line, "write failed, retrying") {
			retries++
		}
	}
	starts.mu.Unlock()
	if retries == 0 {
		t.Error("the processor logged no retried write: the outage was not seen")
	}
	final := committedOffsets(t, addrs.Kafka, "crashing", partitions)
	t.Logf("%d retried writes; committed offsets at the end: %v", retries, final)
	checkReports(t, addrs.ClickHouseDSN, world, want)
	checkEnrichment(t, addrs.ClickHouseDSN)
	compareWithFaultFree(t, addrs.ClickHouseDSN)
	stopChild(t, "the processor", child)
}
