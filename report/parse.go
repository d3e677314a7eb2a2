package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime parses a --from or --to value: an RFC 3339 time, or a date
// (2026-11-20, midnight UTC). For the end of a range (end true) a date
// means the end of that day, so --from 2026-11-01 --to 2026-11-30 covers
// the whole of November 30.
func ParseTime(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want a date (2026-11-20) or an RFC 3339 time (2026-11-20T15:04:05Z)", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// ParseDuration parses a --window or --within value: Go's durations
// (24h, 90m, 1h30m) plus whole or fractional days ("7d", "1.5d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	in := s
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("duration %q: want e.g. 7d, 24h, 1d12h", in)
		}
		days = time.Duration(n * float64(24*time.Hour))
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("duration %q: want e.g. 7d, 24h, 1d12h", in)
	}
	return days + d, nil
}
