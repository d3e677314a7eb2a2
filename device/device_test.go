package device

import (
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

var cases = []struct {
	name, ua string
	want     Info
}{
	{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		Info{Desktop, "Chrome", "Windows"}},
	{"safari mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		Info{Desktop, "Safari", "macOS"}},
	{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
		Info{Desktop, "Firefox", "Linux"}},
	{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		Info{Desktop, "Edge", "Windows"}},
	{"iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		Info{Mobile, "Safari", "iOS"}},
	{"android chrome", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		Info{Mobile, "Chrome", "Android"}},
	{"ipad", "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		Info{Tablet, "Safari", "iOS"}},
	{"android tablet", "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		Info{Tablet, "Chrome", "Android"}},
	{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		Info{Bot, "Googlebot", ""}},
	{"empty", "", Info{}},
}

func TestParse(t *testing.T) {
	for _, c := range cases {
		if got := Parse(c.ua); got != c.want {
			t.Errorf("%s: Parse = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestCategory(t *testing.T) {
	for _, c := range []struct{ sent, model, want string }{
		{"ios", "iPhone14,2", Mobile},
		{"ios", "iPad13,4", Tablet},
		{"iOS", " iPad8,1", Tablet},
		{"ipados", "", Tablet},
		{"android", "Pixel 8", Mobile},
		{"Android", "SM-X710", Mobile},
		{"macos", "MacBookPro18,1", Desktop},
		{"windows", "", Desktop},
		{"linux", "", Desktop},
		{"mobile", "", Mobile},
		{" Tablet ", "", Tablet},
		{"desktop", "iPad13,4", Desktop}, // a category as sent wins over the model
		{"tvos", "AppleTV11,1", "tvos"},
		{"", "iPad13,4", ""},
	} {
		if got := Category(c.sent, c.model); got != c.want {
			t.Errorf("Category(%q, %q) = %q, want %q", c.sent, c.model, got, c.want)
		}
	}
}

func TestCacheParseIsParse(t *testing.T) {
	c := newCache(3) // fewer than the cases: it is cleared on the way
	for round := range 2 {
		for _, tc := range cases {
			if got := c.parse(tc.ua); got != tc.want {
				t.Errorf("round %d, %s: cache.parse = %+v, want %+v", round, tc.name, got, tc.want)
			}
			if n := len(c.m); n > 3 {
				t.Fatalf("cache holds %d user agents, want at most 3", n)
			}
		}
	}
}

func TestFillKeepsWhatTheEventSays(t *testing.T) {
	iphone := cases[4].ua
	e := pipeline.Event{DeviceType: Tablet} // as an SDK said it
	Fill(&e, iphone)
	if e.DeviceType != Tablet || e.Browser != "Safari" || e.OS != "iOS" {
		t.Errorf("Fill = %q %q %q, want tablet, Safari, iOS", e.DeviceType, e.Browser, e.OS)
	}
	e = pipeline.Event{OS: "iPadOS"}
	Fill(&e, iphone)
	if e.DeviceType != Mobile || e.OS != "iPadOS" {
		t.Errorf("Fill = %q %q, want mobile, iPadOS", e.DeviceType, e.OS)
	}
	e = pipeline.Event{}
	Fill(&e, "")
	if e.DeviceType != "" || e.Browser != "" || e.OS != "" {
		t.Errorf("Fill without a user agent set %q %q %q", e.DeviceType, e.Browser, e.OS)
	}
}

// BenchmarkParse: what the cache saves the collector per event. Each
// iteration times 20,000 calls of Parse and of the cache's parse over the same
// rotation of the test's user agents, alternately; ratio = Parse's time /
// the cache's, parse-ns and cached-ns the time per call.
func BenchmarkParse(b *testing.B) {
	uas := make([]string, 0, len(cases))
	for _, c := range cases {
		if c.ua != "" {
			uas = append(uas, c.ua)
		}
	}
	const calls = 20000
	var sink Info
	run := func(f func(string) Info) time.Duration {
		start := time.Now()
		for i := range calls {
			sink = f(uas[i%len(uas)])
		}
		return time.Since(start)
	}
	c := newCache(1024)
	var parse, cached time.Duration
	for range b.N {
		parse += run(Parse)
		cached += run(c.parse)
	}
	_ = sink
	n := float64(b.N * calls)
	b.ReportMetric(float64(parse.Nanoseconds())/n, "parse-ns")
	b.ReportMetric(float64(cached.Nanoseconds())/n, "cached-ns")
	b.ReportMetric(float64(parse)/float64(cached), "ratio")
}
