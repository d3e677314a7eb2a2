package report

import (
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// svgRects returns the rect elements of a chart's SVG, in order, as
// attribute maps; it fails the test when the SVG is not well-formed XML.
func svgRects(t *testing.T, svg string) []map[string]string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	var rects []map[string]string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			attrs := map[string]string{}
			for _, a := range se.Attr {
				attrs[a.Name.Local] = a.Value
			}
			rects = append(rects, attrs)
		}
	}
	return rects
}

func rectAttr(t *testing.T, m map[string]string, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(m[name], 64)
	if err != nil {
		t.Fatalf("rect %v: %s: %v", m, name, err)
	}
	return v
}

func TestFunnelChart(t *testing.T) {
	c := funnelChart([]FunnelStep{
		{Step: `<b>"Viewed" & more</b>`, Count: 200, ConversionFromStart: 1, ConversionFromPrevious: 1},
		{Step: "Added", Count: 100, ConversionFromStart: 0.5, ConversionFromPrevious: 0.5},
		{Step: "Ordered", Count: 0},
	})
	svg := string(c.SVG)
	rects := svgRects(t, svg)
	if len(rects) != 3 {
		t.Fatalf("%d bars, want 3", len(rects))
	}
	// Widths follow the counts: the largest fills 420 px, half of it 210;
	// an empty step keeps a 1 px sliver.
	for i, want := range []float64{420, 210, 1} {
		if got := rectAttr(t, rects[i], "width"); got != want {
			t.Errorf("bar %d: width %v, want %v", i, got, want)
		}
	}
	if strings.Contains(svg, "<b>") || !strings.Contains(svg, "&lt;b&gt;&#34;Viewed&#34; &amp; more") {
		t.Errorf("step name not escaped:\n%s", svg)
	}
	if !strings.Contains(svg, "50.0% drop-off") || !strings.Contains(svg, "100.0% drop-off") {
		t.Errorf("drop-off between steps missing:\n%s", svg)
	}
}

func TestHistogramChart(t *testing.T) {
	r := &TimeOnSiteReport{Histogram: []HistogramBucket{
		{Label: "0-10 s", DurationSessions: 50, EngagedSessions: 100},
		{Label: "10-30 s", DurationSessions: 25, EngagedSessions: 0},
	}}
	rects := svgRects(t, string(histogramChart(r).SVG))
	// Two legend keys, then duration and engaged columns per bucket; the
	// axis tops at 100, 200 px high.
	if len(rects) != 2+4 {
		t.Fatalf("%d rects, want 6", len(rects))
	}
	for i, want := range []float64{100, 200, 50, 0} {
		if got := rectAttr(t, rects[2+i], "height"); got != want {
			t.Errorf("column %d: height %v, want %v", i, got, want)
		}
	}
}

func TestAbandonmentCharts(t *testing.T) {
	r := &AbandonmentReport{
		Days: []AbandonmentGroup{
			{Day: "2026-11-02", Cart: CartAbandonment{Carts: 4, Abandoned: 2, Recovered: 1, AbandonmentRate: 0.5}},
			{Day: "2026-11-03", Cart: CartAbandonment{Carts: 2, Abandoned: 2, AbandonmentRate: 1}},
			{Day: "2026-11-04"},
		},
		Channels: []AbandonmentGroup{{Channel: "Email", Cart: CartAbandonment{Carts: 4, Abandoned: 2, AbandonmentRate: 0.5}}},
	}
	cs := charts(r)
	if len(cs) != 2 {
		t.Fatalf("%d charts, want days and channels", len(cs))
	}
	days := string(cs[0].SVG)
	svgRects(t, days)
	if !strings.Contains(days, ">11-02<") || strings.Count(days, "<polyline") != 1 {
		t.Errorf("days chart lacks its day labels or rate line:\n%s", days)
	}
	// The rate is drawn for the two days with carts, not for the empty
	// one: 50% halfway up the 200 px plot (y 128), 100% at its top (28).
	if n := strings.Count(days, "<circle"); n != 2 || !strings.Contains(days, `points="158.7,128 380,28"`) {
		t.Errorf("%d rate points, want 2 joined by one line:\n%s", n, days)
	}
	if strings.Contains(days, "NaN") || strings.Contains(string(cs[1].SVG), "NaN") {
		t.Error("NaN in a chart")
	}
	// Without days (an older report): the totals instead.
	if cs := charts(&AbandonmentReport{}); len(cs) != 1 || !strings.Contains(cs[0].Title, "Carts and checkouts") {
		t.Errorf("charts of an empty report: %+v", cs)
	}
}

// TestPageCharts checks the page puts each report's charts in its section
// and fetches nothing.
func TestPageCharts(t *testing.T) {
	var b strings.Builder
	results := []Result{sampleFunnel, sampleAbandonment, sampleTimeOnSite,
		&StagesReport{Stages: []Stage{
			{Stage: "awareness", Visitors: 10, KPIs: KPIs{{"conversion_to_next", 0.4}, {"median_seconds_to_next", 1800}}},
			{Stage: "evaluation", Visitors: 4}}}}
	if err := WritePage(&b, "t", results...); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<figure>"); n != len(results) {
		t.Errorf("%d figures, want one per report (%d)", n, len(results))
	}
	if !strings.Contains(page, "↓ 40.0% of awareness went on (median 30m0s)") {
		t.Error("stage flow lacks the conversion from the stage before")
	}
	if m := regexp.MustCompile(`(?i)(src|href)=|<script|url\(|@import`).FindString(page); m != "" {
		t.Errorf("page refers to something outside itself: %q", m)
	}
}

func TestNiceStep(t *testing.T) {
	for _, tc := range []struct{ x, want float64 }{
		{0, 1}, {0.3, 0.5}, {1, 1}, {1.2, 2}, {2.5, 5}, {6.25, 10}, {12.5, 20}, {25, 25}, {26, 50}, {130, 200}, {210, 250},
	} {
		if got := niceStep(tc.x); got != tc.want {
			t.Errorf("niceStep(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
}

// svgPolylines returns the points attribute of each polyline, in order.
func svgPolylines(svg string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<polyline points="([^"]*)"`).FindAllStringSubmatch(svg, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkNoData checks that a chart of an empty result says so and draws
// no NaN.
func checkNoData(t *testing.T, c chart) {
	t.Helper()
	svg := string(c.SVG)
	svgRects(t, svg)
	if !strings.Contains(svg, "No data in this range") || strings.Contains(svg, "NaN") || strings.Contains(svg, "<polyline") {
		t.Errorf("chart %q of an empty result:\n%s", c.Title, svg)
	}
}

// sampleTraffic has three days; on the second the most sessions (200)
// and the highest conversion rate (10%).
func sampleTraffic() *TrafficReport {
	return &TrafficReport{From: "2026-11-02", To: "2026-11-05", Days: []TrafficDay{
		{Day: "2026-11-02", Total: TrafficNumbers{Visitors: 40, Sessions: 50, Events: 300, ConversionRate: 0.05},
			Channels: []TrafficChannel{
				{Channel: "Email", TrafficNumbers: TrafficNumbers{Visitors: 10, Events: 100}},
				{Channel: "Organic Search", TrafficNumbers: TrafficNumbers{Visitors: 30, Events: 200}}}},
		{Day: "2026-11-03", Total: TrafficNumbers{Visitors: 100, Sessions: 200, Events: 900, ConversionRate: 0.1},
			Channels: []TrafficChannel{
				{Channel: "Email", TrafficNumbers: TrafficNumbers{Visitors: 60, Events: 500}},
				{Channel: "Organic Search", TrafficNumbers: TrafficNumbers{Visitors: 50, Events: 400}}}},
		{Day: "2026-11-04", Total: TrafficNumbers{Visitors: 20, Sessions: 20, Events: 60},
			Channels: []TrafficChannel{{Channel: "", TrafficNumbers: TrafficNumbers{Visitors: 20, Events: 60}}}},
	}}
}

func TestTrafficCharts(t *testing.T) {
	cs := charts(sampleTraffic())
	if len(cs) != 3 {
		t.Fatalf("%d charts, want days, visitors and events by channel", len(cs))
	}
	days := string(cs[0].SVG)
	rects := svgRects(t, days)
	// Three legend keys (visitors, sessions, conversion rate), then the
	// visitors and sessions columns of each day. The axis tops at 200
	// (the 200 sessions of 11-03), 200 px high.
	if len(rects) != 3+6 {
		t.Fatalf("%d rects, want 9:\n%s", len(rects), days)
	}
	for i, want := range []float64{40, 50, 100, 200, 20, 20} {
		if got := rectAttr(t, rects[3+i], "height"); got != want {
			t.Errorf("column %d: height %v, want %v", i, got, want)
		}
	}
	// The conversion rate against its own axis, 0 to 10%: 5% halfway up
	// the plot (y 128), 10% at its top (28), 0% at the bottom (228).
	if got := svgPolylines(days); len(got) != 1 || got[0] != "158.7,128 380,28 601.3,228" {
		t.Errorf("conversion rate line %q", got)
	}
	for _, want := range []string{">11-02<", ">11-04<", ">10%<", ">5%<", "conversion rate"} {
		if !strings.Contains(days, want) {
			t.Errorf("days chart lacks %q:\n%s", want, days)
		}
	}

	// Visitors by channel: Organic Search (80 over the days) first, then
	// Email (70), then the unknown channel; the axis tops at 60.
	visitors := string(cs[1].SVG)
	svgRects(t, visitors)
	lines := svgPolylines(visitors)
	want := []string{"158.7,128 380,61.3 601.3,228", "158.7,194.7 380,28 601.3,228", "158.7,228 380,228 601.3,161.3"}
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one per channel:\n%s", len(lines), visitors)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, lines[i], want[i])
		}
	}
	if !strings.Contains(visitors, ">(not set)<") || !strings.Contains(visitors, "11-03: Email 60") {
		t.Errorf("visitors chart lacks the unknown channel's key or a point's tooltip:\n%s", visitors)
	}
	// Events by channel, the channels in the same order (and colours) as
	// above although Email has as many events as Organic Search (600);
	// the axis tops at 600.
	if events := string(cs[2].SVG); !strings.Contains(events, "11-03: Email 500") ||
		!slices.Equal(svgPolylines(events), []string{"158.7,161.3 380,94.7 601.3,228", "158.7,194.7 380,61.3 601.3,228", "158.7,228 380,228 601.3,208"}) {
		t.Errorf("events chart: lines %q\n%s", svgPolylines(events), events)
	}
	for _, c := range cs {
		if strings.Contains(string(c.SVG), "NaN") {
			t.Errorf("NaN in %q", c.Title)
		}
	}

	// More channels than colours: the biggest six, said so.
	r := sampleTraffic()
	for i := range 8 {
		r.Days[0].Channels = append(r.Days[0].Channels, TrafficChannel{Channel: "c" + strconv.Itoa(i), TrafficNumbers: TrafficNumbers{Visitors: uint64(i)}})
	}
	if c := trafficChannelsChart(r, "visitors"); len(svgPolylines(string(c.SVG))) != 6 || !strings.Contains(c.Title, "the 6 biggest of 11 channels") {
		t.Errorf("11 channels: %q\n%s", c.Title, c.SVG)
	}

	empty := charts(&TrafficReport{From: "2026-11-02", To: "2026-11-03", Days: []TrafficDay{}})
	if len(empty) != 3 {
		t.Fatalf("%d charts of an empty traffic report, want 3", len(empty))
	}
	for _, c := range empty {
		checkNoData(t, c)
	}
}

// steps makes funnel steps A, B, C... with the given counts.
func steps(counts ...uint64) []FunnelStep {
	out := make([]FunnelStep, len(counts))
	for i, n := range counts {
		out[i] = FunnelStep{Step: string(rune('A' + i)), Count: n}
		if counts[0] > 0 {
			out[i].ConversionFromStart = float64(n) / float64(counts[0])
		}
	}
	return out
}

func TestFunnelTrendChart(t *testing.T) {
	r := &FunnelReport{Steps: steps(350, 110, 32), TrendBy: TrendWeek, Trend: []FunnelPeriod{
		{Period: "2026-11-02", Steps: steps(100, 40, 10), Conversion: 0.1},
		{Period: "2026-11-09", Steps: steps(50, 20, 2), Conversion: 0.04},
		{Period: "2026-11-16", Steps: steps(200, 50, 20), Conversion: 0.1},
	}}
	cs := charts(r)
	if len(cs) != 2 || !strings.Contains(cs[1].Title, "by week") {
		t.Fatalf("charts %d, want the steps and the trend by week", len(cs))
	}
	svg := string(cs[1].SVG)
	rects := svgRects(t, svg)
	// Keys entered, completed, conversion; then per week the visitors at
	// step A and at step C, against an axis to 200.
	if len(rects) != 3+6 {
		t.Fatalf("%d rects, want 9:\n%s", len(rects), svg)
	}
	for i, want := range []float64{100, 10, 50, 2, 200, 20} {
		if got := rectAttr(t, rects[3+i], "height"); got != want {
			t.Errorf("column %d: height %v, want %v", i, got, want)
		}
	}
	// Conversion against 0 to 10%: 4% is 80 px up from the bottom (228).
	if got := svgPolylines(svg); len(got) != 1 || got[0] != "158.7,28 380,148 601.3,28" {
		t.Errorf("conversion line %q", got)
	}
	for _, want := range []string{">entered (A)<", ">completed (C)<", ">11-09<", "11-09: conversion 4.0%"} {
		if !strings.Contains(svg, want) {
			t.Errorf("trend chart lacks %q:\n%s", want, svg)
		}
	}

	// A trend that found no period: the no-data state.
	cs = charts(&FunnelReport{Steps: steps(0, 0), TrendBy: TrendDay, Trend: []FunnelPeriod{}})
	if len(cs) != 2 {
		t.Fatalf("%d charts, want the steps and the trend", len(cs))
	}
	checkNoData(t, cs[0]) // nobody at the first step
	checkNoData(t, cs[1])
}

func TestFunnelBreakdownChart(t *testing.T) {
	email := steps(100, 60, 30)
	unknown := steps(40, 8, 2)
	r := &FunnelReport{Steps: steps(140, 68, 32), BreakdownBy: "channel",
		Breakdown: []FunnelGroup{{Value: "Email", Steps: email}, {Value: "", Steps: unknown}}}
	cs := charts(r)
	if len(cs) != 2 || !strings.Contains(cs[1].Title, "by channel") {
		t.Fatalf("%d charts, want the steps and the breakdown by channel", len(cs))
	}
	svg := string(cs[1].SVG)
	rects := svgRects(t, svg)
	// Keys B and C; per channel the conversion to B and to C, against an
	// axis from 0 to 60% (Email's 60% to B).
	if len(rects) != 2+4 {
		t.Fatalf("%d rects, want 6:\n%s", len(rects), svg)
	}
	for i, want := range []float64{200, 100, 66.7, 16.7} {
		if got := rectAttr(t, rects[2+i], "height"); got != want {
			t.Errorf("bar %d: height %v, want %v", i, got, want)
		}
	}
	for _, want := range []string{">Email<", ">(not set)<", ">60%<", ">20%<", "Email: C 30.0%"} {
		if !strings.Contains(svg, want) {
			t.Errorf("breakdown chart lacks %q:\n%s", want, svg)
		}
	}

	// Twelve groups: the ten biggest drawn, the title says so.
	r.Breakdown = nil
	for i := range 12 {
		r.Breakdown = append(r.Breakdown, FunnelGroup{Value: "g" + strconv.Itoa(i), Steps: steps(uint64(100-i), 10, 1)})
	}
	c := funnelBreakdownChart(r)
	if n := len(svgRects(t, string(c.SVG))); n != 2+20 || !strings.Contains(c.Title, "the 10 biggest of 12") || strings.Contains(string(c.SVG), ">g10<") {
		t.Errorf("12 groups: %d rects, title %q", n, c.Title)
	}

	// A one-step funnel: visitors per group instead of conversions.
	c = funnelBreakdownChart(&FunnelReport{Steps: steps(10), BreakdownBy: "device",
		Breakdown: []FunnelGroup{{Value: "mobile", Steps: steps(6)}, {Value: "desktop", Steps: steps(4)}}})
	if rects := svgRects(t, string(c.SVG)); len(rects) != 1+2 || rectAttr(t, rects[1], "height") != 200 || rectAttr(t, rects[2], "height") != 133.3 {
		t.Errorf("one-step breakdown:\n%s", c.SVG)
	}

	checkNoData(t, funnelBreakdownChart(&FunnelReport{Steps: steps(0, 0), BreakdownBy: "channel"}))
}

// TestGroupLabels: labels are thinned and cut so that they do not run
// into each other.
func TestGroupLabels(t *testing.T) {
	plotW := chartWidth - plotLeft - plotRight
	for _, tc := range []struct {
		labels           []string
		n                int
		every, wantRunes int
	}{
		{[]string{"11-02"}, 14, 1, 5},          // two weeks of days: every one
		{[]string{"11-02"}, 30, 2, 5},          // a month: every other day
		{[]string{"Organic Search"}, 3, 1, 14}, // a few channels, in full
		{[]string{"Organic Search"}, 10, 1, 9}, // ten: cut to fit
		{[]string{"Organic Search"}, 40, 4, 9}, // forty: every fourth, cut
	} {
		labels := make([]string, tc.n)
		for i := range labels {
			labels[i] = tc.labels[0]
		}
		every, runes := groupLabels(labels, plotW/float64(tc.n))
		if every != tc.every || runes != tc.wantRunes {
			t.Errorf("%d × %q: every %d, %d runes; want %d, %d", tc.n, tc.labels[0], every, runes, tc.every, tc.wantRunes)
		}
	}
}

// TestLegendWraps: keys that would run past the plot start a second row,
// and the plot moves down to make room for it.
func TestLegendWraps(t *testing.T) {
	short, rows := legendLayout(plotLeft, []string{"a", "b"})
	if rows != 1 || short[1].x != plotLeft+24+7 {
		t.Errorf("two short keys: %+v, %d rows", short, rows)
	}
	long := []string{strings.Repeat("x", 40), strings.Repeat("y", 40), strings.Repeat("z", 40)}
	keys, rows := legendLayout(plotLeft, long)
	if rows != 2 || keys[0].row != 0 || keys[1].row != 0 || keys[2].row != 1 || keys[2].x != plotLeft {
		t.Errorf("three long keys: %+v, %d rows; want two on the first row", keys, rows)
	}
	one := plot{title: "t", labels: []string{"g"}, series: long[:1], values: [][]float64{{1}}}.draw()
	two := plot{title: "t", labels: []string{"g"}, series: long, values: [][]float64{{1}, {1}, {1}}}.draw()
	if !strings.Contains(string(one.SVG), `viewBox="0 0 760 260"`) || !strings.Contains(string(two.SVG), `viewBox="0 0 760 278"`) {
		t.Errorf("heights: one row %.60s, two rows %.60s", one.SVG, two.SVG)
	}
}
