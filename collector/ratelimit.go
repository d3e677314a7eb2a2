package collector

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// RateLimitedError is Accept's answer when a write key is over its rate:
// none of the events were published; the client should retry after
// RetryAfter (at least a second). The protocols registered with Handle
// answer it with 429 through package backpressure.
type RateLimitedError struct {
	Source     string        // the source's name
	RetryAfter time.Duration // when the events would fit the rate
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("source %s: over its rate limit, retry after %s", e.Source, e.RetryAfter)
}

// RetryAfterSeconds is the Retry-After header value: whole seconds, at
// least 1.
func (e *RateLimitedError) RetryAfterSeconds() string {
	return strconv.Itoa(max(1, int(math.Ceil(e.RetryAfter.Seconds()))))
}

// source is a Source as the server uses it.
type source struct {
	name    string
	origins map[string]bool // nil: any origin
	limiter *rate.Limiter   // nil: no limit
}

func newSource(s Source, cfg Config) *source {
	src := &source{name: s.Name}
	if len(s.AllowedOrigins) > 0 {
		src.origins = make(map[string]bool, len(s.AllowedOrigins))
		for _, o := range s.AllowedOrigins {
			src.origins[normalizeOrigin(o)] = true
		}
	}
	r, burst := s.RatePerSecond, s.Burst
	if r == 0 {
		r = cfg.RatePerSecond
		if burst == 0 {
			burst = cfg.Burst
		}
	}
	if r > 0 {
		if burst == 0 {
			burst = max(1, int(math.Ceil(2*r)))
		}
		src.limiter = rate.NewLimiter(rate.Limit(r), burst)
	}
	return src
}

// allowOrigin reports whether a browser on origin may send with this source's
// key; requests without an Origin header are not from a browser's fetch and
// always may.
func (s *source) allowOrigin(origin string) bool {
	return origin == "" || s.origins == nil || s.origins[normalizeOrigin(origin)]
}

// take takes n events from src's bucket at now, or returns how long until
// they would fit. A request of more events than the burst takes the whole
// bucket (it could never fit otherwise).
func (s *source) take(now time.Time, n int) (*rate.Reservation, *RateLimitedError) {
	if s.limiter == nil || n <= 0 {
		return nil, nil
	}
	n = min(n, s.limiter.Burst())
	r := s.limiter.ReserveN(now, n)
	if !r.OK() {
		return nil, &RateLimitedError{Source: s.name, RetryAfter: time.Second}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return nil, &RateLimitedError{Source: s.name, RetryAfter: d}
	}
	return r, nil
}

// limit takes the events of a request from the buckets of their sources,
// counted per write key; when one source is over its rate, nothing is taken
// and the error says which and until when.
func (s *Server) limit(now time.Time, perKey map[string]int) *RateLimitedError {
	var taken []*rate.Reservation
	for key, n := range perKey {
		src := s.sources[key]
		if src == nil {
			continue
		}
		r, rl := src.take(now, n)
		if rl != nil {
			for _, t := range taken {
				t.CancelAt(now)
			}
			s.metrics.rateLimited.WithLabelValues(src.name).Add(float64(n))
			return rl
		}
		if r != nil {
			taken = append(taken, r)
		}
	}
	return nil
}
