package report_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/touchstream/touchstream/internal/browser"
	"github.com/touchstream/touchstream/report"
)

// pageResults are a result of each kind that has charts, as `make demo`
// puts them on out/report.html: the funnel twice, with a trend by day and
// with a breakdown by channel. The newer kinds are decoded from their JSON (DESIGN.md
// section 3), so that this test follows their fields as they grow.
func pageResults(t *testing.T) []report.Result {
	t.Helper()
	kpis := func(kv ...any) report.KPIs {
		var k report.KPIs
		for i := 0; i < len(kv); i += 2 {
			k = append(k, report.KPI{Name: kv[i].(string), Value: kv[i+1].(float64)})
		}
		return k
	}
	funnelSteps := []report.FunnelStep{
		{Step: "Page Viewed", Count: 2000, ConversionFromStart: 1, ConversionFromPrevious: 1},
		{Step: "Product Added", Count: 640, ConversionFromStart: 0.32, ConversionFromPrevious: 0.32, MedianSecondsToConvert: 95},
		{Step: "Checkout Started", Count: 310, ConversionFromStart: 0.155, ConversionFromPrevious: 0.484, MedianSecondsToConvert: 240},
		{Step: "Order Completed", Count: 180, ConversionFromStart: 0.09, ConversionFromPrevious: 0.58, MedianSecondsToConvert: 3900},
	}
	trend := &report.FunnelReport{Steps: funnelSteps, TrendBy: report.TrendDay}
	breakdown := &report.FunnelReport{Steps: funnelSteps, BreakdownBy: "channel"}
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for i := range 14 {
		entered := uint64(120 + 11*(i%6))
		steps := scaledSteps(funnelSteps, entered, 1+0.1*float64(i%3))
		trend.Trend = append(trend.Trend, report.FunnelPeriod{Period: day.AddDate(0, 0, i).Format(time.DateOnly),
			Steps: steps, Conversion: steps[len(steps)-1].ConversionFromStart})
	}
	for i, ch := range []string{"Organic Search", "Paid Search", "Email", "Organic Social", "(none)", "Referral"} {
		breakdown.Breakdown = append(breakdown.Breakdown, report.FunnelGroup{Value: ch,
			Steps: scaledSteps(funnelSteps, uint64(700-100*i), 0.6+0.2*float64(i%4))})
	}
	results := []report.Result{
		trend,
		breakdown,
		sampleAbandonment(),
		&report.TimeOnSiteReport{
			Sessions:        5100,
			DurationSeconds: report.Distribution{Mean: 185.25, Median: 61, P90: 600},
			EngagedSeconds:  report.Distribution{Mean: 40.5, Median: 12.25, P90: 95},
			BounceRate:      0.375,
			EngagementRate:  0.625,
			Histogram: []report.HistogramBucket{
				{Label: "0-10 s", LowerSeconds: 0, UpperSeconds: 10, DurationSessions: 1900, EngagedSessions: 2600},
				{Label: "10-30 s", LowerSeconds: 10, UpperSeconds: 30, DurationSessions: 600, EngagedSessions: 1100},
				{Label: "30-60 s", LowerSeconds: 30, UpperSeconds: 60, DurationSessions: 700, EngagedSessions: 700},
				{Label: "1-3 min", LowerSeconds: 60, UpperSeconds: 180, DurationSessions: 900, EngagedSessions: 500},
				{Label: "3-10 min", LowerSeconds: 180, UpperSeconds: 600, DurationSessions: 600, EngagedSessions: 180},
				{Label: "10-30 min", LowerSeconds: 600, UpperSeconds: 1800, DurationSessions: 300, EngagedSessions: 20},
				{Label: "30+ min", LowerSeconds: 1800, DurationSessions: 100},
			},
			Breakdowns: []report.TimeOnSiteGroup{
				{Dimension: "channel", Value: "Organic Search", Sessions: 2100, DurationSeconds: report.Distribution{Mean: 200, Median: 70, P90: 640}, EngagedSeconds: report.Distribution{Mean: 45, Median: 14, P90: 100}, BounceRate: 0.35, EngagementRate: 0.65},
				{Dimension: "channel", Value: "Email", Sessions: 900, DurationSeconds: report.Distribution{Mean: 150, Median: 50, P90: 500}, EngagedSeconds: report.Distribution{Mean: 30, Median: 10, P90: 80}, BounceRate: 0.4, EngagementRate: 0.6},
				{Dimension: "stage", Value: "purchase", Sessions: 300, DurationSeconds: report.Distribution{Mean: 420, Median: 300, P90: 900}, EngagedSeconds: report.Distribution{Mean: 120, Median: 90, P90: 260}, BounceRate: 0, EngagementRate: 1},
			},
		},
		&report.StagesReport{Stages: []report.Stage{
			{Stage: "awareness", Visitors: 2000, Events: 9000, KPIs: kpis("sessions", 5100.0, "ad_impressions", 40000.0, "ad_clicks", 1200.0, "ctr", 0.03)},
			{Stage: "evaluation", Visitors: 900, Events: 4000, KPIs: kpis("engagement_rate", 0.625, "mean_time_on_site_seconds", 185.25, "leads", 300.0, "lead_conversion_rate", 0.15)},
			{Stage: "purchase", Visitors: 180, Events: 1100, KPIs: kpis("orders", 180.0, "conversion_rate", 0.09, "aov", 74.5, "cart_abandonment_rate", 0.719)},
			{Stage: "return", Visitors: 60, Events: 300, KPIs: kpis("retention_rate", 0.2, "repeat_purchase_rate", 0.12, "csat", 86.0)},
			{Stage: "advocacy", Visitors: 40, Events: 90, KPIs: kpis("referrals", 25.0, "nps", 31.5, "social_shares", 44.0)},
		}},
	}
	for _, j := range []struct {
		into report.Result
		json string
	}{
		{&report.AttributionReport{}, `{"dimension":"channel","lookback_seconds":2592000,"models":["first_touch","last_non_direct","linear"],
			"conversions":180,"revenue":13410,"attributed_conversions":170,"attributed_revenue":12800,
			"rows":[{"value":"Email","first_touch":{"conversions":30,"revenue":2100},"last_non_direct":{"conversions":55,"revenue":4000},"linear":{"conversions":41.5,"revenue":3050}},
			{"value":"Paid Search","first_touch":{"conversions":90,"revenue":6500},"last_non_direct":{"conversions":70,"revenue":5100},"linear":{"conversions":78.25,"revenue":5700}},
			{"value":"Organic Social","first_touch":{"conversions":50,"revenue":4200},"last_non_direct":{"conversions":45,"revenue":3700},"linear":{"conversions":50.25,"revenue":4050}}]}`},
		{&report.RetentionReport{}, `{"cohort":"first_visit","period":"week","cohorts":[
			{"cohort":"2026-11-02","size":700,"periods":[{"offset":0,"active":700,"active_share":1,"purchasers":50,"purchaser_share":0.071},{"offset":1,"active":140,"active_share":0.2,"purchasers":12,"purchaser_share":0.017}]},
			{"cohort":"2026-11-09","size":650,"periods":[{"offset":0,"active":650,"active_share":1,"purchasers":44,"purchaser_share":0.068}]}]}`},
	} {
		if err := json.Unmarshal([]byte(j.json), j.into); err != nil {
			t.Fatalf("%s sample: %v", j.into.Kind(), err)
		}
		results = append(results, j.into)
	}
	return append(results, sampleTraffic())
}

// scaledSteps is a funnel like steps with entered visitors at the first
// step, each later step converting lift times as well as in steps.
func scaledSteps(steps []report.FunnelStep, entered uint64, lift float64) []report.FunnelStep {
	out := make([]report.FunnelStep, len(steps))
	for i, st := range steps {
		share := st.ConversionFromStart
		if i > 0 {
			share = min(1, share*lift)
		}
		out[i] = report.FunnelStep{Step: st.Step, Count: uint64(float64(entered) * share), ConversionFromStart: share}
		if i > 0 && out[i-1].Count > 0 {
			out[i].ConversionFromPrevious = float64(out[i].Count) / float64(out[i-1].Count)
		}
	}
	return out
}

// sampleTraffic is a traffic report over two weeks of five channels.
func sampleTraffic() *report.TrafficReport {
	r := &report.TrafficReport{From: "2026-11-02", To: "2026-11-16"}
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	channels := []string{"Organic Search", "Paid Search", "Email", "Direct", ""}
	for i := range 14 {
		d := report.TrafficDay{Day: day.AddDate(0, 0, i).Format(time.DateOnly)}
		for k, ch := range channels {
			v := uint64(20 + 15*((i+k)%5) + 10*(len(channels)-k) + 3*i*(k%2)) // two channels grow
			n := report.TrafficNumbers{Visitors: v, Sessions: v * 13 / 10, Events: v * 9, Orders: v / 20, Revenue: float64(v/20) * 74.5, Customers: v / uint64(22+i%5)}
			n.ConversionRate = float64(n.Customers) / float64(n.Visitors)
			d.Channels = append(d.Channels, report.TrafficChannel{Channel: ch, TrafficNumbers: n})
			d.Total.Visitors += v * 9 / 10 // some visitors came by two channels
			d.Total.Sessions += n.Sessions
			d.Total.Events += n.Events
			d.Total.Orders += n.Orders
			d.Total.Revenue += n.Revenue
			d.Total.Customers += n.Customers
		}
		d.Total.ConversionRate = float64(d.Total.Customers) / float64(d.Total.Visitors)
		r.Days = append(r.Days, d)
		r.Totals.Visitors += d.Total.Visitors * 8 / 10
		r.Totals.Sessions += d.Total.Sessions
		r.Totals.Events += d.Total.Events
	}
	return r
}

// sampleAbandonment is an abandonment report over two weeks.
func sampleAbandonment() *report.AbandonmentReport {
	r := &report.AbandonmentReport{
		Cart:     report.CartAbandonment{Carts: 640, Abandoned: 460, Recovered: 41, AbandonmentRate: 0.719},
		Checkout: report.CheckoutAbandonment{Checkouts: 310, Abandoned: 130, Recovered: 12, AbandonmentRate: 0.419},
		Channels: []report.AbandonmentGroup{
			{Channel: "Paid Search", Cart: report.CartAbandonment{Carts: 300, Abandoned: 230, Recovered: 20, AbandonmentRate: 0.767}},
			{Channel: "Email", Cart: report.CartAbandonment{Carts: 200, Abandoned: 120, Recovered: 15, AbandonmentRate: 0.6}},
			{Channel: "(none)", Cart: report.CartAbandonment{Carts: 140, Abandoned: 110, Recovered: 6, AbandonmentRate: 0.786}},
		},
		RecoveredBy: []report.Recovery{
			{Kind: "cart", Touchpoint: "email", Campaign: "cart-reminder", Recovered: 30},
			{Kind: "cart", Touchpoint: "sms", Campaign: "winback", Recovered: 11},
		},
	}
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for i := range 14 {
		carts := uint64(30 + 7*(i%5))
		abandoned := carts * 7 / 10
		r.Days = append(r.Days, report.AbandonmentGroup{Day: day.AddDate(0, 0, i).Format(time.DateOnly),
			Cart: report.CartAbandonment{Carts: carts, Abandoned: abandoned, Recovered: uint64(i % 4),
				AbandonmentRate: float64(abandoned) / float64(carts)}})
	}
	for i := range 3 {
		r.AbandonedCarts = append(r.AbandonedCarts, report.AbandonedCart{CartKey: "cart_id:k" + string(rune('1'+i)),
			VisitorID: "v" + string(rune('1'+i)), CartTime: day.Add(time.Duration(i) * time.Hour), Value: 42.5, Items: 2})
	}
	return r
}

// section is what the browser shows of one report of the page.
type section struct {
	Heading string `json:"heading"`
	Tables  int    `json:"tables"`
	Rows    int    `json:"rows"`  // body rows of its tables
	Cells   int    `json:"cells"` // non-empty cells of those rows
	Charts  int    `json:"charts"`
	Drawn   int    `json:"drawn"` // charts with a non-empty box
	// Labels are the aria-labels of its svg charts.
	Labels []string `json:"labels"`
	// Marks are the drawn bars (rect) and lines of its svg charts, with a
	// non-empty box.
	Marks int `json:"marks"`
	// Clipped are the texts of its charts that reach outside their svg;
	// Overlaps the pairs of texts of one chart that cover each other.
	Clipped  []string `json:"clipped"`
	Overlaps []string `json:"overlaps"`
}

// sectionsJS walks the page as rendered: each h2 starts a report's
// section, which runs to the next h2. Charts are svg and canvas elements
// and elements of class "bar" (the page's CSS bars).
const sectionsJS = `(() => {
  const out = [];
  let cur = null;
  for (const el of document.body.querySelectorAll('*')) {
    if (el.tagName === 'H2') { cur = {heading: el.textContent.trim(), tables: 0, rows: 0, cells: 0, charts: 0, drawn: 0, labels: [], marks: 0, clipped: [], overlaps: []}; out.push(cur); continue; }
    if (!cur) continue;
    if (el.tagName === 'TABLE') {
      cur.tables++;
      for (const tr of el.querySelectorAll('tbody tr')) { cur.rows++; for (const td of tr.cells) if (td.textContent.trim() !== '') cur.cells++; }
    }
    if (el.tagName === 'svg' || el.tagName === 'CANVAS' || el.classList.contains('bar')) {
      cur.charts++;
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) cur.drawn++;
      if (el.tagName === 'svg') {
        cur.labels.push(el.getAttribute('aria-label') || '');
        for (const m of el.querySelectorAll('rect, polyline')) { const b = m.getBoundingClientRect(); if (b.width > 0 && b.height > 0) cur.marks++; }
        const box = el.getBoundingClientRect(), texts = [...el.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect()]);
        for (const [s, b] of texts) if (b.left < box.left - 0.5 || b.right > box.right + 0.5 || b.top < box.top - 0.5 || b.bottom > box.bottom + 0.5) cur.clipped.push(s);
        for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
          const [a, p] = texts[i], [b, q] = texts[j];
          if (Math.min(p.right, q.right) - Math.max(p.left, q.left) > 1 && Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 2) cur.overlaps.push(a + ' / ' + b);
        }
      }
    }
  }
  return out;
})()`

// TestPageInBrowser writes the report page as `make demo` does, opens it
// from file:// in headless Chromium and checks what a reader sees: the
// title, a section with a filled table for every report, no console error,
// no request beyond the file itself, and the charts there are, each with
// its texts inside it and none drawn over another. It saves a screenshot to
// out/report.png at the repository's root.
func TestPageInBrowser(t *testing.T) {
	results := pageResults(t)
	const title = "Touchstream demo"
	file := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.WritePage(f, title, results...); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: file}).String()

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	b := browser.New(t)
	p := browser.NewPage(t, b)
	var (
		gotTitle, h1 string
		sections     []section
		png          []byte
	)
	if err := p.Run(ctx,
		chromedp.Navigate(pageURL),
		chromedp.WaitReady("body", chromedp.ByQuery),
		chromedp.Sleep(300*time.Millisecond), // let scripts, if any, draw
		chromedp.Title(&gotTitle),
		chromedp.Text("h1", &h1, chromedp.ByQuery),
		chromedp.Evaluate(sectionsJS, &sections),
		chromedp.FullScreenshot(&png, 100),
	); err != nil {
		t.Fatal(err)
	}

	if gotTitle != title || strings.TrimSpace(h1) != title {
		t.Errorf("title %q, h1 %q; want %q", gotTitle, h1, title)
	}
	if len(sections) != len(results) {
		t.Errorf("%d sections (h2), want %d: %+v", len(sections), len(results), sections)
	}
	// The charts each report must have: an svg whose aria-label says what
	// it shows, with drawn bars.
	wantCharts := map[string][]string{
		report.KindAbandonment: {"by day", "by channel"},
		report.KindTimeOnSite:  {"Sessions by duration"},
		report.KindStages:      {"stage flow"},
		report.KindAttribution: {"by model"},
		report.KindRetention:   {"Retention"},
		report.KindTraffic:     {"Traffic by day: visitors and sessions", "by day and channel: visitors", "by day and channel: events"},
	}
	want := func(r report.Result) []string {
		f, ok := r.(*report.FunnelReport)
		switch {
		case !ok:
			return wantCharts[r.Kind()]
		case f.TrendBy != "":
			return []string{"drop-off", "Funnel trend by " + f.TrendBy}
		case f.BreakdownBy != "":
			return []string{"drop-off", "Funnel by " + f.BreakdownBy}
		}
		return []string{"drop-off"}
	}
	var noChart []string
	for i, r := range results {
		if i >= len(sections) {
			break
		}
		s := sections[i]
		if h := strings.ToLower(s.Heading); !strings.Contains(h, r.Kind()) && !strings.Contains(h, strings.ReplaceAll(r.Kind(), "-", " ")) {
			t.Errorf("section %d: heading %q, want the %s report", i, s.Heading, r.Kind())
		}
		if s.Tables == 0 || s.Rows == 0 || s.Cells < s.Rows {
			t.Errorf("section %q: %d tables, %d rows, %d non-empty cells; want a filled table", s.Heading, s.Tables, s.Rows, s.Cells)
		}
		if s.Drawn < s.Charts {
			t.Errorf("section %q: %d of its %d charts have an empty box", s.Heading, s.Charts-s.Drawn, s.Charts)
		}
		if s.Charts == 0 {
			noChart = append(noChart, s.Heading)
		}
		for _, want := range want(r) {
			found := false
			for _, l := range s.Labels {
				found = found || strings.Contains(strings.ToLower(l), strings.ToLower(want))
			}
			if !found {
				t.Errorf("section %q: no chart labelled %q (charts: %q)", s.Heading, want, s.Labels)
			}
		}
		if len(s.Clipped) > 0 {
			t.Errorf("section %q: texts cut off at the edge of their chart: %q", s.Heading, s.Clipped)
		}
		if len(s.Overlaps) > 0 {
			t.Errorf("section %q: texts drawn over each other: %q", s.Heading, s.Overlaps)
		}
		if len(want(r)) > 0 && s.Marks < 2*len(s.Labels) {
			t.Errorf("section %q: %d drawn bars or lines in %d charts", s.Heading, s.Marks, len(s.Labels))
		}
		t.Logf("section %q: %d tables, %d rows, %d charts %q, %d marks", s.Heading, s.Tables, s.Rows, s.Charts, s.Labels, s.Marks)
	}
	if len(noChart) > 0 {
		t.Errorf("sections without a chart (svg, canvas or .bar): %s", strings.Join(noChart, ", "))
	}

	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	for _, r := range p.Requests() {
		if r != "GET "+pageURL && !strings.HasPrefix(r, "GET data:") {
			t.Errorf("request beyond the page itself: %s (the page must be self-contained)", r)
		}
	}

	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot: %d bytes, not a PNG", len(png))
	}
	out := filepath.Join("..", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(out, "report.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(shot)
	t.Logf("screenshot: %s (%d bytes)", abs, len(png))
}
