package e2e

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/touchstream/touchstream/devstack"
	"github.com/touchstream/touchstream/generate"
)

// chaos reports whether the long fault suite runs (make chaos sets
// TOUCHSTREAM_CHAOS=1): longer outages and more rounds.
func chaos() bool { return os.Getenv("TOUCHSTREAM_CHAOS") == "1" }

// faultStack runs ClickHouse and a processor in this process (and Kafka
// unless kafkaAddr is set: then the stack uses that one), without the
// collector, and a fault-free processor into database faultfree, whose DSN
// it returns. Without processors it leaves both out (refDSN is "").
func faultStack(t *testing.T, kafkaAddr string, processors bool) (addrs devstack.Addrs, refDSN string) {
	t.Helper()
	cfg := stackConfig(t, 4, warnLog())
	cfg.Without = []string{devstack.PartCollector}
	if kafkaAddr != "" {
		cfg.Without = append(cfg.Without, devstack.PartKafka)
		cfg.KafkaListen = kafkaAddr
	}
	if !processors {
		cfg.Without = append(cfg.Without, devstack.PartProcessor)
		return runStack(t, cfg), ""
	}
	addrs = runStack(t, cfg)
	return addrs, startFaultFree(t, addrs, warnLog())
}

func warnLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// faultWorldSmall is the world of the collector fault tests: fewer
// visitors than the processor's, so that make test stays short.
func faultWorldSmall() (*generate.World, generate.Expected) {
	world := generate.Generate(generate.Config{Visitors: 150, Seed: 7, Days: 7, WriteKey: "e2e"})
	return world, world.Expected(nil, 0, 0)
}

// finish checks what every collector fault test promises: the load ended
// with every batch acknowledged, each acknowledged event is in ClickHouse
// exactly once, the reports equal the generator's answers and the rows a
// fault-free processor's.
func finish(t *testing.T, addrs devstack.Addrs, refDSN string, world *generate.World, want generate.Expected, ld *loader, wait func() error) {
	t.Helper()
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	acked := ld.ackedIDs()
	if len(acked) != want.Events {
		t.Fatalf("%d events acknowledged, the world has %d", len(acked), want.Events)
	}
	waitFor(t, refDSN, want.Events, want.TimeOnSite.Sessions)
	waitFor(t, addrs.ClickHouseDSN, want.Events, want.TimeOnSite.Sessions)
	time.Sleep(time.Second) // the last batches of sessions
	checkExactlyOnce(t, addrs.ClickHouseDSN, acked)
	checkReports(t, addrs.ClickHouseDSN, world, want)
	compareWithFaultFree(t, addrs.ClickHouseDSN)
}

// TestCollectorSIGTERM stops the collector process with SIGTERM while a
// load generator sends Segment batches continuously (several in flight),
// then starts it again on the same port and spool: requests in flight at
// the signal are answered, those refused while it was down are not
// acknowledged (transport errors or 503), and every acknowledged event
// reaches ClickHouse exactly once, with reports equal to the generator's
// answers and rows equal to a fault-free run (issue 4). TOUCHSTREAM_CHAOS=1
// stops it three times.
func TestCollectorSIGTERM(t *testing.T) {
	addrs, refDSN := faultStack(t, "", true)
	bin := buildCmd(t, "cmd/collector")
	listen, spoolDir := freeAddr(t), t.TempDir()
	logs := &lines{}
	defer logChildren(t, logs)
	col := startCollector(t, "collector-1", logs, bin, listen, addrs.Kafka, spoolDir)

	world, want := faultWorldSmall()
	// Four workers send continuously; the visitors of a fifth are sent by
	// the test itself, one request in flight across each SIGTERM.
	ld := newLoader("http://"+listen, world, 5, 10, 50*time.Millisecond)
	wait := ld.start(t.Context(), 0, 4)
	rounds := 1
	if chaos() {
		rounds = 3
	}
	t0 := time.Now()
	for r := 1; r <= rounds; r++ {
		ld.waitAcked(t, len(ld.batches)*r/(rounds+2))
		var stopAt time.Time
		status := ld.sendInFlight(t, ld.queues[4][r-1], func() {
			stopAt = time.Now()
			col.signal(t, syscall.SIGTERM)
		})
		if status != http.StatusOK {
			t.Errorf("round %d: the request in flight at SIGTERM was answered %d, want 200", r, status)
		}
		if err := col.wait(t, 30*time.Second); err != nil {
			t.Errorf("collector exited with %v after SIGTERM, want 0", err)
		}
		before := ld.nacked.Load()
		t.Logf("round %d: SIGTERM after %s, stopped in %s, %d of %d batches acknowledged",
			r, stopAt.Sub(t0).Round(time.Millisecond), time.Since(stopAt).Round(time.Millisecond), before, len(ld.batches))
		time.Sleep(time.Second) // down: the load meets a closed port
		col = startCollector(t, fmt.Sprintf("collector-%d", r+1), logs, bin, listen, addrs.Kafka, spoolDir)
		refused := ld.refused(t, stopAt)
		n, ok := ld.inFlight(stopAt)
		t.Logf("round %d: %d requests in flight at the signal (%d answered 200), %d attempts refused while stopping or down; restarted after %s",
			r, n, ok, len(refused), time.Since(stopAt).Round(time.Millisecond))
		if len(refused) == 0 {
			t.Errorf("round %d: no request was refused: the load did not meet the stop", r)
		}
	}
	rest := ld.start(t.Context(), 4, 5)
	finish(t, addrs, refDSN, world, want, ld, func() error {
		if err := rest(); err != nil {
			return err
		}
		return wait()
	})
	col.signal(t, syscall.SIGTERM)
	if err := col.wait(t, 30*time.Second); err != nil {
		t.Errorf("collector exited with %v after SIGTERM, want 0", err)
	}
	stopped := 0
	logs.mu.Lock()
	for _, l := range logs.l {
		if strings.Contains(l, "collector stopped") {
			stopped++
		}
	}
	logs.mu.Unlock()
	if stopped != rounds+1 {
		t.Errorf("%d graceful stops logged, want %d", stopped, rounds+1)
	}
}

// spoolFiles counts the segment files in dir.
func spoolFiles(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// metric reads one unlabelled sample of a Prometheus text exposition.
func metric(url, name string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(data) {
		f := strings.Fields(string(line))
		if len(f) == 2 && f[0] == name {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("%s: no sample %s", url, name)
}

// kafkaOutage runs the collector binary in front of an embedded Kafka run
// as its own process (touchstream kafka) and stops that process with
// SIGSTOP for outage while the load goes on: the collector's direct
// publishes time out and it acknowledges from its disk spool. With kill,
// the collector is then SIGKILLed with a non-empty spool, Kafka resumed
// (SIGCONT) and the collector restarted on the same spool directory;
// without, Kafka is resumed under load and the spool drains. Either way
// every acknowledged event must reach ClickHouse exactly once.
func kafkaOutage(t *testing.T, outage time.Duration, kill bool) {
	kbin := buildCmd(t, "cmd/touchstream")
	cbin := buildCmd(t, "cmd/collector")
	logs := &lines{}
	defer logChildren(t, logs)
	kaddr := freeAddr(t)
	kafka := startProc(t, "kafka", logs, kbin, "kafka", "--listen", kaddr, "--partitions", "4")
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", kaddr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kafka did not listen on %s within 30s", kaddr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The stack's processor and dead-letter copier run through the
	// outage and must rejoin Kafka after it; with a long outage a
	// processor binary joins their group as well, as a second replica.
	longOutage := outage >= 20*time.Second
	addrs, refDSN := faultStack(t, kaddr, true)
	if longOutage {
		child, joined := startChild(t, addrs, logs)
		waitJoined(t, "the processor", joined)
		defer stopChild(t, "the processor", child)
	}
	listen, spoolDir := freeAddr(t), t.TempDir()
	col := startCollector(t, "collector-1", logs, cbin, listen, kaddr, spoolDir)
	metrics := "http://" + listen + "/metrics"

	world, want := faultWorldSmall()
	// The load lasts about twice the outage.
	ld := newLoader("http://"+listen, world, 2, 10, max(100*time.Millisecond, outage/30))
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
	atStop := ld.nacked.Load()
	time.Sleep(outage)
	spooled, err := metric(metrics, "touchstream_collector_spool_events")
	if err != nil {
		t.Fatal(err)
	}
	ready, err := http.Get("http://" + listen + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	t.Logf("Kafka stopped for %s: %d batches acknowledged meanwhile, %v events in the spool, /readyz %d",
		time.Since(t0).Round(time.Millisecond), ld.nacked.Load()-atStop, spooled, ready.StatusCode)
	if spooled == 0 || ld.nacked.Load() == atStop {
		t.Fatal("nothing was acknowledged from the spool while Kafka was stopped")
	}
	if ready.StatusCode != http.StatusOK {
		t.Errorf("/readyz answered %d during the outage, want 200 (the spool has room)", ready.StatusCode)
	}
	if kill {
		col.signal(t, syscall.SIGKILL)
		col.wait(t, 10*time.Second)
		segs := spoolFiles(t, spoolDir)
		t.Logf("collector SIGKILLed with %d segments in its spool", segs)
		if segs == 0 {
			t.Fatal("the spool was empty when the collector was killed")
		}
	}
	kafka.signal(t, syscall.SIGCONT)
	resumed = true
	t.Logf("Kafka resumed after %s", time.Since(t0).Round(time.Millisecond))
	if kill {
		col = startCollector(t, "collector-2", logs, cbin, listen, kaddr, spoolDir)
	}
	atResume := ld.nacked.Load()
	finish(t, addrs, refDSN, world, want, ld, wait)
	t.Logf("%d batches acknowledged after Kafka resumed", ld.nacked.Load()-atResume)
	if n := spoolFiles(t, spoolDir); n != 0 {
		t.Errorf("%d segments left in the spool", n)
	}
	if kill {
		resumedLog := false
		logs.mu.Lock()
		for _, l := range logs.l {
			resumedLog = resumedLog || strings.HasPrefix(l, "collector-2: ") && strings.Contains(l, "spool resumed")
		}
		logs.mu.Unlock()
		if !resumedLog {
			t.Error("the restarted collector did not log that it resumed the spool")
		}
	}
	col.signal(t, syscall.SIGTERM)
	if err := col.wait(t, 30*time.Second); err != nil {
		t.Errorf("collector exited with %v after SIGTERM, want 0", err)
	}
	kafka.signal(t, syscall.SIGTERM)
	kafka.wait(t, 30*time.Second)
}

// TestCollectorKilledWithSpool: Kafka stops answering (its process is
// SIGSTOPped), the collector acknowledges from its disk spool, is
// SIGKILLed with the spool non-empty, Kafka comes back and the collector
// restarts on the same spool: every acknowledged event arrives exactly
// once (issue 4).
func TestCollectorKilledWithSpool(t *testing.T) {
	outage := 4 * time.Second
	if chaos() {
		outage = 30 * time.Second
	}
	kafkaOutage(t, outage, true)
}

// TestKafkaOutageUnderLoad: Kafka stops answering under load and comes
// back; the collector keeps acknowledging from its spool and drains it in
// order once Kafka answers. make test stops Kafka for 8 s, the long suite
// (TOUCHSTREAM_CHAOS=1) for 45 s.
func TestKafkaOutageUnderLoad(t *testing.T) {
	outage := 8 * time.Second
	if chaos() {
		outage = 45 * time.Second
	}
	kafkaOutage(t, outage, false)
}

// TestCollectorSpoolLocked: a second collector started on the spool
// directory of a running one exits at once, saying why.
func TestCollectorSpoolLocked(t *testing.T) {
	bin := buildCmd(t, "cmd/collector")
	logs := &lines{}
	spoolDir := t.TempDir()
	kafkaAddr := freeAddr(t) // nothing listens: the collector connects lazily
	first := startCollector(t, "collector-1", logs, bin, freeAddr(t), kafkaAddr, spoolDir)
	second := startProc(t, "collector-2", logs, bin, "--listen", freeAddr(t), "--kafka-brokers", kafkaAddr,
		"--write-key", "e2e", "--spool-dir", spoolDir)
	start := time.Now()
	err := second.wait(t, 10*time.Second)
	t.Logf("second collector exited after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil {
		t.Error("the second collector exited 0, want a failure")
	}
	found := false
	logs.mu.Lock()
	for _, l := range logs.l {
		if strings.HasPrefix(l, "collector-2: ") && strings.Contains(l, "in use by another process") {
			found = true
			t.Log(l)
		}
	}
	logs.mu.Unlock()
	if !found {
		logChildren(t, logs)
		t.Error("the second collector did not say the spool directory is in use")
	}
	first.signal(t, syscall.SIGTERM)
	if err := first.wait(t, 30*time.Second); err != nil {
		t.Errorf("first collector exited with %v after SIGTERM, want 0", err)
	}
}

// TestClickHouseStopKillUnderLoad runs the embedded ClickHouse as its own
// process and, under load, stops it with SIGSTOP (the processor's writes
// hang), then SIGKILLs it and starts it again on the same data directory:
// the processor (a child process) must retry until ClickHouse is back and
// every acknowledged event must be in events exactly once, with the
// reports equal to the generator's answers. make test: 4 s stopped, 1 s
// down; the long suite (TOUCHSTREAM_CHAOS=1): 20 s stopped, 5 s down.
func TestClickHouseStopKillUnderLoad(t *testing.T) {
	stopped, down := 4*time.Second, time.Second
	if chaos() {
		stopped, down = 20*time.Second, 5*time.Second
	}
	tbin := buildCmd(t, "cmd/touchstream")
	logs := &lines{}
	defer logChildren(t, logs)
	chAddr, chPath := freeAddr(t), t.TempDir()
	startCH := func(name string) *proc {
		p := startProc(t, name, logs, tbin, "clickhouse", "--listen", chAddr, "--path", chPath)
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := http.Get("http://" + chAddr + "/ping")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not answer /ping within 60s: %v", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	ch := startCH("clickhouse-1")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := stackConfig(t, 4, log)
	cfg.Without = []string{devstack.PartClickHouse, devstack.PartProcessor}
	cfg.ClickHouseListen = chAddr
	addrs := runStack(t, cfg)
	starts := &lines{}
	child, joined := startChild(t, addrs, starts)
	waitJoined(t, "the processor", joined)

	world, want := faultWorldSmall()
	ld := newLoader(addrs.Collector, world, 2, 10, 400*time.Millisecond)
	wait := ld.start(t.Context(), 0, 2)
	ld.waitAcked(t, len(ld.batches)/5)
	t0 := time.Now()
	ch.signal(t, syscall.SIGSTOP)
	time.Sleep(stopped)
	ch.signal(t, syscall.SIGKILL)
	ch.wait(t, 10*time.Second)
	t.Logf("ClickHouse stopped for %s, then killed; %d of %d batches acknowledged", time.Since(t0).Round(time.Millisecond), ld.nacked.Load(), len(ld.batches))
	time.Sleep(down)
	ch = startCH("clickhouse-2")
	t.Logf("ClickHouse restarted after %s", time.Since(t0).Round(time.Millisecond))
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	acked := ld.ackedIDs()
	if len(acked) != want.Events {
		t.Fatalf("%d events acknowledged, the world has %d", len(acked), want.Events)
	}
	waitFor(t, addrs.ClickHouseDSN, want.Events, want.TimeOnSite.Sessions)
	time.Sleep(time.Second)
	logChildren(t, starts)
	checkExactlyOnce(t, addrs.ClickHouseDSN, acked)
	checkReports(t, addrs.ClickHouseDSN, world, want)
	checkEnrichment(t, addrs.ClickHouseDSN)
	stopChild(t, "the processor", child)
	ch.signal(t, syscall.SIGTERM)
	ch.wait(t, 30*time.Second)
}
