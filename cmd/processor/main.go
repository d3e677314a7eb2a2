// Command processor is Touchstream's stream processor: a member of the Kafka
// consumer group on clickstream.events that sessionizes events and writes
// events and sessions to ClickHouse. Run more replicas to scale out (up to the
// topic's partition count). Every flag also reads an environment variable;
// --help lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/deadletter"
	"github.com/touchstream/touchstream/internal/cliflag"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/processor"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "processor: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg := processor.DefaultConfig()
	dsn := clickhouse.DefaultDSN
	metricsAddr := "127.0.0.1:9101"
	triggersTopic := pipeline.TopicTriggers
	fs := cliflag.New("processor")
	fs.List(&cfg.Brokers, "kafka-brokers", "TOUCHSTREAM_KAFKA_BROKERS", "Kafka bootstrap brokers")
	fs.String(&dsn, "clickhouse-dsn", "TOUCHSTREAM_CLICKHOUSE_DSN", "ClickHouse: http://host:8123/db (HTTP) or clickhouse://host:9000/db (native)")
	fs.String(&cfg.GroupID, "group", "TOUCHSTREAM_PROCESSOR_GROUP", "Kafka consumer group")
	fs.Int(&cfg.BatchSize, "batch-size", "TOUCHSTREAM_PROCESSOR_BATCH_SIZE", "events per ClickHouse write, at most (all partitions of the process together; each flushes all at its share)")
	fs.Duration(&cfg.FlushInterval, "flush-interval", "TOUCHSTREAM_PROCESSOR_FLUSH_INTERVAL", "a pending batch is written at least this often")
	fs.Duration(&cfg.Session.Gap, "session-gap", "TOUCHSTREAM_SESSION_GAP", "inactivity that ends a session")
	fs.Bool(&cfg.Session.SplitOnCampaign, "session-split-on-campaign", "TOUCHSTREAM_SESSION_SPLIT_ON_CAMPAIGN", "also start a new session at an event with UTM fields other than the session's (its first event's); events without UTM never split")
	fs.Duration(&cfg.Session.Allowance, "lateness-allowance", "TOUCHSTREAM_LATENESS_ALLOWANCE", "events older than the partition's newest event minus this are late; visitors idle this long leave the state")
	fs.Duration(&cfg.SessionTimeout, "kafka-session-timeout", "TOUCHSTREAM_KAFKA_SESSION_TIMEOUT", "consumer group session timeout: a member silent this long leaves the group (the processor then joins again)")
	fs.Duration(&cfg.ShutdownTimeout, "shutdown-timeout", "TOUCHSTREAM_PROCESSOR_SHUTDOWN_TIMEOUT", "on SIGTERM, give up a failing write after this long; its offsets are not committed and replay on the next start (exit status 1)")
	fs.String(&triggersTopic, "triggers-topic", "TOUCHSTREAM_TRIGGERS_TOPIC", "Kafka topic of journey triggers (empty: none)")
	fs.Duration(&cfg.TriggerWindow, "trigger-window", "TOUCHSTREAM_TRIGGER_WINDOW", "cart abandonment window T (0: 24h)")
	fs.Duration(&cfg.IdleAdvance, "idle-advance", "TOUCHSTREAM_IDLE_ADVANCE", "a partition read to its end that receives nothing for this long abandons the carts whose window ended before wall time minus this (0: only event time abandons carts)")
	dl := deadletter.DefaultConfig()
	deadLetters := true
	fs.Bool(&deadLetters, "dead-letters", "TOUCHSTREAM_PROCESSOR_DEAD_LETTERS", "also copy the dead letters of clickstream.rejected into rejected_events (a consumer group of its own)")
	fs.String(&dl.GroupID, "dead-letter-group", "TOUCHSTREAM_DEAD_LETTER_GROUP", "Kafka consumer group of the dead-letter copier")
	fs.String(&metricsAddr, "metrics-listen", "TOUCHSTREAM_PROCESSOR_METRICS_LISTEN", "address of /metrics and /healthz (empty: none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	conn, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	if triggersTopic != "" {
		trig := processor.NewKafkaTriggers(cfg.Brokers, triggersTopic)
		defer trig.Close()
		cfg.Triggers = trig
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	proc, err := processor.New(cfg, clickhouse.NewSink(conn, clickhouse.SinkOptions{}), reg)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return proc.Run(ctx) })
	if deadLetters {
		dl.Brokers, dl.Conn, dl.Logger, dl.Registerer = cfg.Brokers, conn, log, reg
		g.Go(func() error { return deadletter.Run(ctx, dl) })
	}
	if metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listen: %w", err)
		}
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			return hs.Close()
		})
	}
	return g.Wait()
}
