package snowplow

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/touchstream/touchstream/collector/backpressure"
	"github.com/touchstream/touchstream/collector/gif"
	"github.com/touchstream/touchstream/pipeline"
)

// Acceptor is what the Snowplow endpoints need from the collector;
// *collector.Server implements it. The handler calls it from every
// request's goroutine, so every method must be safe for concurrent use; the
// handler never closes it.
type Acceptor interface {
	// KnownWriteKey reports whether key is one of the configured write keys.
	KnownWriteKey(key string) bool
	// Accept stores events, and dead letters for what was refused, and
	// returns once Kafka acknowledged the events; an error means they were
	// not stored. endpoint labels the metrics, e.g. PathPost.
	Accept(ctx context.Context, endpoint string, events []pipeline.Event, dead []pipeline.Rejected) error
	// Now is the collector's clock: received_at, UTC, millisecond precision.
	Now() time.Time
}

// The paths the trackers use, relative to the collector's URL.
const (
	PathPost = "/com.snowplowanalytics.snowplow/tp2"
	PathGet  = "/i"
)

const (
	// MaxBodyBytes bounds a POST body, after decompression (the collector's
	// MaxBatchBytes default, Segment's batch limit).
	MaxBodyBytes = 500 << 10
	// MaxEventBytes bounds one event: an element of a POST body's data, or
	// a GET query string (the collector's MaxEventBytes default).
	MaxEventBytes = 32 << 10
	// DefaultPingInterval is the engaged time one page ping stands for
	// unless WithPingInterval says otherwise: the heartbeat of Snowplow's
	// documented enableActivityTracking({minimumVisitLength: 30,
	// heartbeatDelay: 10}), which Snowplow's own web data model also
	// assumes.
	DefaultPingInterval = 10 * time.Second

	// errorHeader says why an event was refused on GET, whose body is a GIF.
	errorHeader    = "X-Touchstream-Error"
	maxErrorHeader = 256
)

// Option configures Handler.
type Option func(*handler)

// WithPingInterval sets the engaged time of one page ping: the
// heartbeatDelay the site's trackers are configured with. Zero or less
// means unknown: page pings are kept without engagement_time_msec.
func WithPingInterval(d time.Duration) Option {
	return func(h *handler) { h.pingInterval = max(d, 0) }
}

// Handler returns the handler of both Snowplow endpoints: POST PathPost
// (with its CORS preflight, OPTIONS PathPost) and GET PathGet. It tells
// them apart by method; see the package documentation for what it answers.
func Handler(a Acceptor, opts ...Option) http.Handler {
	if a == nil {
		panic("snowplow.Handler: nil Acceptor")
	}
	h := &handler{a: a, pingInterval: DefaultPingInterval}
	for _, o := range opts {
		o(h)
	}
	return h
}

type handler struct {
	a            Acceptor
	pingInterval time.Duration
}

// requestError refuses a whole POST.
type requestError struct {
	status int
	msg    string
}

// rejection is one refused event in a POST answer.
type rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// answer is the 200 answer to a POST, as the Segment API's.
type answer struct {
	Accepted int         `json:"accepted"`
	Rejected []rejection `json:"rejected"`
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	allowOrigin(w, r)
	switch r.Method {
	case http.MethodPost:
		h.servePost(w, r)
	case http.MethodGet, http.MethodHead:
		h.serveGet(w, r)
	case http.MethodOptions:
		preflight(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST, OPTIONS")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	}
}

// servePost serves a batch: the payload_data envelope.
func (h *handler) servePost(w http.ResponseWriter, r *http.Request) {
	receivedAt := h.a.Now()
	reqKey := requestWriteKey(r)
	if !h.a.KnownWriteKey(reqKey) {
		reqKey = ""
	}
	refuse := func(e *requestError, body []byte) {
		if reqKey != "" {
			d := pipeline.Rejected{ReceivedAt: receivedAt, Source: PathPost, WriteKey: reqKey, Index: -1, Error: e.msg}
			if body != nil {
				d.Payload = payloadOf(body)
			}
			// Dead letters are best effort: the request is refused either way.
			_ = h.a.Accept(r.Context(), PathPost, nil, []pipeline.Rejected{d})
		}
		writeJSON(w, e.status, map[string]string{"error": e.msg})
	}

	body, rerr := readBody(w, r)
	if rerr != nil {
		refuse(rerr, nil)
		return
	}
	items, err := decodeBody(body)
	if err != nil {
		refuse(&requestError{http.StatusBadRequest, err.Error()}, body)
		return
	}

	// Each event's write key: its app id when that is a write key, else
	// the request's. A request none of whose events has one is refused.
	decoded := make([]params, len(items))
	errs := make([]error, len(items))
	keys := make([]string, len(items))
	authorized := reqKey != ""
	for i, raw := range items {
		if len(raw) > MaxEventBytes {
			errs[i] = fmt.Errorf("event: larger than %d bytes", MaxEventBytes)
		} else {
			decoded[i], errs[i] = decodeItem(raw)
		}
		keys[i] = reqKey
		if aid := decoded[i]["aid"]; aid != "" && h.a.KnownWriteKey(aid) {
			keys[i] = aid
		}
		authorized = authorized || keys[i] != ""
	}
	if !authorized {
		msg := "unknown write key: neither an app id (aid) nor the request (Basic auth user, ?writeKey=) names a known write key"
		if requestWriteKey(r) == "" && !anyAppID(decoded) {
			msg = "write key required: an app id (aid) that is a write key, the Basic auth user or ?writeKey="
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
		return
	}

	events := make([]pipeline.Event, 0, len(items))
	dead := []pipeline.Rejected{}
	ans := answer{Rejected: []rejection{}}
	for i, raw := range items {
		err := errs[i]
		if err == nil && keys[i] == "" {
			err = fmt.Errorf("unknown write key: app id %q is not a write key and the request names none", decoded[i]["aid"])
		}
		var ev pipeline.Event
		if err == nil {
			ev, err = decode(decoded[i], meta{writeKey: keys[i], receivedAt: receivedAt, pingInterval: h.pingInterval, userAgent: r.UserAgent()})
		}
		if err != nil {
			d := pipeline.Rejected{ReceivedAt: receivedAt, Source: PathPost, WriteKey: keys[i], Index: i, Error: err.Error()}
			if len(raw) <= MaxEventBytes {
				d.Payload = payloadOf(raw)
			}
			dead = append(dead, d)
			ans.Rejected = append(ans.Rejected, rejection{Index: i, Error: err.Error()})
			continue
		}
		events = append(events, ev)
	}
	if err := h.a.Accept(r.Context(), PathPost, events, dead); err != nil {
		status, retry, msg := backpressure.Answer(err)
		w.Header().Set("Retry-After", retry)
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	ans.Accepted = len(events)
	writeJSON(w, http.StatusOK, ans)
}

// serveGet serves one event in the query string, answering the GIF.
func (h *handler) serveGet(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		answerGIF(w, http.StatusOK, "")
		return
	}
	// ParseQuery keeps every pair it can read and reports the first it
	// cannot; the write key is looked for even in a query with a bad pair.
	q, qerr := url.ParseQuery(r.URL.RawQuery)
	aid, reqKey := q.Get("aid"), requestWriteKey(r)
	var key string
	switch {
	case aid != "" && h.a.KnownWriteKey(aid):
		key = aid
	case reqKey != "" && h.a.KnownWriteKey(reqKey):
		key = reqKey
	case aid == "" && reqKey == "":
		answerGIF(w, http.StatusUnauthorized, "write key required: an app id (aid) that is a write key, the Basic auth user or ?writeKey=")
		return
	default:
		answerGIF(w, http.StatusUnauthorized, "unknown write key: neither the app id (aid) nor the request names a known write key")
		return
	}

	receivedAt := h.a.Now()
	var (
		ev  pipeline.Event
		err error
	)
	switch {
	case len(r.URL.RawQuery) > MaxEventBytes:
		err = errTooLarge
	case qerr != nil:
		err = fmt.Errorf("query: %w", qerr)
	default:
		ev, err = decode(queryParams(q), meta{writeKey: key, receivedAt: receivedAt, pingInterval: h.pingInterval, userAgent: r.UserAgent()})
	}
	if err != nil {
		d := pipeline.Rejected{ReceivedAt: receivedAt, Source: PathGet, WriteKey: key, Error: err.Error()}
		if !errors.Is(err, errTooLarge) {
			d.Payload, _ = json.Marshal(r.URL.RawQuery) // invalid UTF-8 becomes U+FFFD
		}
		// The event is refused either way; the Acceptor logs and counts a
		// dead letter it could not store.
		_ = h.a.Accept(r.Context(), PathGet, nil, []pipeline.Rejected{d})
		answerGIF(w, http.StatusOK, err.Error())
		return
	}
	if err := h.a.Accept(r.Context(), PathGet, []pipeline.Event{ev}, nil); err != nil {
		status, retry, msg := backpressure.Answer(err)
		w.Header().Set("Retry-After", retry)
		answerGIF(w, status, msg)
		return
	}
	answerGIF(w, http.StatusOK, "")
}

var errTooLarge = errors.New("query: larger than " + strconv.Itoa(MaxEventBytes) + " bytes")

func anyAppID(ps []params) bool {
	for _, p := range ps {
		if p["aid"] != "" {
			return true
		}
	}
	return false
}

// requestWriteKey is the write key the request carries besides the app
// ids: the Basic auth user (or password, if the user is empty), else
// ?writeKey=.
func requestWriteKey(r *http.Request) string {
	if u, p, ok := r.BasicAuth(); ok {
		if u != "" {
			return u
		}
		if p != "" {
			return p
		}
	}
	return r.URL.Query().Get("writeKey")
}

// readBody reads at most MaxBodyBytes of body, gunzipping it when
// Content-Encoding says gzip, whatever its Content-Type.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *requestError) {
	tooLarge := &requestError{http.StatusRequestEntityTooLarge, "body: larger than " + strconv.Itoa(MaxBodyBytes) + " bytes"}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return nil, tooLarge
			}
			return nil, &requestError{http.StatusBadRequest, "body: invalid gzip: " + err.Error()}
		}
		defer zr.Close()
		src = zr
	default:
		return nil, &requestError{http.StatusUnsupportedMediaType, "content-encoding: " + enc + " is not supported (use gzip or none)"}
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(src, MaxBodyBytes+1))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		return nil, &requestError{http.StatusBadRequest, "body: " + err.Error()}
	}
	if n > MaxBodyBytes {
		return nil, tooLarge
	}
	return buf.Bytes(), nil
}

// payloadOf keeps a refused body or event for a dead letter: as JSON text
// when it is valid JSON of at most MaxEventBytes, else as a JSON string of
// (at most MaxEventBytes of) it.
func payloadOf(body []byte) json.RawMessage {
	if len(body) <= MaxEventBytes && json.Valid(body) {
		return body
	}
	if len(body) > MaxEventBytes {
		body = body[:MaxEventBytes]
	}
	b, _ := json.Marshal(string(body)) // invalid UTF-8 becomes U+FFFD
	return b
}

// allowOrigin lets the page that sent the request read the answer. The
// JavaScript tracker sends with credentials (withCredentials, on by
// default), for which a wildcard origin does not do: the origin is echoed
// and credentials allowed. No cookie is set or read.
func allowOrigin(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// preflight answers the CORS preflight of a POST: the tracker posts
// application/json, and may add headers of its own (customHeaders,
// SP-Anonymous).
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
	allow := "Content-Type, Content-Encoding, Authorization, SP-Anonymous"
	if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
		allow = asked
	}
	h.Set("Access-Control-Allow-Headers", allow)
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// answerGIF writes the GIF with status, uncacheable, and problem in
// errorHeader when there is one.
func answerGIF(w http.ResponseWriter, status int, problem string) {
	if problem != "" {
		if len(problem) > maxErrorHeader {
			problem = problem[:maxErrorHeader]
		}
		w.Header().Set(errorHeader, problem)
	}
	gif.Write(w, status)
}
