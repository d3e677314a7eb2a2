// Command collector is Touchstream's ingestion service: the
// Segment/RudderStack HTTP API in front of Kafka (package collector). It only
// wires: flags (each falling back to an environment variable), logging,
// metrics, the Kafka publisher, and a graceful stop on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/kafka"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "collector: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg := collector.DefaultConfig()
	brokers := "127.0.0.1:9092"
	writeKeys := strings.Join(cfg.WriteKeys, ",")
	logLevel := "info"

	fs := flag.NewFlagSet("collector", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: collector [flags]\n\n"+
			"Touchstream's collector: the Segment/RudderStack HTTP API (POST /v1/batch, /v1/track, ...),\n"+
			"publishing to the Kafka topic clickstream.events and answering once Kafka acknowledged.\n"+
			"Also serves /healthz, /readyz and /metrics. Every flag falls back to its environment variable.\n\nflags:\n")
		fs.PrintDefaults()
	}
	stringFlag(fs, &cfg.Listen, "listen", "TOUCHSTREAM_COLLECTOR_LISTEN", "host:port to serve HTTP on")
	stringFlag(fs, &brokers, "kafka-brokers", "TOUCHSTREAM_KAFKA_BROKERS", "Kafka bootstrap brokers, comma-separated host:port")
	stringFlag(fs, &writeKeys, "write-key", "TOUCHSTREAM_WRITE_KEYS", "accepted write keys, comma-separated")
	stringFlag(fs, &logLevel, "log-level", "TOUCHSTREAM_LOG_LEVEL", "debug, info, warn or error")
	if err := durationFlag(fs, &cfg.PublishTimeout, "publish-timeout", "TOUCHSTREAM_COLLECTOR_PUBLISH_TIMEOUT", "longest wait for Kafka's acknowledgement before answering 503"); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.WriteKeys = splitList(writeKeys)
	brokerList := splitList(brokers)
	if len(brokerList) == 0 {
		return errors.New("kafka brokers: at least one is required")
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	pub := kafka.NewPublisher(brokerList, log)
	defer pub.Close()
	srv, err := collector.New(cfg, pub, reg, log)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("collector starting", "listen", cfg.Listen, "kafka_brokers", brokerList)
	return srv.Run(ctx)
}

// stringFlag defines --name, defaulting to $env when set, else to *p.
func stringFlag(fs *flag.FlagSet, p *string, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		*p = v
	}
	fs.StringVar(p, name, *p, fmt.Sprintf("%s (env %s)", usage, env))
}

// durationFlag defines --name, defaulting to $env when set, else to *p.
func durationFlag(fs *flag.FlagSet, p *time.Duration, name, env, usage string) error {
	if v, ok := os.LookupEnv(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %w", env, err)
		}
		*p = d
	}
	fs.DurationVar(p, name, *p, fmt.Sprintf("%s (env %s)", usage, env))
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
