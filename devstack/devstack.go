package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/endpoints"
	"github.com/touchstream/touchstream/deadletter"
	embeddedch "github.com/touchstream/touchstream/embedded/clickhouse"
	embeddedkafka "github.com/touchstream/touchstream/embedded/kafka"
	"github.com/touchstream/touchstream/kafka"
	"github.com/touchstream/touchstream/pipeline"
	"github.com/touchstream/touchstream/processor"
	"github.com/touchstream/touchstream/report"
	"github.com/touchstream/touchstream/spool"
)

// DevLinkSecret signs click links in the dev stack when
// TOUCHSTREAM_LINK_SECRET is not set. It is public: never use it in
// production (the collector binary has no default).
const DevLinkSecret = "touchstream-dev-link-secret"

// Parts that --without can leave out.
const (
	PartKafka      = "kafka"
	PartClickHouse = "clickhouse"
	PartCollector  = "collector"
	PartProcessor  = "processor"
)

// Config configures the stack.
type Config struct {
	DataDir          string // the embedded ClickHouse keeps its data in DataDir/clickhouse, the collector its spool in DataDir/spool
	WriteKeys        []string
	Without          []string // parts to leave out (run them as their own processes)
	KafkaListen      string
	ClickHouseListen string
	CollectorListen  string
	Partitions       int
	Database         string
	Processor        processor.Config // Brokers is filled in
	Logger           *slog.Logger
}

// DefaultConfig returns the ports and paths of DESIGN.md section 3.
func DefaultConfig() Config {
	return Config{
		DataDir:          "./data",
		WriteKeys:        []string{"dev"},
		KafkaListen:      "127.0.0.1:9092",
		ClickHouseListen: "127.0.0.1:8123",
		CollectorListen:  "127.0.0.1:8080",
		Partitions:       8,
		Database:         "touchstream",
		Processor:        processor.DefaultConfig(),
	}
}

// Addrs says where the running parts listen.
type Addrs struct {
	Kafka         string // host:port
	ClickHouse    string // http://host:port
	ClickHouseDSN string // http://host:port/database
	Collector     string // http://host:port
	// LinkSecret is the secret the collector's click links are signed with
	// (the first of TOUCHSTREAM_LINK_SECRET, else DevLinkSecret), for
	// generate.SendOptions.LinkSecret; nil without a collector.
	LinkSecret []byte
}

func (c Config) without(part string) bool {
	for _, w := range c.Without {
		if w == part {
			return true
		}
	}
	return false
}

// Validate checks the configuration and names the field at fault.
func (c Config) Validate() error {
	for _, w := range c.Without {
		switch w {
		case PartKafka, PartClickHouse, PartCollector, PartProcessor:
		default:
			return fmt.Errorf("without: unknown part %q (kafka, clickhouse, collector, processor)", w)
		}
	}
	if c.DataDir == "" {
		return errors.New("data: must not be empty")
	}
	if len(c.WriteKeys) == 0 && !c.without(PartCollector) {
		return errors.New("write key: at least one is needed")
	}
	return nil
}

// Run starts the parts and keeps them until ctx is done or one fails. ready,
// if not nil, is called once every part is up (the processor may still be
// joining its group).
func Run(ctx context.Context, cfg Config, ready func(Addrs)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	g, ctx := errgroup.WithContext(ctx)
	var addrs Addrs

	// Kafka.
	addrs.Kafka = cfg.KafkaListen
	if !cfg.without(PartKafka) {
		b, err := embeddedkafka.Start(embeddedkafka.Config{Listen: cfg.KafkaListen, Partitions: cfg.Partitions})
		if err != nil {
			return err
		}
		addrs.Kafka = b.Addr()
		log.Info("embedded kafka listening (in memory only)", "component", "kafka", "addr", addrs.Kafka, "partitions", cfg.Partitions)
		g.Go(func() error {
			<-ctx.Done()
			b.Close()
			return nil
		})
	}

	// ClickHouse.
	addrs.ClickHouse = "http://" + cfg.ClickHouseListen
	if !cfg.without(PartClickHouse) {
		chCfg := embeddedch.DefaultConfig()
		chCfg.Listen = cfg.ClickHouseListen
		chCfg.Path = filepath.Join(cfg.DataDir, "clickhouse")
		chCfg.Logger = log
		srv, err := embeddedch.New(chCfg)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", chCfg.Listen)
		if err != nil {
			srv.Close()
			return fmt.Errorf("clickhouse listen: %w", err)
		}
		addrs.ClickHouse = "http://" + ln.Addr().String()
		up := make(chan string, 1)
		g.Go(func() error { return srv.Serve(ctx, ln, up) })
		<-up
	}
	addrs.ClickHouseDSN = addrs.ClickHouse + "/" + cfg.Database
	if err := migrate(ctx, addrs.ClickHouseDSN, log); err != nil {
		return err
	}

	// Collector.
	if !cfg.without(PartCollector) {
		kpub := kafka.NewPublisher([]string{addrs.Kafka}, log)
		// The spool keeps the collector answering while Kafka is away (a
		// separately run broker restarting, say).
		pub, err := spool.New(filepath.Join(cfg.DataDir, "spool"), kpub, spool.Options{Logger: log})
		if err != nil {
			kpub.Close()
			return err
		}
		ccfg := collector.DefaultConfig()
		ccfg.Listen = cfg.CollectorListen
		ccfg.WriteKeys = cfg.WriteKeys
		// Local development and the demo replay traffic as fast as they
		// can: no per-key rate limit (the collector binary keeps its default).
		ccfg.RatePerSecond = 0
		col, err := collector.New(ccfg, pub, prometheus.NewRegistry(), log)
		if err != nil {
			kpub.Close()
			return err
		}
		secrets := endpoints.LinkSecretsFromEnv()
		if len(secrets) == 0 {
			// Local development only: a fixed, public secret, so that
			// `touchstream sign-link` works against `touchstream dev` at once.
			secrets = [][]byte{[]byte(DevLinkSecret)}
		}
		addrs.LinkSecret = secrets[0]
		if err := endpoints.Register(col, endpoints.Config{LinkSecrets: secrets, Logger: log}); err != nil {
			kpub.Close()
			return err
		}
		ln, err := net.Listen("tcp", cfg.CollectorListen)
		if err != nil {
			kpub.Close()
			return fmt.Errorf("collector listen: %w", err)
		}
		addrs.Collector = "http://" + ln.Addr().String()
		g.Go(func() error { return pub.Run(ctx) })
		hs := &http.Server{Handler: col.Handler(), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			err := hs.Serve(ln)
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		})
		g.Go(func() error {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := hs.Shutdown(sctx)
			kpub.Close()
			return err
		})
		log.Info("collector listening", "component", "collector", "addr", addrs.Collector, "write_keys", len(cfg.WriteKeys))
	}

	// Processor.
	if !cfg.without(PartProcessor) {
		conn, err := clickhouse.Open(ctx, addrs.ClickHouseDSN)
		if err != nil {
			return err
		}
		pcfg := cfg.Processor
		pcfg.Brokers = []string{addrs.Kafka}
		pcfg.Logger = log
		// Journey triggers for email and SMS tools, on journey.triggers.
		trig := processor.NewKafkaTriggers(pcfg.Brokers, pipeline.TopicTriggers)
		if pcfg.Triggers == nil {
			pcfg.Triggers = trig
		}
		proc, err := processor.New(pcfg, clickhouse.NewSink(conn, clickhouse.SinkOptions{Database: cfg.Database}), prometheus.NewRegistry())
		if err != nil {
			trig.Close()
			conn.Close()
			return err
		}
		g.Go(func() error {
			defer conn.Close()
			defer trig.Close()
			return proc.Run(ctx)
		})
		// Dead letters: clickstream.rejected copied into rejected_events.
		dcfg := deadletter.DefaultConfig()
		dcfg.Brokers, dcfg.DSN, dcfg.Database, dcfg.Logger = []string{addrs.Kafka}, addrs.ClickHouseDSN, cfg.Database, log
		g.Go(func() error { return deadletter.Run(ctx, dcfg) })
	}
	if ready != nil {
		ready(addrs)
	}
	return g.Wait()
}

// migrate applies the migrations, waiting a little for a ClickHouse that is
// still starting (one run as its own process, say).
func migrate(ctx context.Context, dsn string, log *slog.Logger) error {
	views, err := report.Views()
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 30; attempt++ {
		if err = clickhouse.MigrateWith(ctx, dsn, clickhouse.MigrateConfig{Views: views}, log); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("migrate %s: %w", dsn, err)
}
