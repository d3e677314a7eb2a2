package cliflag

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Set is a flag.FlagSet whose flags read an environment variable when not
// given on the command line.
type Set struct {
	*flag.FlagSet
}

// New returns a Set for the command name (used in usage messages).
func New(name string) *Set {
	return &Set{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
}

// String binds a string flag with its environment variable; *p holds the default.
func (s *Set) String(p *string, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		*p = v
	}
	s.StringVar(p, name, *p, describe(usage, env))
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
		}
	}
	s.IntVar(p, name, *p, describe(usage, env))
}

// Duration binds a duration flag.
func (s *Set) Duration(p *time.Duration, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		if d, err := time.ParseDuration(v); err == nil {
			*p = d
		}
	}
	s.DurationVar(p, name, *p, describe(usage, env))
}

// Bool binds a bool flag.
func (s *Set) Bool(p *bool, name, env, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			*p = b
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
