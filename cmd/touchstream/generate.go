package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/touchstream/touchstream/collector/endpoints"
	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/devstack"
	"github.com/touchstream/touchstream/generate"
	"github.com/touchstream/touchstream/internal/cliflag"
)

// runGenerate is `touchstream generate`: it sends a deterministic synthetic
// clickstream to a collector, or (--expect) prints the answers the reports
// must give for it.
func runGenerate(ctx context.Context, args []string) error {
	cfg := generate.DefaultConfig()
	opts := generate.DefaultSendOptions()
	var (
		seed          = int(cfg.Seed)
		start         string
		collector     = "http://127.0.0.1:8080"
		duplicate     = "0"
		rateFlag      = "0"
		linkSecret    string
		steps         = generate.DefaultSteps
		window        = "7d"
		within        = "24h"
		expectOnly    bool
		printExpected bool
	)
	fs := newFlagSet("generate", "GENERATE_")
	fs.Int(&cfg.Visitors, "visitors", "visitors to simulate (each has 1-4 sessions)")
	fs.Int(&seed, "seed", "random seed; the same seed, visitors, days and start give the same events")
	fs.Int(&cfg.Days, "days", "days the events spread over")
	fs.String(&start, "start", "first day, e.g. 2026-11-20 (UTC); default: today minus --days")
	fs.String(&collector, "collector", "collector base URL; events go to its /v1/batch, email opens to its /pixel/v1/track, clicks to its /r/{token}")
	fs.String(&cfg.WriteKey, "write-key", "write key of the collector source (Basic auth user)")
	fs.Int(&opts.BatchSize, "batch-size", "events per request")
	fs.Int(&opts.Concurrency, "concurrency", "requests in flight")
	fs.String(&duplicate, "duplicate", "fraction of batches sent twice, as retrying clients do (0-1)")
	fs.String(&rateFlag, "rate", "events sent a second at most, to run live against touchstream dev; 0 sends as fast as the collector takes them")
	fs.Set.Secret(&linkSecret, "link-secret", endpoints.EnvLinkSecret,
		"the collector's link secret (the first of a comma-separated list signs): email and SMS clicks go through its signed redirect GET /r/{token}; without one they go through the Segment API. touchstream dev uses "+devstack.DevLinkSecret+" unless "+endpoints.EnvLinkSecret+" is set")
	fs.Bool(&opts.Shuffle, "shuffle", "send events in a random order instead of time order")
	fs.Bool(&expectOnly, "expect", "print the expected report answers as JSON and send nothing")
	fs.Bool(&printExpected, "print-expected", "after sending, print the expected report answers as JSON")
	fs.Set.List(&steps, "steps", fs.envName("steps"), "funnel steps of the expected answers")
	fs.String(&window, "window", "funnel conversion window of the expected answers (7d, 36h)")
	fs.String(&within, "within", "abandonment: an order within this of the cart counts (24h, 2d)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.Seed = int64(seed)
	if start != "" {
		t, err := parseGenerateStart(start)
		if err != nil {
			return fmt.Errorf("--start: %w", err)
		}
		cfg.Start = t
	}
	if cfg.Days < 1 {
		return fmt.Errorf("--days: %d, want >= 1", cfg.Days)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	var err error
	if opts.Duplicate, err = strconv.ParseFloat(duplicate, 64); err != nil || opts.Duplicate < 0 || opts.Duplicate > 1 {
		return fmt.Errorf("--duplicate: %q, want a fraction in [0, 1]", duplicate)
	}
	if opts.Rate, err = strconv.ParseFloat(rateFlag, 64); err != nil || opts.Rate < 0 || math.IsInf(opts.Rate, 0) || math.IsNaN(opts.Rate) {
		return fmt.Errorf("--rate: %q, want events a second >= 0", rateFlag)
	}
	if secrets := cliflag.Split(linkSecret); len(secrets) > 0 {
		if len(secrets[0]) < redirect.MinSecretBytes {
			return fmt.Errorf("--link-secret: %w", redirect.ErrWeakSecret)
		}
		opts.LinkSecret = []byte(secrets[0])
	}
	win, err := parseGenerateWindow(window)
	if err != nil {
		return fmt.Errorf("--window: %w", err)
	}
	wtn, err := parseGenerateWindow(within)
	if err != nil {
		return fmt.Errorf("--within: %w", err)
	}

	world := generate.Generate(cfg)
	if expectOnly {
		return printExpectedJSON(os.Stdout, world.Expected(steps, win, wtn))
	}
	fmt.Fprintf(os.Stderr, "sending %d events of %d visitors (seed %d, %d days from %s) to %s\n",
		len(world.Events()), cfg.Visitors, cfg.Seed, world.Config.Days, world.Config.Start.Format(time.DateOnly), collector)
	if clicks := countClicks(world); clicks > 0 && opts.LinkSecret == nil {
		fmt.Fprintf(os.Stderr, "no link secret (--link-secret or %s): %d email and SMS clicks go through the Segment API instead of the signed redirect\n",
			endpoints.EnvLinkSecret, clicks)
	}
	opts.Progress = os.Stderr
	stats, err := generate.Send(ctx, world, collector, opts)
	if err != nil {
		return fmt.Errorf("send to %s after %d events: %w", collector, stats.Events, err)
	}
	fmt.Fprintf(os.Stderr, "sent %d events in %s: %d batches (%d duplicate), %d email opens through the pixel, %d clicks through the redirect; %d retries\n",
		stats.Events, stats.Elapsed.Round(time.Millisecond), stats.Batches, stats.Duplicates, stats.Pixels, stats.Clicks, stats.Retries)
	if printExpected {
		return printExpectedJSON(os.Stdout, world.Expected(steps, win, wtn))
	}
	return nil
}

// countClicks counts the world's clicks on signed email and SMS links.
func countClicks(w *generate.World) int {
	n := 0
	for _, e := range w.Events() {
		if e.Via == generate.ViaRedirect {
			n++
		}
	}
	return n
}

func printExpectedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseGenerateStart reads a date (2026-11-20) or an RFC 3339 time, as UTC.
func parseGenerateStart(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2026-11-20) nor an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// parseGenerateWindow reads a Go duration, or a whole number of days ("7d").
func parseGenerateWindow(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d > 0 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration (7d, 36h)", s)
	}
	return d, nil
}
