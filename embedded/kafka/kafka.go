package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/touchstream/touchstream/pipeline"
)

// Config configures the embedded broker.
type Config struct {
	Listen     string // host:port, default 127.0.0.1:9092 (port 0 picks one)
	Partitions int    // partitions of each seeded topic, default 8
	Logger     *slog.Logger
}

// DefaultConfig returns the defaults of `touchstream kafka`.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:9092", Partitions: 8}
}

// Validate checks the configuration and names the field at fault.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if c.Partitions < 1 {
		return fmt.Errorf("partitions: must be at least 1, got %d", c.Partitions)
	}
	return nil
}

// Broker is a running embedded Kafka.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
}

// Start starts the broker with pipeline.TopicEvents and
// pipeline.TopicRejected created.
func Start(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, portStr, _ := net.SplitHostPort(cfg.Listen)
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("listen: bad port %q", portStr)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.SeedTopics(int32(cfg.Partitions), pipeline.TopicEvents, pipeline.TopicRejected, pipeline.TopicTriggers),
		kfake.DefaultNumPartitions(cfg.Partitions),
		// kfake listens on 127.0.0.1; honour the configured host instead.
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, _ := net.SplitHostPort(address)
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
	}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka on %s: %w", cfg.Listen, err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) == 0 {
		c.Close()
		return nil, fmt.Errorf("start embedded kafka: no listener")
	}
	return &Broker{cluster: c, addr: addrs[0]}, nil
}

// Addr is the broker's host:port, for clients' bootstrap list.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker; its data is gone.
func (b *Broker) Close() { b.cluster.Close() }

// Run starts the broker and keeps it until ctx is done. ready, if not nil,
// receives the address once it listens.
func Run(ctx context.Context, cfg Config, ready chan<- string) error {
	b, err := Start(cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Info("embedded kafka listening (in memory only)", "component", "kafka", "addr", b.Addr(), "partitions", cfg.Partitions, "topics", []string{pipeline.TopicEvents, pipeline.TopicRejected})
	if ready != nil {
		ready <- b.Addr()
	}
	<-ctx.Done()
	log.Info("embedded kafka stopped", "component", "kafka")
	return nil
}
