package stage

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/touchstream/touchstream/channel"
	"github.com/touchstream/touchstream/pipeline"
)

// The journey stages, in journey order. None ("") is no stage.
const (
	None       = ""
	Awareness  = "awareness"
	Evaluation = "evaluation"
	Purchase   = "purchase"
	Return     = "return"
	Advocacy   = "advocacy"
)

var stages = []string{Awareness, Evaluation, Purchase, Return, Advocacy}

// Names returns the five stages in journey order (a fresh copy).
func Names() []string { return append([]string(nil), stages...) }

// Order gives a stage's place in the journey: awareness 1, evaluation 2,
// purchase 3, return 4, advocacy 5; 0 for "" and anything else. The stage a
// visitor has reached is the one with the highest order among their events.
func Order(stage string) int {
	switch stage {
	case Awareness:
		return 1
	case Evaluation:
		return 2
	case Purchase:
		return 3
	case Return:
		return 4
	case Advocacy:
		return 5
	}
	return 0
}

// Rules is a loaded rule file: an ordered list of rules, the first that
// matches an event giving its stage. A Rules never changes after Load, so
// one value is safe for concurrent use by any number of goroutines.
type Rules struct {
	rules []rule
}

//go:embed default_rules.json
var defaultJSON []byte

var defaultRules = sync.OnceValue(func() *Rules {
	r, err := Load(bytes.NewReader(defaultJSON))
	if err != nil {
		panic(fmt.Sprintf("stage: default_rules.json: %v", err))
	}
	return r
})

// Default returns the rules of the embedded default_rules.json, which follow
// the stage table of DESIGN.md section 5 (summarised in the package doc).
// Every call returns the same, shared *Rules.
func Default() *Rules { return defaultRules() }

// DefaultJSON returns the embedded default rule file, a starting point for a
// custom one.
func DefaultJSON() []byte { return bytes.Clone(defaultJSON) }

// Len returns the number of rules.
func (r *Rules) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rules)
}

// RuleName returns the name of rule i (its "name", else "rules[i]").
func (r *Rules) RuleName(i int) string {
	if r == nil || i < 0 || i >= len(r.rules) {
		return ""
	}
	if n := r.rules[i].name; n != "" {
		return n
	}
	return fmt.Sprintf("rules[%d]", i)
}

// Stage returns the journey stage of e: the stage of the first rule that
// matches it, or "" when none does (or a matching rule says "none").
// purchasedBefore says whether the visitor completed an order before e (not
// counting e itself): rules with requires_purchase match only then, so a
// visitor's first Order Completed is purchase and a later one return.
// Stage is pure: the same arguments always give the same stage.
func (r *Rules) Stage(e *pipeline.Event, purchasedBefore bool) string {
	s, _ := r.Match(e, purchasedBefore)
	return s
}

// Match is Stage that also says which rule decided: its index, or -1 when
// no rule matched.
func (r *Rules) Match(e *pipeline.Event, purchasedBefore bool) (stage string, rule int) {
	if r == nil || e == nil {
		return None, -1
	}
	v := eventView{e: e}
	for i := range r.rules {
		if r.rules[i].matches(&v, purchasedBefore) {
			return r.rules[i].stage, i
		}
	}
	return None, -1
}

// eventView caches what rules derive from an event (its path, properties,
// whether it is a landing), computed at most once per Match.
type eventView struct {
	e *pipeline.Event

	pathDone bool
	hasPath  bool     // the event has a page path or page URL
	path     []string // lower-case path segments, nil for "/"

	propsDone bool
	props     map[string]any // nil when the properties are absent or not an object

	landingDone bool
	landing     bool
}

func (v *eventView) pathSegments() ([]string, bool) {
	if !v.pathDone {
		v.pathDone = true
		if p := eventPath(v.e); p != "" {
			v.hasPath = true
			v.path = splitPath(normalizePath(p))
		}
	}
	return v.path, v.hasPath
}

func (v *eventView) properties() map[string]any {
	if !v.propsDone {
		v.propsDone = true
		if len(v.e.Properties) > 0 {
			d := json.NewDecoder(bytes.NewReader(v.e.Properties))
			d.UseNumber()
			var m map[string]any
			if d.Decode(&m) == nil {
				v.props = m
			}
		}
	}
	return v.props
}

func (v *eventView) isLanding() bool {
	if !v.landingDone {
		v.landingDone = true
		v.landing = channel.Landing(v.e)
	}
	return v.landing
}
