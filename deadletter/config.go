package deadletter

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/pipeline"
)

// DefaultGroupID is the consumer group of the dead-letter consumer: its
// own, so that its offsets are apart from the processor's.
const DefaultGroupID = "touchstream-deadletters"

// Config configures Run.
type Config struct {
	Brokers []string // Kafka bootstrap brokers
	GroupID string   // consumer group; DefaultGroupID by default
	Topic   string   // the dead-letter topic; pipeline.TopicRejected by default

	// Conn is the ClickHouse connection to write through; Run does not
	// close it. When nil, Run opens DSN (see clickhouse.ParseDSN) and
	// closes it when it returns.
	Conn driver.Conn
	DSN  string
	// Database holds rejected_events; empty means the connection's own
	// database (the one in its DSN).
	Database string

	BatchSize     int           // dead letters per write, at most
	FlushInterval time.Duration // a non-empty batch is written at least this often
	// StopTimeout bounds the last write and commit once ctx is cancelled;
	// what is not written by then is read again on the next start.
	StopTimeout time.Duration
	// MaxRetryInterval caps the backoff between attempts to write a batch
	// (permanent errors included: they are retried too, see doc.go).
	MaxRetryInterval time.Duration

	Logger     *slog.Logger          // nil: slog.Default()
	Registerer prometheus.Registerer // nil: metrics are kept but not registered
}

// DefaultConfig returns the defaults: the local broker and ClickHouse of
// `touchstream dev`, batches of up to 1000 dead letters or 1 s.
func DefaultConfig() Config {
	return Config{
		Brokers:          []string{"127.0.0.1:9092"},
		GroupID:          DefaultGroupID,
		Topic:            pipeline.TopicRejected,
		DSN:              "http://127.0.0.1:8123/touchstream",
		BatchSize:        1000,
		FlushInterval:    time.Second,
		StopTimeout:      10 * time.Second,
		MaxRetryInterval: 10 * time.Second,
	}
}

// Validate checks the configuration and names the field at fault.
func (c Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("deadletter config: Brokers: at least one is needed")
	case c.GroupID == "":
		return errors.New("deadletter config: GroupID: must not be empty")
	case c.Topic == "":
		return errors.New("deadletter config: Topic: must not be empty")
	case c.Conn == nil && c.DSN == "":
		return errors.New("deadletter config: Conn or DSN: one is needed")
	case c.BatchSize < 1:
		return fmt.Errorf("deadletter config: BatchSize: must be at least 1, got %d", c.BatchSize)
	case c.FlushInterval <= 0:
		return fmt.Errorf("deadletter config: FlushInterval: must be positive, got %s", c.FlushInterval)
	case c.StopTimeout <= 0:
		return fmt.Errorf("deadletter config: StopTimeout: must be positive, got %s", c.StopTimeout)
	case c.MaxRetryInterval <= 0:
		return fmt.Errorf("deadletter config: MaxRetryInterval: must be positive, got %s", c.MaxRetryInterval)
	}
	return nil
}
