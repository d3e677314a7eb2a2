// Command touchstream is the Touchstream CLI: the embedded services and the
// tools around the pipeline. `touchstream help` lists the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: it parses its own flags from args.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

var commands = []command{
	{"demo", "the whole pipeline on a generated clickstream: reports and out/report.html", runDemo},
	{"dev", "run the embedded stack: Kafka, ClickHouse, collector, processor", runDev},
	{"clickhouse", "serve the embedded ClickHouse (chDB) over ClickHouse's HTTP interface", runClickHouse},
	{"kafka", "run the embedded Kafka (in memory only)", runKafka},
	{"migrate", "apply sql/ migrations to a ClickHouse", runMigrate},
	{"report", "print a report: funnel, abandonment, time-on-site, stages, attribution, retention, segments, paths, traffic", runReport},
	{"sql", "print a query of sql/queries/ as a report runs it, to send to ClickHouse by hand", runSQL},
	{"sign-link", "print a signed click link for an email or SMS (GET /r/{token} on the collector)", runSignLink},
	{"generate", "send a deterministic synthetic clickstream to a collector (--expect: print the answers)", runGenerate},
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: touchstream COMMAND [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\n`touchstream COMMAND --help` documents a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name == os.Args[1] {
			if err := c.run(ctx, os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "touchstream %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "touchstream: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}
