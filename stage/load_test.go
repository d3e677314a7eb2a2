package stage

import (
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/touchstream/touchstream/pipeline"
)

func jsonReader(s string) io.Reader { return strings.NewReader(s) }

func mustLoad(t *testing.T, s string) *Rules {
	t.Helper()
	r, err := Load(jsonReader(s))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}

func TestCustomRules(t *testing.T) {
	rules := mustLoad(t, `{
	  "rules": [
	    {"name": "vip", "stage": "advocacy", "properties": {"tier": ["gold", "platinum"], "plan.seats": 100}},
	    {"name": "none for internal", "stage": "none", "utm_medium": ["Internal", "qa"]},
	    {"name": "either name or prefix", "stage": "purchase", "event_name": "Paid", "event_name_prefix": "Checkout "},
	    {"name": "docs", "stage": "evaluation", "page_path": ["/docs/*/api", "/help/**/faq", "/x/[ab]?"]},
	    {"name": "app screens", "stage": "awareness", "type": "screen", "touchpoint": "app"},
	    {"name": "not a landing", "stage": "evaluation", "type": "page", "landing": false, "channel": "organic search"},
	    {"name": "flag", "stage": "return", "properties": {"returning": true, "coupon": null}},
	    {"name": "fallback", "stage": "awareness", "type": "track"}
	  ]
	}`)
	tests := []struct {
		name string
		e    pipeline.Event
		want string
	}{
		{"all properties", props(track("X"), `{"tier": "gold", "plan": {"seats": 100}}`), Advocacy},
		{"dotted key literal", props(track("X"), `{"tier": "platinum", "plan.seats": "100"}`), Advocacy},
		{"one property missing", props(track("X"), `{"tier": "gold"}`), Awareness},
		{"wrong value", props(track("X"), `{"tier": "silver", "plan": {"seats": 100}}`), Awareness},
		{"none stops", with(track("X"), func(e *pipeline.Event) { e.UTMMedium = "INTERNAL" }), None},
		{"exact name", track("Paid"), Purchase},
		{"prefix", track("Checkout Step Completed"), Purchase},
		{"prefix is case sensitive", track("checkout started"), Awareness},
		{"single star", page("/docs/v2/api", ""), Evaluation},
		{"star stays in segment", page("/docs/v2/beta/api", ""), None},
		{"double star none", page("/help/faq", ""), Evaluation},
		{"double star many", page("/help/a/b/faq/", ""), Evaluation},
		{"class and question mark", page("/x/b1", ""), Evaluation},
		{"path from url", pipeline.Event{Type: "page", PageURL: "https://a.example/docs/v1/api?x=1"}, Evaluation},
		{"no path", pipeline.Event{Type: "page"}, None},
		{"type and touchpoint", pipeline.Event{Type: "screen", Touchpoint: "app"}, Awareness},
		{"touchpoint differs", pipeline.Event{Type: "screen", Touchpoint: "web"}, None},
		{"channel, not landing", with(page("/a", site+"/"), func(e *pipeline.Event) { e.Channel = "Organic Search" }), Evaluation},
		{"channel, landing", with(page("/a", "https://www.google.com/"), func(e *pipeline.Event) { e.Channel = "Organic Search" }), None},
		{"bool and null", props(track("Y"), `{"returning": true}`), Return},
		{"null vs value", props(track("Y"), `{"returning": true, "coupon": "X"}`), Awareness},
		{"fallback", track("Anything"), Awareness},
		{"identify falls through", pipeline.Event{Type: "identify"}, None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, i := rules.Match(&tt.e, false)
			if got != tt.want {
				t.Errorf("Stage = %q by rule %d (%s), want %q", got, i, rules.RuleName(i), tt.want)
			}
		})
	}
}

func TestRequiresPurchase(t *testing.T) {
	rules := mustLoad(t, `{"rules": [
	  {"stage": "return", "requires_purchase": true},
	  {"stage": "awareness"}
	]}`)
	e := page("/", "")
	if got := rules.Stage(&e, true); got != Return {
		t.Errorf("purchased: %q, want return", got)
	}
	if got := rules.Stage(&e, false); got != Awareness {
		t.Errorf("not purchased: %q, want awareness", got)
	}
	if rules.RuleName(0) != "rules[0]" || rules.RuleName(5) != "" {
		t.Errorf("RuleName: %q %q", rules.RuleName(0), rules.RuleName(5))
	}
}

func TestNilAndEmpty(t *testing.T) {
	var r *Rules
	e := track("Order Completed")
	if r.Stage(&e, false) != None || r.Len() != 0 {
		t.Error("nil Rules matched")
	}
	if s, i := Default().Match(nil, true); s != None || i != -1 {
		t.Errorf("nil event: %q %d", s, i)
	}
	empty := mustLoad(t, `{"rules": []}`)
	if empty.Stage(&e, true) != None {
		t.Error("empty rules matched")
	}
}

func TestExampleFile(t *testing.T) {
	f, err := os.Open("testdata/example_rules.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules, err := Load(f)
	if err != nil {
		t.Fatalf("testdata/example_rules.json: %v", err)
	}
	e := props(track("Trial Started"), `{"plan": {"tier": "enterprise"}}`)
	if s, i := rules.Match(&e, false); s != Evaluation || rules.RuleName(i) != "enterprise trial" {
		t.Errorf("enterprise trial: %q by %q", s, rules.RuleName(i))
	}
}

// TestDocExample loads the example rule file in doc.go, so the
// documentation never shows a file Load refuses.
func TestDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\n//\t\{\n(.*?\n)//\t\}\n`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no example rule file in doc.go")
	}
	var b strings.Builder
	b.WriteString("{\n")
	for _, line := range strings.Split(string(m[1]), "\n") {
		b.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "//"), "\t"))
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	rules, err := Load(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("doc.go example: %v\n%s", err, b.String())
	}
	if rules.Len() < 5 {
		t.Errorf("doc.go example has %d rules", rules.Len())
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file string
		want       string // a substring of the error
		index      int    // the RuleError's Index, -1 when not a RuleError
		field      string
	}{
		{"not json", `{"rules": [}`, "line 1, column 12", -1, ""},
		{"syntax error line", "{\n  \"rules\": [\n    {\"stage\": \"awareness\",}\n  ]\n}", "line 3", -1, ""},
		{"trailing data", `{"rules": []} x`, "invalid character", -1, ""},
		{"not an object", `[1]`, `want a JSON object with a "rules" list`, -1, ""},
		{"null", `null`, `want a JSON object`, -1, ""},
		{"empty input", ``, `unexpected end of JSON input`, -1, ""},
		{"no rules", `{}`, `rules: required`, -1, ""},
		{"unknown top field", `{"rule": []}`, `unknown field "rule"`, -1, ""},
		{"rules not a list", `{"rules": {}}`, `rules: must be a list of rules, not an object`, -1, ""},
		{"description not a string", `{"description": 1, "rules": []}`, `description: must be a string`, -1, ""},
		{"rule not an object", `{"rules": ["x"]}`, `rules[0]: must be an object, not a string`, 0, ""},
		{"missing stage", `{"rules": [{"name": "a", "type": "page"}]}`, `rules[0] ("a"): stage: required`, 0, "stage"},
		{"bad stage", `{"rules": [{"type": "page", "stage": "awareness"}, {"stage": "loyalty", "type": "page"}]}`, `rules[1]: stage: "loyalty" is not a stage`, 1, "stage"},
		{"stage case", `{"rules": [{"stage": "Awareness", "type": "page"}]}`, `"Awareness" is not a stage`, 0, "stage"},
		{"unknown field", `{"rules": [{"name": "x", "stage": "awareness", "evnt_name": "A"}]}`, `rules[0] ("x"): unknown field "evnt_name"`, 0, ""},
		{"name not a string", `{"rules": [{"name": 3, "stage": "awareness"}]}`, `rules[0]: name: must be a string, not a number`, 0, "name"},
		{"bad type", `{"rules": [{"stage": "awareness", "type": "pageview"}]}`, `type: "pageview" is not a type`, 0, "type"},
		{"type number", `{"rules": [{"stage": "awareness", "type": 1}]}`, `type: must be a string or a list of strings, not a number`, 0, "type"},
		{"empty list", `{"rules": [{"stage": "awareness", "event_name": []}]}`, `event_name: must not be an empty list`, 0, "event_name"},
		{"empty string", `{"rules": [{"stage": "awareness", "event_name": ""}]}`, `event_name: must not be empty`, 0, "event_name"},
		{"list item not a string", `{"rules": [{"stage": "awareness", "event_name_prefix": ["A", 2]}]}`, `event_name_prefix: item 1: must be a string, not a number`, 0, "event_name_prefix"},
		{"bad touchpoint", `{"rules": [{"stage": "return", "touchpoint": ["chat", "phone"]}]}`, `touchpoint: "phone" is not a touchpoint`, 0, "touchpoint"},
		{"bad channel", `{"rules": [{"stage": "awareness", "channel": "Organic"}]}`, `channel: "Organic" is not a channel`, 0, "channel"},
		{"requires_purchase string", `{"rules": [{"stage": "return", "requires_purchase": "yes"}]}`, `requires_purchase: must be true or false, not a string`, 0, "requires_purchase"},
		{"landing number", `{"rules": [{"stage": "awareness", "landing": 1}]}`, `landing: must be true or false, not a number`, 0, "landing"},
		{"path without slash", `{"rules": [{"stage": "awareness", "page_path": "blog/**"}]}`, `page_path: "blog/**": a pattern must start with "/"`, 0, "page_path"},
		{"bad glob", `{"rules": [{"stage": "awareness", "page_path": "/a/[b"}]}`, `page_path: "/a/[b": bad pattern segment`, 0, "page_path"},
		{"partial double star", `{"rules": [{"stage": "awareness", "page_path": "/a**"}]}`, `"**" must be a whole path segment`, 0, "page_path"},
		{"properties not object", `{"rules": [{"stage": "advocacy", "properties": [9, 10]}]}`, `properties: must be an object`, 0, "properties"},
		{"properties empty", `{"rules": [{"stage": "advocacy", "properties": {}}]}`, `properties: must name at least one property`, 0, "properties"},
		{"property value object", `{"rules": [{"stage": "advocacy", "properties": {"score": {"gte": 9}}}]}`, `properties.score: must be a string, number, true, false or null`, 0, "properties.score"},
		{"property empty list", `{"rules": [{"stage": "advocacy", "properties": {"score": []}}]}`, `properties.score: must not be an empty list`, 0, "properties.score"},
		{"property list item", `{"rules": [{"stage": "advocacy", "properties": {"score": [9, [10]]}}]}`, `properties.score: item 1:`, 0, "properties.score"},
		{"catch-all not last", `{"rules": [{"stage": "awareness"}, {"stage": "purchase", "type": "track"}]}`, `rules[0]: has no condition`, 0, ""},
		{"third rule", `{"rules": [{"stage": "awareness", "type": "page"}, {"stage": "purchase", "type": "track"}, {"name": "c", "stage": "return", "channel": ["Email", 1]}]}`, `rules[2] ("c"): channel: item 1`, 2, "channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(jsonReader(tt.file))
			if err == nil {
				t.Fatalf("Load: no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: %v\nwant it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "stage rules: ") {
				t.Errorf("Load: %v: want the prefix \"stage rules: \"", err)
			}
			var re *RuleError
			switch {
			case tt.index < 0 && errors.As(err, &re):
				t.Errorf("Load: %v is a RuleError", err)
			case tt.index >= 0 && !errors.As(err, &re):
				t.Errorf("Load: %v is not a RuleError", err)
			case tt.index >= 0 && (re.Index != tt.index || re.Field != tt.field):
				t.Errorf("RuleError index %d field %q, want %d %q", re.Index, re.Field, tt.index, tt.field)
			}
		})
	}
}

func TestLoadReadError(t *testing.T) {
	_, err := Load(iotest.ErrReader(errors.New("disk on fire")))
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Load: %v", err)
	}
	big := `{"rules": [], "description": "` + strings.Repeat("x", MaxFileBytes) + `"}`
	if _, err := Load(jsonReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load of a too large file: %v", err)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/", "/", true},
		{"/", "/a", false},
		{"/**", "/", true},
		{"/**", "/a/b", true},
		{"/blog/**", "/blog", true},
		{"/blog/**", "/blog/", true},
		{"/blog/**", "/blog/a/b", true},
		{"/blog/**", "/blogs", false},
		{"/blog/*", "/blog", false},
		{"/blog/*", "/blog/a", true},
		{"/blog/*", "/blog/a/b", false},
		{"/**/reviews", "/reviews", true},
		{"/**/reviews", "/p/1/reviews", true},
		{"/**/reviews", "/p/1/reviews/2", false},
		{"/a/**/**/b", "/a/x/y/b", true},
		{"/a/**/b/**", "/a/b", true},
		{"/*.html", "/index.html", true},
		{"/Pricing/", "/pricing", true},
		{"/checkout/**", "/checkout?step=2", true},
		{"/x", "x", true},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
		}
		if got := g.match(splitPath(normalizePath(tt.path))); got != tt.want {
			t.Errorf("%q matches %q: %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(string(DefaultJSON()))
	f.Add(`{"rules": [{"stage": "advocacy", "properties": {"score": [9, 10]}, "page_path": "/**/a*"}]}`)
	f.Add(`{"rules": [{"stage": "none", "event_name": ["a"], "landing": false}]}`)
	f.Fuzz(func(t *testing.T, file string) {
		rules, err := Load(strings.NewReader(file))
		if err != nil {
			return
		}
		e := props(page("/a/b", "https://www.google.com/"), `{"score": 9, "a": {"b": 1}}`)
		if s := rules.Stage(&e, true); s != None && Order(s) == 0 {
			t.Fatalf("Stage = %q, not a stage", s)
		}
	})
}
