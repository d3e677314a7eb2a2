package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func p90(x float64) *float64 { return &x }

func TestFunnelOutput(t *testing.T) {
	steps := func(n1, n2 uint64) []FunnelStep {
		c := 0.0
		if n1 > 0 {
			c = float64(n2) / float64(n1)
		}
		return []FunnelStep{
			{Step: "View", Count: n1, ConversionFromStart: 1, ConversionFromPrevious: 1, P90SecondsToConvert: p90(0)},
			{Step: "Buy", Count: n2, ConversionFromStart: c, ConversionFromPrevious: c, MedianSecondsToConvert: 60, P90SecondsToConvert: p90(90)},
		}
	}
	for _, tc := range []struct {
		name               string
		r                  *FunnelReport
		table, csv, inJSON string
	}{
		{"breakdown", &FunnelReport{Steps: steps(3, 1), BreakdownBy: "channel",
			Breakdown: []FunnelGroup{{"Email", steps(2, 1)}, {"", steps(1, 0)}}}, `
#  STEP  VISITORS  FROM START  FROM PREVIOUS  MEDIAN TIME  P90 TIME
1  View  3         100.0%      100.0%         0.0s         0.0s
2  Buy   1         33.3%       33.3%          1m0s         1m30s

CHANNEL    #  STEP  VISITORS  FROM START  FROM PREVIOUS  MEDIAN TIME  P90 TIME
Email      1  View  2         100.0%      100.0%         0.0s         0.0s
Email      2  Buy   1         50.0%       50.0%          1m0s         1m30s
(not set)  1  View  1         100.0%      100.0%         0.0s         0.0s
(not set)  2  Buy   0         0.0%        0.0%           1m0s         1m30s
`, `breakdown,step,count,conversion_from_start,conversion_from_previous,median_seconds_to_convert,p90_seconds_to_convert
Email,View,2,1,1,0,0
Email,Buy,1,0.5,0.5,60,90
,View,1,1,1,0,0
,Buy,0,0,0,60,90
`, `"breakdown_by":"channel","breakdown":[{"value":"Email","steps":[{"step":"View","count":2,"conversion_from_start":1,"conversion_from_previous":1,"median_seconds_to_convert":0,"p90_seconds_to_convert":0},`},
		{"trend", &FunnelReport{Steps: steps(3, 1), TrendBy: "day",
			Trend: []FunnelPeriod{{"2026-11-02", steps(2, 1), 0.5}, {"2026-11-03", steps(0, 0), 0}}}, `
#  STEP  VISITORS  FROM START  FROM PREVIOUS  MEDIAN TIME  P90 TIME
1  View  3         100.0%      100.0%         0.0s         0.0s
2  Buy   1         33.3%       33.3%          1m0s         1m30s

DAY         View  Buy  CONVERSION
2026-11-02  2     1    50.0%
2026-11-03  0     0    0.0%
`, `period,step,count,conversion_from_start,conversion_from_previous,median_seconds_to_convert,p90_seconds_to_convert
2026-11-02,View,2,1,1,0,0
2026-11-02,Buy,1,0.5,0.5,60,90
2026-11-03,View,0,1,1,0,0
2026-11-03,Buy,0,0,0,60,90
`, `"trend_by":"day","trend":[{"period":"2026-11-02","steps":[`},
		{"dropoff", &FunnelReport{Steps: steps(3, 1), Dropoff: &FunnelDropoff{Step: 1, StepName: "View",
			Visitors:   []DroppedVisitor{{VisitorID: "v1", UserID: "u1", StepTime: time.Date(2026, 11, 2, 10, 0, 0, 5e6, time.UTC), Channel: "Email"}},
			NextEvents: []NextEvent{{"page:/shoes", 1}}}}, `
#  STEP  VISITORS  FROM START  FROM PREVIOUS  MEDIAN TIME  P90 TIME
1  View  3         100.0%      100.0%         0.0s         0.0s
2  Buy   1         33.3%       33.3%          1m0s         1m30s

VISITOR  USER  AT STEP 1            CHANNEL
v1       u1    2026-11-02 10:00:00  Email

NEXT EVENT   VISITORS
page:/shoes  1
`, "visitor_id,user_id,step_time,channel\nv1,u1,2026-11-02T10:00:00.005Z,Email\n",
			`"dropoff":{"step":1,"step_name":"View","visitors":[{"visitor_id":"v1","user_id":"u1","step_time":"2026-11-02T10:00:00.005Z","channel":"Email"}],"next_events":[{"event":"page:/shoes","visitors":1}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tc.r, FormatTable); err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimPrefix(tc.table, "\n"); b.String() != want {
				t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
			}
			b.Reset()
			if err := Write(&b, tc.r, FormatCSV); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.csv {
				t.Errorf("csv:\n%s\nwant:\n%s", b.String(), tc.csv)
			}
			b.Reset()
			if err := Write(&b, tc.r, FormatJSON); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(b.String(), `{"steps":[{"step":"View","count":3,`) || !strings.Contains(b.String(), tc.inJSON) {
				t.Errorf("json %s\nwant it to contain %s", b.String(), tc.inJSON)
			}
			b.Reset()
			if err := Write(&b, tc.r, FormatHTML); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A plain funnel renders without the optional parts of funnel.sql.
func TestFunnelVariants(t *testing.T) {
	plain, err := funnelSQLBy(3, ByVisitor)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"JSONType(", "has({exclude:", "argMinIf(", "arrayExists((n, ks, vs)"} {
		if strings.Contains(plain, part) {
			t.Errorf("plain funnel has %s", part)
		}
	}
	all, err := funnelVariant{by: ByPerson, filters: true, exclude: true, breakdown: true}.render(3)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"JSONType(", "has({exclude:", "argMinIf(", "{filter_values_2:Array(Array(String))}) OR", "FROM persons"} {
		if !strings.Contains(all, part) {
			t.Errorf("full variant lacks %s", part)
		}
	}
	if got := SplitList(" A, ,B "); strings.Join(got, ";") != "A;B" {
		t.Errorf("SplitList = %q", got)
	}
}
