package report

import (
	"encoding/xml"
	"errors"
	"io"
	"regexp"
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
		&StagesReport{Stages: []Stage{{Stage: "awareness", Visitors: 10}, {Stage: "evaluation", Visitors: 4}}}}
	if err := WritePage(&b, "t", results...); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<figure>"); n != len(results) {
		t.Errorf("%d figures, want one per report (%d)", n, len(results))
	}
	if !strings.Contains(page, "↓ 40.0% of awareness") {
		t.Error("stage flow lacks the share of the stage before")
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
