package backpressure

import (
	"errors"
	"net/http"
)

// DefaultRetryAfter is the Retry-After, in seconds, of a 503.
const DefaultRetryAfter = "5"

// rateLimited is implemented by collector.RateLimitedError.
type rateLimited interface {
	error
	RetryAfterSeconds() string
}

// Answer returns the status, Retry-After value and message for an Accept
// error.
func Answer(err error) (status int, retryAfter, message string) {
	var rl rateLimited
	if errors.As(err, &rl) {
		return http.StatusTooManyRequests, rl.RetryAfterSeconds(), "over the write key's rate limit; retry later"
	}
	return http.StatusServiceUnavailable, DefaultRetryAfter, "events could not be stored; retry later"
}
