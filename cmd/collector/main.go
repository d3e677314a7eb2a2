// Command collector is Touchstream's ingestion service: the
// Segment/RudderStack HTTP API in front of Kafka (package collector). It only
// wires: flags (each falling back to an environment variable), logging,
// metrics, the Kafka publisher (behind a disk spool when --spool-dir is
// set), and a graceful stop on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/endpoints"
	"github.com/touchstream/touchstream/internal/cliflag"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/spool"
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
	brokers := []string{"127.0.0.1:9092"}
	logLevel := "info"
	webhooksDir := ""
	sourcesFile := ""
	var writeKeys []string // default ["dev"] unless a sources file is given
	spoolDir := ""
	spoolMaxBytes := 1 << 30

	fs := cliflag.New("collector")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: collector [flags]\n\n"+
			"Touchstream's collector: the Segment/RudderStack HTTP API (POST /v1/batch, /v1/track, ...),\n"+
			"publishing to the Kafka topic clickstream.events and answering once Kafka acknowledged.\n"+
			"Also serves /healthz, /readyz and /metrics. Every flag falls back to its environment variable.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.String(&cfg.Listen, "listen", "TOUCHSTREAM_COLLECTOR_LISTEN", "host:port to serve HTTP on")
	fs.List(&brokers, "kafka-brokers", "TOUCHSTREAM_KAFKA_BROKERS", "Kafka bootstrap brokers")
	fs.List(&writeKeys, "write-key", "TOUCHSTREAM_WRITE_KEYS", "accepted write keys (any origin, default rate); dev when neither this nor --sources-file is given")
	fs.String(&sourcesFile, "sources-file", "TOUCHSTREAM_COLLECTOR_SOURCES_FILE", "JSON file of sources: write keys with names, allowed origins and rate limits")
	fs.String(&webhooksDir, "webhooks-dir", "TOUCHSTREAM_WEBHOOKS_DIR", "directory of webhook mapping files (*.json); default: the shipped ones, built in")
	fs.String(&logLevel, "log-level", "TOUCHSTREAM_LOG_LEVEL", "debug, info, warn or error")
	fs.Duration(&cfg.PublishTimeout, "publish-timeout", "TOUCHSTREAM_COLLECTOR_PUBLISH_TIMEOUT", "longest wait for Kafka's acknowledgement before answering 503")
	fs.String(&spoolDir, "spool-dir", "TOUCHSTREAM_COLLECTOR_SPOOL_DIR", "directory of a disk spool that accepts events while Kafka is unreachable and drains them when it returns; empty: no spool, answer 503 instead")
	fs.Int(&spoolMaxBytes, "spool-max-bytes", "TOUCHSTREAM_COLLECTOR_SPOOL_MAX_BYTES", "largest size of the disk spool in bytes; past it the collector answers 503")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if len(brokers) == 0 {
		return errors.New("kafka brokers: at least one is required")
	}
	if spoolDir != "" && spoolMaxBytes <= 0 {
		return fmt.Errorf("spool max bytes: must be positive, got %d", spoolMaxBytes)
	}
	cfg.WriteKeys = writeKeys
	if sourcesFile != "" {
		sources, err := collector.LoadSources(sourcesFile)
		if err != nil {
			return err
		}
		cfg.Sources = sources
	} else if len(cfg.WriteKeys) == 0 {
		cfg.WriteKeys = []string{"dev"}
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	kpub := kafka.NewPublisher(brokers, log)
	defer kpub.Close()
	var pub collector.Publisher = kpub
	var sp *spool.Spool
	if spoolDir != "" {
		var err error
		sp, err = spool.New(spoolDir, kpub, spool.Options{MaxBytes: int64(spoolMaxBytes), Logger: log, Registerer: reg})
		if err != nil {
			return err
		}
		defer sp.Close() // releases the spool directory's lock
		pub = sp
	}
	srv, err := collector.New(cfg, pub, reg, log)
	if err != nil {
		return err
	}
	if err := endpoints.Register(srv, endpoints.Config{LinkSecrets: endpoints.LinkSecretsFromEnv(), WebhooksDir: webhooksDir, Logger: log}); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("collector starting", "listen", cfg.Listen, "kafka_brokers", brokers, "sources", len(cfg.Sources), "write_keys", len(cfg.WriteKeys), "spool_dir", spoolDir)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(ctx) })
	if sp != nil {
		g.Go(func() error { return sp.Run(ctx) })
	}
	return g.Wait()
}
