package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// envInt returns the environment variable name as an int, or def when it
// is unset or not a positive number.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// envSeconds returns the environment variable name, in seconds (a float),
// as a duration, or def.
func envSeconds(name string, def time.Duration) time.Duration {
	if f, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && f > 0 {
		return time.Duration(f * float64(time.Second))
	}
	return def
}

// request is one pre-built HTTP request body and the events it carries.
type request struct {
	body   []byte
	events int
	ids    []string // the messageIds in the body, when the caller tracks them
}

// newClient returns an HTTP client keeping up to conns connections to one
// host alive, without compression, for a load generator.
func newClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
		Timeout: 30 * time.Second,
	}
}

// post sends one request and reads the whole answer; it returns an error
// unless the status is 2xx.
func post(ctx context.Context, c *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// loadResult is what a load run measured.
type loadResult struct {
	requests, events, errors int64
	elapsed                  time.Duration
	cpu                      time.Duration // CPU time of the whole process (user + system)
	firstErr                 error
}

// cpuTime returns the CPU time (user + system) the process has used so far.
// On a machine shared with other work a run may get little of the CPU; CPU
// time per event says what a path costs whatever share it got.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r loadResult) eventsPerSecond() float64 { return float64(r.events) / r.elapsed.Seconds() }

// cpuPerEvent is the process's CPU time per event accepted, in µs.
func (r loadResult) cpuPerEvent() float64 {
	return float64(r.cpu) / float64(time.Microsecond) / float64(r.events)
}

// closedLoop runs clients concurrent keep-alive clients against url for d,
// each posting the next of reqs as soon as its previous answer is read,
// and counts the events of the 2xx answers.
func closedLoop(ctx context.Context, c *http.Client, url string, reqs []request, clients int, d time.Duration) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next, requests, events, errs atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				r := reqs[int(next.Add(1))%len(reqs)]
				if err := post(context.WithoutCancel(ctx), c, url, r.body); err != nil {
					errs.Add(1)
					once.Do(func() { firstErr = err })
					continue
				}
				requests.Add(1)
				events.Add(int64(r.events))
			}
		})
	}
	wg.Wait()
	return loadResult{requests: requests.Load(), events: events.Load(), errors: errs.Load(), elapsed: time.Since(start), cpu: cpuTime() - cpu0, firstErr: firstErr}
}

// paced is one request of an open-loop run: when it was due and when its
// 2xx answer was read (zero when it failed).
type paced struct {
	due, done time.Time
	req       request
}

// openLoop posts reqs (cycling) to url at rate requests a second for d,
// each at its due time whatever happened to the ones before (open loop:
// a slow answer does not delay the next request), from up to workers
// concurrent connections. It returns every request with its due and done
// times; latency counted from the due time includes any wait for a free
// worker, so a server that falls behind shows it. notify, if not nil, is
// called with each request answered 2xx as soon as it is (concurrently).
func openLoop(ctx context.Context, c *http.Client, url string, reqs []request, rate float64, d time.Duration, workers int, notify func(paced)) ([]paced, loadResult) {
	n := int(rate * d.Seconds())
	out := make([]paced, n)
	work := make(chan int, n)
	var errs atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				if err := post(ctx, c, url, out[i].req.body); err != nil {
					errs.Add(1)
					once.Do(func() { firstErr = err })
					continue
				}
				out[i].done = time.Now()
				if notify != nil {
					notify(out[i])
				}
			}
		})
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		out[i].due, out[i].req = due, reqs[i%len(reqs)]
		work <- i
	}
	close(work)
	wg.Wait()
	res := loadResult{requests: int64(n) - errs.Load(), errors: errs.Load(), elapsed: time.Since(start), firstErr: firstErr}
	for _, p := range out {
		if !p.done.IsZero() {
			res.events += int64(p.req.events)
		}
	}
	return out, res
}

// latencies returns the due-to-answer times of the answered requests.
func latencies(ps []paced) []time.Duration {
	out := make([]time.Duration, 0, len(ps))
	for _, p := range ps {
		if !p.done.IsZero() {
			out = append(out, p.done.Sub(p.due))
		}
	}
	return out
}

// quantile returns the q-quantile of ds by nearest rank (the value at
// position ceil(q*n)-1 of the sorted values); 0 for none. It sorts ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	k := int(q*float64(len(ds))+0.999999999) - 1
	return ds[min(max(k, 0), len(ds)-1)]
}

// ms is d in milliseconds, for b.ReportMetric.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// checkErrors fails the benchmark when more than 1% of a run's requests
// failed, naming the first failure.
func checkErrors(b *testing.B, what string, r loadResult) {
	b.Helper()
	if r.errors > 0 && r.errors*100 > r.requests+r.errors {
		b.Fatalf("%s: %d of %d requests failed, first: %v", what, r.errors, r.requests+r.errors, r.firstErr)
	}
}
