package triggers

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// DefaultWindow is T of DESIGN.md section 5: an order within it converts
// the cart.
const DefaultWindow = 24 * time.Hour

// ID is the deterministic message id of a trigger: a hash of its kind, the
// visitor and the cart key (the transition's event id for Stage Changed).
func ID(kind, visitor, key string) string {
	h := sha256.New()
	for _, s := range []string{kind, visitor, key} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// StageChanged maps a stage transition to its trigger.
func StageChanged(tr pipeline.StageTransition) pipeline.Trigger {
	return pipeline.Trigger{
		MessageID: ID(pipeline.TriggerStageChanged, tr.VisitorID, tr.MessageID),
		Kind:      pipeline.TriggerStageChanged, VisitorID: tr.VisitorID, UserID: tr.UserID,
		EventTime: tr.EventTime, SessionID: tr.SessionID, FromStage: tr.FromStage, ToStage: tr.ToStage,
		SourceMessageID: tr.MessageID,
	}
}

type flow int

const (
	flowCart flow = iota
	flowCheckout
)

func (f flow) abandoned() string {
	if f == flowCheckout {
		return pipeline.TriggerCheckoutAbandoned
	}
	return pipeline.TriggerCartAbandoned
}

func (f flow) recovered() string {
	if f == flowCheckout {
		return pipeline.TriggerCheckoutRecovered
	}
	return pipeline.TriggerCartRecovered
}

type status int

const (
	pending status = iota
	converted
	abandoned
	recovered
)

// cart is one cart (or checkout) of a visitor.
type cart struct {
	flow      flow
	visitor   string
	key       string // cart_id, else "session:" + session id
	cartID    string
	sessionID string
	start     time.Time // first Product Added / Checkout Started
	latest    time.Time // checkout: time of the Checkout Started whose value is kept
	value     float64
	currency  string
	items     []string
	source    string              // message id of the first event
	msgs      map[string]struct{} // events folded in (duplicates are ignored)
	status    status
	idx       int // in the deadline heap while pending, else -1
}

type order struct {
	t       time.Time
	id, msg string
}

type visitor struct {
	userID string
	carts  map[string]*cart // by flow and key
	orders []order          // in arrival order
}

// Engine holds the carts and orders of a partition's visitors.
type Engine struct {
	window   time.Duration
	visitors map[string]*visitor
	pending  deadlines
}

// New returns an engine with window T (DefaultWindow if <= 0).
func New(window time.Duration) *Engine {
	if window <= 0 {
		window = DefaultWindow
	}
	return &Engine{window: window, visitors: make(map[string]*visitor)}
}

// Window returns T.
func (g *Engine) Window() time.Duration { return g.window }

// Event folds one event into the state: first it advances to watermark
// (the partition's newest event time including e), then it applies e.
// sessionID is the session e belongs to now (the cart key when e has no
// cart_id; "" leaves such a cart out). Call it once per event after
// deduplication, in partition order. It returns the triggers due.
func (g *Engine) Event(e *pipeline.Event, sessionID string, watermark time.Time) []pipeline.Trigger {
	out := g.Advance(watermark)
	if e.Type != pipeline.TypeTrack {
		if e.UserID != "" {
			if v := g.visitors[e.VisitorID]; v != nil {
				v.userID = e.UserID
			}
		}
		return out
	}
	switch e.EventName {
	case pipeline.EventProductAdded:
		out = g.addCart(out, flowCart, e, sessionID, watermark)
	case pipeline.EventCheckoutStarted:
		out = g.addCart(out, flowCheckout, e, sessionID, watermark)
	case pipeline.EventOrderCompleted:
		out = g.order(out, e)
	default:
		if e.UserID != "" {
			if v := g.visitors[e.VisitorID]; v != nil {
				v.userID = e.UserID
			}
		}
	}
	return out
}

func (g *Engine) visitor(e *pipeline.Event) *visitor {
	v := g.visitors[e.VisitorID]
	if v == nil {
		v = &visitor{carts: make(map[string]*cart)}
		g.visitors[e.VisitorID] = v
	}
	if e.UserID != "" {
		v.userID = e.UserID
	}
	return v
}

func (g *Engine) addCart(out []pipeline.Trigger, f flow, e *pipeline.Event, sessionID string, watermark time.Time) []pipeline.Trigger {
	key := e.CartID
	if key == "" {
		if sessionID == "" {
			return out
		}
		key = "session:" + sessionID
	}
	v := g.visitor(e)
	mk := strconv.Itoa(int(f)) + "|" + key
	c := v.carts[mk]
	if c == nil {
		c = &cart{flow: f, visitor: e.VisitorID, key: key, cartID: e.CartID, sessionID: sessionID,
			start: e.EventTime, source: e.MessageID, msgs: make(map[string]struct{}), idx: -1}
		v.carts[mk] = c
		heap.Push(&g.pending, c)
	}
	if c.status != pending {
		return out // each cart counts once: a closed cart takes nothing more
	}
	if _, dup := c.msgs[e.MessageID]; dup {
		return out
	}
	c.msgs[e.MessageID] = struct{}{}
	if e.EventTime.Before(c.start) { // out of order: the cart began earlier
		c.start, c.source = e.EventTime, e.MessageID
		heap.Fix(&g.pending, c.idx)
	}
	if e.Currency != "" && c.currency == "" {
		c.currency = e.Currency
	}
	value, items := contents(e)
	if f == flowCheckout {
		// A checkout is its newest Checkout Started's contents.
		if c.latest.IsZero() || !e.EventTime.Before(c.latest) {
			c.latest, c.value, c.items = e.EventTime, value, nil
			c.items = appendNew(c.items, items)
		}
	} else {
		c.value += value
		c.items = appendNew(c.items, items)
	}
	// An order that arrived earlier may convert it.
	for _, o := range v.orders {
		if !o.t.Before(c.start) && !o.t.After(c.start.Add(g.window)) {
			heap.Remove(&g.pending, c.idx)
			c.close(converted)
			return out
		}
	}
	return append(out, g.Advance(watermark)...)
}

func (g *Engine) order(out []pipeline.Trigger, e *pipeline.Event) []pipeline.Trigger {
	v := g.visitor(e)
	for _, o := range v.orders {
		if o.msg == e.MessageID {
			return out // a duplicate
		}
	}
	o := order{t: e.EventTime, id: e.OrderID, msg: e.MessageID}
	v.orders = append(v.orders, o)
	for _, c := range v.sortedCarts() {
		if o.t.Before(c.start) {
			continue // an order before the cart does not close it
		}
		switch c.status {
		case pending:
			if !o.t.After(c.start.Add(g.window)) {
				heap.Remove(&g.pending, c.idx)
				c.close(converted)
			}
		case abandoned:
			out = append(out, g.trigger(c, v, c.flow.recovered(), o))
			c.close(recovered)
		}
	}
	return out
}

// Advance emits the abandonment of every pending cart whose window ended
// before watermark, in deadline order.
func (g *Engine) Advance(watermark time.Time) []pipeline.Trigger {
	var out []pipeline.Trigger
	for len(g.pending) > 0 {
		c := g.pending[0]
		deadline := c.start.Add(g.window)
		if !watermark.After(deadline) {
			break
		}
		heap.Pop(&g.pending)
		v := g.visitors[c.visitor]
		out = append(out, g.trigger(c, v, c.flow.abandoned(), order{}))
		c.close(abandoned)
		// An order after T that arrived earlier recovers it at once.
		for _, o := range v.orders {
			if o.t.After(deadline) {
				out = append(out, g.trigger(c, v, c.flow.recovered(), o))
				c.close(recovered)
				break
			}
		}
	}
	return out
}

func (g *Engine) trigger(c *cart, v *visitor, kind string, o order) pipeline.Trigger {
	t := pipeline.Trigger{
		MessageID: ID(kind, c.visitor, c.key), Kind: kind, VisitorID: c.visitor, UserID: v.userID,
		EventTime: c.start.Add(g.window), CartKey: c.key, CartID: c.cartID, SessionID: c.sessionID,
		StartedAt: c.start, Value: c.value, Currency: c.currency, Items: append([]string(nil), c.items...),
		SourceMessageID: c.source,
	}
	if o.msg != "" {
		t.EventTime, t.OrderID, t.SourceMessageID = o.t, o.id, o.msg
	}
	return t
}

// Visitors returns how many visitors the engine holds.
func (g *Engine) Visitors() int { return len(g.visitors) }

// Retain drops the visitors keep says no to, with their carts (pending
// ones are dropped without a trigger).
func (g *Engine) Retain(keep func(visitor string) bool) {
	for id := range g.visitors {
		if !keep(id) {
			g.Forget(id)
		}
	}
}

// Forget drops a visitor with its carts and orders (pending carts without
// a trigger); a later event of the visitor starts afresh. The processor
// forgets a visitor when it drops the visitor's other state (idle for
// longer than the lateness allowance), which is never before its carts'
// windows ended when the window does not exceed the allowance.
func (g *Engine) Forget(visitor string) {
	v := g.visitors[visitor]
	if v == nil {
		return
	}
	for _, c := range v.carts {
		if c.idx >= 0 {
			heap.Remove(&g.pending, c.idx)
		}
	}
	delete(g.visitors, visitor)
}

// close ends a pending cart (or recovers an abandoned one). A closed cart
// takes no more events, so the message ids it held go; only an abandoned
// one keeps its contents, for the Recovered trigger an order may still
// make.
func (c *cart) close(s status) {
	c.status, c.msgs = s, nil
	if s != abandoned {
		c.items = nil
	}
}

// sortedCarts returns the visitor's carts in a deterministic order.
func (v *visitor) sortedCarts() []*cart {
	cs := make([]*cart, 0, len(v.carts))
	for _, c := range v.carts {
		cs = append(cs, c)
	}
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && less(cs[j], cs[j-1]); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
	return cs
}

func less(a, b *cart) bool {
	if !a.start.Equal(b.start) {
		return a.start.Before(b.start)
	}
	if a.visitor != b.visitor {
		return a.visitor < b.visitor
	}
	if a.flow != b.flow {
		return a.flow < b.flow
	}
	return a.key < b.key
}

// deadlines is a min-heap of pending carts by start (hence deadline).
type deadlines []*cart

func (h deadlines) Len() int           { return len(h) }
func (h deadlines) Less(i, j int) bool { return less(h[i], h[j]) }
func (h deadlines) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *deadlines) Push(x any) {
	c := x.(*cart)
	c.idx = len(*h)
	*h = append(*h, c)
}
func (h *deadlines) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.idx = -1
	return c
}

func appendNew(dst, items []string) []string {
	for _, it := range items {
		seen := false
		for _, d := range dst {
			if d == it {
				seen = true
				break
			}
		}
		if !seen {
			dst = append(dst, it)
		}
	}
	return dst
}

// product is a product in Segment's e-commerce properties.
type product struct {
	ProductID json.RawMessage `json:"product_id"`
	SKU       json.RawMessage `json:"sku"`
	Price     json.RawMessage `json:"price"`
	Quantity  json.RawMessage `json:"quantity"`
}

// contents returns the value and product ids an event adds to its cart:
// price*quantity (quantity 1 if absent) of the product, else of the
// products list, else the revenue (or properties.value).
func contents(e *pipeline.Event) (float64, []string) {
	var p struct {
		product
		Value    json.RawMessage `json:"value"`
		Products []product       `json:"products"`
	}
	if len(e.Properties) > 0 {
		_ = json.Unmarshal(e.Properties, &p)
	}
	var items []string
	sum, priced := 0.0, false
	for _, pr := range append([]product{p.product}, p.Products...) {
		if id := idOf(pr.ProductID); id != "" {
			items = append(items, id)
		} else if id := idOf(pr.SKU); id != "" {
			items = append(items, id)
		}
		if price, ok := num(pr.Price); ok {
			q, ok := num(pr.Quantity)
			if !ok {
				q = 1
			}
			sum += price * q
			priced = true
		}
	}
	switch {
	case e.Revenue != 0 && (e.EventName == pipeline.EventCheckoutStarted || !priced):
		return e.Revenue, items
	case priced:
		return sum, items
	}
	if v, ok := num(p.Value); ok {
		return v, items
	}
	return 0, items
}

func num(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, true
		}
	}
	return 0, false
}

func idOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var f json.Number
	if json.Unmarshal(raw, &f) == nil {
		return f.String()
	}
	return ""
}
