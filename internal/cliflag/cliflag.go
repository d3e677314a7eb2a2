package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Set is a flag.FlagSet whose flags read an environment variable when not
// given on the command line.
type Set struct {
	*flag.FlagSet
	envErrs []error // environment values that did not parse; Parse returns them
}

// New returns a Set for the command name (used in usage messages).
func New(name string) *Set {
	return &Set{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
}

// Parse parses the command line after reporting any environment variable
// whose value is not valid for its flag: a bad value is an error, never
// silently replaced by the default.
func (s *Set) Parse(args []string) error {
	if err := errors.Join(s.envErrs...); err != nil {
		return err
	}
	return s.FlagSet.Parse(args)
}

// envError records that env's value v did not parse.
func (s *Set) envError(env, v string, err error) {
	s.envErrs = append(s.envErrs, fmt.Errorf("environment %s=%q: %w", env, v, err))
}

// String binds a string flag with its environment variable; *p holds the
// default. A default that is a URL with a password (a DSN) is shown in
// --help with the password as "xxxxx".
func (s *Set) String(p *string, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		*p = v
	}
	s.StringVar(p, name, *p, describe(usage, env))
	if u, err := url.Parse(*p); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			s.Lookup(name).DefValue = u.Redacted()
		}
	}
}

// Secret binds a string flag holding a secret (a password, a signing key):
// --help never shows its value, whether it came from the environment or not.
func (s *Set) Secret(p *string, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		*p = v
	}
	s.Var(secretValue{p}, name, describe(usage, env))
}

// secretValue is a string flag.Value whose String is always empty, so that
// flag's usage output prints no default for it.
type secretValue struct{ p *string }

func (v secretValue) String() string { return "" }

func (v secretValue) Set(s string) error {
	*v.p = s
	return nil
}

// List binds a comma-separated list flag.
func (s *Set) List(p *[]string, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		*p = Split(v)
	}
	s.Func(name, describe(fmt.Sprintf("%s, comma-separated (default %q)", usage, strings.Join(*p, ",")), env), func(v string) error {
		*p = Split(v)
		return nil
	})
}

// Int binds an int flag.
func (s *Set) Int(p *int, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		if n, err := strconv.Atoi(v); err == nil {
			*p = n
		} else {
			s.envError(env, v, err)
		}
	}
	s.IntVar(p, name, *p, describe(usage, env))
}

// Duration binds a duration flag.
func (s *Set) Duration(p *time.Duration, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		if d, err := time.ParseDuration(v); err == nil {
			*p = d
		} else {
			s.envError(env, v, err)
		}
	}
	s.DurationVar(p, name, *p, describe(usage, env))
}

// Bool binds a bool flag.
func (s *Set) Bool(p *bool, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			*p = b
		} else {
			s.envError(env, v, err)
		}
	}
	s.BoolVar(p, name, *p, describe(usage, env))
}

func describe(usage, env string) string {
	if env == "" {
		return usage
	}
	return fmt.Sprintf("%s (env %s)", usage, env)
}

// Split splits a comma-separated list, dropping blanks.
func Split(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
