package report

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The charts of the report page (WritePage): inline SVG drawn from a
// report's numbers, no script and no network, so out/report.html stays one
// self-contained file. Each chart shows numbers the report already has; it
// computes none of its own beyond scaling them to pixels (and ranking
// groups to choose which to draw when there are too many).

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

// charts returns the charts of one report, most telling first. A chart
// whose part of the report is empty (no days, no trend periods, no
// breakdown groups, nobody at the funnel's first step) draws the no-data
// state; the older charts of optional parts (abandonment by channel, time
// on site by channel, ...) are left out instead.
func charts(r Result) []chart {
	var out []chart
	switch r := r.(type) {
	case *FunnelReport:
		out = append(out, funnelChart(r.Steps))
		if r.TrendBy != "" {
			out = append(out, funnelTrendChart(r))
		}
		if r.BreakdownBy != "" {
			out = append(out, funnelBreakdownChart(r))
		}
	case *TrafficReport:
		out = append(out, trafficDaysChart(r), trafficChannelsChart(r, "visitors"), trafficChannelsChart(r, "events"))
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

// legendLayout places one coloured key per name in rows from x0,
// starting a new row rather than running past the plot: each key's x and
// row, and the number of rows.
func legendLayout(x0 float64, names []string) (keys []legendKey, rows int) {
	x, row := x0, 0
	for _, n := range names {
		w := 24 + 7*float64(len([]rune(n)))
		if x > x0 && x+w-10 > legendMaxX {
			x, row = x0, row+1
		}
		keys = append(keys, legendKey{x, row})
		x += w
	}
	return keys, row + 1
}

// legendKey is where legendLayout put one key.
type legendKey struct {
	x   float64
	row int
}

// legend writes the coloured keys legendLayout placed.
func (s *svgChart) legend(keys []legendKey, names []string) {
	for i, k := range keys {
		y := 16 + float64(k.row)*legendRowH
		s.rect(k.x, y-9, 10, 10, chartColors[i%len(chartColors)], "")
		s.text(k.x+14, y, "start", textColor, 12, names[i])
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
// drop-off from the step before between them; the no-data state when
// nobody reached the first step.
func funnelChart(steps []FunnelStep) chart {
	const title = "Funnel: visitors per step, with the drop-off between steps"
	if len(steps) == 0 || steps[0].Count == 0 {
		return noData(title)
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
	s := newSVG(title, height)
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

// plot is a chart over groups (days, channels, buckets): one column per
// series in each group, or with asLines one line per series across the
// groups, against a y axis from 0 to the largest value at round numbers.
// rates, when given, are drawn as points against a second axis on the
// right, joined by a line when the groups are in time order (overTime); a
// NaN rate (no rate there) is left out. A plot without groups draws the
// "no data" state.
type plot struct {
	title   string
	labels  []string    // one group per label
	series  []string    // the columns (or lines) of each group
	values  [][]float64 // values[series][group]; a NaN is not drawn
	percent bool        // values are shares: the y axis reads in percent
	asLines bool        // draw each series as a line through its groups

	rates    []float64 // one per group, or nil
	rateName string
	rateTop  float64 // the right axis's top: 1 is 100%; 0 fits it to the rates
	overTime bool
}

const (
	plotLeft, plotRight, plotH = 48.0, 48.0, 200.0
	legendRowH                 = 18.0
	legendMaxX                 = chartWidth - plotRight
)

// draw renders the plot.
func (p plot) draw() chart {
	if len(p.labels) == 0 || len(p.series) == 0 {
		return noData(p.title)
	}
	plotW := chartWidth - plotLeft - plotRight
	var peak float64
	for _, vs := range p.values {
		for _, v := range vs {
			if !math.IsNaN(v) {
				peak = math.Max(peak, v)
			}
		}
	}
	step, lines := niceAxis(peak)
	peak = float64(lines) * step
	names := p.series
	if p.rates != nil {
		names = append(append([]string{}, p.series...), p.rateName)
	}
	keys, rows := legendLayout(plotLeft, names)
	top := 10 + float64(rows)*legendRowH
	s := newSVG(p.title, top+plotH+32)
	s.legend(keys, names)
	for i := 0; i <= lines; i++ {
		y := top + plotH - float64(i)/float64(lines)*plotH
		s.line(plotLeft, y, plotLeft+plotW, y, "#e4e4e4", false)
		label := formatFloat(math.Round(step*float64(i)*100) / 100)
		if p.percent {
			label = axisPercent(step * float64(i))
		}
		s.text(plotLeft-6, y+4, "end", mutedColor, 11, label)
	}
	rateTop := p.rateTop
	if p.rates != nil {
		rstep, rlines := 0.25, 4
		if rateTop <= 0 {
			var most float64
			for _, r := range p.rates {
				if !math.IsNaN(r) {
					most = math.Max(most, r)
				}
			}
			rstep, rlines = niceAxis(most)
		} else {
			rstep = rateTop / 4
		}
		rateTop = rstep * float64(rlines)
		for i := 0; i <= rlines; i++ {
			s.text(plotLeft+plotW+6, top+plotH-float64(i)/float64(rlines)*plotH+4, "start", mutedColor, 11, axisPercent(rstep*float64(i)))
		}
	}
	groupW := plotW / float64(len(p.labels))
	colW := math.Min(28, groupW*0.8/float64(len(p.series)))
	labelEvery, labelRunes := groupLabels(p.labels, groupW)
	lineRuns := make([][]float64, len(p.series)) // asLines: x, y, x, y, ...
	var (
		segments [][]float64 // runs of rate points (x, y, x, y, ...)
		points   []svgPoint
		run      []float64
	)
	for g, label := range p.labels {
		cx := plotLeft + float64(g)*groupW + groupW/2
		x0 := cx - colW*float64(len(p.series))/2
		for k, name := range p.series {
			v := p.values[k][g]
			if math.IsNaN(v) {
				continue
			}
			color := chartColors[k%len(chartColors)]
			tip := label + ": " + name + " " + p.format(v)
			h := svgScale(v, peak, plotH)
			if p.asLines {
				lineRuns[k] = append(lineRuns[k], cx, top+plotH-h)
				points = append(points, svgPoint{cx, top + plotH - h, 3, color, tip})
				continue
			}
			s.rect(x0+float64(k)*colW, top+plotH-h, colW-1, h, color, tip)
		}
		if g%labelEvery == 0 {
			s.text(cx, top+plotH+16, "middle", textColor, 11, shortLabel(label, labelRunes))
		}
		if p.rates == nil {
			continue
		}
		if math.IsNaN(p.rates[g]) { // no rate here: a gap
			segments, run = append(segments, run), nil
			continue
		}
		y := top + plotH - svgScale(math.Min(p.rates[g], rateTop), rateTop, plotH)
		run = append(run, cx, y)
		points = append(points, svgPoint{cx, y, 4, chartColors[len(p.series)%len(chartColors)],
			label + ": " + p.rateName + " " + formatPercent(p.rates[g])})
	}
	segments = append(segments, run)
	s.line(plotLeft, top+plotH, plotLeft+plotW, top+plotH, mutedColor, false)
	for k, run := range lineRuns {
		if len(run) >= 4 {
			s.polyline(run, chartColors[k%len(chartColors)])
		}
	}
	for _, seg := range segments {
		if p.overTime && len(seg) >= 4 {
			s.polyline(seg, chartColors[len(p.series)%len(chartColors)])
		}
	}
	for _, pt := range points {
		s.circle(pt)
	}
	return s.done()
}

// format prints a value of the plot for its tooltips.
func (p plot) format(v float64) string {
	if p.percent {
		return formatPercent(v)
	}
	return formatFloat(v)
}

// svgPoint is a dot with a tooltip.
type svgPoint struct {
	x, y, r float64
	color   string
	tip     string
}

func (s *svgChart) circle(p svgPoint) {
	fmt.Fprintf(&s.b, `<circle cx="%s" cy="%s" r="%s" fill="%s"><title>%s</title></circle>`,
		svgNum(p.x), svgNum(p.y), svgNum(p.r), p.color, html.EscapeString(p.tip))
}

// noData is the chart of an empty result: its title and a line saying
// there is nothing to draw, instead of an empty or NaN-sized drawing.
func noData(title string) chart {
	s := newSVG(title, 60)
	s.b.WriteString(`<g class="no-data">`)
	s.rect(0.5, 0.5, chartWidth-1, 59, "#f6f6f6", "")
	s.text(chartWidth/2, 35, "middle", mutedColor, 13, "No data in this range")
	s.b.WriteString(`</g>`)
	return s.done()
}

// axisPercent prints a share on an axis: 0%, 2.5%, 25%.
func axisPercent(x float64) string {
	return strconv.FormatFloat(math.Round(x*1000)/10, 'f', -1, 64) + "%"
}

// groupLabels says which group labels fit under groups groupW wide at 11
// px (about 6.5 px a character): every labelEvery-th one, cut to
// labelRunes characters (at most 14; at least 8 unless all are shorter).
func groupLabels(labels []string, groupW float64) (labelEvery, labelRunes int) {
	longest := 0
	for _, l := range labels {
		longest = max(longest, min(len([]rune(l)), 14))
	}
	room := func(n int) int { return int((float64(n)*groupW - 6) / 6.5) }
	labelEvery = 1
	for room(labelEvery) < min(longest, 8) {
		labelEvery++
	}
	return labelEvery, min(longest, room(labelEvery))
}

// niceAxis divides [0, peak] at round numbers: the step between
// gridlines and their number (three to five, one for an empty axis).
func niceAxis(peak float64) (step float64, lines int) {
	step = niceStep(peak / 4)
	return step, max(1, int(math.Ceil(peak/step-1e-9)))
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
		return plot{title: "Carts and checkouts: started, abandoned, recovered",
			labels: []string{"carts", "checkouts"}, series: []string{"started", "abandoned", "recovered"},
			values: [][]float64{
				{float64(r.Cart.Carts), float64(r.Checkout.Checkouts)},
				{float64(r.Cart.Abandoned), float64(r.Checkout.Abandoned)},
				{float64(r.Cart.Recovered), float64(r.Checkout.Recovered)},
			}}.draw()
	}
	var (
		labels              []string
		started, abandoned  []float64
		recovered, rateLine []float64
	)
	for _, d := range r.Days {
		labels = append(labels, dayLabel(d.Day))
		started = append(started, float64(d.Cart.Carts))
		abandoned = append(abandoned, float64(d.Cart.Abandoned))
		recovered = append(recovered, float64(d.Cart.Recovered))
		rateLine = append(rateLine, rateOf(d.Cart))
	}
	return plot{title: "Cart abandonment by day: carts started, abandoned and recovered, and the abandonment rate",
		labels: labels, series: []string{"carts", "abandoned", "recovered"}, values: [][]float64{started, abandoned, recovered},
		rates: rateLine, rateName: "abandonment rate", rateTop: 1, overTime: true}.draw()
}

// dayLabel shortens a date (2026-11-02) to its month and day (11-02).
func dayLabel(day string) string {
	if len(day) == len("2026-11-02") {
		return day[len("2026-"):]
	}
	return day
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
	return plot{title: "Cart abandonment by channel", labels: labels, series: []string{"carts", "abandoned"},
		values: [][]float64{started, abandoned}, rates: rates, rateName: "abandonment rate", rateTop: 1}.draw()
}

// histogramChart draws sessions per duration bucket and per engaged-time
// bucket; without a histogram, the mean, median and p90 of both.
func histogramChart(r *TimeOnSiteReport) chart {
	if len(r.Histogram) == 0 {
		return plot{title: "Session duration and engaged time (seconds)",
			labels: []string{"mean", "median", "p90"}, series: []string{"session duration", "engaged time"},
			values: [][]float64{
				{r.DurationSeconds.Mean, r.DurationSeconds.Median, r.DurationSeconds.P90},
				{r.EngagedSeconds.Mean, r.EngagedSeconds.Median, r.EngagedSeconds.P90},
			}}.draw()
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
	return plot{title: "Sessions by duration and by engaged time", labels: labels,
		series: []string{"sessions by duration", "sessions by engaged time"}, values: [][]float64{duration, engage}}.draw()
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
	return plot{title: "Time on site by channel (seconds)", labels: labels,
		series: []string{"mean duration", "median duration", "mean engaged time"}, values: [][]float64{mean, median, engaged}}.draw()
}

// stageFlowChart draws the visitors of each journey stage as centred bars,
// one under the other, and between two bars how many of the stage above
// went on to the next (its KPIs conversion_to_next and
// median_seconds_to_next, stages.sql).
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
	s := newSVG("Journey stage flow: visitors per stage, and the share that went on to the next", height)
	y := 10.0
	for i, st := range r.Stages {
		if i > 0 {
			prev := r.Stages[i-1]
			if conv, ok := prev.KPIs.Get("conversion_to_next"); ok {
				median, _ := prev.KPIs.Get("median_seconds_to_next")
				s.text(mid, y-5, "middle", mutedColor, 11,
					"↓ "+formatPercent(conv)+" of "+prev.Stage+" went on (median "+formatSeconds(median)+")")
			}
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
	return plot{title: "Attribution: conversions credited per " + r.Dimension + ", by model", labels: labels, series: r.Models, values: values}.draw()
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
	cellW := math.Min(60, (chartWidth-left-10)/float64(max(1, periods)))
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
	return plot{title: "Customers per segment", labels: labels, series: []string{"customers"}, values: [][]float64{customers}}.draw()
}

// funnelTrendChart draws, per period of a trend, the visitors who entered
// the funnel (its first step) and who completed it (its last step) as
// columns, and the funnel's conversion as a line.
func funnelTrendChart(r *FunnelReport) chart {
	title := "Funnel trend by " + r.TrendBy + ": visitors entering and completing the funnel, and its conversion"
	if len(r.Trend) == 0 || len(r.Steps) == 0 {
		return noData(title)
	}
	first, last := 0, len(r.Steps)-1
	series := []string{"entered (" + shortLabel(r.Steps[first].Step, 22) + ")", "completed (" + shortLabel(r.Steps[last].Step, 22) + ")"}
	if last == first {
		series = series[:1]
	}
	values := make([][]float64, len(series))
	var (
		labels []string
		rates  []float64
	)
	for _, p := range r.Trend {
		labels = append(labels, dayLabel(p.Period))
		entered, completed := math.NaN(), math.NaN()
		if len(p.Steps) == len(r.Steps) {
			entered, completed = float64(p.Steps[first].Count), float64(p.Steps[last].Count)
		}
		values[0] = append(values[0], entered)
		if len(series) > 1 {
			values[1] = append(values[1], completed)
		}
		rate := p.Conversion
		if math.IsNaN(entered) || entered == 0 {
			rate = math.NaN() // nobody entered: no conversion to draw
		}
		rates = append(rates, rate)
	}
	return plot{title: title, labels: labels, series: series, values: values,
		rates: rates, rateName: "conversion", overTime: true}.draw()
}

// funnelBreakdownChart draws the conversion from the first step to each
// later step for each breakdown value (the biggest maxBreakdownRows
// groups): grouped bars, one per step. A funnel of one step has no
// conversion to compare, so it draws each group's visitors instead.
func funnelBreakdownChart(r *FunnelReport) chart {
	title := "Funnel by " + r.BreakdownBy + ": conversion from the first step to each step"
	if len(r.Breakdown) == 0 || len(r.Steps) == 0 {
		return noData(title)
	}
	groups := r.Breakdown[:min(len(r.Breakdown), maxBreakdownRows)]
	if len(r.Breakdown) > maxBreakdownRows {
		title += fmt.Sprintf(" (the %d biggest of %d)", maxBreakdownRows, len(r.Breakdown))
	}
	from, percent := 1, true
	if len(r.Steps) == 1 {
		from, percent = 0, false
		title = "Funnel by " + r.BreakdownBy + ": visitors at the step"
	}
	var series []string
	for _, st := range r.Steps[from:] {
		series = append(series, shortLabel(st.Step, 26))
	}
	labels := make([]string, len(groups))
	values := make([][]float64, len(series))
	for g, grp := range groups {
		labels[g] = grp.Value
		if labels[g] == "" {
			labels[g] = "(not set)"
		}
		for k := range series {
			v := math.NaN()
			if i := from + k; i < len(grp.Steps) {
				v = grp.Steps[i].ConversionFromStart
				if !percent {
					v = float64(grp.Steps[i].Count)
				}
			}
			values[k] = append(values[k], v)
		}
	}
	return plot{title: title, labels: labels, series: series, values: values, percent: percent}.draw()
}

// trafficDaysChart draws the visitors and sessions of each day (all
// channels) as columns and the day's conversion rate as a line.
func trafficDaysChart(r *TrafficReport) chart {
	title := "Traffic by day: visitors and sessions, and the conversion rate"
	if len(r.Days) == 0 {
		return noData(title)
	}
	var (
		labels                    []string
		visitors, sessions, rates []float64
	)
	for _, d := range r.Days {
		labels = append(labels, dayLabel(d.Day))
		visitors = append(visitors, float64(d.Total.Visitors))
		sessions = append(sessions, float64(d.Total.Sessions))
		rate := d.Total.ConversionRate
		if d.Total.Visitors == 0 {
			rate = math.NaN()
		}
		rates = append(rates, rate)
	}
	return plot{title: title, labels: labels, series: []string{"visitors", "sessions"},
		values: [][]float64{visitors, sessions}, rates: rates, rateName: "conversion rate", overTime: true}.draw()
}

// trafficChannelsChart draws one line per channel through its visitors
// (metric "visitors") or events ("events") of each day: the channels with
// the most visitors over the range first, at most one per chart colour,
// so that a channel has the same colour in both charts.
func trafficChannelsChart(r *TrafficReport, metric string) chart {
	title := "Traffic by day and channel: " + metric
	if len(r.Days) == 0 {
		return noData(title)
	}
	pick := func(n TrafficNumbers) float64 {
		if metric == "events" {
			return float64(n.Events)
		}
		return float64(n.Visitors)
	}
	// Rank the channels by their daily visitors added up: a ranking only
	// (a visitor of two days counts twice), never drawn as a number.
	rank := map[string]float64{}
	for _, d := range r.Days {
		for _, c := range d.Channels {
			rank[c.Channel] += float64(c.Visitors)
		}
	}
	channels := slices.Collect(maps.Keys(rank))
	slices.SortFunc(channels, func(a, b string) int {
		if c := cmp.Compare(rank[b], rank[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if len(channels) > len(chartColors) {
		title += fmt.Sprintf(" (the %d biggest of %d channels)", len(chartColors), len(channels))
		channels = channels[:len(chartColors)]
	}
	labels := make([]string, len(r.Days))
	values := make([][]float64, len(channels))
	series := make([]string, len(channels))
	for k, ch := range channels {
		series[k] = ch
		if ch == "" {
			series[k] = "(not set)"
		}
		values[k] = make([]float64, len(r.Days)) // 0 on a day without the channel's events
	}
	for g, d := range r.Days {
		labels[g] = dayLabel(d.Day)
		for _, c := range d.Channels {
			if k := slices.Index(channels, c.Channel); k >= 0 {
				values[k][g] = pick(c.TrafficNumbers)
			}
		}
	}
	return plot{title: title, labels: labels, series: series, values: values, asLines: true}.draw()
}
