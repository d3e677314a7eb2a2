package report

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseWhere(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Property
		err  bool
	}{
		{in: "", want: nil},
		{in: "plan=pro", want: []Property{{"plan", "pro"}}},
		{in: " plan = pro ,country=DE", want: []Property{{"plan", " pro "}, {"country", "DE"}}},
		{in: "a=b=c", want: []Property{{"a", "b=c"}}},
		{in: "empty=", want: []Property{{"empty", ""}}},
		{in: "plan", err: true},
		{in: "=pro", err: true},
		{in: "a=1,", err: true},
	} {
		got, err := ParseWhere(c.in)
		if (err != nil) != c.err {
			t.Errorf("ParseWhere(%q) error %v, want error %v", c.in, err, c.err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseWhere(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFilteredSQL renders every filterable query file both ways: without
// a filter no template action is left and no filter parameter is read
// (the parameterized views are this text and are called without them);
// with one, the file reads the parameters of the conditions it applies.
func TestFilteredSQL(t *testing.T) {
	all := []string{"only_channels", "only_touchpoints", "only_keys", "only_values"}
	for _, c := range []struct {
		name      string
		reads     []string
		marker    string // a line the companion queries splice at
		notFilter string // a line the unfiltered text must not have
	}{
		{"abandonment", all, outcomesEnd, "kept_starts"},
		{"time_on_site", all, scopeEnd, ""},
		{"attribution", all, creditsEnd, ""},
		{"retention", all, "", "passes"},
		{"segments", all, "", ""},
		{"paths", all, "", ""},
		{"traffic_daily", all[:2], "", ""},
		{"traffic_totals", all[:2], "", ""},
	} {
		plain, err := querySQL(c.name)
		if err != nil {
			t.Fatal(err)
		}
		filtered, err := filteredSQL(c.name, Filter{Channels: []string{"Email"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"only_", "{{", "}}"} {
			if strings.Contains(plain, s) {
				t.Errorf("unfiltered %s.sql has %q", c.name, s)
			}
		}
		if c.notFilter != "" && strings.Contains(plain, c.notFilter) {
			t.Errorf("unfiltered %s.sql has %q", c.name, c.notFilter)
		}
		if strings.Contains(filtered, "{{") || filtered == plain {
			t.Errorf("filtered %s.sql is the unfiltered text or keeps a template action", c.name)
		}
		for _, p := range all {
			if got, want := strings.Contains(filtered, "{"+p+":Array(String)}"), slices.Contains(c.reads, p); got != want {
				t.Errorf("filtered %s.sql reads %s: %v, want %v", c.name, p, got, want)
			}
		}
		if c.marker != "" && !strings.Contains(filtered, "\n"+c.marker+"\n") {
			t.Errorf("filtered %s.sql has no line %q for its companions", c.name, c.marker)
		}
	}
	// stages.sql, with abandonment.sql and time_on_site.sql inside.
	plain, err := stagesSQL(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	filtered, err := stagesSQL(Filter{Channels: []string{"Email"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain, "only_") || strings.Contains(plain, "{{") || !strings.Contains(filtered, "{only_keys:Array(String)}") {
		t.Errorf("stages.sql: the unfiltered text reads the filter, or the filtered one does not")
	}
}

func TestFilterString(t *testing.T) {
	for _, c := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, ""},
		{Filter{Channels: []string{"Email", "Paid Search"}}, "channel Email or Paid Search"},
		{Filter{Touchpoints: []string{"app"}, Where: []Property{{"plan", "pro"}, {"country", "DE"}}}, "touchpoint app; plan=pro, country=DE"},
	} {
		if got := c.f.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.f, got, c.want)
		}
	}
}
