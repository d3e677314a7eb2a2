package clickhouse

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Config configures the embedded ClickHouse HTTP server.
type Config struct {
	Listen         string        // address to listen on, default 127.0.0.1:8123
	Path           string        // engine storage directory (created if missing)
	User           string        // the one user, default "default"
	Password       string        // required for any non-loopback Listen; "" means no auth
	MaxQueries     int           // statements running at once; more wait. Default 16
	MaxSessions    int           // open session_id sessions, default 64
	SessionTimeout time.Duration // default idle timeout of a session, default 60s
	MaxQuerySize   int           // bytes of SQL text read from a body, default 256 KiB
	Logger         *slog.Logger  // default slog.Default()
}

// DefaultConfig returns a Config with the defaults filled in.
func DefaultConfig() Config {
	return Config{
		Listen:         "127.0.0.1:8123",
		Path:           "./data/clickhouse",
		User:           "default",
		MaxQueries:     16,
		MaxSessions:    64,
		SessionTimeout: 60 * time.Second,
		MaxQuerySize:   256 << 10,
	}
}

// ErrOpenWithoutPassword is returned by Validate when Listen is not a
// loopback address and no password is set.
var ErrOpenWithoutPassword = errors.New("refusing to listen on a non-loopback address without a password: the engine can read and write any file this process can")

// Validate checks the configuration and names the field at fault.
func (c Config) Validate() error {
	if c.Path == "" {
		return errors.New("path: must not be empty")
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if c.Password == "" && !isLoopback(host) {
		return fmt.Errorf("listen %s: %w (set --password)", c.Listen, ErrOpenWithoutPassword)
	}
	if c.MaxQueries < 1 {
		return fmt.Errorf("max queries: must be at least 1, got %d", c.MaxQueries)
	}
	if c.MaxSessions < 1 {
		return fmt.Errorf("max sessions: must be at least 1, got %d", c.MaxSessions)
	}
	if c.SessionTimeout <= 0 {
		return fmt.Errorf("session timeout: must be positive, got %s", c.SessionTimeout)
	}
	if c.MaxQuerySize < 1024 {
		return fmt.Errorf("max query size: must be at least 1024, got %d", c.MaxQuerySize)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
