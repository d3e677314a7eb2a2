package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// flagSet is a flag.FlagSet whose flags fall back to environment variables:
// --max-queries reads TOUCHSTREAM_<PREFIX>MAX_QUERIES when not given.
type flagSet struct {
	*flag.FlagSet
	envPrefix string
}

func newFlagSet(name, envPrefix string) *flagSet {
	fs := flag.NewFlagSet("touchstream "+name, flag.ContinueOnError)
	return &flagSet{FlagSet: fs, envPrefix: envPrefix}
}

func (f *flagSet) envName(flagName string) string {
	return "TOUCHSTREAM_" + f.envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flagSet) String(p *string, name, usage string) {
	if v, ok := os.LookupEnv(f.envName(name)); ok {
		*p = v
	}
	f.StringVar(p, name, *p, fmt.Sprintf("%s (env %s)", usage, f.envName(name)))
}

func (f *flagSet) Int(p *int, name, usage string) {
	if v, ok := os.LookupEnv(f.envName(name)); ok {
		if n, err := strconv.Atoi(v); err == nil {
			*p = n
		}
	}
	f.IntVar(p, name, *p, fmt.Sprintf("%s (env %s)", usage, f.envName(name)))
}

func (f *flagSet) Duration(p *time.Duration, name, usage string) {
	if v, ok := os.LookupEnv(f.envName(name)); ok {
		if d, err := time.ParseDuration(v); err == nil {
			*p = d
		}
	}
	f.DurationVar(p, name, *p, fmt.Sprintf("%s (env %s)", usage, f.envName(name)))
}
