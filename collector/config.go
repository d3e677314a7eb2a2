package collector

import (
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"time"
)

// Config configures the collector. Build it with DefaultConfig and change
// what differs.
type Config struct {
	// Listen is the host:port Run listens on, default 127.0.0.1:8080.
	Listen string
	// WriteKeys are accepted write keys in the simple form, default ["dev"]:
	// each is a source named "write_keys[i]" that any origin may use, at
	// the default rate.
	WriteKeys []string
	// Sources are the accepted write keys with their names, allowed origins
	// and rates (see LoadSources), beside WriteKeys.
	Sources []Source
	// RatePerSecond is the default sustained rate of a source, in events a
	// second, default 1000; 0 means no limit for sources that set none.
	RatePerSecond float64
	// Burst is the default number of events a source may send at once above
	// its rate, default 2000.
	Burst int
	// MaxEventBytes bounds one event's JSON, default 32 KiB (Segment's limit).
	MaxEventBytes int
	// MaxBatchBytes bounds a request body after decompression, default
	// 500 KiB (Segment's limit).
	MaxBatchBytes int
	// PublishTimeout bounds the wait for Kafka's acknowledgement; past it the
	// client gets 503 and retries. Default 10 s.
	PublishTimeout time.Duration
	// RetryAfter is the Retry-After of a 503, default 5 s.
	RetryAfter time.Duration
	// ShutdownTimeout bounds the graceful shutdown of Run, default 15 s.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the defaults of the collector command.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		WriteKeys:       []string{"dev"},
		RatePerSecond:   1000,
		Burst:           2000,
		MaxEventBytes:   32 << 10,
		MaxBatchBytes:   500 << 10,
		PublishTimeout:  10 * time.Second,
		RetryAfter:      5 * time.Second,
		ShutdownTimeout: 15 * time.Second,
	}
}

// Validate checks the configuration; its errors name the field at fault.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen: %w", err))
	}
	if len(c.WriteKeys) == 0 && len(c.Sources) == 0 {
		errs = append(errs, errors.New("write keys: at least one write key or source is required"))
	}
	for i, k := range c.WriteKeys {
		if k == "" {
			errs = append(errs, fmt.Errorf("write keys: key %d is empty", i))
		}
	}
	if err := validateSources(c.Sources); err != nil {
		errs = append(errs, err)
	}
	for i, src := range c.Sources {
		if src.WriteKey == "" {
			errs = append(errs, fmt.Errorf("sources[%d] (%s): write_key is required", i, src.Name))
		}
		if slices.Contains(c.WriteKeys, src.WriteKey) && src.WriteKey != "" {
			errs = append(errs, fmt.Errorf("sources[%d] (%s): write_key: also in write keys", i, src.Name))
		}
	}
	if c.RatePerSecond < 0 || math.IsNaN(c.RatePerSecond) || math.IsInf(c.RatePerSecond, 0) {
		errs = append(errs, fmt.Errorf("rate per second: must be a finite number, 0 or more, got %v", c.RatePerSecond))
	}
	if c.Burst < 1 && c.RatePerSecond > 0 {
		errs = append(errs, fmt.Errorf("burst: must be positive, got %d", c.Burst))
	}
	if c.MaxEventBytes < 1 {
		errs = append(errs, fmt.Errorf("max event bytes: must be positive, got %d", c.MaxEventBytes))
	}
	if c.MaxBatchBytes < c.MaxEventBytes {
		errs = append(errs, fmt.Errorf("max batch bytes: must be at least max event bytes (%d), got %d", c.MaxEventBytes, c.MaxBatchBytes))
	}
	if c.PublishTimeout <= 0 {
		errs = append(errs, fmt.Errorf("publish timeout: must be positive, got %s", c.PublishTimeout))
	}
	if c.RetryAfter < time.Second {
		errs = append(errs, fmt.Errorf("retry after: must be at least 1s, got %s", c.RetryAfter))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout: must be positive, got %s", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}
