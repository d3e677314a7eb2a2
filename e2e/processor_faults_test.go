package e2e

import (
	"fmt"
	"maps"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/touchstream/touchstream/clickhouse"
)

// This file holds the processor's process-level fault tests (issue 5):
// the processor binary (cmd/processor) run as a child process through a
// Kafka stall, a SIGTERM while ClickHouse is down, and SIGKILLs once its
// committed offsets have moved past the start of the topic.

// startKafkaProc runs the embedded Kafka as its own process (touchstream
// kafka) with 4 partitions, so that a test can stop it with SIGSTOP, and
// waits until it listens.
func startKafkaProc(t *testing.T, logs *lines) (*proc, string) {
	t.Helper()
	kbin := buildCmd(t, "cmd/touchstream")
	kaddr := freeAddr(t)
	kafka := startProc(t, "kafka", logs, kbin, "kafka", "--listen", kaddr, "--partitions", "4")
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", kaddr)
		if err == nil {
			c.Close()
			return kafka, kaddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("kafka did not listen on %s within 30s", kaddr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startProcessorBin runs the processor binary bin as name in consumer
// group group, writing to dsn, configured as the crash test's processors
// (flushes every 200 ms, no triggers, the lateness allowance of
// crashAllowance unless extra sets another), with extra flags last. It
// returns the process and the URL of its metrics, once it has started a
// partition.
func startProcessorBin(t *testing.T, name string, logs *lines, bin, kafka, dsn, group string, extra ...string) (*proc, string) {
	t.Helper()
	metricsAddr := freeAddr(t)
	args := append([]string{
		"--kafka-brokers", kafka, "--clickhouse-dsn", dsn, "--group", group,
		"--flush-interval", "200ms", "--lateness-allowance", crashAllowance.String(),
		"--triggers-topic", "", "--metrics-listen", metricsAddr,
	}, extra...)
	p := startProc(t, name, logs, bin, args...)
	waitLog(t, logs, p, "partition run started", 45*time.Second)
	return p, "http://" + metricsAddr + "/metrics"
}

// countLog counts the lines of logs from the child name holding substr.
func countLog(logs *lines, name, substr string) int {
	logs.mu.Lock()
	defer logs.mu.Unlock()
	n := 0
	for _, l := range logs.l {
		if strings.HasPrefix(l, name+": ") && strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// waitLog waits until p has logged a line holding substr; it fails the
// test if p exits first or d passes.
func waitLog(t *testing.T, logs *lines, p *proc, substr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for countLog(logs, p.name, substr) == 0 {
		select {
		case <-p.exited:
			logChildren(t, logs)
			t.Fatalf("%s exited before logging %q: %v", p.name, substr, p.err)
		default:
		}
		if time.Now().After(deadline) {
			logChildren(t, logs)
			t.Fatalf("%s did not log %q within %s", p.name, substr, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running fails the test if p has exited.
func running(t *testing.T, p *proc) {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("%s exited: %v", p.name, p.err)
	default:
	}
}

// TestProcessorKafkaStall runs the processor binary (session timeout 6 s,
// the broker's least) while Kafka stops answering (its process is
// SIGSTOPped) for longer than the session timeout, the heartbeat and the
// coordinator lookup timeouts together: the processor's generation ends,
// joining again fails with i/o timeouts and then, once Kafka is back,
// with Unknown Member ID. It must keep joining with backoff (logging and
// counting it) and, once Kafka resumes, write rows equal to a fault-free
// processor's (which runs in this process through the same stall), with
// every acknowledged event exactly once. TOUCHSTREAM_CHAOS=1 stalls Kafka
// for 45 s.
func TestProcessorKafkaStall(t *testing.T) {
	outage := 15 * time.Second
	if chaos() {
		outage = 45 * time.Second
	}
	logs := &lines{}
	defer func() {
		if t.Failed() {
			logChildren(t, logs)
		}
	}()
	kafka, kaddr := startKafkaProc(t, logs)
	pbin := buildCmd(t, "cmd/processor")
	cbin := buildCmd(t, "cmd/collector")
	addrs, _ := faultStack(t, kaddr, false)
	refDSN := startFaultFree(t, addrs, warnLog())
	child, metrics := startProcessorBin(t, "processor-1", logs, pbin, kaddr, addrs.ClickHouseDSN, "stalled", "--kafka-session-timeout", "6s")
	listen := freeAddr(t)
	col := startCollector(t, "collector-1", logs, cbin, listen, kaddr, t.TempDir())

	world, want := faultWorldSmall()
	ld := newLoader("http://"+listen, world, 2, 10, 150*time.Millisecond)
	wait := ld.start(t.Context(), 0, 2)
	ld.waitAcked(t, len(ld.batches)/4)
	t0 := time.Now()
	kafka.signal(t, syscall.SIGSTOP)
	resumed := false
	defer func() {
		if !resumed {
			kafka.signal(t, syscall.SIGCONT)
		}
	}()
	time.Sleep(outage)
	kafka.signal(t, syscall.SIGCONT)
	resumed = true
	t.Logf("Kafka stopped for %s; %d of %d batches acknowledged", time.Since(t0).Round(time.Millisecond), ld.nacked.Load(), len(ld.batches))
	running(t, child)

	finish(t, addrs, refDSN, world, want, ld, wait)
	running(t, child)
	rejoins, err := metric(metrics, "touchstream_processor_rejoins_total")
	if err != nil {
		t.Fatal(err)
	}
	logged := countLog(logs, child.name, "consumer group lost, joining again")
	t.Logf("the processor joined again %v times (%d logged), %d partition runs started", rejoins, logged, countLog(logs, child.name, "partition run started"))
	if rejoins == 0 || logged == 0 {
		t.Error("the processor never joined its group again: the stall did not end its generation")
	}
	for _, p := range []*proc{child, col} {
		p.signal(t, syscall.SIGTERM)
		if err := p.wait(t, 30*time.Second); err != nil {
			t.Errorf("%s exited with %v after SIGTERM, want 0", p.name, err)
		}
	}
	kafka.signal(t, syscall.SIGTERM)
	kafka.wait(t, 30*time.Second)
}

// TestProcessorShutdownClickHouseDown sends the processor binary SIGTERM
// while ClickHouse is unreachable (its proxy's port closed, connections
// cut) and a write is being retried: it must give up after
// --shutdown-timeout, say so, exit non-zero and commit nothing it did not
// write. Started again with ClickHouse back, it replays what was left and
// its rows equal a fault-free processor's. A lateness allowance of an hour
// makes the committed offsets move past the start of the topic before
// ClickHouse goes away, so that a premature commit would show.
func TestProcessorShutdownClickHouseDown(t *testing.T) {
	const (
		partitions = 4
		group      = "stopping"
		grace      = 3 * time.Second
	)
	logs := &lines{}
	defer func() {
		if t.Failed() {
			logChildren(t, logs)
		}
	}()
	pbin := buildCmd(t, "cmd/processor")
	addrs := startStackWithoutProcessor(t, partitions, warnLog())
	// A short lateness allowance, so that the committed offsets move past
	// the start of the topic and the no-commit check means something.
	refDSN := startFaultFreeAllowance(t, addrs, warnLog(), time.Hour)
	args := []string{"--lateness-allowance", time.Hour.String()}
	proxy := &chProxy{target: strings.TrimPrefix(addrs.ClickHouse, "http://"), addr: "127.0.0.1:0"}
	if err := proxy.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.stop)
	viaProxy := "http://" + proxy.addr + "/touchstream"
	child, _ := startProcessorBin(t, "processor-1", logs, pbin, addrs.Kafka, viaProxy, group, append(args, "--shutdown-timeout", grace.String())...)

	world, want := faultWorldSmall()
	ld := newLoader(addrs.Collector, world, 2, 10, 100*time.Millisecond)
	wait := ld.start(t.Context(), 0, 2)
	ld.waitAcked(t, len(ld.batches)/3)
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if _, ok := pastStart(t, addrs.Kafka, group, partitions); ok {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the committed offsets are still at the start after 30s")
		}
	}
	proxy.stop()
	waitLog(t, logs, child, "write failed, retrying", 30*time.Second)
	time.Sleep(500 * time.Millisecond) // a commit under way when ClickHouse went away
	before := committedOffsets(t, addrs.Kafka, group, partitions)
	t0 := time.Now()
	child.signal(t, syscall.SIGTERM)
	err := child.wait(t, grace+20*time.Second)
	took := time.Since(t0)
	t.Logf("SIGTERM with ClickHouse down: exited after %s with %v (shutdown timeout %s)", took.Round(time.Millisecond), err, grace)
	if err == nil {
		t.Error("the processor exited 0 with unwritten batches, want non-zero")
	}
	if took > grace+10*time.Second {
		t.Errorf("the processor took %s to stop, want about its shutdown timeout %s", took, grace)
	}
	if countLog(logs, child.name, "processor stopped with unwritten batches") == 0 {
		t.Error("the processor did not log that it stopped with unwritten batches")
	}
	if after := committedOffsets(t, addrs.Kafka, group, partitions); !maps.Equal(before, after) {
		t.Errorf("offsets committed at the shutdown with ClickHouse down: %v, then %v", before, after)
	} else {
		t.Logf("committed offsets unchanged by the shutdown: %v", after)
	}

	if err := proxy.start(); err != nil {
		t.Fatal(err)
	}
	child, _ = startProcessorBin(t, "processor-2", logs, pbin, addrs.Kafka, viaProxy, group, args...)
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	acked := ld.ackedIDs()
	waitAsFaultFree(t, addrs.ClickHouseDSN, refDSN, want.Events)
	checkExactlyOnce(t, addrs.ClickHouseDSN, acked)
	compareWithFaultFree(t, addrs.ClickHouseDSN)
	child.signal(t, syscall.SIGTERM)
	if err := child.wait(t, 30*time.Second); err != nil {
		t.Errorf("%s exited with %v after SIGTERM, want 0", child.name, err)
	}
}

// counts returns the events and sessions of dsn, read with FINAL.
func counts(t *testing.T, dsn string) (events, sessions uint64) {
	t.Helper()
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.QueryRow(t.Context(), "SELECT (SELECT count() FROM events FINAL), (SELECT count() FROM sessions FINAL)").Scan(&events, &sessions); err != nil {
		t.Fatalf("count: %v", err)
	}
	return events, sessions
}

// waitSettled waits until dsn holds events events and its session count
// has not changed for 2 s, and returns that count.
func waitSettled(t *testing.T, dsn string, events int) uint64 {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	var last uint64
	stable := time.Now()
	for {
		e, s := counts(t, dsn)
		if s != last {
			last, stable = s, time.Now()
		}
		if int(e) == events && time.Since(stable) >= 2*time.Second {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after 120s: %d events and %d sessions, want %d events", dsn, e, s, events)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitAsFaultFree waits until the fault-free run (refDSN) holds events
// events and its sessions have settled, then until dsn holds as many
// events and sessions.
func waitAsFaultFree(t *testing.T, dsn, refDSN string, events int) {
	t.Helper()
	sessions := waitSettled(t, refDSN, events)
	deadline := time.Now().Add(60 * time.Second)
	for {
		e, s := counts(t, dsn)
		if int(e) == events && s == sessions {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after the faults: %d events and %d sessions, the fault-free run %d and %d", e, s, events, sessions)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(time.Second) // the last batches of sessions
	t.Logf("%d events, %d sessions", events, sessions)
}

// pastStart reports whether any committed offset of group is past the
// start of its partition.
func pastStart(t *testing.T, kafka, group string, partitions int) (map[int]int64, bool) {
	t.Helper()
	c := committedOffsets(t, kafka, group, partitions)
	for _, o := range c {
		if o > 0 {
			return c, true
		}
	}
	return c, false
}

// TestProcessorPartialReplay runs the processor binary with a lateness
// allowance of a few hours of event time, so that idle visitors leave its
// state and its committed offsets move past the start of the topic, and
// SIGKILLs it three times once they have: each restart replays from a
// committed offset inside the topic, with none of the state the killed one
// had built from the messages before it but the watermark committed with
// the offset. Its rows must still equal those of a fault-free processor
// with the same allowance (issue 5). It found two bugs: events whose
// session the sessionizer had pruned as final before the flush were
// written without a session id, and visitors were expired only at flushes
// (against a watermark a replay did not restore), so where batches were
// cut decided journey stages.
func TestProcessorPartialReplay(t *testing.T) {
	const (
		partitions = 4
		group      = "replaying"
		allowance  = time.Hour
	)
	logs := &lines{}
	defer func() {
		if t.Failed() {
			logChildren(t, logs)
		}
	}()
	pbin := buildCmd(t, "cmd/processor")
	addrs := startStackWithoutProcessor(t, partitions, warnLog())
	refDSN := startFaultFreeAllowance(t, addrs, warnLog(), allowance)
	args := []string{"--lateness-allowance", allowance.String(), "--kafka-session-timeout", "6s"}
	child, _ := startProcessorBin(t, "processor-1", logs, pbin, addrs.Kafka, addrs.ClickHouseDSN, group, args...)

	world, want := faultWorldSmall()
	ld := newLoader(addrs.Collector, world, 2, 10, 250*time.Millisecond)
	wait := ld.start(t.Context(), 0, 2)
	var last map[int]int64
	for kill := 1; kill <= 3; kill++ {
		// Kill once the offsets are past the start and have moved since
		// the last kill (or, late in the load, 3 s after the restart).
		start := time.Now()
		for {
			c, ok := pastStart(t, addrs.Kafka, group, partitions)
			if ok && (!maps.Equal(c, last) || time.Since(start) > 3*time.Second) {
				last = c
				break
			}
			if time.Since(start) > 60*time.Second {
				t.Fatalf("kill %d: committed offsets %v after 60s: not past the start", kill, c)
			}
			time.Sleep(100 * time.Millisecond)
		}
		child.signal(t, syscall.SIGKILL)
		child.wait(t, 10*time.Second)
		t.Logf("kill %d with committed offsets %v; %d of %d batches acknowledged", kill, last, ld.nacked.Load(), len(ld.batches))
		child, _ = startProcessorBin(t, fmt.Sprintf("processor-%d", kill+1), logs, pbin, addrs.Kafka, addrs.ClickHouseDSN, group, args...)
	}
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	acked := ld.ackedIDs()
	waitAsFaultFree(t, addrs.ClickHouseDSN, refDSN, want.Events)
	t.Logf("final committed offsets %v", committedOffsets(t, addrs.Kafka, group, partitions))
	checkExactlyOnce(t, addrs.ClickHouseDSN, acked)
	compareWithFaultFree(t, addrs.ClickHouseDSN)
	child.signal(t, syscall.SIGTERM)
	if err := child.wait(t, 30*time.Second); err != nil {
		t.Errorf("%s exited with %v after SIGTERM, want 0", child.name, err)
	}
}
