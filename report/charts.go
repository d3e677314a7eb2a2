package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// The charts of the report page (WritePage): inline SVG drawn from a
// report's numbers, no script and no network, so out/report.html stays one
// self-contained file. Each chart shows numbers the report already has; it
// computes none of its own beyond scaling them to pixels.

// Chart colours, one per series.
var chartColors = []string{"#4a7dd8", "#e8833a", "#3aa57a", "#8e6bd8", "#d64545", "#7a8699"}

const (
	chartWidth = 760 // viewBox width of every chart
	dropColor  = "#d64545"
	textColor  = "#333"
	mutedColor = "#777"
)

// chart is one drawn chart: its title (the figure's caption) and its SVG.
type chart struct {
	Title string
	SVG   template.HTML
}

// charts returns the charts of one report, most telling first; none for a
// report without numbers to draw.
func charts(r Result) []chart {
	var out []chart
	switch r := r.(type) {
	case *FunnelReport:
		out = append(out, funnelChart(r.Steps))
	case *AbandonmentReport:
		out = append(out, abandonmentDaysChart(r), abandonmentChannelsChart(r))
	case *TimeOnSiteReport:
		out = append(out, histogramChart(r), timeByChannelChart(r))
	case *StagesReport:
		out = append(out, stageFlowChart(r))
	case *AttributionReport:
		out = append(out, attributionChart(r))
	case *RetentionReport:
		out = append(out, retentionChart(r))
	case *SegmentsReport:
		out = append(out, segmentsChart(r))
	}
	var charts []chart
	for _, c := range out {
		if c.SVG != "" {
			charts = append(charts, c)
		}
	}
	return charts
}

// svgChart accumulates one chart.
type svgChart struct {
	b     strings.Builder
	title string
}

func newSVG(title string, height float64) *svgChart {
	s := &svgChart{title: title}
	fmt.Fprintf(&s.b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %s" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
		html.EscapeString(title), chartWidth, svgNum(height))
	fmt.Fprintf(&s.b, `<title>%s</title>`, html.EscapeString(title))
	return s
}

func (s *svgChart) rect(x, y, w, h float64, color, tip string) {
	if w < 0 {
		w = 0
	}
	if h < 0 {
		h = 0
	}
	fmt.Fprintf(&s.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" rx="2">`, svgNum(x), svgNum(y), svgNum(w), svgNum(h), color)
	if tip != "" {
		fmt.Fprintf(&s.b, `<title>%s</title>`, html.EscapeString(tip))
	}
	s.b.WriteString(`</rect>`)
}

// text writes a label; anchor is start, middle or end.
func (s *svgChart) text(x, y float64, anchor, color string, size int, t string) {
	fmt.Fprintf(&s.b, `<text x="%s" y="%s" text-anchor="%s" fill="%s" font-size="%d">%s</text>`,
		svgNum(x), svgNum(y), anchor, color, size, html.EscapeString(t))
}

func (s *svgChart) line(x1, y1, x2, y2 float64, color string, dash bool) {
	extra := ""
	if dash {
		extra = ` stroke-dasharray="4 3"`
	}
	fmt.Fprintf(&s.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"%s/>`,
		svgNum(x1), svgNum(y1), svgNum(x2), svgNum(y2), color, extra)
}

func (s *svgChart) polyline(points []float64, color string) {
	var p []string
	for i := 0; i+1 < len(points); i += 2 {
		p = append(p, svgNum(points[i])+","+svgNum(points[i+1]))
	}
	fmt.Fprintf(&s.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(p, " "), color)
}

// legend writes coloured keys in a row from (x, y).
func (s *svgChart) legend(x, y float64, names ...string) {
	for i, n := range names {
		s.rect(x, y-9, 10, 10, chartColors[i%len(chartColors)], "")
		s.text(x+14, y, "start", textColor, 12, n)
		x += 24 + 7*float64(len([]rune(n)))
	}
}

func (s *svgChart) String() string { return s.b.String() + `</svg>` }

// done closes the chart. Its SVG is safe HTML: the svg methods escape every
// text they are given and write numbers and fixed colours only.
func (s *svgChart) done() chart {
	return chart{Title: s.title, SVG: template.HTML(s.String())}
}

// svgNum prints a coordinate with at most one decimal.
func svgNum(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = 0
	}
	return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64)
}

// svgScale maps v of [0, peak] onto [0, length]; 0 when peak is 0.
func svgScale(v, peak, length float64) float64 {
	if peak <= 0 || v <= 0 {
		return 0
	}
	return v / peak * length
}

// shortLabel cuts a label to n runes.
func shortLabel(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// funnelChart draws one bar per step, its width the step's count, with the
// drop-off from the step before between them.
func funnelChart(steps []FunnelStep) chart {
	if len(steps) == 0 {
		return chart{}
	}
	const (
		labelW, barX, barW = 190.0, 200.0, 420.0
		rowH, gapH         = 26.0, 20.0
	)
	var peak float64
	for _, st := range steps {
		peak = math.Max(peak, float64(st.Count))
	}
	height := 10 + float64(len(steps))*rowH + float64(len(steps)-1)*gapH + 10
	s := newSVG("Funnel: visitors per step, with the drop-off between steps", height)
	y := 10.0
	for i, st := range steps {
		if i > 0 {
			s.text(barX+6, y-6, "start", dropColor, 12,
				"▼ "+formatPercent(1-st.ConversionFromPrevious)+" drop-off ("+formatPercent(st.ConversionFromPrevious)+" continue)")
		}
		w := svgScale(float64(st.Count), peak, barW)
		s.text(labelW, y+rowH/2+4, "end", textColor, 13, shortLabel(st.Step, 26))
		s.rect(barX, y, math.Max(w, 1), rowH, chartColors[0],
			fmt.Sprintf("%s: %d (%s of the first step)", st.Step, st.Count, formatPercent(st.ConversionFromStart)))
		s.text(barX+w+6, y+rowH/2+4, "start", textColor, 12,
			formatUint(st.Count)+" · "+formatPercent(st.ConversionFromStart))
		y += rowH + gapH
	}
	return s.done()
}

// columns draws grouped columns: one group per label, one column per
// series (values[series][group]), with a y axis from 0 to the largest
// value. rates, when given, are drawn as points on a 0-100% scale, joined
// by a line when the groups are in time order (overTime); a NaN rate is
// left out.
func columns(title string, labels []string, series []string, values [][]float64, rates []float64, rateName string, overTime bool) chart {
	const (
		left, right, top, plotH = 48.0, 48.0, 28.0, 200.0
	)
	plotW := chartWidth - left - right
	var peak float64
	for _, vs := range values {
		for _, v := range vs {
			peak = math.Max(peak, v)
		}
	}
	step := niceStep(peak / 4) // three to five gridlines at round numbers
	lines := max(1, int(math.Ceil(peak/step-1e-9)))
	peak = float64(lines) * step
	labelEvery := 1
	if n := len(labels); n > 16 {
		labelEvery = (n + 15) / 16
	}
	s := newSVG(title, top+plotH+44)
	names := series
	if rates != nil {
		names = append(append([]string{}, series...), rateName)
	}
	s.legend(left, 16, names...)
	for i := 0; i <= lines; i++ {
		y := top + plotH - float64(i)/float64(lines)*plotH
		s.line(left, y, left+plotW, y, "#e4e4e4", false)
		s.text(left-6, y+4, "end", mutedColor, 11, formatFloat(math.Round(step*float64(i)*100)/100))
	}
	for i := 0; rates != nil && i <= 4; i++ {
		s.text(left+plotW+6, top+plotH-float64(i)/4*plotH+4, "start", mutedColor, 11, strconv.Itoa(25*i)+"%")
	}
	groupW := plotW / float64(max1(len(labels)))
	colW := math.Min(28, groupW*0.8/float64(max1(len(series))))
	var (
		segments [][]float64 // runs of rate points (x, y, x, y, ...)
		points   [][3]float64
		run      []float64
	)
	for g, label := range labels {
		x0 := left + float64(g)*groupW + (groupW-colW*float64(len(series)))/2
		for k := range series {
			h := svgScale(values[k][g], peak, plotH)
			s.rect(x0+float64(k)*colW, top+plotH-h, colW-1, h, chartColors[k%len(chartColors)],
				label+": "+series[k]+" "+formatFloat(values[k][g]))
		}
		cx := left + float64(g)*groupW + groupW/2
		if g%labelEvery == 0 {
			s.text(cx, top+plotH+16, "middle", textColor, 11, shortLabel(label, 14))
		}
		if rates == nil {
			continue
		}
		if math.IsNaN(rates[g]) { // no rate here (nothing started): a gap
			segments, run = append(segments, run), nil
			continue
		}
		y := top + plotH - svgScale(rates[g], 1, plotH)
		run = append(run, cx, y)
		points = append(points, [3]float64{cx, y, float64(g)})
	}
	segments = append(segments, run)
	s.line(left, top+plotH, left+plotW, top+plotH, mutedColor, false)
	rateColor := chartColors[len(series)%len(chartColors)]
	for _, seg := range segments {
		if overTime && len(seg) >= 4 {
			s.polyline(seg, rateColor)
		}
	}
	for _, p := range points {
		g := int(p[2])
		fmt.Fprintf(&s.b, `<circle cx="%s" cy="%s" r="4" fill="%s"><title>%s</title></circle>`, svgNum(p[0]), svgNum(p[1]), rateColor,
			html.EscapeString(labels[g]+": "+rateName+" "+formatPercent(rates[g])))
	}
	return s.done()
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// niceStep rounds x up to a step between gridlines: 1, 2 or 5 times a
// power of ten, or 2.5 times one of at least 10 (1 for 0, so an empty
// chart still has an axis).
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m == 2.5 && p < 10 {
			continue
		}
		if x <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// abandonmentDaysChart draws carts started and abandoned per day with the
// cart abandonment rate; without days, the totals of carts and checkouts.
func abandonmentDaysChart(r *AbandonmentReport) chart {
	if len(r.Days) == 0 {
		return columns("Carts and checkouts: started, abandoned, recovered",
			[]string{"carts", "checkouts"}, []string{"started", "abandoned", "recovered"},
			[][]float64{
				{float64(r.Cart.Carts), float64(r.Checkout.Checkouts)},
				{float64(r.Cart.Abandoned), float64(r.Checkout.Abandoned)},
				{float64(r.Cart.Recovered), float64(r.Checkout.Recovered)},
			}, nil, "", false)
	}
	var (
		labels              []string
		started, abandoned  []float64
		recovered, rateLine []float64
	)
	for _, d := range r.Days {
		label := d.Day
		if len(label) == len("2026-11-02") {
			label = label[len("2026-"):] // the month and day
		}
		labels = append(labels, label)
		started = append(started, float64(d.Cart.Carts))
		abandoned = append(abandoned, float64(d.Cart.Abandoned))
		recovered = append(recovered, float64(d.Cart.Recovered))
		rateLine = append(rateLine, rateOf(d.Cart))
	}
	return columns("Cart abandonment by day: carts started, abandoned and recovered, and the abandonment rate",
		labels, []string{"carts", "abandoned", "recovered"}, [][]float64{started, abandoned, recovered},
		rateLine, "abandonment rate", true)
}

// rateOf is the abandonment rate of c to draw: NaN (none) without carts.
func rateOf(c CartAbandonment) float64 {
	if c.Carts == 0 {
		return math.NaN()
	}
	return c.AbandonmentRate
}

// abandonmentChannelsChart draws carts and abandoned carts per channel.
func abandonmentChannelsChart(r *AbandonmentReport) chart {
	if len(r.Channels) == 0 {
		return chart{}
	}
	var (
		labels             []string
		started, abandoned []float64
		rates              []float64
	)
	for _, c := range r.Channels {
		labels = append(labels, c.Channel)
		started = append(started, float64(c.Cart.Carts))
		abandoned = append(abandoned, float64(c.Cart.Abandoned))
		rates = append(rates, rateOf(c.Cart))
	}
	return columns("Cart abandonment by channel", labels, []string{"carts", "abandoned"},
		[][]float64{started, abandoned}, rates, "abandonment rate", false)
}

// histogramChart draws sessions per duration bucket and per engaged-time
// bucket; without a histogram, the mean, median and p90 of both.
func histogramChart(r *TimeOnSiteReport) chart {
	if len(r.Histogram) == 0 {
		return columns("Session duration and engaged time (seconds)",
			[]string{"mean", "median", "p90"}, []string{"session duration", "engaged time"},
			[][]float64{
				{r.DurationSeconds.Mean, r.DurationSeconds.Median, r.DurationSeconds.P90},
				{r.EngagedSeconds.Mean, r.EngagedSeconds.Median, r.EngagedSeconds.P90},
			}, nil, "", false)
	}
	var (
		labels           []string
		duration, engage []float64
	)
	for _, b := range r.Histogram {
		labels = append(labels, b.Label)
		duration = append(duration, float64(b.DurationSessions))
		engage = append(engage, float64(b.EngagedSessions))
	}
	return columns("Sessions by duration and by engaged time", labels,
		[]string{"sessions by duration", "sessions by engaged time"}, [][]float64{duration, engage}, nil, "", false)
}

// timeByChannelChart draws the mean and median session duration and the
// mean engaged time of each channel (the "channel" rows of the
// breakdowns).
func timeByChannelChart(r *TimeOnSiteReport) chart {
	var (
		labels                []string
		mean, median, engaged []float64
	)
	for _, g := range r.Breakdowns {
		if g.Dimension != "channel" || len(labels) == maxBreakdownRows {
			continue
		}
		labels = append(labels, g.Value)
		mean = append(mean, g.DurationSeconds.Mean)
		median = append(median, g.DurationSeconds.Median)
		engaged = append(engaged, g.EngagedSeconds.Mean)
	}
	if len(labels) == 0 {
		return chart{}
	}
	return columns("Time on site by channel (seconds)", labels,
		[]string{"mean duration", "median duration", "mean engaged time"}, [][]float64{mean, median, engaged}, nil, "", false)
}

// stageFlowChart draws the visitors of each journey stage as centred bars,
// one under the other, with the share of the stage before between them.
func stageFlowChart(r *StagesReport) chart {
	if len(r.Stages) == 0 {
		return chart{}
	}
	const (
		labelW, mid, barW = 110.0, 400.0, 440.0
		rowH, gapH        = 28.0, 18.0
	)
	var peak float64
	for _, st := range r.Stages {
		peak = math.Max(peak, float64(st.Visitors))
	}
	height := 10 + float64(len(r.Stages))*rowH + float64(len(r.Stages)-1)*gapH + 10
	s := newSVG("Journey stage flow: visitors per stage", height)
	y := 10.0
	for i, st := range r.Stages {
		if i > 0 {
			prev := r.Stages[i-1].Visitors
			share := "-"
			if prev > 0 {
				share = formatPercent(float64(st.Visitors) / float64(prev))
			}
			s.text(mid, y-5, "middle", mutedColor, 11, "↓ "+share+" of "+r.Stages[i-1].Stage)
		}
		w := math.Max(svgScale(float64(st.Visitors), peak, barW), 1)
		s.text(labelW, y+rowH/2+4, "end", textColor, 13, st.Stage)
		s.rect(mid-w/2, y, w, rowH, chartColors[i%len(chartColors)], fmt.Sprintf("%s: %d visitors", st.Stage, st.Visitors))
		s.text(mid+w/2+8, y+rowH/2+4, "start", textColor, 12, formatUint(st.Visitors)+" visitors")
		y += rowH + gapH
	}
	return s.done()
}

// attributionChart compares the models: conversions credited to each row
// (channel, campaign, ...) by each model, side by side.
func attributionChart(r *AttributionReport) chart {
	if len(r.Rows) == 0 || len(r.Models) == 0 {
		return chart{}
	}
	labels := make([]string, len(r.Rows))
	values := make([][]float64, len(r.Models))
	for k, m := range r.Models {
		values[k] = make([]float64, len(r.Rows))
		for g, row := range r.Rows {
			labels[g] = row.Value
			values[k][g] = row.credit(m).Conversions
		}
	}
	return columns("Attribution: conversions credited per "+r.Dimension+", by model", labels, r.Models, values, nil, "", false)
}

// retentionChart draws the share of each cohort active in each period as
// a grid of shaded cells.
func retentionChart(r *RetentionReport) chart {
	if len(r.Cohorts) == 0 {
		return chart{}
	}
	var periods int
	for _, c := range r.Cohorts {
		periods = max(periods, len(c.Periods))
	}
	const (
		left, top, cellH = 110.0, 24.0, 24.0
	)
	cellW := math.Min(60, (chartWidth-left-10)/float64(max1(periods)))
	s := newSVG("Retention: share of each cohort active per "+r.Period, top+float64(len(r.Cohorts))*cellH+10)
	for p := 0; p < periods; p++ {
		s.text(left+float64(p)*cellW+cellW/2, top-8, "middle", mutedColor, 11, r.Period+" "+strconv.Itoa(p))
	}
	for i, c := range r.Cohorts {
		y := top + float64(i)*cellH
		s.text(left-8, y+cellH/2+4, "end", textColor, 12, c.Cohort)
		for _, p := range c.Periods {
			x := left + float64(p.Offset)*cellW
			fmt.Fprintf(&s.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="%s"><title>%s</title></rect>`,
				svgNum(x), svgNum(y), svgNum(cellW-2), svgNum(cellH-2), chartColors[0], svgNum(0.1+0.9*math.Min(1, p.ActiveShare)),
				html.EscapeString(fmt.Sprintf("%s, %s %d: %d active (%s)", c.Cohort, r.Period, p.Offset, p.Active, formatPercent(p.ActiveShare))))
			color := textColor
			if p.ActiveShare > 0.5 {
				color = "#fff"
			}
			s.text(x+cellW/2-1, y+cellH/2+3, "middle", color, 10, formatPercent(p.ActiveShare))
		}
	}
	return s.done()
}

// segmentsChart draws the customers and the revenue share of each segment.
func segmentsChart(r *SegmentsReport) chart {
	if len(r.Segments) == 0 {
		return chart{}
	}
	var (
		labels    []string
		customers []float64
	)
	for _, sg := range r.Segments {
		labels = append(labels, sg.Segment)
		customers = append(customers, float64(sg.Customers))
	}
	return columns("Customers per segment", labels, []string{"customers"}, [][]float64{customers}, nil, "", false)
}
