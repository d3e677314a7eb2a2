package pixel

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/touchstream/touchstream/collector/backpressure"
	"github.com/touchstream/touchstream/collector/gif"
	"github.com/touchstream/touchstream/device"
	"github.com/touchstream/touchstream/pipeline"
)

// Acceptor is what the pixel needs from the collector; *collector.Server
// implements it. The handler calls it from every request's goroutine, so
// every method must be safe for concurrent use; the handler never closes it.
type Acceptor interface {
	// KnownWriteKey reports whether key is one of the configured write keys.
	KnownWriteKey(key string) bool
	// Accept stores events, and dead letters for what was refused, and
	// returns once Kafka acknowledged the events; an error means they were
	// not stored. endpoint labels the metrics, e.g. "/pixel/v1/track".
	Accept(ctx context.Context, endpoint string, events []pipeline.Event, dead []pipeline.Rejected) error
	// Now is the collector's clock: received_at, UTC, millisecond precision.
	Now() time.Time
}

const (
	// maxQueryBytes bounds the query string: the collector's limit for one
	// event (MaxEventBytes' default).
	maxQueryBytes = 32 << 10
	// errorHeader says why an event was refused, for whoever debugs a template.
	errorHeader = "X-Touchstream-Error"
	// maxErrorHeader bounds errorHeader's value.
	maxErrorHeader = 256
)

// Handler returns the pixel's handler for GET /pixel/v1/track and
// GET /pixel/v1/page. It reads the kind from the {kind} path value when the
// route has one, else from the last element of the path; see the package
// documentation for the query string and the answers.
func Handler(a Acceptor) http.Handler { return &handler{a: a} }

type handler struct{ a Acceptor }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	if kind == "" {
		kind = path.Base(r.URL.Path)
	}
	if kind != pipeline.TypeTrack && kind != pipeline.TypePage {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodHead {
		answer(w, http.StatusOK, "")
		return
	}
	endpoint := "/pixel/v1/" + kind

	// ParseQuery keeps every pair it can read and reports the first it
	// cannot; the write key is looked for even in a query with a bad pair.
	q, qerr := url.ParseQuery(r.URL.RawQuery)
	key := q.Get("writeKey")
	if key == "" {
		answer(w, http.StatusUnauthorized, "write key required: ?writeKey=")
		return
	}
	if !h.a.KnownWriteKey(key) {
		answer(w, http.StatusUnauthorized, "unknown write key")
		return
	}

	receivedAt := h.a.Now()
	var (
		ev  pipeline.Event
		err error
	)
	switch {
	case len(r.URL.RawQuery) > maxQueryBytes:
		err = errTooLarge
	case qerr != nil:
		err = refusal("query: %w", qerr)
	default:
		ev, err = decode(q, kind, key, receivedAt)
	}
	if err != nil {
		d := pipeline.Rejected{ReceivedAt: receivedAt, Source: endpoint, WriteKey: key, Error: err.Error()}
		if !errors.Is(err, errTooLarge) {
			d.Payload, _ = json.Marshal(r.URL.RawQuery) // invalid UTF-8 becomes U+FFFD
		}
		// The event is refused either way; the Acceptor logs and counts a
		// dead letter it could not store.
		_ = h.a.Accept(r.Context(), endpoint, nil, []pipeline.Rejected{d})
		answer(w, http.StatusOK, err.Error())
		return
	}
	device.Fill(&ev, r.UserAgent()) // the mail client's or browser's own request
	if err := h.a.Accept(r.Context(), endpoint, []pipeline.Event{ev}, nil); err != nil {
		status, retry, msg := backpressure.Answer(err)
		w.Header().Set("Retry-After", retry)
		answer(w, status, msg)
		return
	}
	answer(w, http.StatusOK, "")
}

// answer writes the GIF with status, and problem in errorHeader when there
// is one.
func answer(w http.ResponseWriter, status int, problem string) {
	if problem != "" {
		if len(problem) > maxErrorHeader {
			problem = problem[:maxErrorHeader]
		}
		w.Header().Set(errorHeader, problem)
	}
	gif.Write(w, status)
}
