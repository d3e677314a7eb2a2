package webhook

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/touchstream/touchstream/collector/backpressure"
	"github.com/touchstream/touchstream/pipeline"
)

// Acceptor is the collector seen from a webhook: *collector.Server
// implements it. All methods are safe to call concurrently.
type Acceptor interface {
	// KnownWriteKey reports whether key is a configured write key.
	KnownWriteKey(key string) bool
	// Accept publishes events and dead letters and returns once Kafka
	// acknowledged the events; an error means they were not accepted.
	// endpoint labels the metrics.
	Accept(ctx context.Context, endpoint string, events []pipeline.Event, dead []pipeline.Rejected) error
	// Now is the collector's clock, the received_at of events.
	Now() time.Time
}

// rejection is one refused item in an answer.
type rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// answer is the 200 answer, as the Segment API's.
type answer struct {
	Accepted int         `json:"accepted"`
	Rejected []rejection `json:"rejected"`
}

// Handler serves POST /v1/webhooks/{source}: it finds the source's mapping
// in reg (404 if none), checks the write key (Basic auth user, else
// ?writeKey=; 401), reads at most MaxBodyBytes (413; gzip accepted), checks
// the signature if the source has one (401), maps the body (400 if it
// cannot be read at all) and hands events and dead letters to a, answering
// 200 {"accepted":N,"rejected":[{"index":i,"error":"..."}]} once Kafka
// acknowledged, or 503 with Retry-After if it did not. Requests refused
// whole with a known write key also go to the dead letters. Register it on
// a pattern with a {source} wildcard.
func Handler(a Acceptor, reg *Registry) http.Handler {
	if a == nil || reg == nil {
		panic("webhook.Handler: nil Acceptor or Registry")
	}
	return &handler{a: a, reg: reg}
}

type handler struct {
	a   Acceptor
	reg *Registry
}

// requestError refuses a whole request.
type requestError struct {
	status int
	msg    string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	source := r.PathValue("source")
	m, ok := h.reg.Mapping(source)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown webhook source " + strconv.Quote(source)})
		return
	}
	receivedAt := h.a.Now()

	key := writeKey(r)
	switch {
	case key == "":
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "write key required: Basic auth user or ?writeKey="})
		return
	case !h.a.KnownWriteKey(key):
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unknown write key"})
		return
	}

	wire, body, rerr := readBody(w, r)
	if rerr == nil {
		if err := m.Verify(r.Header, wire); err != nil {
			rerr = &requestError{http.StatusUnauthorized, err.Error()}
		}
	}
	var events []pipeline.Event
	var dead []pipeline.Rejected
	if rerr == nil {
		var err error
		if events, dead, err = m.Map(body, receivedAt, key); err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, ErrTooManyItems) {
				status = http.StatusRequestEntityTooLarge
			}
			rerr = &requestError{status, err.Error()}
		}
	}
	if rerr != nil {
		d := pipeline.Rejected{ReceivedAt: receivedAt, Source: m.Endpoint(), WriteKey: key, Index: -1, Error: rerr.msg}
		if body != nil {
			d.Payload = payloadOf(body)
		}
		// Dead letters are best effort: the request is refused either way.
		_ = h.a.Accept(r.Context(), m.Endpoint(), nil, []pipeline.Rejected{d})
		writeJSON(w, rerr.status, map[string]string{"error": rerr.msg})
		return
	}

	if err := h.a.Accept(r.Context(), m.Endpoint(), events, dead); err != nil {
		status, retry, msg := backpressure.Answer(err)
		w.Header().Set("Retry-After", retry)
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	ans := answer{Accepted: len(events), Rejected: make([]rejection, 0, len(dead))}
	for _, d := range dead {
		ans.Rejected = append(ans.Rejected, rejection{Index: d.Index, Error: d.Error})
	}
	writeJSON(w, http.StatusOK, ans)
}

// writeKey is the request's write key: the Basic auth user (or password,
// if the user is empty), else ?writeKey=.
func writeKey(r *http.Request) string {
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

// readBody reads at most MaxBodyBytes of body as it came over the wire (what
// a signature signs) and that body with any gzip Content-Encoding undone,
// also at most MaxBodyBytes. When it fails after the body was read, body is
// what was read.
func readBody(w http.ResponseWriter, r *http.Request) (wire, body []byte, _ *requestError) {
	tooLarge := &requestError{http.StatusRequestEntityTooLarge, "body: larger than " + strconv.Itoa(MaxBodyBytes) + " bytes"}
	if r.ContentLength > MaxBodyBytes {
		return nil, nil, tooLarge
	}
	wire, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, nil, tooLarge
		}
		return nil, nil, &requestError{http.StatusBadRequest, "body: " + err.Error()}
	}
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return wire, wire, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			return wire, nil, &requestError{http.StatusBadRequest, "body: invalid gzip: " + err.Error()}
		}
		body, err := io.ReadAll(io.LimitReader(zr, MaxBodyBytes+1))
		if err != nil {
			return wire, nil, &requestError{http.StatusBadRequest, "body: invalid gzip: " + err.Error()}
		}
		if len(body) > MaxBodyBytes {
			return wire, nil, tooLarge
		}
		return wire, body, nil
	default:
		return wire, nil, &requestError{http.StatusUnsupportedMediaType, "content-encoding: " + enc + " is not supported (use gzip or none)"}
	}
}

// payloadOf keeps a refused body for a dead letter: as JSON text when it is
// valid JSON of at most maxPayloadBytes, else as a JSON string of (at most
// maxPayloadBytes of) it.
func payloadOf(body []byte) json.RawMessage {
	if len(body) <= maxPayloadBytes && json.Valid(body) {
		return body
	}
	if len(body) > maxPayloadBytes {
		body = body[:maxPayloadBytes]
	}
	b, _ := json.Marshal(string(body)) // invalid UTF-8 becomes U+FFFD
	return b
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
