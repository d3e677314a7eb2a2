package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/touchstream/touchstream/clickhouse"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		os.Exit(1)
	}
}

type config struct {
	bin, out, logs string
	duration       time.Duration
	peakFor        time.Duration
	interval       time.Duration
	visitors       int
	bound          float64
}

func run() error {
	var cfg config
	dur := os.Getenv("SOAK_DURATION")
	if dur == "" {
		dur = "10m"
	}
	d, err := time.ParseDuration(dur)
	if err != nil {
		return fmt.Errorf("SOAK_DURATION: %w", err)
	}
	flag.StringVar(&cfg.bin, "bin", "bin", "directory of the touchstream, collector and processor binaries")
	flag.StringVar(&cfg.out, "out", "out/soak.csv", "CSV file of the samples")
	flag.StringVar(&cfg.logs, "logs", "out/soak-logs", "directory of the processes' logs")
	flag.DurationVar(&cfg.duration, "duration", d, "length of the soak at half the peak rate (env SOAK_DURATION)")
	flag.DurationVar(&cfg.peakFor, "peak-for", 20*time.Second, "length of the peak-rate measurement before the soak")
	flag.DurationVar(&cfg.interval, "interval", 5*time.Second, "time between two samples")
	flag.IntVar(&cfg.visitors, "visitors", 5000, "visitors the load cycles through")
	flag.Float64Var(&cfg.bound, "bound", 0.25, "largest growth of a judged series over the second half, as a share of its mean there (floors: 16 MiB heap, 32 MiB RSS, 20 goroutines)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "touchstream-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(cfg.logs, 0o755); err != nil {
		return err
	}
	st := &stack{logs: cfg.logs}
	defer st.stopAll()
	if err := st.start(ctx, cfg.bin, tmp); err != nil {
		return err
	}

	ld := &load{url: "http://" + st.collector + "/v1/batch", visitors: cfg.visitors}
	fmt.Printf("soak: measuring the peak rate for %s\n", cfg.peakFor)
	peak := ld.run(ctx, 0, cfg.peakFor)
	if peak <= 0 {
		return errors.New("no event accepted while measuring the peak rate")
	}
	rate := peak / 2
	fmt.Printf("soak: peak %.0f events/s; soaking at %.0f events/s for %s, a sample every %s into %s\n", peak, rate, cfg.duration, cfg.interval, cfg.out)

	samples, err := st.soak(ctx, ld, rate, cfg)
	if err != nil {
		return err
	}
	sent := ld.accepted.Load()
	processed, err := waitProcessed(ctx, "http://"+st.clickhouse+"/touchstream", sent)
	fmt.Printf("soak: %d events accepted, %d distinct in ClickHouse after the load\n", sent, processed)
	if err != nil {
		return err
	}
	if ld.failed.Load() > 0 {
		fmt.Printf("soak: %d requests not answered 200 (retried)\n", ld.failed.Load())
	}
	return judge(samples, cfg)
}

// stack is the processes of the run.
type stack struct {
	logs                                     string
	kafka, clickhouse, collector, procMetric string
	procs                                    []*proc
}

type proc struct {
	name    string
	cmd     *exec.Cmd
	metrics string // http://host:port/metrics, or ""
	done    chan struct{}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (s *stack) spawn(name, metrics, bin string, args ...string) (*proc, error) {
	f, err := os.Create(filepath.Join(s.logs, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, metrics: metrics, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	s.procs = append(s.procs, p)
	return p, nil
}

func waitHTTP(ctx context.Context, url string, p *proc) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited at start (see its log)", p.name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s did not answer within 60s", p.name, url)
		}
	}
}

func (s *stack) start(ctx context.Context, bin, tmp string) error {
	var err error
	for _, a := range []*string{&s.kafka, &s.clickhouse, &s.collector, &s.procMetric} {
		if *a, err = freeAddr(); err != nil {
			return err
		}
	}
	ts := filepath.Join(bin, "touchstream")
	k, err := s.spawn("kafka", "", ts, "kafka", "--listen", s.kafka, "--partitions", "4")
	if err != nil {
		return err
	}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", s.kafka); err == nil {
			c.Close()
			break
		}
		if time.Since(start) > 60*time.Second {
			return errors.New("kafka did not listen within 60s")
		}
		select {
		case <-k.done:
			return errors.New("kafka exited at start")
		default:
		}
	}
	ch, err := s.spawn("clickhouse", "", ts, "clickhouse", "--listen", s.clickhouse, "--path", filepath.Join(tmp, "clickhouse"))
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+s.clickhouse+"/ping", ch); err != nil {
		return err
	}
	dsn := "http://" + s.clickhouse + "/touchstream"
	if out, err := exec.CommandContext(ctx, ts, "migrate", "--clickhouse-dsn", dsn).CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}
	sources := filepath.Join(tmp, "sources.json")
	if err := os.WriteFile(sources, []byte(`{"sources":[{"name":"soak","write_key":"soak","rate_per_second":-1}]}`), 0o644); err != nil {
		return err
	}
	col, err := s.spawn("collector", "http://"+s.collector+"/metrics", filepath.Join(bin, "collector"),
		"--listen", s.collector, "--kafka-brokers", s.kafka, "--sources-file", sources,
		"--spool-dir", filepath.Join(tmp, "spool"), "--log-level", "warn")
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+s.collector+"/healthz", col); err != nil {
		return err
	}
	pr, err := s.spawn("processor", "http://"+s.procMetric+"/metrics", filepath.Join(bin, "processor"),
		"--kafka-brokers", s.kafka, "--clickhouse-dsn", dsn, "--metrics-listen", s.procMetric, "--group", "soak")
	if err != nil {
		return err
	}
	return waitHTTP(ctx, "http://"+s.procMetric+"/metrics", pr)
}

// stopAll sends SIGTERM to the processes it started, newest first, and
// SIGKILL to one still running 30 s later.
func (s *stack) stopAll() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			fmt.Fprintf(os.Stderr, "soak: %s did not stop within 30s of SIGTERM; killing it\n", p.name)
			p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// sample is one measurement of one process.
type sample struct {
	at         time.Duration
	proc       string
	rss, heap  float64 // bytes; heap -1 when unknown
	goroutines float64 // -1 when unknown
	accepted   int64
}

func (s *stack) soak(ctx context.Context, ld *load, rate float64, cfg config) ([]sample, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(cfg.out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	w.Write([]string{"elapsed_seconds", "process", "rss_bytes", "heap_inuse_bytes", "goroutines", "events_accepted"})

	lctx, cancel := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() { ld.run(lctx, rate, cfg.duration); close(loadDone) }()
	defer func() { cancel(); <-loadDone }()

	var out []sample
	start := time.Now()
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	for {
		for _, p := range s.procs {
			select {
			case <-p.done:
				return out, fmt.Errorf("%s exited during the soak (see its log)", p.name)
			default:
			}
			sm := sample{at: time.Since(start), proc: p.name, heap: -1, goroutines: -1, accepted: ld.accepted.Load()}
			sm.rss = rss(p.cmd.Process.Pid)
			if p.metrics != "" {
				m := scrape(p.metrics)
				if v, ok := m["go_memstats_heap_inuse_bytes"]; ok {
					sm.heap = v
				}
				if v, ok := m["go_goroutines"]; ok {
					sm.goroutines = v
				}
			}
			out = append(out, sm)
			w.Write([]string{strconv.FormatFloat(sm.at.Seconds(), 'f', 1, 64), sm.proc, num(sm.rss), num(sm.heap), num(sm.goroutines), strconv.FormatInt(sm.accepted, 10)})
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-loadDone:
			return out, nil
		case <-tick.C:
		}
	}
}

func num(v float64) string {
	if v < 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// rss is the resident set of a process in bytes (VmRSS of /proc/PID/status).
func rss(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(data) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(v))
			if len(f) >= 1 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb * 1024
			}
		}
	}
	return -1
}

// scrape reads the unlabelled samples of a Prometheus text exposition.
func scrape(url string) map[string]float64 {
	out := map[string]float64{}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	return out
}

// load posts batches of 100 Segment events for a pool of visitors with
// the current time as their timestamp.
type load struct {
	url      string
	visitors int
	seq      atomic.Int64
	accepted atomic.Int64
	failed   atomic.Int64
}

const batchSize = 100

// run sends for d with 8 workers, as fast as the collector answers when
// rate is 0, else at rate events a second; it returns the accepted events
// a second.
func (l *load) run(ctx context.Context, rate float64, d time.Duration) float64 {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var tokens <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) * batchSize / rate))
		defer t.Stop()
		tokens = t.C
	}
	before := l.accepted.Load()
	start := time.Now()
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if tokens != nil {
					select {
					case <-tokens:
					case <-ctx.Done():
						return
					}
				}
				l.post(ctx, client)
			}
		})
	}
	wg.Wait()
	return float64(l.accepted.Load()-before) / time.Since(start).Seconds()
}

func (l *load) post(ctx context.Context, client *http.Client) {
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range batchSize {
		n := l.seq.Add(1)
		v := n * 7919 % int64(l.visitors)
		if i > 0 {
			b.WriteByte(',')
		}
		if n%5 == 0 {
			fmt.Fprintf(&b, `{"type":"track","event":"Product Viewed","anonymousId":"sv-%d","messageId":"soak-%d","timestamp":%q,"properties":{"sku":"sku-%d","price":%d}}`, v, n, now, n%50, n%90+10)
		} else {
			fmt.Fprintf(&b, `{"type":"page","name":"Home","anonymousId":"sv-%d","messageId":"soak-%d","timestamp":%q,"properties":{"path":"/p/%d","url":"https://shop.example/p/%d"},"context":{"page":{"path":"/p/%d","url":"https://shop.example/p/%d"}}}`, v, n, now, n%40, n%40, n%40, n%40)
		}
	}
	b.WriteString(`]}`)
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, strings.NewReader(b.String()))
		if err != nil {
			return
		}
		req.SetBasicAuth("soak", "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				l.accepted.Add(batchSize)
				return
			}
		}
		if ctx.Err() != nil {
			return // the run ended; the batch is not counted
		}
		l.failed.Add(1)
		time.Sleep(200 * time.Millisecond)
	}
}

// waitProcessed waits up to 2 minutes for ClickHouse to hold want distinct
// events and returns how many it holds.
func waitProcessed(ctx context.Context, dsn string, want int64) (int64, error) {
	conn, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	deadline := time.Now().Add(2 * time.Minute)
	var n uint64
	for {
		if err := conn.QueryRow(ctx, "SELECT uniqExact(message_id) FROM events").Scan(&n); err != nil {
			return 0, err
		}
		if int64(n) >= want {
			return int64(n), nil
		}
		if time.Now().After(deadline) {
			return int64(n), fmt.Errorf("after 2 minutes ClickHouse holds %d of the %d accepted events: the processor did not keep up", n, want)
		}
		select {
		case <-ctx.Done():
			return int64(n), ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
