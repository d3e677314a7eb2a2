package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"

	"github.com/touchstream/touchstream/embedded/kafka"
)

func runKafka(ctx context.Context, args []string) error {
	cfg := kafka.DefaultConfig()
	fs := newFlagSet("kafka", "KAFKA_")
	fs.String(&cfg.Listen, "listen", "address of the embedded Kafka broker")
	fs.Int(&cfg.Partitions, "partitions", "partitions of clickstream.events and clickstream.rejected")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	return kafka.Run(ctx, cfg, nil)
}
