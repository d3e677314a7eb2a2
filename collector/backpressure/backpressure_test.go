package backpressure

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector"
)

func TestAnswer(t *testing.T) {
	limited := fmt.Errorf("accept: %w", &collector.RateLimitedError{Source: "web", RetryAfter: 1500 * time.Millisecond})
	for _, tc := range []struct {
		err    error
		status int
		retry  string
	}{
		{limited, http.StatusTooManyRequests, "2"},
		{errors.New("kafka: broker unreachable"), http.StatusServiceUnavailable, DefaultRetryAfter},
	} {
		status, retry, msg := Answer(tc.err)
		if status != tc.status || retry != tc.retry || msg == "" {
			t.Errorf("Answer(%v) = %d %q %q, want %d %q", tc.err, status, retry, msg, tc.status, tc.retry)
		}
	}
}
