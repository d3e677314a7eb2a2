package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/touchstream/touchstream/pipeline"
)

// Server is the collector's HTTP service. Its handler is safe for
// concurrent use.
type Server struct {
	cfg     Config
	pub     Publisher
	log     *slog.Logger
	metrics *metrics
	sources map[string]*source // by write key
	mux     *http.ServeMux
	handler http.Handler
	now     func() time.Time // the clock; tests replace it
}

// route is one ingestion endpoint.
type route struct {
	path  string // as served
	label string // the endpoint label of the metrics: the long form of the path
	typ   string // the event type it implies; "" for a batch
}

// segmentRoutes are the Segment/RudderStack HTTP API endpoints, with
// analytics.js's short paths.
var segmentRoutes = []route{
	{"/v1/batch", "/v1/batch", ""},
	{"/v1/b", "/v1/batch", ""},
	{"/v1/import", "/v1/import", ""},
	{"/v1/track", "/v1/track", pipeline.TypeTrack},
	{"/v1/t", "/v1/track", pipeline.TypeTrack},
	{"/v1/page", "/v1/page", pipeline.TypePage},
	{"/v1/p", "/v1/page", pipeline.TypePage},
	{"/v1/screen", "/v1/screen", pipeline.TypeScreen},
	{"/v1/s", "/v1/screen", pipeline.TypeScreen},
	{"/v1/identify", "/v1/identify", pipeline.TypeIdentify},
	{"/v1/i", "/v1/identify", pipeline.TypeIdentify},
	{"/v1/group", "/v1/group", pipeline.TypeGroup},
	{"/v1/g", "/v1/group", pipeline.TypeGroup},
	{"/v1/alias", "/v1/alias", pipeline.TypeAlias},
	{"/v1/a", "/v1/alias", pipeline.TypeAlias},
}

// New returns a collector that publishes through pub and registers its
// metrics with reg (and serves them on /metrics when reg is also a
// prometheus.Gatherer, as *prometheus.Registry is). log may be nil.
func New(cfg Config, pub Publisher, reg prometheus.Registerer, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("collector config: %w", err)
	}
	if pub == nil {
		return nil, errors.New("collector: publisher is nil")
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		pub:     pub,
		log:     log.With("component", "collector"),
		metrics: m,
		sources: make(map[string]*source, len(cfg.WriteKeys)+len(cfg.Sources)),
		now:     time.Now,
	}
	for i, k := range cfg.WriteKeys {
		if _, dup := s.sources[k]; !dup {
			s.sources[k] = newSource(Source{Name: fmt.Sprintf("write_keys[%d]", i), WriteKey: k}, cfg)
		}
	}
	for _, src := range cfg.Sources {
		s.sources[src.WriteKey] = newSource(src, cfg)
	}

	mux := http.NewServeMux()
	for _, rt := range segmentRoutes {
		mux.HandleFunc("POST "+rt.path, s.ingest(rt))
	}
	mux.HandleFunc("POST /v1/m", s.dropMetrics)
	mux.HandleFunc("OPTIONS /v1/", preflight)
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if g, ok := reg.(prometheus.Gatherer); ok {
		mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
	}
	s.mux = mux
	s.handler = s.cors(mux)
	return s, nil
}

// Handle adds a route for another protocol (pixel, redirect, webhook,
// Snowplow, ...), whose handler hands its events to Accept. Call it before
// serving. A browser request to it whose write key is in the request
// (Basic auth or ?writeKey=) and whose Origin that key's source does not
// allow is refused with 403 before h sees it.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, s.originGuard(h)) }

// KnownWriteKey reports whether key is one of the configured write keys
// (Config.WriteKeys or Config.Sources).
func (s *Server) KnownWriteKey(key string) bool { return s.sources[key] != nil }

// Accept publishes events decoded by another protocol's handler, and dead
// letters for what it refused, and returns once Kafka acknowledged the
// events (an error means they were not accepted: answer 503). endpoint
// labels the metrics, e.g. "/pixel/v1/track". Safe for concurrent use.
//
// The events count against the rate limit of their write key's source
// (Event.WriteKey); when one is over it, nothing is published and the error
// is a *RateLimitedError saying when to retry. The pixel, webhook and
// Snowplow handlers answer any Accept error with 503 and Retry-After.
func (s *Server) Accept(ctx context.Context, endpoint string, events []pipeline.Event, dead []pipeline.Rejected) error {
	s.metrics.received.WithLabelValues(endpoint).Add(float64(len(events) + len(dead)))
	if len(events) > 0 {
		perKey := make(map[string]int, 1)
		for i := range events {
			perKey[events[i].WriteKey]++
		}
		if rl := s.limit(s.now(), perKey); rl != nil {
			return rl
		}
	}
	s.metrics.rejected.WithLabelValues(reasonField).Add(float64(len(dead)))
	return s.publish(ctx, events, dead)
}

// Now is the collector's clock (received_at of events).
func (s *Server) Now() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Handler returns the collector's HTTP handler, for embedding or tests.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on Config.Listen and serves until ctx is done, then shuts
// down gracefully: it stops accepting, lets requests in flight finish
// (their events are published and answered) for up to ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("collector listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened; it closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Info("collector listening", "addr", ln.Addr().String(), "sources", s.sourceNames())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("collector serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("collector shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("collector shutdown: %w", err)
	}
	<-errc // http.ErrServerClosed
	s.log.Info("collector stopped")
	return nil
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.pub.Ready(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// dropMetrics answers analytics.js's own telemetry (/v1/m) and keeps none.
func (s *Server) dropMetrics(w http.ResponseWriter, _ *http.Request) {
	s.metrics.requests.WithLabelValues("/v1/m", "200").Inc()
	writeJSON(w, http.StatusOK, struct{}{})
}

// sourceNames are the names of the configured sources, sorted: what logs
// say instead of write keys.
func (s *Server) sourceNames() []string {
	names := make([]string, 0, len(s.sources))
	for _, src := range s.sources {
		names = append(names, src.name)
	}
	slices.Sort(names)
	return names
}

func preflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Content-Encoding, Authorization")
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
