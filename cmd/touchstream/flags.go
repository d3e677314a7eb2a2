package main

import (
	"strings"
	"time"

	"github.com/touchstream/touchstream/internal/cliflag"
)

// flagSet names each flag's environment variable after the command:
// --max-queries of `touchstream clickhouse` reads
// TOUCHSTREAM_CLICKHOUSE_MAX_QUERIES when not given.
type flagSet struct {
	*cliflag.Set
	envPrefix string
}

func newFlagSet(name, envPrefix string) *flagSet {
	return &flagSet{Set: cliflag.New("touchstream " + name), envPrefix: envPrefix}
}

func (f *flagSet) envName(flagName string) string {
	return "TOUCHSTREAM_" + f.envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flagSet) String(p *string, name, usage string) {
	f.Set.String(p, name, f.envName(name), usage)
}

func (f *flagSet) Int(p *int, name, usage string) { f.Set.Int(p, name, f.envName(name), usage) }

func (f *flagSet) Duration(p *time.Duration, name, usage string) {
	f.Set.Duration(p, name, f.envName(name), usage)
}

func (f *flagSet) Bool(p *bool, name, usage string) { f.Set.Bool(p, name, f.envName(name), usage) }

// Secret binds a flag holding a secret: --help never shows its value.
func (f *flagSet) Secret(p *string, name, usage string) {
	f.Set.Secret(p, name, f.envName(name), usage)
}
