package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/report"
)

// defaultReportDays is the range of a report without --from: the last 30
// days up to now.
const defaultReportDays = 30

func runReport(ctx context.Context, args []string) error {
	return reportTo(ctx, os.Stdout, args)
}

// reportTo runs `touchstream report args...`, printing the report to w.
func reportTo(ctx context.Context, w io.Writer, args []string) error {
	var (
		dsn      = clickhouse.DefaultDSN
		from, to string
		site     string
		channel  string
		tpoint   string
		where    string
		format   = string(report.FormatTable)
		steps    string
		window   = "7d"
		mode     = report.ModeOrdered
		within   = "24h"
		by       = report.ByVisitor
		model    = report.ModelAll
		lookback = "30d"
		dim      = report.DimensionChannel
		cohort   = report.CohortFirstVisit
		period   = report.PeriodWeek
		brk      string
		trend    string
		exclude  string
		dropoff  int
		carts    bool
		detail   bool
		fromEv   string
		toEv     string
		depth    = report.DefaultDepth
	)
	fs := newFlagSet("report", "REPORT_")
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: touchstream report KIND [flags]\n\nKIND is one of: %s\n\nflags:\n", strings.Join(report.Kinds, ", "))
		fs.PrintDefaults()
	}
	fs.Set.String(&dsn, "clickhouse-dsn", "TOUCHSTREAM_CLICKHOUSE_DSN", "ClickHouse to read: http://host:8123/db or clickhouse://host:9000/db")
	fs.String(&from, "from", "start of the range, inclusive: a date (2026-11-20, UTC) or an RFC 3339 time (default 30 days before --to); traffic: a date or 00:00 UTC")
	fs.String(&to, "to", "end of the range, exclusive; a date means the end of that day (default now; traffic: the end of today, UTC)")
	fs.String(&site, "site", "only events that came in with this write key (sessions: with an event that did); empty for all")
	fs.String(&channel, "channel", "keep what the report counts when the event that defines it (a funnel unit's first step-1 event, a cart's first event, a session's first event, an order, a cohort's or a stages visitor's entry event, a customer's first order, a traffic row) has one of these channels: comma-separated (Email,Paid Search); sql/README.md \"Report filters\"")
	fs.String(&tpoint, "touchpoint", "the same for touchpoints, comma-separated (web,app,email,sms,social,chat)")
	fs.String(&where, "where", "the same for properties of that event (not traffic: its rollup has none): key=value, comma-separated, all must hold (plan=pro,country=DE)")
	fs.String(&format, "format", "output: table, json, csv or html")
	fs.String(&steps, "steps", `funnel: the steps in order, comma-separated; "A|B" is either; "page:/path/*" is a page view whose path matches; "A[k=v]" filters a property; "B within 10m": at most 10m after the step before (per-step window)`)
	fs.String(&window, "window", "funnel: conversion window, from the first step to the last (7d, 36h, ...)")
	fs.String(&mode, "mode", "funnel: ordered (other events may come between steps), strict (none may) or any (every step within the window, in any order)")
	fs.String(&by, "by", "funnel, attribution, retention: count visitor (each device/browser) or person (visitors linked to one user id count once); funnel also session")
	fs.String(&brk, "breakdown", "funnel: split by the visitor's first step event's channel, touchpoint, campaign, device, source or property:NAME")
	fs.String(&trend, "trend", "funnel: split by the day or week (from Monday, UTC) of the visitor's first step event")
	fs.String(&exclude, "exclude", "funnel: exclusion steps, comma-separated event names: a unit with one strictly between step 1 and a later step (mode any: inside the span of the step events) does not count past it")
	fs.Bool(&detail, "detail", "abandonment and time-on-site: add the breakdowns (by day, channel, recovered-by; by channel, landing page, touchpoint, device, stage; histogram); always on with --format html")
	fs.Bool(&carts, "carts", "abandonment: print the abandoned carts (cart, visitor, user, time, value, items) instead of the rates; with --format csv, a list for email/SMS reminders")
	fs.Int(&dropoff, "dropoff", "funnel: list the visitors (persons, sessions with --by) who reached step K and not K+1 (with --format csv: for remarketing) and what they did next")
	fs.String(&fromEv, "from-event", `paths: start at a session's first such event: an event name or "page:/path" (default: the session's entry)`)
	fs.String(&toEv, "to-event", `paths: the paths leading to a session's first such event, which ends each (instead of --from-event)`)
	fs.Int(&depth, "depth", "paths: how many pages and events a path has, the start included")
	fs.String(&within, "within", "abandonment: how soon an order must follow a cart or checkout (24h, 2d, ...)")
	fs.String(&model, "model", "attribution: all (every model side by side) or one of "+strings.Join(report.Models, ", "))
	fs.String(&lookback, "lookback", "attribution: how long before a conversion a session still counts as a touch (30d, ...)")
	fs.String(&dim, "dimension", "attribution: what a row is: "+strings.Join(report.Dimensions, ", "))
	fs.String(&cohort, "cohort", "retention: cohorts by first-visit or first-purchase")
	fs.String(&period, "period", "retention: week (from Monday, UTC) or month")

	// The kind may come before or after the flags.
	var kind string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		kind, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	rest := fs.Args()
	if kind == "" && len(rest) > 0 {
		kind = rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
		rest = fs.Args()
	}
	if kind == "" {
		fs.Usage()
		return fmt.Errorf("which report? one of %s", strings.Join(report.Kinds, ", "))
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments %q", rest)
	}
	if !slices.Contains(report.Kinds, kind) {
		return fmt.Errorf("%w %q: want one of %s", report.ErrUnknownKind, kind, strings.Join(report.Kinds, ", "))
	}

	now := time.Now()
	if kind == report.KindTraffic {
		// The daily rollup answers whole UTC days only: without --to, the
		// range ends at the end of today.
		now = now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	}
	opts, err := reportOptions(now, from, to, site, steps, window, mode, within)
	if err != nil {
		return err
	}
	if opts.Model, err = report.ParseModel(model); err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	if opts.Lookback, err = positiveDuration(lookback); err != nil {
		return fmt.Errorf("--lookback: %w", err)
	}
	if !slices.Contains(report.Dimensions, dim) {
		return fmt.Errorf("--dimension %q: want one of %s", dim, strings.Join(report.Dimensions, ", "))
	}
	opts.Dimension, opts.Cohort, opts.Period = dim, cohort, period
	opts.Breakdown, opts.Trend, opts.Exclude, opts.Dropoff = brk, trend, report.SplitList(exclude), dropoff
	if carts && kind != report.KindAbandonment {
		return errors.New("--carts: abandonment only")
	}
	if kind != report.KindFunnel && (brk != "" || trend != "" || exclude != "" || dropoff != 0) {
		return errors.New("--breakdown, --trend, --exclude and --dropoff: funnel only")
	}
	if depth < 1 {
		return fmt.Errorf("--depth %d: want 1 or more", depth)
	}
	opts.FromEvent, opts.ToEvent, opts.Depth = fromEv, toEv, depth
	opts.Filter.Channels, opts.Filter.Touchpoints = report.SplitList(channel), report.SplitList(tpoint)
	if opts.Filter.Where, err = report.ParseWhere(where); err != nil {
		return fmt.Errorf("--where: %w", err)
	}
	f, err := report.ParseFormat(format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	opts.Detail = detail || carts || f == report.FormatHTML
	switch kind {
	case report.KindAttribution, report.KindRetention:
		opts.By = by
	case report.KindFunnel:
	default:
		if by != "" && by != report.ByVisitor {
			return fmt.Errorf("--by %s: only the funnel, attribution and retention count by person", by)
		}
	}
	if kind == report.KindFunnel && len(opts.Steps) == 0 {
		return errors.New(`funnel: --steps is required, e.g. --steps "Page Viewed,Product Added,Order Completed"`)
	}

	conn, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	var r report.Result
	if kind == report.KindFunnel {
		r, err = report.FunnelBy(ctx, conn, opts, by)
	} else {
		r, err = report.Run(ctx, conn, kind, opts)
	}
	if err != nil {
		return err
	}
	if a, ok := r.(*report.AbandonmentReport); ok && carts {
		r = a.CartList()
	}
	return report.WriteFiltered(w, r, f, opts.Filter)
}

// reportOptions turns the flag values into report options; now is the
// default end of the range.
func reportOptions(now time.Time, from, to, site, steps, window, mode, within string) (report.Options, error) {
	opts := report.Options{Site: site, Steps: report.SplitSteps(steps), Mode: mode}
	var err error
	opts.To = now
	if to != "" {
		if opts.To, err = report.ParseTime(to, true); err != nil {
			return opts, fmt.Errorf("--to: %w", err)
		}
	}
	opts.From = opts.To.AddDate(0, 0, -defaultReportDays)
	if from != "" {
		if opts.From, err = report.ParseTime(from, false); err != nil {
			return opts, fmt.Errorf("--from: %w", err)
		}
	}
	if !opts.From.Before(opts.To) {
		return opts, fmt.Errorf("--from %s is not before --to %s", opts.From.Format(time.RFC3339), opts.To.Format(time.RFC3339))
	}
	if opts.Window, err = positiveDuration(window); err != nil {
		return opts, fmt.Errorf("--window: %w", err)
	}
	if opts.Within, err = positiveDuration(within); err != nil {
		return opts, fmt.Errorf("--within: %w", err)
	}
	return opts, nil
}

func positiveDuration(s string) (time.Duration, error) {
	d, err := report.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q: want more than 0", s)
	}
	return d, nil
}
