package channel

import (
	"slices"
	"testing"

	"github.com/touchstream/touchstream/pipeline"
)

func FuzzClassify(f *testing.F) {
	f.Add("google", "cpc", "spring", "https://www.google.com/", site+"/?gclid=1", "web", "", "")
	f.Add("", "", "", "android-app://com.google.android.gm/", "", "email", "", "")
	f.Add("", "", "", "http://[::1", "https://x/#utm_source=a", "", "GCLID", "x")
	f.Add("https://l.facebook.com/x", "paid", "shop", "about:blank", "?utm_medium=%zz", "social", "fbclid", "")
	f.Add("", "", "", ".", "%", "sms", "epi\u212a", "k")
	f.Fuzz(func(t *testing.T, source, medium, campaign, referrer, pageURL, touchpoint, clickIDType, clickID string) {
		e := pipeline.Event{
			UTMSource: source, UTMMedium: medium, UTMCampaign: campaign,
			Referrer: referrer, PageURL: pageURL, Touchpoint: touchpoint,
			ClickIDType: clickIDType, ClickID: clickID,
		}
		got := Classify(&e)
		if !slices.Contains(names, got) {
			t.Fatalf("Classify = %q, not a channel", got)
		}
		tr := Resolve(&e)
		if tr.Source == "" || tr.Medium == "" {
			t.Fatalf("Resolve = %+v: empty source or medium", tr)
		}
		if _, ok := clickIDNetworks[tr.ClickID]; tr.ClickID != "" && !ok {
			t.Fatalf("Resolve = %+v: unknown click id", tr)
		}
		Landing(&e)
	})
}
