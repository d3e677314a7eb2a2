package channel

import (
	"slices"
	"testing"

	"github.com/touchstream/touchstream/pipeline"
)

const site = "https://shop.example.com"

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		e    pipeline.Event
		want string
	}{
		// No signal at all.
		{"nothing", pipeline.Event{Type: "page", PageURL: site + "/"}, Direct},
		{"no page url", pipeline.Event{Type: "track", EventName: "Order Completed"}, Direct},
		{"explicit direct", pipeline.Event{UTMSource: "(direct)", UTMMedium: "(none)"}, Direct},
		{"self referral", pipeline.Event{PageURL: site + "/cart", Referrer: site + "/products/1"}, Direct},
		{"self referral www", pipeline.Event{PageURL: "https://example.com/a", Referrer: "https://www.example.com/"}, Direct},
		{"payment return", pipeline.Event{PageURL: site + "/checkout/complete", Referrer: "https://checkout.stripe.com/pay/cs_1"}, Direct},
		{"login return", pipeline.Event{PageURL: site + "/account", Referrer: "https://accounts.google.com/o/oauth2"}, Direct},
		{"placeholder referrer", pipeline.Event{Referrer: "$direct"}, Direct},
		{"about blank", pipeline.Event{Referrer: "about:blank"}, Direct},

		// Referrers without UTM.
		{"google", pipeline.Event{PageURL: site + "/", Referrer: "https://www.google.com/"}, OrganicSearch},
		{"google country", pipeline.Event{Referrer: "https://www.google.co.uk/search?q=x"}, OrganicSearch},
		{"google de", pipeline.Event{Referrer: "https://google.de/"}, OrganicSearch},
		{"bing", pipeline.Event{Referrer: "https://www.bing.com/search?q=shoes"}, OrganicSearch},
		{"yahoo japan", pipeline.Event{Referrer: "https://search.yahoo.co.jp/search"}, OrganicSearch},
		{"duckduckgo", pipeline.Event{Referrer: "https://duckduckgo.com/"}, OrganicSearch},
		{"yandex tr", pipeline.Event{Referrer: "https://yandex.com.tr/"}, OrganicSearch},
		{"google app", pipeline.Event{Referrer: "android-app://com.google.android.googlequicksearchbox/"}, OrganicSearch},
		{"facebook", pipeline.Event{Referrer: "https://l.facebook.com/l.php?u=x"}, OrganicSocial},
		{"instagram", pipeline.Event{Referrer: "https://l.instagram.com/"}, OrganicSocial},
		{"t.co", pipeline.Event{Referrer: "https://t.co/abc"}, OrganicSocial},
		{"linkedin app", pipeline.Event{Referrer: "android-app://com.linkedin.android/"}, OrganicSocial},
		{"reddit", pipeline.Event{Referrer: "https://old.reddit.com/r/x"}, OrganicSocial},
		{"pinterest country", pipeline.Event{Referrer: "https://www.pinterest.co.uk/pin/1"}, OrganicSocial},
		{"youtube", pipeline.Event{Referrer: "https://m.youtube.com/watch?v=1"}, OrganicVideo},
		{"vimeo", pipeline.Event{Referrer: "https://player.vimeo.com/video/1"}, OrganicVideo},
		{"amazon", pipeline.Event{Referrer: "https://www.amazon.de/dp/1"}, OrganicShopping},
		{"ebay", pipeline.Event{Referrer: "https://www.ebay.com/itm/1"}, OrganicShopping},
		{"gmail web", pipeline.Event{Referrer: "https://mail.google.com/mail/u/0/"}, Email},
		{"gmail app", pipeline.Event{Referrer: "android-app://com.google.android.gm/"}, Email},
		{"outlook", pipeline.Event{Referrer: "https://outlook.live.com/"}, Email},
		{"google docs", pipeline.Event{Referrer: "https://docs.google.com/document/d/1"}, Referral},
		{"aws is no shop", pipeline.Event{Referrer: "https://aws.amazon.com/blogs/"}, Referral},
		{"other site", pipeline.Event{PageURL: site + "/", Referrer: "https://news.example.org/story"}, Referral},
		{"referrer with port", pipeline.Event{Referrer: "http://localhost:3000/x"}, Referral},
		{"bare referrer host", pipeline.Event{Referrer: "blog.example.net/post"}, Referral},
		{"google.com.evil is not google", pipeline.Event{Referrer: "https://google.evil.example/"}, Referral},

		// UTM tags, GA4 rule by rule.
		{"cross-network", pipeline.Event{UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "PMax cross-network"}, CrossNetwork},
		{"paid shopping source", pipeline.Event{UTMSource: "amazon", UTMMedium: "cpc"}, PaidShopping},
		{"paid shopping campaign", pipeline.Event{UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "summer_shop"}, PaidShopping},
		{"paid search", pipeline.Event{UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "spring_sale"}, PaidSearch},
		{"paid search ppc bing", pipeline.Event{UTMSource: "Bing", UTMMedium: "PPC"}, PaidSearch},
		{"paid social", pipeline.Event{UTMSource: "facebook", UTMMedium: "paid_social"}, PaidSocial},
		{"paid social retargeting", pipeline.Event{UTMSource: "ig", UTMMedium: "retargeting"}, PaidSocial},
		{"paid social host source", pipeline.Event{UTMSource: "m.facebook.com", UTMMedium: "cpm"}, PaidSocial},
		{"paid video", pipeline.Event{UTMSource: "youtube", UTMMedium: "cpv"}, PaidVideo},
		{"display", pipeline.Event{UTMSource: "criteo", UTMMedium: "banner"}, Display},
		{"display cpm", pipeline.Event{UTMSource: "adnetwork", UTMMedium: "cpm"}, Display},
		{"paid other", pipeline.Event{UTMSource: "newsletter-partner", UTMMedium: "paid"}, PaidOther},
		{"organic shopping campaign", pipeline.Event{UTMSource: "partner", UTMMedium: "feed", UTMCampaign: "eshop-listing"}, OrganicShopping},
		{"workshop is no shop", pipeline.Event{UTMSource: "partner", UTMMedium: "feed", UTMCampaign: "workshop"}, Unassigned},
		{"organic social medium", pipeline.Event{UTMSource: "instagram", UTMMedium: "social", UTMCampaign: "creator_collab"}, OrganicSocial},
		{"organic social sm", pipeline.Event{UTMSource: "club", UTMMedium: "sm"}, OrganicSocial},
		{"organic video medium", pipeline.Event{UTMSource: "partner", UTMMedium: "video"}, OrganicVideo},
		{"organic search medium", pipeline.Event{UTMSource: "partner", UTMMedium: "organic"}, OrganicSearch},
		{"source only search", pipeline.Event{UTMSource: "google"}, OrganicSearch},
		{"referral medium", pipeline.Event{UTMSource: "blog", UTMMedium: "referral"}, Referral},
		{"email", pipeline.Event{UTMSource: "newsletter", UTMMedium: "email", UTMCampaign: "weekly_picks"}, Email},
		{"e-mail source", pipeline.Event{UTMSource: "e-mail", UTMMedium: "blast"}, Email},
		{"affiliate", pipeline.Event{UTMSource: "rakuten-network", UTMMedium: "affiliate"}, Affiliates},
		{"audio", pipeline.Event{UTMSource: "spotify", UTMMedium: "audio"}, Audio},
		{"sms", pipeline.Event{UTMSource: "sms", UTMMedium: "text"}, SMS},
		{"web push", pipeline.Event{UTMSource: "onesignal", UTMMedium: "web-push"}, Push},
		{"mobile push", pipeline.Event{UTMSource: "braze", UTMMedium: "push"}, MobilePush},
		{"firebase", pipeline.Event{UTMSource: "firebase", UTMMedium: "inapp"}, MobilePush},
		{"unassigned", pipeline.Event{UTMSource: "foo", UTMMedium: "bar"}, Unassigned},
		{"utm beats referrer", pipeline.Event{UTMSource: "newsletter", UTMMedium: "email", Referrer: "https://www.google.com/"}, Email},

		// UTM and click ids from the page URL.
		{"utm in url", pipeline.Event{PageURL: site + "/?utm_source=google&utm_medium=cpc&utm_campaign=x"}, PaidSearch},
		{"utm in fragment", pipeline.Event{PageURL: site + "/#utm_source=newsletter&utm_medium=email"}, Email},
		{"utm fields win over url", pipeline.Event{UTMSource: "facebook", UTMMedium: "social", PageURL: site + "/?utm_source=google&utm_medium=cpc"}, OrganicSocial},
		{"gclid", pipeline.Event{PageURL: site + "/p/1?gclid=abc", Referrer: "https://www.google.com/"}, PaidSearch},
		{"gbraid", pipeline.Event{PageURL: site + "/?gbraid=x"}, PaidSearch},
		{"wbraid", pipeline.Event{PageURL: site + "/?wbraid=x"}, PaidSearch},
		{"msclkid", pipeline.Event{PageURL: site + "/?msclkid=x"}, PaidSearch},
		{"fbclid", pipeline.Event{PageURL: site + "/?fbclid=x", Referrer: "https://l.facebook.com/"}, PaidSocial},
		{"ttclid", pipeline.Event{PageURL: site + "/?ttclid=x"}, PaidSocial},
		{"li_fat_id", pipeline.Event{PageURL: site + "/?li_fat_id=x"}, PaidSocial},
		{"dclid", pipeline.Event{PageURL: site + "/?dclid=x"}, Display},
		{"ScCid any case", pipeline.Event{PageURL: site + "/?ScCid=x"}, PaidSocial},
		{"empty click id", pipeline.Event{PageURL: site + "/?gclid="}, Direct},
		{"gclid beats fbclid", pipeline.Event{PageURL: site + "/?fbclid=1&gclid=2"}, PaidSearch},
		{"click id fills medium", pipeline.Event{UTMSource: "google", UTMCampaign: "brand", PageURL: site + "/?gclid=1"}, PaidSearch},
		{"utm medium beats click id", pipeline.Event{PageURL: site + "/?utm_source=facebook&utm_medium=social&fbclid=1"}, OrganicSocial},

		// The event's own click id (the collector's, kept by t.js for the
		// session): later pages of a paid visit, whose URL has none.
		{"second page of a gclid visit", pipeline.Event{Type: "page", PageURL: site + "/p/2", Referrer: site + "/?gclid=abc", ClickIDType: "gclid", ClickID: "abc"}, PaidSearch},
		{"second page without the click id", pipeline.Event{Type: "page", PageURL: site + "/p/2", Referrer: site + "/?gclid=abc"}, Direct},
		{"track event of an fbclid visit", pipeline.Event{Type: "track", EventName: "Product Added", PageURL: site + "/p/2", ClickIDType: "fbclid", ClickID: "IwAR"}, PaidSocial},
		{"event's dclid", pipeline.Event{PageURL: site + "/cart", ClickIDType: "dclid", ClickID: "x"}, Display},
		{"event's click id type in upper case", pipeline.Event{PageURL: site + "/cart", ClickIDType: "GCLID", ClickID: "x"}, PaidSearch},
		{"url click id beats the event's", pipeline.Event{PageURL: site + "/?fbclid=1", ClickIDType: "gclid", ClickID: "x"}, PaidSocial},
		{"event's click id without a value ignored", pipeline.Event{PageURL: site + "/cart", ClickIDType: "gclid", ClickID: " "}, Direct},
		{"unknown event click id type ignored", pipeline.Event{PageURL: site + "/cart", ClickIDType: "gclsrc", ClickID: "x"}, Direct},
		{"utm medium beats the event's click id", pipeline.Event{UTMSource: "facebook", UTMMedium: "social", ClickIDType: "fbclid", ClickID: "x"}, OrganicSocial},
		{"event's click id fills the medium", pipeline.Event{UTMSource: "google", UTMCampaign: "brand", ClickIDType: "gclid", ClickID: "x"}, PaidSearch},

		// Touchpoints without UTM.
		{"email open", pipeline.Event{Touchpoint: "email", Type: "track", EventName: "Email Opened"}, Email},
		{"sms click", pipeline.Event{Touchpoint: "sms", Type: "track", EventName: "SMS Link Clicked"}, SMS},
		{"social webhook", pipeline.Event{Touchpoint: "social", Type: "track", EventName: "Comment Posted"}, OrganicSocial},
		{"email touchpoint with utm", pipeline.Event{Touchpoint: "email", UTMSource: "braze", UTMMedium: "push"}, MobilePush},
		{"chat", pipeline.Event{Touchpoint: "chat", Type: "track", EventName: "Chat Started"}, Direct},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(&tt.e); got != tt.want {
				t.Errorf("Classify = %q, want %q (resolved %+v)", got, tt.want, Resolve(&tt.e))
			}
		})
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		e    pipeline.Event
		want Traffic
	}{
		{"direct", pipeline.Event{}, Traffic{Source: "(direct)", Medium: "(none)"}},
		{"search referrer", pipeline.Event{Referrer: "https://www.Google.com/"}, Traffic{Source: "www.google.com", Medium: "organic"}},
		{"referral", pipeline.Event{Referrer: "https://blog.example.org/a"}, Traffic{Source: "blog.example.org", Medium: "referral"}},
		{"gclid", pipeline.Event{PageURL: site + "/?gclid=1"}, Traffic{Source: "google", Medium: "cpc", ClickID: "gclid"}},
		{"event's msclkid", pipeline.Event{PageURL: site + "/b", Referrer: site + "/a", ClickIDType: "msclkid", ClickID: "m"}, Traffic{Source: "bing", Medium: "cpc", ClickID: "msclkid"}},
		{"url's click id named over the event's", pipeline.Event{PageURL: site + "/?ttclid=1", ClickIDType: "gclid", ClickID: "g"}, Traffic{Source: "tiktok", Medium: "cpc", ClickID: "ttclid"}},
		{"medium only", pipeline.Event{UTMMedium: "email"}, Traffic{Source: "(not set)", Medium: "email"}},
		{"campaign only", pipeline.Event{UTMCampaign: "spring", Referrer: "https://bing.com/"}, Traffic{Source: "bing.com", Medium: "organic", Campaign: "spring"}},
		{"url utm", pipeline.Event{PageURL: site + "/?utm_source=a&utm_medium=b&utm_campaign=c"}, Traffic{Source: "a", Medium: "b", Campaign: "c"}},
		{"social touchpoint", pipeline.Event{Touchpoint: "social", Referrer: "https://x.com/"}, Traffic{Source: "x.com", Medium: "social"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Resolve(&tt.e); got != tt.want {
				t.Errorf("Resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLanding(t *testing.T) {
	tests := []struct {
		name string
		e    pipeline.Event
		want bool
	}{
		{"external referrer", pipeline.Event{PageURL: site + "/", Referrer: "https://www.google.com/"}, true},
		{"internal referrer", pipeline.Event{PageURL: site + "/b", Referrer: site + "/a"}, false},
		{"internal referrer, session utm fields", pipeline.Event{PageURL: site + "/b", Referrer: site + "/a", UTMSource: "google", UTMMedium: "cpc"}, false},
		{"utm in url", pipeline.Event{PageURL: site + "/?utm_source=newsletter"}, true},
		{"click id in url", pipeline.Event{PageURL: site + "/?gclid=1", Referrer: site + "/"}, true},
		{"internal referrer, the visit's click id", pipeline.Event{PageURL: site + "/b", Referrer: site + "/a", ClickIDType: "gclid", ClickID: "1"}, false},
		{"payment return", pipeline.Event{PageURL: site + "/done", Referrer: "https://www.paypal.com/checkout"}, false},
		{"no page", pipeline.Event{Type: "track"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Landing(&tt.e); got != tt.want {
				t.Errorf("Landing = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHostOf(t *testing.T) {
	tests := map[string]string{
		"https://WWW.Google.com/search?q=1":    "www.google.com",
		"http://user:pw@example.com:8080/x":    "example.com",
		"//cdn.example.com/a":                  "cdn.example.com",
		"example.com/path":                     "example.com",
		"example.com:443":                      "example.com",
		"http://[::1]:8080/":                   "::1",
		"android-app://com.google.android.gm/": "com.google.android.gm",
		"https://example.com./":                "example.com",
		"about:blank":                          "",
		"javascript:void(0)":                   "",
		"":                                     "",
		"  ":                                   "",
		"null":                                 "",
	}
	for in, want := range tests {
		if got := hostOf(in); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestListMatch(t *testing.T) {
	l, err := parseList("google\ngoogle.*   # any country\nt.co\n!mail.google.com\n\n# comment\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{
		"google":              true,
		"google.com":          true,
		"www.google.com.au":   true,
		"news.google.co.jp":   true,
		"mail.google.com":     false,
		"x.mail.google.com":   false,
		"google.evil.example": false,
		"notgoogle.com":       false,
		"t.co":                true,
		"x.t.co":              true,
		"at.co":               false,
		"co":                  false,
		"":                    false,
	}
	for in, want := range tests {
		if got := l.match(in); got != want {
			t.Errorf("match(%q) = %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{"!", "goo*gle", "a.b.*", ".*", "!*.x.com"} {
		if _, err := parseList(bad); err == nil {
			t.Errorf("parseList(%q): no error", bad)
		}
	}
}

// TestLists checks that every embedded list loads and that no entry of one
// list is shadowed by an earlier list in a way that contradicts its file.
func TestLists(t *testing.T) {
	for name, l := range map[string]*list{
		"search": searchSites, "social": socialSites, "video": videoSites,
		"shopping": shoppingSites, "email": emailSites, "ignore": ignoredSites,
	} {
		if len(l.exact)+len(l.names) < 20 {
			t.Errorf("%s: only %d entries", name, len(l.exact)+len(l.names))
		}
	}
	// Email hosts must not be caught by the search, social, video or
	// shopping rules, which GA4 applies before Email.
	for host := range emailSites.exact {
		for name, l := range map[string]*list{"search": searchSites, "social": socialSites, "video": videoSites, "shopping": shoppingSites} {
			if l.match(host) {
				t.Errorf("email host %q is also on the %s list", host, name)
			}
		}
	}
}

func TestNames(t *testing.T) {
	got := Names()
	if len(got) != 20 || got[0] != Direct || got[len(got)-1] != Unassigned {
		t.Fatalf("Names() = %v", got)
	}
	got[0] = "x"
	if Names()[0] != Direct {
		t.Error("Names returns shared storage")
	}
	if c, ok := Canonical("organic SEARCH"); !ok || c != OrganicSearch {
		t.Errorf("Canonical = %q, %v", c, ok)
	}
	if _, ok := Canonical("Organic"); ok {
		t.Error("Canonical(Organic) found a channel")
	}
	if !slices.Contains(got, MobilePush) {
		t.Error("Names lacks Mobile Push Notifications")
	}
}

func BenchmarkClassify(b *testing.B) {
	events := []pipeline.Event{
		{PageURL: site + "/products/1", Referrer: site + "/"},
		{PageURL: site + "/?utm_source=google&utm_medium=cpc&gclid=1", Referrer: "https://www.google.com/"},
		{UTMSource: "newsletter", UTMMedium: "email", PageURL: site + "/cart"},
		{PageURL: site + "/", Referrer: "https://l.facebook.com/l.php"},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Classify(&events[i%len(events)])
	}
}

// TestClickIDNetworks requires a network for every click id the pipeline
// knows (pipeline.ClickIDParams), and none for another name.
func TestClickIDNetworks(t *testing.T) {
	params := pipeline.ClickIDParams()
	for _, p := range params {
		n, ok := clickIDNetworks[p]
		if !ok || n.source == "" || n.medium == "" {
			t.Errorf("click id %s: network %+v, %v", p, n, ok)
		}
	}
	for p := range clickIDNetworks {
		if !slices.Contains(params, p) {
			t.Errorf("clickIDNetworks has %s, not a pipeline click id", p)
		}
	}
}
