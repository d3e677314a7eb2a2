package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strings"
)

// Source is one sender of events (a website, an app, a backend) and what it
// may do: the write key it authenticates with, the browser origins allowed to
// send with that key, and its rate limit. Its write key is a secret: Source
// prints and logs as its name only.
type Source struct {
	// Name names the source in logs and metrics (the rate_limited metric's
	// source label); required and unique.
	Name string `json:"name"`
	// WriteKey is the key its events carry. In a sources file either
	// write_key or write_key_env (the name of an environment variable
	// holding the key) is given; LoadSources resolves the latter.
	WriteKey    string `json:"write_key,omitempty"`
	WriteKeyEnv string `json:"write_key_env,omitempty"`
	// AllowedOrigins, when not empty, are the only browser origins
	// (scheme://host[:port]) that may send with this key: they get their
	// Origin echoed in Access-Control-Allow-Origin, other origins get no CORS
	// headers and 403. Empty: any origin ("*").
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// RatePerSecond is the sustained number of events a second this source
	// may send; 0 takes Config.RatePerSecond, a negative value means no limit.
	RatePerSecond float64 `json:"rate_per_second,omitempty"`
	// Burst is the number of events it may send at once above the rate; 0
	// takes Config.Burst when RatePerSecond is 0, else twice RatePerSecond.
	Burst int `json:"burst,omitempty"`
}

// String is the source's name: never its write key.
func (s Source) String() string { return s.Name }

// LogValue logs the source as its name: never its write key.
func (s Source) LogValue() slog.Value { return slog.StringValue(s.Name) }

// sourcesFile is the JSON of a sources file.
type sourcesFile struct {
	Sources []Source `json:"sources"`
}

// LoadSources reads a sources file:
//
//	{"sources": [{"name": "web shop", "write_key_env": "SHOP_WRITE_KEY",
//	  "allowed_origins": ["https://shop.example"], "rate_per_second": 200, "burst": 400}]}
//
// Each source gives write_key or write_key_env (the environment variable
// holding its key, which must be set and not empty); unknown fields are
// errors. Errors name the source's index and field, never a key.
func LoadSources(path string) ([]Source, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sources file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f sourcesFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("sources file %s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("sources file %s: data after the JSON object", path)
	}
	if len(f.Sources) == 0 {
		return nil, fmt.Errorf("sources file %s: sources: at least one is required", path)
	}
	var errs []error
	for i := range f.Sources {
		src := &f.Sources[i]
		switch {
		case src.WriteKey != "" && src.WriteKeyEnv != "":
			errs = append(errs, fmt.Errorf("sources[%d] (%s): write_key and write_key_env: give one, not both", i, src.Name))
		case src.WriteKeyEnv != "":
			src.WriteKey = os.Getenv(src.WriteKeyEnv)
			if src.WriteKey == "" {
				errs = append(errs, fmt.Errorf("sources[%d] (%s): write_key_env: environment variable %s is not set or empty", i, src.Name, src.WriteKeyEnv))
			}
		case src.WriteKey == "":
			errs = append(errs, fmt.Errorf("sources[%d] (%s): write_key or write_key_env is required", i, src.Name))
		}
	}
	if err := validateSources(f.Sources); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sources file %s: %w", path, err)
	}
	return f.Sources, nil
}

// validateSources checks the fields of sources and that names and keys are
// unique; the errors name the index and field ("sources[2] (shop): ...").
func validateSources(sources []Source) error {
	var errs []error
	names := make(map[string]int, len(sources))
	keys := make(map[string]int, len(sources))
	for i, src := range sources {
		at := fmt.Sprintf("sources[%d] (%s)", i, src.Name)
		if strings.TrimSpace(src.Name) == "" {
			errs = append(errs, fmt.Errorf("sources[%d]: name is required", i))
		} else if j, dup := names[src.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: name: the same as sources[%d]", at, j))
		} else {
			names[src.Name] = i
		}
		if src.WriteKey != "" {
			if j, dup := keys[src.WriteKey]; dup {
				errs = append(errs, fmt.Errorf("%s: write_key: the same as sources[%d]'s", at, j))
			} else {
				keys[src.WriteKey] = i
			}
		}
		for k, o := range src.AllowedOrigins {
			if err := checkOriginSyntax(o); err != nil {
				errs = append(errs, fmt.Errorf("%s: allowed_origins[%d]: %w", at, k, err))
			}
		}
		if math.IsNaN(src.RatePerSecond) || math.IsInf(src.RatePerSecond, 0) {
			errs = append(errs, fmt.Errorf("%s: rate_per_second: must be a finite number", at))
		}
		if src.Burst < 0 {
			errs = append(errs, fmt.Errorf("%s: burst: must not be negative, got %d", at, src.Burst))
		}
	}
	return errors.Join(errs...)
}

// checkOriginSyntax accepts an origin as browsers send it: scheme://host[:port],
// no path, lower case.
func checkOriginSyntax(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an origin (scheme://host[:port])", o)
	}
	return nil
}

// normalizeOrigin is the form origins are compared in: lower case, no
// trailing slash.
func normalizeOrigin(o string) string { return strings.ToLower(strings.TrimSuffix(o, "/")) }
