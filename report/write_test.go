package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	sampleFunnel = &FunnelReport{Steps: []FunnelStep{
		{Step: "Page Viewed", Count: 200, ConversionFromStart: 1, ConversionFromPrevious: 1},
		{Step: "Product Added|Wishlisted", Count: 50, ConversionFromStart: 0.25, ConversionFromPrevious: 0.25, MedianSecondsToConvert: 42.5},
		{Step: "Order Completed", Count: 10, ConversionFromStart: 0.05, ConversionFromPrevious: 0.2, MedianSecondsToConvert: 93784},
	}}
	sampleAbandonment = &AbandonmentReport{
		Cart:     CartAbandonment{Carts: 40, Abandoned: 30, Recovered: 3, AbandonmentRate: 0.75},
		Checkout: CheckoutAbandonment{Checkouts: 20, Abandoned: 10, Recovered: 1, AbandonmentRate: 0.5},
	}
	sampleTimeOnSite = &TimeOnSiteReport{
		Sessions:        1000,
		DurationSeconds: Distribution{Mean: 185.25, Median: 61, P90: 600},
		EngagedSeconds:  Distribution{Mean: 40.5, Median: 12.25, P90: 95},
		BounceRate:      0.375,
		EngagementRate:  0.625,
	}
)

// TestJSONContract checks the JSON of DESIGN.md section 3, field by field.
func TestJSONContract(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{sampleFunnel, `{"steps":[` +
			`{"step":"Page Viewed","count":200,"conversion_from_start":1,"conversion_from_previous":1,"median_seconds_to_convert":0},` +
			`{"step":"Product Added|Wishlisted","count":50,"conversion_from_start":0.25,"conversion_from_previous":0.25,"median_seconds_to_convert":42.5},` +
			`{"step":"Order Completed","count":10,"conversion_from_start":0.05,"conversion_from_previous":0.2,"median_seconds_to_convert":93784}]}`},
		{sampleAbandonment, `{"cart":{"carts":40,"abandoned":30,"recovered":3,"abandonment_rate":0.75},` +
			`"checkout":{"checkouts":20,"abandoned":10,"recovered":1,"abandonment_rate":0.5}}`},
		{sampleTimeOnSite, `{"sessions":1000,"duration_seconds":{"mean":185.25,"median":61,"p90":600},` +
			`"engaged_seconds":{"mean":40.5,"median":12.25,"p90":95},"bounce_rate":0.375,"engagement_rate":0.625}`},
		{&FunnelReport{Steps: []FunnelStep{}}, `{"steps":[]}`},
	} {
		t.Run(tc.r.Kind(), func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tc.r, FormatJSON); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tc.want+"\n" {
				t.Errorf("json:\n got %s\nwant %s", got, tc.want)
			}
			if !json.Valid(b.Bytes()) {
				t.Error("invalid JSON")
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{sampleFunnel, `
#  STEP                      VISITORS  FROM START  FROM PREVIOUS  MEDIAN TIME
1  Page Viewed               200       100.0%      100.0%         0.0s
2  Product Added|Wishlisted  50        25.0%       25.0%          42.5s
3  Order Completed           10        5.0%        20.0%          26h3m4s
`},
		{sampleAbandonment, `
           STARTED  ABANDONED  RECOVERED  ABANDONMENT RATE
carts      40       30         3          75.0%
checkouts  20       10         1          50.0%
`},
		{sampleTimeOnSite, `
SESSIONS  BOUNCE RATE  ENGAGEMENT RATE
1000      37.5%        62.5%

                  MEAN   MEDIAN  P90
session duration  3m5s   1m1s    10m0s
engaged time      40.5s  12.2s   1m35s
`},
	} {
		t.Run(tc.r.Kind(), func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tc.r, FormatTable); err != nil {
				t.Fatal(err)
			}
			if got, want := b.String(), strings.TrimPrefix(tc.want, "\n"); got != want {
				t.Errorf("table:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestWriteCSV(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{sampleFunnel, `step,count,conversion_from_start,conversion_from_previous,median_seconds_to_convert
Page Viewed,200,1,1,0
Product Added|Wishlisted,50,0.25,0.25,42.5
Order Completed,10,0.05,0.2,93784
`},
		{sampleAbandonment, `kind,started,abandoned,recovered,abandonment_rate
cart,40,30,3,0.75
checkout,20,10,1,0.5
`},
		{sampleTimeOnSite, `sessions,duration_mean,duration_median,duration_p90,engaged_mean,engaged_median,engaged_p90,bounce_rate,engagement_rate
1000,185.25,61,600,40.5,12.25,95,0.375,0.625
`},
	} {
		t.Run(tc.r.Kind(), func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tc.r, FormatCSV); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tc.want {
				t.Errorf("csv:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestWriteHTML(t *testing.T) {
	r := &FunnelReport{Steps: []FunnelStep{{Step: "<script>alert(1)</script>", Count: 1, ConversionFromStart: 1, ConversionFromPrevious: 1}}}
	var b bytes.Buffer
	if err := Write(&b, r, FormatHTML); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{"<!doctype html>", "<th>VISITORS</th>", "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>", "<td>100.0%</td>"} {
		if !strings.Contains(got, want) {
			t.Errorf("html lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<script>") {
		t.Errorf("html not escaped:\n%s", got)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"table", "json", "csv", "html"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat(yaml): no error")
	}
	if err := Write(&bytes.Buffer{}, sampleFunnel, "yaml"); err == nil {
		t.Error("Write(yaml): no error")
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"7d", 7 * 24 * time.Hour},
		{"0d", 0},
		{"1.5d", 36 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"24h", 24 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "d", "7", "-1d", "-2h", "7days", "1d-2h", "x"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		end  bool
		want time.Time
	}{
		{"2026-11-20", false, date(2026, 11, 20)},
		{"2026-11-20", true, date(2026, 11, 21)},
		{"2026-11-20T15:04:05Z", false, time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)},
		{"2026-11-20T15:04:05Z", true, time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)},
		{"2026-11-20T15:04:05.5+02:00", false, time.Date(2026, 11, 20, 13, 4, 5, 5e8, time.UTC)},
	} {
		got, err := ParseTime(tc.in, tc.end)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q, %v) = %v, %v; want %v", tc.in, tc.end, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "yesterday", "2026-13-01", "20/11/2026", "2026-11-20 15:04:05"} {
		if got, err := ParseTime(in, false); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		}
	}
}

func TestSplitSteps(t *testing.T) {
	got := SplitSteps("A, B|C ,D")
	if want := []string{"A", " B|C ", "D"}; strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("SplitSteps = %q, want %q", got, want)
	}
	if got := SplitSteps("  "); got != nil {
		t.Errorf("SplitSteps(blank) = %q", got)
	}
}

func TestRun(t *testing.T) {
	if _, err := Run(t.Context(), nil, "nps", Options{}); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("Run(nps) = %v, want ErrUnknownKind", err)
	}
	conn := migratedConn(t)
	opts := Options{From: date(2026, 11, 1), To: date(2026, 11, 15), Steps: []string{"A", "B"}}
	for _, kind := range Kinds {
		r, err := Run(t.Context(), conn, kind, opts)
		if err != nil {
			t.Fatalf("Run(%s): %v", kind, err)
		}
		if r.Kind() != kind {
			t.Errorf("Run(%s).Kind() = %s", kind, r.Kind())
		}
		for _, f := range Formats {
			if err := Write(&bytes.Buffer{}, r, f); err != nil {
				t.Errorf("Write(%s, %s): %v", kind, f, err)
			}
		}
	}
}
