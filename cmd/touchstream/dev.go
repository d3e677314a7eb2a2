package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/touchstream/touchstream/devstack"
	"github.com/touchstream/touchstream/internal/cliflag"
)

func runDev(ctx context.Context, args []string) error {
	cfg := devstack.DefaultConfig()
	fs := newFlagSet("dev", "DEV_")
	var writeKeys, without string = strings.Join(cfg.WriteKeys, ","), ""
	fs.String(&cfg.DataDir, "data", "directory for the embedded ClickHouse's data (Kafka keeps data in memory only)")
	fs.String(&writeKeys, "write-key", "write key(s) the collector accepts, comma-separated")
	fs.String(&without, "without", "parts to leave out, comma-separated: kafka, clickhouse, collector, processor (run them as their own processes)")
	fs.String(&cfg.KafkaListen, "kafka-listen", "embedded Kafka address")
	fs.String(&cfg.ClickHouseListen, "clickhouse-listen", "embedded ClickHouse HTTP address")
	fs.String(&cfg.CollectorListen, "collector-listen", "collector address")
	fs.Int(&cfg.Partitions, "partitions", "partitions of clickstream.events")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg.WriteKeys = cliflag.Split(writeKeys)
	cfg.Without = cliflag.Split(without)
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	return devstack.Run(ctx, cfg, func(a devstack.Addrs) {
		fmt.Printf("touchstream dev is running (Ctrl-C stops it)\n")
		fmt.Printf("  collector   %s   write key: %s\n", orNone(a.Collector), strings.Join(cfg.WriteKeys, ","))
		fmt.Printf("  clickhouse  %s   database touchstream, data in %s\n", a.ClickHouse, cfg.DataDir)
		fmt.Printf("  kafka       %s   (in memory only)\n", a.Kafka)
		fmt.Printf("  try: curl -u %s: %s/v1/track -d '{\"anonymousId\":\"a1\",\"event\":\"Product Viewed\"}'\n", cfg.WriteKeys[0], orNone(a.Collector))
	})
}

func orNone(s string) string {
	if s == "" {
		return "(not started)"
	}
	return s
}
