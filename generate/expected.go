package generate

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// Defaults of the report options the answers depend on (DESIGN.md section 5).
const (
	DefaultWindow = 7 * 24 * time.Hour // funnel conversion window
	DefaultWithin = 24 * time.Hour     // abandonment: an order within this of the cart
	// SessionTimeout and SessionMaxLength are how Expected sessionizes.
	SessionTimeout   = 30 * time.Minute
	SessionMaxLength = 24 * time.Hour
)

// DefaultSteps is the e-commerce funnel of the generated shop.
var DefaultSteps = []string{
	pipeline.EventProductViewed, pipeline.EventProductAdded,
	pipeline.EventCheckoutStarted, pipeline.EventOrderCompleted,
}

// Expected holds the answers the reports must give for a world, computed
// from its events alone. The JSON field names of Funnel, Abandonment and
// TimeOnSite are those of `touchstream report ... --format json`.
// Rates are unrounded fractions in [0, 1].
type Expected struct {
	Events int `json:"events"` // events of every type, identify included
	// EventsByType counts the events by type (page, track, identify).
	EventsByType map[string]int `json:"events_by_type"`
	Visitors     int            `json:"visitors"` // distinct visitors (Event.Visitor)
	Orders       int            `json:"orders"`   // Order Completed events
	Revenue      float64        `json:"revenue"`  // sum of their properties.revenue, rounded to cents
	Funnel       Funnel         `json:"funnel"`
	Abandonment  Abandonment    `json:"abandonment"`
	TimeOnSite   TimeOnSite     `json:"time_on_site"`
	Stages       Stages         `json:"stages"`
}

// Stages are the KPIs of `report stages` that need no stage rules: counts
// of track events by name, and the CSAT and NPS scores, defined as in
// sql/queries/stages.sql. A page or screen whose name is X is not "an event
// named X". A score is properties.score, a number or a numeric string; an
// answer counts only when its score is a whole number on the question's
// scale. Every ratio is 0 when its denominator is.
type Stages struct {
	AdImpressions int     `json:"ad_impressions"` // events named 'Ad Impression' or 'Ad Viewed'
	AdClicks      int     `json:"ad_clicks"`      // events named 'Ad Clicked'
	CTR           float64 `json:"ctr"`            // ad_clicks / ad_impressions
	// Leads are events named 'Lead Submitted', 'Demo Requested', 'Trial
	// Started' or 'Signed Up'.
	Leads int `json:"leads"`
	// CSAT is answers of 4 or 5 / answers x 100, over the answers on 1-5 of
	// the events named 'CSAT Rated' or 'CSAT Submitted' (CSATResponses).
	CSAT          float64 `json:"csat"`
	CSATResponses int     `json:"csat_responses"`
	// NPS is 100 x (promoters (9-10) - detractors (0-6)) / answers, over the
	// answers on 0-10 of the events named 'NPS Rated', 'NPS Submitted' or
	// 'Survey Answered' (NPSResponses).
	NPS          float64 `json:"nps"`
	NPSResponses int     `json:"nps_responses"`
	Referrals    int     `json:"referrals"`     // events named 'Referral Sent'
	SocialShares int     `json:"social_shares"` // events named 'Social Share', 'Product Shared' or 'Content Shared'
}

// KPIs are the stages' values by the names of the KPIs of `report stages`
// (sql/queries/stages.sql), counts as float64 as that report gives them.
func (s Stages) KPIs() map[string]float64 {
	return map[string]float64{
		"ad_impressions": float64(s.AdImpressions), "ad_clicks": float64(s.AdClicks), "ctr": s.CTR,
		"leads": float64(s.Leads),
		"csat":  s.CSAT, "csat_responses": float64(s.CSATResponses),
		"nps": s.NPS, "nps_responses": float64(s.NPSResponses),
		"referrals": float64(s.Referrals), "social_shares": float64(s.SocialShares),
	}
}

// score is the event's properties.score as a number, if it is one or a
// numeric string.
func (e *Event) score() (float64, bool) {
	switch v := e.Properties["score"].(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// wholeIn reports whether the event has a whole-number score in [lo, hi].
func (e *Event) wholeIn(lo, hi float64) (float64, bool) {
	f, ok := e.score()
	return f, ok && f == math.Floor(f) && f >= lo && f <= hi
}

func stages(events []Event) Stages {
	var st Stages
	var csatSatisfied, promoters, detractors int
	for i := range events {
		e := &events[i]
		if e.Type != pipeline.TypeTrack {
			continue
		}
		switch e.Name {
		case "Ad Impression", "Ad Viewed":
			st.AdImpressions++
		case "Ad Clicked":
			st.AdClicks++
		case "Lead Submitted", "Demo Requested", "Trial Started", "Signed Up":
			st.Leads++
		case "CSAT Rated", "CSAT Submitted":
			if f, ok := e.wholeIn(1, 5); ok {
				st.CSATResponses++
				if f >= 4 {
					csatSatisfied++
				}
			}
		case "NPS Rated", "NPS Submitted", "Survey Answered":
			if f, ok := e.wholeIn(0, 10); ok {
				st.NPSResponses++
				if f >= 9 {
					promoters++
				} else if f <= 6 {
					detractors++
				}
			}
		case "Referral Sent":
			st.Referrals++
		case "Social Share", "Product Shared", "Content Shared":
			st.SocialShares++
		}
	}
	st.CTR = ratio(st.AdClicks, st.AdImpressions)
	if st.CSATResponses > 0 {
		st.CSAT = float64(100*csatSatisfied) / float64(st.CSATResponses)
	}
	if st.NPSResponses > 0 {
		st.NPS = float64(100*(promoters-detractors)) / float64(st.NPSResponses)
	}
	return st
}

// Funnel is `report funnel` in mode ordered, counted by visitor.
type Funnel struct {
	WindowSeconds float64      `json:"window_seconds"`
	Steps         []FunnelStep `json:"steps"`
}

// FunnelStep is one step of a funnel. Count is the visitors for whom
// ClickHouse's windowFunnel(window) returns a level >= the step's position.
// ConversionFromStart is count / count of step 1, ConversionFromPrevious is
// count / count of the step before (for step 1: count / count); both are 0
// when the denominator is.
type FunnelStep struct {
	Step                   string  `json:"step"`
	Count                  int     `json:"count"`
	ConversionFromStart    float64 `json:"conversion_from_start"`
	ConversionFromPrevious float64 `json:"conversion_from_previous"`
}

// Abandonment is `report abandonment`.
type Abandonment struct {
	WithinSeconds float64  `json:"within_seconds"`
	Cart          Cart     `json:"cart"`
	Checkout      Checkout `json:"checkout"`
}

// Cart is cart abandonment. A cart is a (visitor, cart_id) with a Product
// Added, or without a cart_id the visitor's session with Product Added. It
// is abandoned when no Order Completed of that cart (same visitor, same
// cart_id; without a cart_id, any order of the visitor) has a time in
// [first Product Added, first Product Added + within], both ends inclusive;
// an abandoned cart is recovered when such an order comes later.
// AbandonmentRate = Abandoned / Carts.
type Cart struct {
	Carts           int     `json:"carts"`
	Abandoned       int     `json:"abandoned"`
	Recovered       int     `json:"recovered"`
	AbandonmentRate float64 `json:"abandonment_rate"`
}

// Checkout is checkout abandonment: as Cart, with Checkout Started in place
// of Product Added.
type Checkout struct {
	Checkouts       int     `json:"checkouts"`
	Abandoned       int     `json:"abandoned"`
	Recovered       int     `json:"recovered"`
	AbandonmentRate float64 `json:"abandonment_rate"`
}

// TimeOnSite is `report time-on-site` over all sessions.
type TimeOnSite struct {
	Sessions        int       `json:"sessions"`
	DurationSeconds Quantiles `json:"duration_seconds"`
	BounceRate      float64   `json:"bounce_rate"`
	EngagementRate  float64   `json:"engagement_rate"`
}

// Quantiles summarise a set of values. Median and P90 are ClickHouse's
// quantileExact(0.5) and quantileExact(0.9): see QuantileExact.
type Quantiles struct {
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
}

// QuantileExact is ClickHouse's quantileExact(level): the element at
// 0-based position floor(level * n) of the n values sorted ascending (the
// last one for level >= 1); no interpolation, so the median of an even
// number of values is the upper of the two middle ones. 0 for no values.
func QuantileExact(values []float64, level float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	i := len(s) - 1
	if level < 1 {
		i = int(level * float64(len(s)))
	}
	return s[max(i, 0)]
}

// Expected computes the answers for the world: a funnel of steps (nil:
// DefaultSteps) with the conversion window (0: 7 days), and abandonment
// with orders counted within `within` (0: 24 h).
func (w *World) Expected(steps []string, window, within time.Duration) Expected {
	steps, window = funnelDefaults(steps, window)
	if within <= 0 {
		within = DefaultWithin
	}
	visitors, byVisitor := w.visitorEvents()
	x := Expected{Events: len(w.events), EventsByType: map[string]int{}}
	for i := range w.events {
		e := &w.events[i]
		x.EventsByType[e.Type]++
		if e.IsTrack(pipeline.EventOrderCompleted) {
			x.Orders++
			x.Revenue += e.Revenue()
		}
	}
	x.Revenue = math.Round(x.Revenue*100) / 100
	x.Visitors = len(visitors)

	var sessions []sessionStats
	for _, v := range visitors {
		sessions = append(sessions, sessionize(byVisitor[v])...)
	}
	x.Funnel = funnel(visitors, byVisitor, steps, window)
	x.Abandonment = abandonment(visitors, byVisitor, within)
	x.TimeOnSite = timeOnSite(sessions)
	x.Stages = stages(w.events)
	return x
}

// funnelDefaults are steps and window, DefaultSteps and DefaultWindow for
// none.
func funnelDefaults(steps []string, window time.Duration) ([]string, time.Duration) {
	if len(steps) == 0 {
		steps = DefaultSteps
	}
	if window <= 0 {
		window = DefaultWindow
	}
	return steps, window
}

// visitorEvents returns the visitors, sorted, and each one's events in the
// world's order.
func (w *World) visitorEvents() ([]string, map[string][]*Event) {
	byVisitor := map[string][]*Event{}
	var visitors []string
	for i := range w.events {
		e := &w.events[i]
		v := e.Visitor()
		if _, ok := byVisitor[v]; !ok {
			visitors = append(visitors, v)
		}
		byVisitor[v] = append(byVisitor[v], e)
	}
	slices.Sort(visitors)
	return visitors, byVisitor
}

// FunnelWhere is the funnel of steps (DefaultSteps when empty) and window
// (DefaultWindow when 0) over the visitors whose earliest step-1 event
// (by millisecond, ties by message id) has the property key equal to
// value, compared as a string (a string by its value, anything else by its
// JSON text, a missing property as ""): what `touchstream report funnel
// --where key=value` answers (sql/README.md, "Report filters").
func (w *World) FunnelWhere(steps []string, window time.Duration, key, value string) Funnel {
	steps, window = funnelDefaults(steps, window)
	visitors, byVisitor := w.visitorEvents()
	isFirst := stepMatcher(steps[0])
	var kept []string
	for _, v := range visitors {
		var first *Event
		for _, e := range byVisitor[v] {
			if !isFirst(e) {
				continue
			}
			if first == nil || cmp.Or(cmp.Compare(e.Time.UnixMilli(), first.Time.UnixMilli()), cmp.Compare(e.MessageID, first.MessageID)) < 0 {
				first = e
			}
		}
		if first != nil && propertyString(first.Properties[key]) == value {
			kept = append(kept, v)
		}
	}
	return funnel(kept, byVisitor, steps, window)
}

// propertyString is a property value as the report filter compares it.
func propertyString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// sessionStats is a session found by sessionizing, with what time on site needs.
type sessionStats struct {
	visitor    string
	start, end time.Time
	events     []*Event
	views      int
	orders     int
}

func (s *sessionStats) engaged() bool {
	return s.end.Sub(s.start) >= 10*time.Second || s.views >= 2 || s.orders > 0
}

// sessionize splits a visitor's events (in time order) into sessions: a new
// one starts after more than SessionTimeout without an event, or when the
// next event is SessionMaxLength or more after the session's first.
func sessionize(evs []*Event) []sessionStats {
	var out []sessionStats
	for _, e := range evs {
		n := len(out)
		if n == 0 || e.Time.Sub(out[n-1].end) > SessionTimeout || e.Time.Sub(out[n-1].start) >= SessionMaxLength {
			out = append(out, sessionStats{visitor: e.Visitor(), start: e.Time})
			n++
		}
		s := &out[n-1]
		s.end = e.Time
		s.events = append(s.events, e)
		if e.IsView() {
			s.views++
		}
		if e.IsTrack(pipeline.EventOrderCompleted) {
			s.orders++
		}
	}
	return out
}

func timeOnSite(sessions []sessionStats) TimeOnSite {
	t := TimeOnSite{Sessions: len(sessions)}
	if len(sessions) == 0 {
		return t
	}
	durations := make([]float64, len(sessions))
	var sum float64
	engaged := 0
	for i := range sessions {
		s := &sessions[i]
		durations[i] = float64(s.end.Sub(s.start).Milliseconds()) / 1000
		sum += durations[i]
		if s.engaged() {
			engaged++
		}
	}
	t.DurationSeconds = Quantiles{
		Mean:   sum / float64(len(sessions)),
		Median: QuantileExact(durations, 0.5),
		P90:    QuantileExact(durations, 0.9),
	}
	t.EngagementRate = float64(engaged) / float64(len(sessions))
	t.BounceRate = 1 - t.EngagementRate
	return t
}

// stepMatcher says whether an event counts as a funnel step: "A|B" is A or
// B; "page:/path/*" is a page or screen view whose path matches the pattern
// (* matches any run of characters, / included, as SQL LIKE's %); anything
// else is an event name (a track event's name, a page's name).
func stepMatcher(step string) func(*Event) bool {
	var alts []func(*Event) bool
	for a := range strings.SplitSeq(step, "|") {
		a = strings.TrimSpace(a)
		if pat, ok := strings.CutPrefix(a, "page:"); ok {
			alts = append(alts, func(e *Event) bool { return e.IsView() && globMatch(pat, e.Page.Path) })
		} else {
			alts = append(alts, func(e *Event) bool { return e.Type != pipeline.TypeIdentify && e.Name == a })
		}
	}
	return func(e *Event) bool {
		for _, m := range alts {
			if m(e) {
				return true
			}
		}
		return false
	}
}

// globMatch matches s against pattern where * is any run of characters.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// stepEvent is one (event time, step) pair windowFunnel sees: an event
// matching several steps gives one pair per step.
type stepEvent struct {
	ms   int64 // event time, Unix milliseconds
	step int   // 1-based
}

// windowFunnelLevel is ClickHouse's windowFunnel(window)(t, cond1..condN)
// in its default mode (no strict_* options), over one visitor's matching
// events. The pairs are sorted by (time, step); a step-1 event (re)starts a
// chain at its time; a step-k event extends a chain that has reached step
// k-1 when it is at most window after that chain's step-1 time; the answer
// is the highest step any chain reached. With a single step, any matching
// event gives 1.
func windowFunnelLevel(evs []stepEvent, steps int, window time.Duration) int {
	if len(evs) == 0 {
		return 0
	}
	if steps == 1 {
		return 1
	}
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b stepEvent) int {
		return cmp.Or(cmp.Compare(a.ms, b.ms), cmp.Compare(a.step, b.step))
	})
	win := window.Milliseconds()
	first := make([]int64, steps) // first[k]: step-1 time of the chain that reached step k+1
	reached := make([]bool, steps)
	for _, e := range evs {
		k := e.step - 1
		if k == 0 {
			first[0], reached[0] = e.ms, true
			continue
		}
		if reached[k-1] && e.ms <= first[k-1]+win {
			first[k], reached[k] = first[k-1], true
			if k+1 == steps {
				return steps
			}
		}
	}
	for k := steps; k > 0; k-- {
		if reached[k-1] {
			return k
		}
	}
	return 0
}

func funnel(visitors []string, byVisitor map[string][]*Event, steps []string, window time.Duration) Funnel {
	match := make([]func(*Event) bool, len(steps))
	for i, s := range steps {
		match[i] = stepMatcher(s)
	}
	reached := make([]int, len(steps)+1) // reached[k]: visitors at level exactly k
	for _, v := range visitors {
		var evs []stepEvent
		for _, e := range byVisitor[v] {
			for i, m := range match {
				if m(e) {
					evs = append(evs, stepEvent{ms: e.Time.UnixMilli(), step: i + 1})
				}
			}
		}
		reached[windowFunnelLevel(evs, len(steps), window)]++
	}
	f := Funnel{WindowSeconds: window.Seconds()}
	atLeast := 0
	counts := make([]int, len(steps))
	for k := len(steps); k >= 1; k-- {
		atLeast += reached[k]
		counts[k-1] = atLeast
	}
	for i, s := range steps {
		st := FunnelStep{Step: s, Count: counts[i]}
		st.ConversionFromStart = ratio(counts[i], counts[0])
		if i == 0 {
			st.ConversionFromPrevious = ratio(counts[0], counts[0])
		} else {
			st.ConversionFromPrevious = ratio(counts[i], counts[i-1])
		}
		f.Steps = append(f.Steps, st)
	}
	return f
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// abandonmentCount is what cart and checkout abandonment share.
type abandonmentCount struct{ total, abandoned, recovered int }

func abandonment(visitors []string, byVisitor map[string][]*Event, within time.Duration) Abandonment {
	var cart, checkout abandonmentCount
	for _, v := range visitors {
		evs := byVisitor[v]
		cart.add(countAbandoned(evs, pipeline.EventProductAdded, within))
		checkout.add(countAbandoned(evs, pipeline.EventCheckoutStarted, within))
	}
	return Abandonment{
		WithinSeconds: within.Seconds(),
		Cart: Cart{Carts: cart.total, Abandoned: cart.abandoned, Recovered: cart.recovered,
			AbandonmentRate: ratio(cart.abandoned, cart.total)},
		Checkout: Checkout{Checkouts: checkout.total, Abandoned: checkout.abandoned, Recovered: checkout.recovered,
			AbandonmentRate: ratio(checkout.abandoned, checkout.total)},
	}
}

func (a *abandonmentCount) add(b abandonmentCount) {
	a.total += b.total
	a.abandoned += b.abandoned
	a.recovered += b.recovered
}

// countAbandoned counts one visitor's carts (keyed by the first event named
// start) and how many are abandoned and recovered.
func countAbandoned(evs []*Event, start string, within time.Duration) abandonmentCount {
	type cart struct {
		first  time.Time
		cartID string // "" for a cart known by its session
	}
	var carts []cart
	seen := map[string]bool{}
	sessions := sessionize(evs)
	for si := range sessions {
		for _, e := range sessions[si].events {
			if !e.IsTrack(start) {
				continue
			}
			key := "cart:" + e.CartID()
			if e.CartID() == "" {
				key = "session:" + sessions[si].start.String()
			}
			if !seen[key] {
				seen[key] = true
				carts = append(carts, cart{first: e.Time, cartID: e.CartID()})
			}
		}
	}
	var n abandonmentCount
	for _, c := range carts {
		n.total++
		inTime, later := false, false
		for _, e := range evs {
			if !e.IsTrack(pipeline.EventOrderCompleted) || (c.cartID != "" && e.CartID() != c.cartID) || e.Time.Before(c.first) {
				continue
			}
			if e.Time.Sub(c.first) <= within {
				inTime = true
			} else {
				later = true
			}
		}
		if !inTime {
			n.abandoned++
			if later {
				n.recovered++
			}
		}
	}
	return n
}
