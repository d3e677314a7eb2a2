package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/generate"
)

// This file is the harness of the collector fault tests
// (collector_faults_test.go): child processes built from the module's
// commands, and a load generator that records every attempt.

// buildCmd builds the module's command pkg (e.g. "cmd/collector") into a
// temporary directory and returns the binary's path.
func buildCmd(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/touchstream/touchstream/"+pkg)
	cmd.Dir = ".." // the module root
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	t.Logf("built %s in %s", pkg, time.Since(start).Round(time.Millisecond))
	return out
}

// freeAddr returns a loopback host:port that was free a moment ago, so a
// process can be restarted on the same address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a child process of a test, its stderr lines kept in log.
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's answer, once exited is closed
}

// startProc starts bin with args; its stderr lines go to logs, prefixed
// with name. The test's cleanup kills it if it still runs.
func startProc(t *testing.T, name string, logs *lines, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{})}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			logs.add(name + ": " + sc.Text())
		}
	}()
	go func() {
		<-scanned
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Signal(syscall.SIGCONT) // in case a test stopped it
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: signal %v: %v", p.name, sig, err)
	}
}

// wait waits up to d for the process to exit and returns Wait's error.
func (p *proc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		t.Fatalf("%s did not exit within %s", p.name, d)
		return nil
	}
}

// startCollector runs the collector binary on listen with a disk spool in
// spoolDir and waits until it answers /healthz.
func startCollector(t *testing.T, name string, logs *lines, bin, listen, kafkaAddr, spoolDir string) *proc {
	t.Helper()
	p := startProc(t, name, logs, bin,
		"--listen", listen, "--kafka-brokers", kafkaAddr, "--write-key", "e2e",
		"--spool-dir", spoolDir, "--log-level", "info")
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + listen + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited at start: %v", name, p.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer /healthz within 30s: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// attempt is one request of the load: which batch, when, and the answer
// (status 0 is a transport error).
type attempt struct {
	batch   int
	at, end time.Time
	status  int
	err     string
}

// loader sends a world's events to a collector the way SDKs do: each
// worker stands for a set of devices (visitors) and sends their events in
// time order, in batches, each posted until the collector answers 200 with
// every event accepted before the next is sent (so a visitor's events
// reach Kafka in order, as from a real device); every attempt is recorded.
type loader struct {
	url     string
	batches [][]map[string]any
	ids     [][]string
	queues  [][]int       // batch indexes, by worker
	pause   time.Duration // between two batches of a worker

	nacked atomic.Int64 // batches acknowledged

	mu       sync.Mutex
	attempts []attempt
	acked    map[int]time.Time
	err      error
}

func newLoader(collectorURL string, world *generate.World, workers, batchSize int, pause time.Duration) *loader {
	l := &loader{url: collectorURL + "/v1/batch", pause: pause, acked: map[int]time.Time{}, queues: make([][]int, workers)}
	pending := make([][]map[string]any, workers)
	flush := func(w int) {
		l.queues[w] = append(l.queues[w], len(l.batches))
		l.batches = append(l.batches, pending[w])
		pending[w] = nil
	}
	for _, e := range world.Batches(1, false) {
		v := e[0]["anonymousId"].(string)
		h := 0
		for _, c := range v {
			h = h*31 + int(c)
		}
		w := (h%workers + workers) % workers
		pending[w] = append(pending[w], e[0])
		if len(pending[w]) == batchSize {
			flush(w)
		}
	}
	for w := range pending {
		if len(pending[w]) > 0 {
			flush(w)
		}
	}
	for _, b := range l.batches {
		ids := make([]string, len(b))
		for i, e := range b {
			ids[i] = e["messageId"].(string)
		}
		l.ids = append(l.ids, ids)
	}
	return l
}

// start runs workers for the queues from..to-1 (the batches of their
// visitors from the first not yet acknowledged on) until every batch is
// acknowledged or ctx ends; the returned function waits for them and
// returns the first error.
func (l *loader) start(ctx context.Context, from, to int) (wait func() error) {
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 20 * time.Second}
	for _, queue := range l.queues[from:to] {
		wg.Go(func() {
			for _, i := range queue {
				if ctx.Err() != nil {
					return
				}
				l.mu.Lock()
				_, done := l.acked[i]
				l.mu.Unlock()
				if done {
					continue
				}
				if err := l.send(ctx, client, i); err != nil {
					l.mu.Lock()
					l.err = err
					l.mu.Unlock()
					return
				}
				time.Sleep(l.pause)
			}
		})
	}
	return func() error {
		wg.Wait()
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.err
	}
}

// sendInFlight posts batch i with a body sent in two halves, calling
// between them (the request is then in flight: headers and half its body
// read by the server), and returns the collector's status (0 for a
// transport error). Answered 200 with every event accepted, the batch is
// acknowledged.
func (l *loader) sendInFlight(t *testing.T, i int, between func()) int {
	t.Helper()
	batch, err := json.Marshal(l.batches[i])
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"batch":%s,"sentAt":%q}`, batch, time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, l.url, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("e2e", "")
	req.Header.Set("Content-Type", "application/json")
	a := attempt{batch: i, at: time.Now()}
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	// A new connection: an idle keep-alive one may be closed by the
	// shutdown before the server reads the request from it (the client
	// must then retry, as the load's workers do), which is not the case
	// under test here.
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		resp, err := client.Do(req)
		done <- result{resp, err}
	}()
	half := len(body) / 2
	if _, err := io.WriteString(pw, body[:half]); err != nil {
		t.Fatalf("first half: %v", err)
	}
	time.Sleep(250 * time.Millisecond) // the server accepts and reads the headers
	between()
	time.Sleep(300 * time.Millisecond)
	io.WriteString(pw, body[half:])
	pw.Close()
	r := <-done
	if r.err != nil {
		a.err = r.err.Error()
	} else {
		data, _ := io.ReadAll(r.resp.Body)
		r.resp.Body.Close()
		a.status = r.resp.StatusCode
		var ans struct {
			Accepted int `json:"accepted"`
		}
		if a.status != http.StatusOK || json.Unmarshal(data, &ans) != nil || ans.Accepted != len(l.ids[i]) {
			a.err = strings.TrimSpace(string(data))
			a.status = -a.status // not an acknowledgement
		}
	}
	a.end = time.Now()
	l.mu.Lock()
	l.attempts = append(l.attempts, a)
	if a.status == http.StatusOK {
		l.acked[i] = time.Now()
		l.nacked.Add(1)
	}
	l.mu.Unlock()
	return a.status
}

func (l *loader) send(ctx context.Context, client *http.Client, i int) error {
	batch, err := json.Marshal(l.batches[i])
	if err != nil {
		return err
	}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		body := fmt.Sprintf(`{"batch":%s,"sentAt":%q}`, batch, time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.SetBasicAuth("e2e", "")
		req.Header.Set("Content-Type", "application/json")
		a := attempt{batch: i, at: time.Now()}
		wait := 100 * time.Millisecond
		resp, err := client.Do(req)
		if err != nil {
			a.err = err.Error()
		} else {
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			a.status = resp.StatusCode
			if resp.StatusCode == http.StatusOK {
				var ans struct {
					Accepted int               `json:"accepted"`
					Rejected []json.RawMessage `json:"rejected"`
				}
				if err := json.Unmarshal(data, &ans); err != nil || ans.Accepted != len(l.ids[i]) || len(ans.Rejected) > 0 {
					return fmt.Errorf("batch %d: answer %s, want %d accepted", i, data, len(l.ids[i]))
				}
			} else {
				a.err = strings.TrimSpace(string(data))
				if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra > 0 {
					wait = time.Second // the collector says wait; keep the test short
				}
			}
		}
		a.end = time.Now()
		l.mu.Lock()
		l.attempts = append(l.attempts, a)
		if a.status == http.StatusOK {
			l.acked[i] = time.Now()
		}
		l.mu.Unlock()
		if a.status == http.StatusOK {
			l.nacked.Add(1)
			return nil
		}
		time.Sleep(wait)
	}
}

// waitAcked waits until n batches are acknowledged.
func (l *loader) waitAcked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for int(l.nacked.Load()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d batches acknowledged after 60s", l.nacked.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refused returns the attempts after since that were not answered 200,
// and fails the test for an answer that is neither a transport error nor
// a 503 (or 429): a collector going down may refuse, never half-accept.
func (l *loader) refused(t *testing.T, since time.Time) []attempt {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []attempt
	for _, a := range l.attempts {
		if a.status == http.StatusOK || a.at.Before(since) {
			continue
		}
		out = append(out, a)
		if a.status != 0 && a.status != http.StatusServiceUnavailable && a.status != http.StatusTooManyRequests {
			t.Errorf("batch %d answered %d: %s", a.batch, a.status, a.err)
		}
	}
	return out
}

// inFlight counts the attempts sent before at and answered after it, and
// how many of those were answered 200.
func (l *loader) inFlight(at time.Time) (n, ok int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.attempts {
		if a.at.Before(at) && a.end.After(at) {
			n++
			if a.status == http.StatusOK {
				ok++
			}
		}
	}
	return n, ok
}

// ackedIDs returns the message ids of every acknowledged batch.
func (l *loader) ackedIDs() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]bool{}
	for i := range l.acked {
		for _, id := range l.ids[i] {
			out[id] = true
		}
	}
	return out
}

// checkExactlyOnce checks that every acknowledged event is in events
// exactly once (read with FINAL, as reports read) and that nothing else is.
func checkExactlyOnce(t *testing.T, dsn string, acked map[string]bool) {
	t.Helper()
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(t.Context(), "SELECT message_id, count() FROM events FINAL GROUP BY message_id")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]uint64{}
	for rows.Next() {
		var id string
		var n uint64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		seen[id] = n
	}
	rows.Close()
	missing, dup, extra := 0, 0, 0
	for id := range acked {
		switch n := seen[id]; {
		case n == 0:
			if missing++; missing <= 5 {
				t.Errorf("acknowledged event %s is not in events", id)
			}
		case n > 1:
			if dup++; dup <= 5 {
				t.Errorf("acknowledged event %s is in events %d times", id, n)
			}
		}
	}
	for id := range seen {
		if !acked[id] {
			if extra++; extra <= 5 {
				t.Errorf("event %s is in events but was never acknowledged", id)
			}
		}
	}
	var raw uint64
	if err := conn.QueryRow(t.Context(), "SELECT count() FROM events").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	t.Logf("acknowledged %d events; in events (FINAL) %d, %d rows before merging replays; lost %d, duplicated %d, unexpected %d",
		len(acked), len(seen), raw, missing, dup, extra)
}
