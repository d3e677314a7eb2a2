package generate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector/redirect"
)

// recorder is a fake collector: it records every /v1/batch request and
// answers with answer (default: 200, all accepted); it records the message
// ids of pixel requests in pixels, answering 200 (or pixelError in the
// error header), and the recipients of clicks whose token secret signed
// in clicks, answering 302 (403 for another secret).
type recorder struct {
	mu         sync.Mutex
	requests   []recorded
	answer     func(n int, r recorded) (status int, body string)
	pixels     []string
	pixelError string
	secret     []byte
	clicks     []redirect.Link
	kinds      []string // "batch", "pixel" or "click", in the order received
}

type recorded struct {
	auth, contentType string
	sentAt            string
	ids               []string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/pixel/v1/") {
		rec.mu.Lock()
		rec.pixels = append(rec.pixels, r.URL.Query().Get("messageId"))
		rec.kinds = append(rec.kinds, "pixel")
		rec.mu.Unlock()
		if rec.pixelError != "" {
			w.Header().Set("X-Touchstream-Error", rec.pixelError)
		}
		w.Header().Set("Content-Type", "image/gif")
		return
	}
	if token, ok := strings.CutPrefix(r.URL.Path, "/r/"); ok && r.Method == http.MethodGet && len(rec.secret) > 0 {
		l, err := redirect.Verify(rec.secret, token, time.Now())
		if err != nil {
			http.Error(w, "invalid link signature", http.StatusForbidden)
			return
		}
		rec.mu.Lock()
		rec.clicks = append(rec.clicks, l)
		rec.kinds = append(rec.kinds, "click")
		rec.mu.Unlock()
		http.Redirect(w, r, l.URL, http.StatusFound)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/batch" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var body struct {
		Batch  []map[string]any `json:"batch"`
		SentAt string           `json:"sentAt"`
	}
	data, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(data, &body); err != nil {
		http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
		return
	}
	rr := recorded{auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"), sentAt: body.SentAt}
	for _, e := range body.Batch {
		id, _ := e["messageId"].(string)
		rr.ids = append(rr.ids, id)
	}
	rec.mu.Lock()
	rec.requests = append(rec.requests, rr)
	rec.kinds = append(rec.kinds, "batch")
	n := len(rec.requests)
	rec.mu.Unlock()
	status, answer := http.StatusOK, fmt.Sprintf(`{"accepted":%d,"rejected":[]}`, len(rr.ids))
	if rec.answer != nil {
		status, answer = rec.answer(n, rr)
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

func (rec *recorder) all() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.requests...)
}

// received counts the events received by message id (a click by
// "click:" and its recipient) over every endpoint.
func (rec *recorder) received() map[string]int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	seen := map[string]int{}
	for _, r := range rec.requests {
		for _, id := range r.ids {
			seen[id]++
		}
	}
	for _, id := range rec.pixels {
		seen[id]++
	}
	for _, l := range rec.clicks {
		seen["click:"+l.Recipient]++
	}
	return seen
}

// receivedAs is the key received gives e when clicks go to the redirect.
func receivedAs(e *Event, redirected bool) string {
	if redirected && e.Via == ViaRedirect {
		return "click:" + e.UserID
	}
	return e.MessageID
}

// countVia counts the world's events by the endpoint they go to, with a
// link secret or not.
func countVia(w *World, secret bool) (segment, pixels, clicks int) {
	for _, e := range w.Events() {
		switch {
		case e.Via == ViaPixel:
			pixels++
		case e.Via == ViaRedirect && secret:
			clicks++
		default:
			segment++
		}
	}
	return segment, pixels, clicks
}

func startCollector(t *testing.T, rec *recorder) string {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSend(t *testing.T) {
	w := testWorld(t, 60, 4)
	rec := &recorder{}
	url := startCollector(t, rec)
	var progress bytes.Buffer
	stats, err := Send(t.Context(), w, url+"/", SendOptions{BatchSize: 50, Concurrency: 3, WriteKey: "key1", Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	n := len(w.Events())
	segment, pixels, _ := countVia(w, false)
	wantBatches := (segment + 49) / 50
	if pixels == 0 || stats.Events != n || stats.Batches != wantBatches || stats.Pixels != pixels || stats.Clicks != 0 ||
		stats.SegmentClicks == 0 || stats.Requests != wantBatches+pixels || stats.Retries != 0 || stats.Duplicates != 0 {
		t.Fatalf("stats %+v; %d events, %d by pixel", stats, n, pixels)
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("key1:"))
	for _, r := range rec.all() {
		if r.auth != wantAuth || r.contentType != "application/json" {
			t.Fatalf("auth %q, content type %q", r.auth, r.contentType)
		}
		if _, err := time.Parse(time.RFC3339, r.sentAt); err != nil {
			t.Fatalf("sentAt %q: %v", r.sentAt, err)
		}
		if len(r.ids) == 0 || len(r.ids) > 50 {
			t.Fatalf("batch of %d", len(r.ids))
		}
	}
	seen := rec.received()
	for _, e := range w.Events() {
		if seen[e.MessageID] != 1 {
			t.Fatalf("event %s received %d times", e.MessageID, seen[e.MessageID])
		}
	}
	if len(seen) != n {
		t.Fatalf("received %d distinct events, want %d", len(seen), n)
	}
	if p := progress.String(); !strings.Contains(p, fmt.Sprintf("] %d/%d events", n, n)) || !strings.HasPrefix(p, "\r[") || !strings.HasSuffix(p, "\n") {
		t.Fatalf("progress %q", p)
	}
}

func TestSendDuplicates(t *testing.T) {
	w := testWorld(t, 80, 5)
	rec := &recorder{}
	url := startCollector(t, rec)
	stats, err := Send(t.Context(), w, url, SendOptions{BatchSize: 20, Concurrency: 1, Duplicate: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if stats.Duplicates == 0 || stats.Duplicates == stats.Batches || len(reqs) != stats.Batches+stats.Duplicates || stats.Requests != len(reqs)+stats.Pixels {
		t.Fatalf("stats %+v, %d requests", stats, len(reqs))
	}
	// With one connection, a duplicate follows its original.
	dups := 0
	for i := 1; i < len(reqs); i++ {
		if strings.Join(reqs[i].ids, ",") == strings.Join(reqs[i-1].ids, ",") {
			dups++
			i++
		}
	}
	if dups != stats.Duplicates {
		t.Fatalf("%d repeated batches, stats say %d", dups, stats.Duplicates)
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("dev:"))
	if reqs[0].auth != wantAuth {
		t.Fatalf("auth %q, want the world's write key", reqs[0].auth)
	}
	// The same seed duplicates the same batches.
	rec2 := &recorder{}
	stats2, err := Send(t.Context(), w, startCollector(t, rec2), SendOptions{BatchSize: 20, Concurrency: 1, Duplicate: 0.5})
	if err != nil || stats2.Duplicates != stats.Duplicates {
		t.Fatalf("second run: %+v, %v", stats2, err)
	}
}

func TestSendShuffle(t *testing.T) {
	w := testWorld(t, 40, 6)
	rec := &recorder{}
	if _, err := Send(t.Context(), w, startCollector(t, rec), SendOptions{BatchSize: 25, Concurrency: 1, Shuffle: true}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rec.all() {
		got = append(got, r.ids...)
	}
	var want []string
	for _, e := range w.Events() {
		if e.Via != ViaPixel {
			want = append(want, e.MessageID)
		}
	}
	if len(got) != len(want) || strings.Join(got, ",") == strings.Join(want, ",") {
		t.Fatalf("shuffled send: %d events, in time order %v", len(got), strings.Join(got, ",") == strings.Join(want, ","))
	}
}

func TestSendRetry(t *testing.T) {
	w := testWorld(t, 30, 7)
	rec := &recorder{answer: func(n int, r recorded) (int, string) {
		switch n {
		case 1:
			return http.StatusServiceUnavailable, `{"error":"spool full"}`
		case 2:
			return http.StatusTooManyRequests, `{"error":"slow down"}`
		}
		return http.StatusOK, fmt.Sprintf(`{"accepted":%d}`, len(r.ids))
	}}
	stats, err := Send(t.Context(), w, startCollector(t, rec), SendOptions{BatchSize: 1000, Concurrency: 1, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if stats.Retries != 2 || stats.Requests != 3+stats.Pixels || len(reqs) != 3 || stats.Events != len(w.Events()) || stats.Batches != 1 {
		t.Fatalf("stats %+v, %d requests", stats, len(reqs))
	}
	for _, r := range reqs {
		if strings.Join(r.ids, ",") != strings.Join(reqs[0].ids, ",") {
			t.Fatal("a retry sent other events")
		}
	}
}

func TestSendRetryAfter(t *testing.T) {
	if d := retryAfter("2"); d != 2*time.Second {
		t.Errorf("Retry-After 2: %v", d)
	}
	if d := retryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)); d < 59*time.Minute {
		t.Errorf("Retry-After date: %v", d)
	}
	if d := retryAfter("soon"); d != 0 {
		t.Errorf("Retry-After soon: %v", d)
	}
	// The backoff waits at least the Retry-After.
	b := &retryAfterBackOff{BackOff: &constantBackOff{time.Millisecond}}
	b.after = 3 * time.Second
	if d := b.NextBackOff(); d != 3*time.Second {
		t.Errorf("wait %v, want the Retry-After", d)
	}
	if d := b.NextBackOff(); d != time.Millisecond {
		t.Errorf("wait %v after, want the backoff's", d)
	}
}

type constantBackOff struct{ d time.Duration }

func (c *constantBackOff) NextBackOff() time.Duration { return c.d }
func (c *constantBackOff) Reset()                     {}

func TestSendFailures(t *testing.T) {
	w := testWorld(t, 30, 8)
	for _, tc := range []struct {
		name   string
		answer func(n int, r recorded) (int, string)
		check  func(error) bool
	}{
		{"unauthorized", func(int, recorded) (int, string) { return http.StatusUnauthorized, `{"error":"unknown write key"}` },
			func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.Status == 401 && !se.Retryable()
			}},
		{"rejected events", func(_ int, r recorded) (int, string) {
			return http.StatusOK, fmt.Sprintf(`{"accepted":%d,"rejected":[{"index":0,"error":"bad"}]}`, len(r.ids)-1)
		}, func(err error) bool { return errors.Is(err, ErrRejected) && strings.Contains(err.Error(), "bad") }},
		{"accepted too few", func(_ int, r recorded) (int, string) {
			return http.StatusOK, fmt.Sprintf(`{"accepted":%d}`, len(r.ids)-1)
		}, func(err error) bool { return errors.Is(err, ErrRejected) }},
		{"retries run out", func(int, recorded) (int, string) { return http.StatusServiceUnavailable, `{}` },
			func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Status == 503 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{answer: tc.answer}
			stats, err := Send(t.Context(), w, startCollector(t, rec), SendOptions{BatchSize: 10, Concurrency: 2, RetryWait: time.Millisecond, MaxRetryTime: 50 * time.Millisecond})
			if err == nil || !tc.check(err) {
				t.Fatalf("error %v", err)
			}
			if stats.Batches != 0 {
				t.Fatalf("stats %+v", stats)
			}
		})
	}
}

func TestSendSplitsLargeBatches(t *testing.T) {
	w := testWorld(t, 200, 9)
	rec := &recorder{}
	stats, err := Send(t.Context(), w, startCollector(t, rec), SendOptions{BatchSize: 5000, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events != len(w.Events()) || stats.Batches < 2 {
		t.Fatalf("stats %+v for %d events", stats, len(w.Events()))
	}
}
