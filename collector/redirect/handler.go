package redirect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/touchstream/touchstream/device"
	"github.com/touchstream/touchstream/pipeline"
)

// Event names of a click.
const (
	EventEmailLinkClicked = "Email Link Clicked"
	EventSMSLinkClicked   = "SMS Link Clicked"
)

const (
	// Library is the library_name of click events.
	Library = "touchstream-redirect"
	// endpoint labels the collector's metrics for clicks.
	endpoint = "/r"
	// DefaultMaxWait is how long a click waits for Kafka by default.
	DefaultMaxWait = 2 * time.Second
)

// Acceptor is what the redirect needs from the collector; *collector.Server
// implements it. The handler calls it from every request's goroutine (and
// Accept from a goroutine of its own, which may outlive the request), so
// every method must be safe for concurrent use; the handler never closes it.
type Acceptor interface {
	// KnownWriteKey reports whether key is one of the configured write keys.
	KnownWriteKey(key string) bool
	// Accept stores events, and dead letters for what was refused, and
	// returns once Kafka acknowledged the events; an error means they were
	// not stored. endpoint labels the metrics.
	Accept(ctx context.Context, endpoint string, events []pipeline.Event, dead []pipeline.Rejected) error
	// Now is the collector's clock: received_at, UTC, millisecond
	// precision. Expiry is checked against it too.
	Now() time.Time
}

// Option configures Handler.
type Option func(*handler)

// WithLogger logs refused tokens (debug), clicks not recorded (warn) and
// clicks lost (error) to log; the default discards them.
func WithLogger(log *slog.Logger) Option {
	return func(h *handler) {
		if log != nil {
			h.log = log.With("component", "redirect")
		}
	}
}

// WithMaxWait bounds how long a click waits for Kafka's acknowledgement
// before the person is redirected anyway (the click is still stored if
// Kafka acknowledges later); default DefaultMaxWait.
func WithMaxWait(d time.Duration) Option {
	return func(h *handler) {
		if d > 0 {
			h.maxWait = d
		}
	}
}

type handler struct {
	a       Acceptor
	secrets [][]byte
	log     *slog.Logger
	maxWait time.Duration
	lost    atomic.Int64 // clicks Accept failed to store
}

// Handler returns the handler of GET /r/{token}, which verifies tokens with
// secrets, tried in turn (put the one links are signed with first; keep
// retired ones while their links matter). It reads the token from the
// {token} path value, else from the last element of the path. It panics
// when there is no secret or one is shorter than MinSecretBytes: that is a
// configuration to refuse at start-up.
func Handler(a Acceptor, secrets [][]byte, opts ...Option) http.Handler {
	if len(secrets) == 0 {
		panic("redirect: no link secret")
	}
	h := &handler{a: a, log: slog.New(slog.DiscardHandler), maxWait: DefaultMaxWait}
	for _, s := range secrets {
		if len(s) < MinSecretBytes {
			panic("redirect: " + ErrWeakSecret.Error())
		}
		h.secrets = append(h.secrets, bytes.Clone(s))
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if token == "" {
		token = path.Base(r.URL.Path)
	}
	now := h.a.Now()
	link, err := verify(h.secrets, token, now)
	if err != nil {
		h.log.Debug("click link refused", "err", err)
		status, msg := http.StatusBadRequest, "malformed link"
		switch {
		case errors.Is(err, ErrBadSignature):
			status, msg = http.StatusForbidden, "invalid link signature"
		case errors.Is(err, ErrExpired):
			status, msg = http.StatusGone, "link expired"
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, msg, status)
		return
	}
	if r.Method != http.MethodHead {
		h.record(r.Context(), link, now, r.UserAgent())
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, link.URL, http.StatusFound)
}

// record stores the click, from the browser of user agent ua, waiting for
// Kafka at most maxWait.
func (h *handler) record(ctx context.Context, link Link, now time.Time, ua string) {
	if !h.a.KnownWriteKey(link.WriteKey) {
		h.log.Warn("click for an unknown write key not recorded", "write_key", link.WriteKey, "campaign", link.Campaign)
		return
	}
	ev := click(link, now)
	device.Fill(&ev, ua)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The click is stored even if the person has gone by then.
		if err := h.a.Accept(context.WithoutCancel(ctx), endpoint, []pipeline.Event{ev}, nil); err != nil {
			n := h.lost.Add(1)
			h.log.Error("click not stored; redirected anyway", "message_id", ev.MessageID,
				"campaign", link.Campaign, "lost_clicks", n, "err", err)
		}
	}()
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		h.log.Warn("click not acknowledged in time; redirected without waiting", "message_id", ev.MessageID, "max_wait", h.maxWait)
	}
}

// click is the event of a click on link at now (the collector's clock).
func click(link Link, now time.Time) pipeline.Event {
	name := EventEmailLinkClicked
	if link.Touchpoint == pipeline.TouchpointSMS {
		name = EventSMSLinkClicked
	}
	ev := pipeline.Event{
		MessageID:   uuid.NewString(),
		EventTime:   now,
		ReceivedAt:  now,
		Type:        pipeline.TypeTrack,
		EventName:   name,
		Touchpoint:  link.Touchpoint,
		VisitorID:   link.Recipient,
		UserID:      link.Recipient,
		UTMSource:   link.Source,
		UTMMedium:   link.Touchpoint,
		UTMCampaign: link.Campaign,
		PageURL:     link.URL,
		LibraryName: Library,
		WriteKey:    link.WriteKey,
	}
	if u, err := url.Parse(link.URL); err == nil {
		ev.PagePath = u.Path
	}
	// Cannot fail: two strings.
	ev.Properties, _ = json.Marshal(struct {
		URL      string `json:"url"`
		Campaign string `json:"campaign,omitempty"`
	}{link.URL, link.Campaign})
	return ev
}
