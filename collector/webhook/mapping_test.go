package webhook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	const rule = `{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v"}}`
	tests := []struct {
		name, text string
		want       []string // each must appear in the error
	}{
		{"not json", "{\n  \"source\": \"x\",\n  oops\n}", []string{"m.json:3:3: invalid JSON"}},
		{"not an object", `[]`, []string{"m.json: must be an object"}},
		{"missing keys", `{}`, []string{"m.json: source: required", "m.json: events_path: required", "m.json: rules: required"}},
		{"unknown key", `{"source":"x","events_path":"$","rules":[` + rule + `],"rulez":[]}`, []string{`m.json: rulez: unknown key`}},
		{"bad source", `{"source":"Bad Name","events_path":"$","rules":[` + rule + `]}`, []string{`m.json: source: "Bad Name" must be`}},
		{"bad events path", `{"source":"x","events_path":"$.a[","rules":[` + rule + `]}`, []string{`m.json: events_path: "$.a[": missing ]`}},
		{"empty rules", `{"source":"x","events_path":"$","rules":[]}`, []string{"m.json: rules: must hold at least one rule"}},
		{"rules not array", `{"source":"x","events_path":"$","rules":{}}`, []string{"m.json: rules: must be an array"}},
		{"rule without event", `{"source":"x","events_path":"$","rules":[{"touchpoint":"chat","fields":{"visitor_id":"$.v"}}]}`,
			[]string{"m.json: rules[0].event: required"}},
		{"rule without touchpoint", `{"source":"x","events_path":"$","rules":[{"event":"E","fields":{"visitor_id":"$.v"}}]}`,
			[]string{"m.json: rules[0].touchpoint: required here or in defaults.touchpoint"}},
		{"bad touchpoint", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"fax","fields":{"visitor_id":"$.v"}}]}`,
			[]string{`m.json: rules[0].touchpoint: "fax" is not one of web, app, social, chat, email, sms, server`}},
		{"no visitor", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"message_id":"$.id"}}]}`,
			[]string{"m.json: rules[0].fields: visitor_id or user_id is required"}},
		{"unknown field", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v","vistor":"$.x"}}]}`,
			[]string{"m.json: rules[0].fields.vistor: unknown key (want one of visitor_id, user_id, timestamp"}},
		{"bad path in field", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.a..b"}}]}`,
			[]string{`m.json: rules[0].fields.visitor_id: "$.a..b": empty key`}},
		{"wildcard in field", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.a[*]"}}]}`,
			[]string{`m.json: rules[0].fields.visitor_id: "$.a[*]": [*] is only allowed in events_path`}},
		{"bad format", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v","timestamp":{"path":"$.t","format":"iso"}}}]}`,
			[]string{`m.json: rules[0].fields.timestamp.format: "iso" is not one of rfc3339, unix, unix_ms`}},
		{"constant timestamp", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v","timestamp":"now"}}]}`,
			[]string{"m.json: rules[0].fields.timestamp: must be a path"}},
		{"constant message id", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v","message_id":"same"}}]}`,
			[]string{"m.json: rules[0].fields.message_id: must be a path"}},
		{"format on a column", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":{"path":"$.v","format":"unix"}}}]}`,
			[]string{"m.json: rules[0].fields.visitor_id.format: unknown key"}},
		{"bad property type", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v","properties":{"s":{"path":"$.s","type":"float"}}}}]}`,
			[]string{`m.json: rules[0].fields.properties.s.type: "float" is not one of any, string, number, integer, boolean`}},
		{"min on a string", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v","properties":{"s":{"path":"$.s","type":"string","min":1}}}}]}`,
			[]string{"m.json: rules[0].fields.properties.s.min: only for type number or integer"}},
		{"min above max", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v","properties":{"s":{"path":"$.s","type":"integer","min":5,"max":1}}}}]}`,
			[]string{"m.json: rules[0].fields.properties.s: min 5 is above max 1"}},
		{"spec without path or value", `{"source":"x","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":{"required":true}}}]}`,
			[]string{"m.json: rules[0].fields.visitor_id: needs path or value"}},
		{"condition with two ops", `{"source":"x","events_path":"$","rules":[{"when":{"path":"t","equals":1,"exists":true},"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v"}}]}`,
			[]string{"m.json: rules[0].when: needs exactly one of equals, in, exists"}},
		{"condition list", `{"source":"x","events_path":"$","rules":[{"when":[{"path":"t","in":[]},{"equals":1}],"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v"}}]}`,
			[]string{"m.json: rules[0].when[0].in: must be a non-empty array", "m.json: rules[0].when[1].path: required"}},
		{"defaults errors", `{"source":"x","events_path":"$","defaults":{"touchpoint":"tv","fields":{"user":"$.u"}},"rules":[` + rule + `]}`,
			[]string{`m.json: defaults.touchpoint: "tv" is not one of`, "m.json: defaults.fields.user: unknown key"}},
		{"signature incomplete", `{"source":"x","events_path":"$","auth":{"signature":{"algorithm":"md5","encoding":"hexa"}},"rules":[` + rule + `]}`,
			[]string{"m.json: auth.signature.header: required", "m.json: auth.signature.secret_env: required",
				`m.json: auth.signature.algorithm: "md5" is not one of sha256, sha1, sha512`, `m.json: auth.signature.encoding: "hexa" is not one of hex, base64`}},
		{"signature secret unset", `{"source":"x","events_path":"$","auth":{"signature":{"header":"X-Sig","secret_env":"NO_SUCH_SECRET_VAR"}},"rules":[` + rule + `]}`,
			[]string{"m.json: auth.signature.secret_env: environment variable NO_SUCH_SECRET_VAR is not set"}},
		{"auth unknown", `{"source":"x","events_path":"$","auth":{"token":"t"},"rules":[` + rule + `]}`,
			[]string{"m.json: auth.token: unknown key (want one of signature)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFS(fstest.MapFS{"m.json": {Data: []byte(tc.text)}}, noEnv)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadDirectory(t *testing.T) {
	t.Parallel()
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "webhook mappings:") {
		t.Errorf("missing dir: %v", err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An empty directory is an empty registry; a subdirectory is not read.
	write("README.txt", "not a mapping")
	os.Mkdir(filepath.Join(dir, "examples"), 0o755)
	os.WriteFile(filepath.Join(dir, "examples", "x.json"), []byte("payload, not a mapping"), 0o644)
	reg, err := Load(dir)
	if err != nil || len(reg.Sources()) != 0 {
		t.Fatalf("empty: %v %v", reg, err)
	}
	const m = `{"source":"dup","events_path":"$","rules":[{"event":"E","touchpoint":"chat","fields":{"visitor_id":"$.v"}}]}`
	write("a.json", m)
	write("b.json", m)
	write("c.json", `{"source":"c"}`)
	_, err = Load(dir)
	if err == nil {
		t.Fatal("loaded")
	}
	for _, w := range []string{
		filepath.Join(dir, "b.json") + `: source: "dup" is already defined in ` + filepath.Join(dir, "a.json"),
		filepath.Join(dir, "c.json") + ": events_path: required",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "a.json")); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("file as dir: %v", err)
	}
}

func TestPath(t *testing.T) {
	t.Parallel()
	doc := map[string]any{
		"a":     map[string]any{"b": []any{"x", map[string]any{"c": "deep"}}},
		"dot.k": "dotted",
		"n":     nil,
	}
	tests := []struct {
		path  string
		want  any
		found bool
	}{
		{"$", doc, true},
		{"$.a.b[0]", "x", true},
		{"a.b[1].c", "deep", true},
		{"$.a.b[-1].c", "deep", true},
		{"$.a.b[-3]", nil, false},
		{"$.a.b[2]", nil, false},
		{`$["dot.k"]`, "dotted", true},
		{"$['a']['b'][0]", "x", true},
		{"$.n", nil, false},
		{"$.a.b.c", nil, false},
		{"$.missing", nil, false},
		{"[0]", nil, false},
	}
	for _, tc := range tests {
		p, err := parsePath(tc.path, false)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		got, found := p.get(doc)
		if found != tc.found || (found && tc.path != "$" && got != tc.want) {
			t.Errorf("%s: got %v %v", tc.path, got, found)
		}
	}
	for _, bad := range []string{"", "$.", "$..a", "$[x]", "$['a'", "$.a[1", "$a", "$['']", "$.a[*]"} {
		if _, err := parsePath(bad, false); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
