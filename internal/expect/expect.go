package expect

import (
	"fmt"
	"math"
	"time"

	"github.com/touchstream/touchstream/generate"
	"github.com/touchstream/touchstream/report"
)

// Options are report options covering the whole generated range (orders
// that recover carts may fall up to two days after its last day).
func Options(w *generate.World) report.Options {
	return report.Options{From: w.Config.Start, To: w.Config.End().Add(48 * time.Hour), Steps: generate.DefaultSteps}
}

// Near reports whether a equals b to a relative 1e-9.
func Near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// Diff compares each result with want and returns one line per difference;
// none means the reports agree. Results of other kinds are ignored.
func Diff(want generate.Expected, results ...report.Result) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, r := range results {
		switch r := r.(type) {
		case *report.FunnelReport:
			if len(r.Steps) != len(want.Funnel.Steps) {
				bad("funnel: %d steps, want %d", len(r.Steps), len(want.Funnel.Steps))
				continue
			}
			for i, w := range want.Funnel.Steps {
				g := r.Steps[i]
				if g.Step != w.Step || int(g.Count) != w.Count || !Near(g.ConversionFromStart, w.ConversionFromStart) || !Near(g.ConversionFromPrevious, w.ConversionFromPrevious) {
					bad("funnel step %d: got %+v, want %+v", i+1, g, w)
				}
			}
		case *report.AbandonmentReport:
			wc, wk := want.Abandonment.Cart, want.Abandonment.Checkout
			if int(r.Cart.Carts) != wc.Carts || int(r.Cart.Abandoned) != wc.Abandoned || int(r.Cart.Recovered) != wc.Recovered || !Near(r.Cart.AbandonmentRate, wc.AbandonmentRate) {
				bad("cart abandonment: got %+v, want %+v", r.Cart, wc)
			}
			if int(r.Checkout.Checkouts) != wk.Checkouts || int(r.Checkout.Abandoned) != wk.Abandoned || int(r.Checkout.Recovered) != wk.Recovered || !Near(r.Checkout.AbandonmentRate, wk.AbandonmentRate) {
				bad("checkout abandonment: got %+v, want %+v", r.Checkout, wk)
			}
		case *report.TimeOnSiteReport:
			wt := want.TimeOnSite
			if int(r.Sessions) != wt.Sessions || !Near(r.DurationSeconds.Mean, wt.DurationSeconds.Mean) ||
				!Near(r.DurationSeconds.Median, wt.DurationSeconds.Median) || !Near(r.DurationSeconds.P90, wt.DurationSeconds.P90) ||
				!Near(r.BounceRate, wt.BounceRate) || !Near(r.EngagementRate, wt.EngagementRate) {
				bad("time on site: got %+v, want %+v", *r, wt)
			}
		case *report.StagesReport:
			for name, w := range want.Stages.KPIs() {
				got, ok := 0.0, false
				for _, s := range r.Stages {
					if v, found := s.KPIs.Get(name); found {
						got, ok = v, true
					}
				}
				if !ok || !Near(got, w) {
					bad("stages: %s = %v (reported %v), want %v", name, got, ok, w)
				}
			}
		}
	}
	return out
}
