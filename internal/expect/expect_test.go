package expect

import (
	"testing"

	"github.com/touchstream/touchstream/generate"
	"github.com/touchstream/touchstream/report"
)

// TestDiff: a result equal to the expected answers gives no difference, and
// each field changed on its own gives one.
func TestDiff(t *testing.T) {
	want := generate.Expected{
		Funnel:      generate.Funnel{Steps: []generate.FunnelStep{{Step: "A", Count: 4, ConversionFromStart: 1, ConversionFromPrevious: 1}, {Step: "B", Count: 1, ConversionFromStart: 0.25, ConversionFromPrevious: 0.25}}},
		Abandonment: generate.Abandonment{Cart: generate.Cart{Carts: 3, Abandoned: 1, Recovered: 1, AbandonmentRate: 1.0 / 3}, Checkout: generate.Checkout{Checkouts: 2}},
		TimeOnSite:  generate.TimeOnSite{Sessions: 5, DurationSeconds: generate.Quantiles{Mean: 10, Median: 8, P90: 30}, BounceRate: 0.4, EngagementRate: 0.6},
	}
	funnel := func() *report.FunnelReport {
		return &report.FunnelReport{Steps: []report.FunnelStep{{Step: "A", Count: 4, ConversionFromStart: 1, ConversionFromPrevious: 1}, {Step: "B", Count: 1, ConversionFromStart: 0.25, ConversionFromPrevious: 0.25}}}
	}
	aband := func() *report.AbandonmentReport {
		return &report.AbandonmentReport{Cart: report.CartAbandonment{Carts: 3, Abandoned: 1, Recovered: 1, AbandonmentRate: 1.0 / 3}, Checkout: report.CheckoutAbandonment{Checkouts: 2}}
	}
	tos := func() *report.TimeOnSiteReport {
		return &report.TimeOnSiteReport{Sessions: 5, DurationSeconds: report.Distribution{Mean: 10, Median: 8, P90: 30}, BounceRate: 0.4, EngagementRate: 0.6}
	}
	if d := Diff(want, funnel(), aband(), tos()); len(d) != 0 {
		t.Fatalf("equal results: %v", d)
	}
	f := funnel()
	f.Steps[1].Count = 2
	a := aband()
	a.Cart.Recovered = 0
	ts := tos()
	ts.DurationSeconds.P90 = 31
	short := funnel()
	short.Steps = short.Steps[:1]
	for name, r := range map[string]report.Result{"funnel count": f, "recovered": a, "p90": ts, "missing step": short} {
		if d := Diff(want, r); len(d) != 1 {
			t.Errorf("%s: %d differences %v, want 1", name, len(d), d)
		}
	}
}
