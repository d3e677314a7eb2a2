package collector

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config configures the collector. Build it with DefaultConfig and change
// what differs.
type Config struct {
	// Listen is the host:port Run listens on, default 127.0.0.1:8080.
	Listen string
	// WriteKeys are the accepted write keys (one per source), default ["dev"].
	WriteKeys []string
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
	if len(c.WriteKeys) == 0 {
		errs = append(errs, errors.New("write keys: at least one is required"))
	}
	for i, k := range c.WriteKeys {
		if k == "" {
			errs = append(errs, fmt.Errorf("write keys: key %d is empty", i))
		}
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
