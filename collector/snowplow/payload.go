package snowplow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// params is one event of the tracker protocol: parameter name to value, as
// a GET query string or one element of a POST body's data array carries it.
type params map[string]string

// errNotPayloadData refuses a POST body that is not a payload_data
// self-describing JSON.
var errNotPayloadData = errors.New(`body: must be a payload_data self-describing JSON: {"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{...}]}`)

// decodeBody reads a POST body: the payload_data envelope, whose data is an
// array of events. It returns each event's JSON as sent; a body that is not
// such an envelope is refused whole. The envelope's schema is not checked
// beyond being a payload_data schema (or absent): every 1-0-x version has
// the same shape.
func decodeBody(body []byte) ([]json.RawMessage, error) {
	var env struct {
		Schema json.RawMessage `json:"schema"`
		Data   json.RawMessage `json:"data"`
	}
	if !isObject(body) {
		return nil, errNotPayloadData
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("body: invalid JSON: %w", err)
	}
	if len(env.Schema) > 0 && !isNull(env.Schema) {
		var s string
		if json.Unmarshal(env.Schema, &s) != nil {
			return nil, errNotPayloadData
		}
		if u, ok := parseIglu(s); !ok || u.name != "payload_data" {
			return nil, fmt.Errorf("body: schema %q is not payload_data", s)
		}
	}
	if t := bytes.TrimSpace(env.Data); len(t) == 0 || t[0] != '[' {
		return nil, errNotPayloadData
	}
	var items []json.RawMessage
	if err := json.Unmarshal(env.Data, &items); err != nil {
		return nil, fmt.Errorf("body: data: %w", err)
	}
	return items, nil
}

// decodeItem reads one element of a POST body's data array. The protocol
// sends every value as a string; numbers and booleans are taken as
// written, objects and arrays (a co or ue_pr not stringified) as their JSON
// text, null as absent.
func decodeItem(raw json.RawMessage) (params, error) {
	if !isObject(raw) {
		return nil, errors.New("event: must be a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("event: invalid JSON: %w", err)
	}
	p := make(params, len(m))
	for k, v := range m {
		v = bytes.TrimSpace(v)
		switch {
		case isNull(v):
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			p[k] = s
		default:
			p[k] = string(v)
		}
	}
	return p, nil
}

// queryParams reads a GET query string: the first value of each parameter.
func queryParams(q url.Values) params {
	p := make(params, len(q))
	for k, vs := range q {
		if len(vs) > 0 {
			p[k] = vs[0]
		}
	}
	return p
}

// selfDescribing is a self-describing JSON: an Iglu schema and its data.
type selfDescribing struct {
	Schema string          `json:"schema"`
	Data   json.RawMessage `json:"data"`
}

// iglu is a parsed schema URI, iglu:vendor/name/format/version.
type iglu struct {
	vendor, name, format, version string
}

// parseIglu reads iglu:vendor/name/format/version.
func parseIglu(s string) (iglu, bool) {
	rest, ok := strings.CutPrefix(s, "iglu:")
	if !ok {
		return iglu{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		return iglu{}, false
	}
	for _, p := range parts {
		if p == "" {
			return iglu{}, false
		}
	}
	return iglu{vendor: parts[0], name: parts[1], format: parts[2], version: parts[3]}, true
}

// jsonParam returns the JSON of a parameter that comes plain (plain, e.g.
// ue_pr, co) or base64-encoded (encoded, e.g. ue_px, cx); the plain one
// wins. The field name in the answer is the one that was read.
func jsonParam(p params, plain, encoded string) (raw []byte, field string, err error) {
	if s := p[plain]; s != "" {
		return []byte(s), plain, nil
	}
	s := p[encoded]
	if s == "" {
		return nil, "", nil
	}
	raw, err = decodeBase64(s)
	if err != nil {
		return nil, encoded, fmt.Errorf("%s: not base64: %w", encoded, err)
	}
	return raw, encoded, nil
}

// decodeBase64 reads what trackers encode: the JavaScript tracker uses the
// URL alphabet without padding, others the standard alphabet with it. A
// space stands for a + that a query string decoded.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.ReplaceAll(s, " ", "+")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// decodeUnstruct reads ue_pr / ue_px: the unstruct_event envelope around the
// event's own self-describing JSON. An event sent without the envelope (its
// own schema at the top) is taken as is.
func decodeUnstruct(raw []byte, field string) (selfDescribing, iglu, error) {
	var sd selfDescribing
	if !isObject(raw) {
		return sd, iglu{}, fmt.Errorf("%s: must be a self-describing JSON object", field)
	}
	if err := json.Unmarshal(raw, &sd); err != nil {
		return sd, iglu{}, fmt.Errorf("%s: invalid JSON: %w", field, err)
	}
	if u, ok := parseIglu(sd.Schema); ok && u.name == "unstruct_event" {
		inner := sd.Data
		sd = selfDescribing{}
		if !isObject(inner) {
			return sd, iglu{}, fmt.Errorf("%s: data must be a self-describing JSON object", field)
		}
		if err := json.Unmarshal(inner, &sd); err != nil {
			return sd, iglu{}, fmt.Errorf("%s: data: %w", field, err)
		}
	}
	u, ok := parseIglu(sd.Schema)
	if !ok {
		return sd, iglu{}, fmt.Errorf("%s: schema %q is not an Iglu URI (iglu:vendor/name/format/version)", field, sd.Schema)
	}
	if !isObject(sd.Data) {
		return sd, iglu{}, fmt.Errorf("%s: the data of %s must be a JSON object", field, sd.Schema)
	}
	return sd, u, nil
}

// decodeContexts reads co / cx: the contexts envelope around an array of
// self-describing JSONs (entities). A bare array is taken as the entities.
func decodeContexts(raw []byte, field string) ([]selfDescribing, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return nil, fmt.Errorf("%s: must be a contexts self-describing JSON object", field)
	}
	data := json.RawMessage(t)
	if t[0] == '{' {
		var env selfDescribing
		if err := json.Unmarshal(t, &env); err != nil {
			return nil, fmt.Errorf("%s: invalid JSON: %w", field, err)
		}
		data = env.Data
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '[' {
		return nil, fmt.Errorf("%s: data must be an array of self-describing JSONs", field)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", field, err)
	}
	out := make([]selfDescribing, 0, len(items))
	for i, it := range items {
		var sd selfDescribing
		if !isObject(it) || json.Unmarshal(it, &sd) != nil {
			return nil, fmt.Errorf("%s: entity %d must be a self-describing JSON object", field, i)
		}
		if _, ok := parseIglu(sd.Schema); !ok {
			return nil, fmt.Errorf("%s: entity %d: schema %q is not an Iglu URI", field, i, sd.Schema)
		}
		out = append(out, sd)
	}
	return out, nil
}

// isObject reports whether raw is a JSON object (by its first byte).
func isObject(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

func isNull(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}
