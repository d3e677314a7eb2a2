package generate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/time/rate"

	"github.com/touchstream/touchstream/collector/redirect"
)

// maxBatchBytes keeps a request under the collector's 500 KB batch limit;
// a larger batch is split in halves.
const maxBatchBytes = 450 << 10

// SendOptions says how Send talks to the collector.
type SendOptions struct {
	BatchSize   int // events per /v1/batch request; default 100
	Concurrency int // requests in flight; default 4
	// Rate is the most events sent a second; 0 sends as fast as the
	// collector answers. With a rate, a batch holds at most a tenth of it
	// (at least one event), so that events flow evenly instead of a batch
	// at a time.
	Rate float64
	// LinkSecret signs the links of email and SMS clicks (Event.Via
	// ViaRedirect) as `touchstream sign-link` does; it must be one the
	// collector verifies with (TOUCHSTREAM_LINK_SECRET; `touchstream dev`
	// uses devstack.DevLinkSecret when that is not set), at least 16
	// bytes. Without one, the clicks go through the Segment API with the
	// rest. Email opens (ViaPixel) always go through the pixel.
	LinkSecret []byte
	// Duplicate is the fraction of batches sent a second time right after
	// they were accepted, as a client retrying after a lost answer would.
	// The collector deduplicates on messageId, so the answers stay the same.
	Duplicate float64
	// Shuffle sends the events in a random (seed-determined) order instead
	// of time order.
	Shuffle bool
	// Progress, if set, gets a progress bar redrawn in place ("\r") at most
	// 10 times a second, and a final line.
	Progress io.Writer
	// WriteKey overrides the world's Config.WriteKey.
	WriteKey string
	Client   *http.Client // default: a client with a 30 s timeout
	// RetryWait is the first wait after a 429/502/503/504 or a transport
	// error (default 100 ms); waits grow exponentially to 5 s, or to the
	// collector's Retry-After. MaxRetryTime (default 2 min) bounds the
	// retries of one batch.
	RetryWait    time.Duration
	MaxRetryTime time.Duration
}

// DefaultSendOptions are 100 events a batch, 4 at a time, no duplicates, in time order.
func DefaultSendOptions() SendOptions { return SendOptions{BatchSize: 100, Concurrency: 4} }

func (o SendOptions) withDefaults(w *World) SendOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.Rate > 0 {
		o.BatchSize = min(o.BatchSize, max(1, int(o.Rate/10)))
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.WriteKey == "" {
		o.WriteKey = w.Config.WriteKey
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.RetryWait <= 0 {
		o.RetryWait = 100 * time.Millisecond
	}
	if o.MaxRetryTime <= 0 {
		o.MaxRetryTime = 2 * time.Minute
	}
	return o
}

// SendStats says what Send did.
type SendStats struct {
	Events  int // events accepted (each counted once), by every endpoint
	Batches int // batches accepted (each counted once)
	Pixels  int // events sent through the pixel (email opens)
	Clicks  int // clicks sent through the signed redirect
	// SegmentClicks are the clicks sent through the Segment API instead,
	// for want of a LinkSecret.
	SegmentClicks int
	Duplicates    int // batches sent a second time on purpose
	Requests      int // HTTP requests, duplicates and retries included
	Retries       int // requests repeated after a 429/502/503/504 or transport error
	Elapsed       time.Duration
}

// StatusError is a collector answer other than 200.
type StatusError struct {
	Status     int
	Body       string
	RetryAfter time.Duration // from a Retry-After header, or 0
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("collector answered %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// Retryable reports whether the request may succeed when repeated.
func (e *StatusError) Retryable() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ErrRejected is returned by Send when the collector accepted a batch only
// in part: its answer listed rejected events or accepted fewer than sent.
var ErrRejected = errors.New("collector rejected events")

// Send sends the world's events to the collector at collectorURL, each
// through the endpoint its Via names: batches to /v1/batch (the Segment
// HTTP API) with the write key as the Basic auth user, email opens to the
// pixel, and clicks to the signed redirect when opts has a LinkSecret (else
// through the Segment API). Clicks go last, after every other event: the
// collector records a click at the time it receives it, which would make
// the history sent after it late. Each answer must be 200 with every event
// accepted (a pixel: 200 without an error header; a click: 302); 429, 502,
// 503, 504 and transport errors are retried with exponential backoff (at
// least the Retry-After). It stops at the first request that fails for
// good and returns the error.
func Send(ctx context.Context, w *World, collectorURL string, opts SendOptions) (SendStats, error) {
	opts = opts.withDefaults(w)
	base := strings.TrimRight(collectorURL, "/")
	s := &sender{
		w:        w,
		opts:     opts,
		base:     base,
		endpoint: base + "/v1/batch",
		noFollow: noFollow(opts.Client),
	}
	if len(opts.LinkSecret) > 0 && len(opts.LinkSecret) < redirect.MinSecretBytes {
		return SendStats{}, fmt.Errorf("link secret: %w", redirect.ErrWeakSecret)
	}
	jobs := s.plan()

	start := time.Now()
	var bar *progressBar
	if opts.Progress != nil {
		bar = startProgress(opts.Progress, len(w.events), start, opts.Rate)
	}
	var limiter *rate.Limiter
	if opts.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(opts.Rate), opts.BatchSize)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queue := make(chan job)
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Go(func() {
			for j := range queue {
				if err := s.send(ctx, j); err != nil {
					cancel(err)
					return
				}
				if bar != nil {
					bar.done.Add(int64(len(j.idx)))
				}
			}
		})
	}
feed:
	for _, j := range jobs {
		if limiter != nil {
			// n <= BatchSize, the burst: an error means ctx is done
			// (or its deadline comes before the wait ends).
			if err := limiter.WaitN(ctx, len(j.idx)); err != nil {
				if ctx.Err() == nil {
					cancel(err)
				}
				break feed
			}
		}
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if bar != nil {
		bar.stop()
	}
	stats := SendStats{
		Events:        int(s.events.Load()),
		Batches:       int(s.batches.Load()),
		Pixels:        int(s.pixels.Load()),
		Clicks:        int(s.clicks.Load()),
		SegmentClicks: int(s.segmentClicks.Load()),
		Duplicates:    int(s.duplicates.Load()),
		Requests:      int(s.requests.Load()),
		Retries:       int(s.retries.Load()),
		Elapsed:       time.Since(start),
	}
	if err := context.Cause(ctx); err != nil {
		return stats, err
	}
	return stats, nil
}

type sender struct {
	w        *World
	opts     SendOptions
	base     string       // the collector's base URL
	endpoint string       // its /v1/batch
	noFollow *http.Client // opts.Client, not following redirects

	events, batches, pixels, clicks, segmentClicks, duplicates, requests, retries atomic.Int64
}

// job is one request's events: a batch of indexes of w.events for the
// Segment API, or one event for the pixel or the redirect.
type job struct {
	idx []int
	via string
	dup bool
}

// via is the endpoint e goes to: its Via, except a click without a link
// secret, which goes through the Segment API.
func (s *sender) via(e *Event) string {
	if e.Via == ViaRedirect && len(s.opts.LinkSecret) == 0 {
		return ViaSegment
	}
	return e.Via
}

// plan cuts the events, in time order or shuffled, into jobs: batches of
// at most BatchSize for the Segment API (some marked to be sent twice),
// each pixel event on its own where it comes, and the clicks through the
// redirect, one each, at the end.
func (s *sender) plan() []job {
	w, o := s.w, s.opts
	dupRNG := rand.New(rand.NewPCG(uint64(w.Config.Seed), 0xd0b1e))
	var jobs, clicks []job
	var batch []int
	flush := func() {
		jobs = append(jobs, job{idx: batch, dup: o.Duplicate > 0 && dupRNG.Float64() < o.Duplicate})
		batch = nil
	}
	for _, i := range w.order(o.Shuffle) {
		e := &w.events[i]
		switch via := s.via(e); via {
		case ViaSegment:
			if e.Via == ViaRedirect {
				s.segmentClicks.Add(1)
			}
			batch = append(batch, i)
			if len(batch) == o.BatchSize {
				flush()
			}
		case ViaRedirect:
			clicks = append(clicks, job{idx: []int{i}, via: via})
		default:
			jobs = append(jobs, job{idx: []int{i}, via: via})
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return append(jobs, clicks...)
}

// send sends one job through its endpoint.
func (s *sender) send(ctx context.Context, j job) error {
	switch j.via {
	case ViaPixel:
		return s.sendPixel(ctx, &s.w.events[j.idx[0]])
	case ViaRedirect:
		return s.sendClick(ctx, &s.w.events[j.idx[0]])
	}
	return s.sendBatch(ctx, j.idx, j.dup)
}

// sendBatch posts the events w.events[idx...], split if too large, and
// a second time if dup.
func (s *sender) sendBatch(ctx context.Context, idx []int, dup bool) error {
	payloads := make([]map[string]any, len(idx))
	for i, j := range idx {
		payloads[i] = s.w.events[j].Payload()
	}
	return s.sendPayloads(ctx, payloads, dup)
}

func (s *sender) sendPayloads(ctx context.Context, payloads []map[string]any, dup bool) error {
	body, err := json.Marshal(payloads)
	if err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	if len(body) > maxBatchBytes && len(payloads) > 1 {
		h := len(payloads) / 2
		if err := s.sendPayloads(ctx, payloads[:h], dup); err != nil {
			return err
		}
		return s.sendPayloads(ctx, payloads[h:], dup)
	}
	if err := s.post(ctx, body, len(payloads), true); err != nil {
		return err
	}
	s.events.Add(int64(len(payloads)))
	s.batches.Add(1)
	if dup {
		s.duplicates.Add(1)
		if err := s.post(ctx, body, len(payloads), false); err != nil {
			return fmt.Errorf("duplicate: %w", err)
		}
	}
	return nil
}

// answer is the collector's answer to a batch.
type answer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	} `json:"rejected"`
}

// post sends one batch body (a JSON array of n events) until it is
// accepted. strict asks for accepted == n; it is dropped after a transport
// error, when an earlier attempt may have landed and the events are now
// duplicates.
func (s *sender) post(ctx context.Context, batch []byte, n int, strict bool) error {
	bo := s.backOff()
	op := func() error {
		s.requests.Add(1)
		var body bytes.Buffer
		body.Grow(len(batch) + 64)
		body.WriteString(`{"batch":`)
		body.Write(batch)
		fmt.Fprintf(&body, `,"sentAt":%q}`, time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, &body)
		if err != nil {
			return backoff.Permanent(err)
		}
		req.SetBasicAuth(s.opts.WriteKey, "")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", LibraryName+"/"+LibraryVersion)
		resp, err := s.opts.Client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return backoff.Permanent(context.Cause(ctx))
			}
			strict = false
			return err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			strict = false
			return fmt.Errorf("read answer: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			se := &StatusError{Status: resp.StatusCode, Body: string(data), RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
			if !se.Retryable() {
				return backoff.Permanent(se)
			}
			bo.after = se.RetryAfter
			return se
		}
		var a answer
		if err := json.Unmarshal(data, &a); err != nil {
			return backoff.Permanent(fmt.Errorf("decode answer %q: %w", data, err))
		}
		if len(a.Rejected) > 0 {
			r := a.Rejected[0]
			return backoff.Permanent(fmt.Errorf("%w: %d of %d, first: event %d: %s", ErrRejected, len(a.Rejected), n, r.Index, r.Error))
		}
		if a.Accepted > n || (strict && a.Accepted != n) {
			return backoff.Permanent(fmt.Errorf("%w: accepted %d of %d", ErrRejected, a.Accepted, n))
		}
		return nil
	}
	err := backoff.RetryNotify(op, backoff.WithContext(bo, ctx), func(error, time.Duration) { s.retries.Add(1) })
	if err != nil {
		return fmt.Errorf("post %s: %w", s.endpoint, err)
	}
	return nil
}

// backOff is the retry schedule of one request.
func (s *sender) backOff() *retryAfterBackOff {
	return &retryAfterBackOff{BackOff: backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(s.opts.RetryWait),
		backoff.WithMaxInterval(5*time.Second),
		backoff.WithMaxElapsedTime(s.opts.MaxRetryTime),
	)}
}

// retryAfterBackOff waits at least the collector's Retry-After (at most a
// minute) before the next attempt.
type retryAfterBackOff struct {
	backoff.BackOff
	after time.Duration
}

func (b *retryAfterBackOff) NextBackOff() time.Duration {
	d := b.BackOff.NextBackOff()
	if d != backoff.Stop && b.after > d {
		d = min(b.after, time.Minute)
	}
	b.after = 0
	return d
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// progressBar draws "[=====>    ] 12000/30000 events 3400/s" in place,
// followed by " (limit 5000/s)" when the rate is limited.
type progressBar struct {
	w     io.Writer
	total int
	start time.Time
	limit float64 // events a second, or 0
	done  atomic.Int64
	quit  chan struct{}
	exit  chan struct{}
}

func startProgress(w io.Writer, total int, start time.Time, limit float64) *progressBar {
	p := &progressBar{w: w, total: total, start: start, limit: limit, quit: make(chan struct{}), exit: make(chan struct{})}
	go func() {
		defer close(p.exit)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		last := int64(-1)
		for {
			select {
			case <-p.quit:
				p.draw()
				fmt.Fprintln(p.w)
				return
			case <-t.C:
				if n := p.done.Load(); n != last {
					last = n
					p.draw()
				}
			}
		}
	}()
	return p
}

func (p *progressBar) stop() {
	close(p.quit)
	<-p.exit
}

func (p *progressBar) draw() {
	const width = 30
	n := int(p.done.Load())
	filled := width
	if p.total > 0 {
		filled = n * width / p.total
	}
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	rate := 0.0
	if el := time.Since(p.start).Seconds(); el > 0 {
		rate = float64(n) / el
	}
	limit := ""
	if p.limit > 0 {
		limit = fmt.Sprintf(" (limit %g/s)", p.limit)
	}
	fmt.Fprintf(p.w, "\r[%s] %d/%d events %.0f/s%s   ", bar, n, p.total, rate, limit)
}
