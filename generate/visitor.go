package generate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// The shop the generated visitors browse.
const site = "https://shop.example"

// Drop-off between the steps of a browsing session.
const (
	pViewProduct   = 0.60 // a session views at least one product
	pAddToCart     = 0.35 // ... of those, adds to a cart
	pStartCheckout = 0.60 // ... of those, starts the checkout
	pOrder         = 0.65 // ... of those, orders
	pRecover       = 0.45 // an abandoned cart is ordered in the visitor's next session
	pCampaign      = 0.30 // a browsing session comes from a UTM campaign
	pBounce        = 0.70 // a session that views no product leaves after one page
	pIdentify      = 0.30 // a visitor logs in (identify) in a session of two or more events
	pIdentifyOrder = 0.90 // a visitor starting a checkout identifies (enters an email)
)

// Gaps between a session's events, and between sessions.
const (
	minGap        = 5 * time.Second
	maxGap        = 10 * time.Minute
	meanExtraGap  = 50 * time.Second
	minSessionGap = 2 * time.Hour // more than this between a visitor's sessions
)

var campaigns = []struct {
	Campaign
	referrer string
}{
	{Campaign{"google", "cpc", "spring_sale"}, "https://www.google.com/"},
	{Campaign{"facebook", "paid_social", "retargeting"}, "https://l.facebook.com/"},
	{Campaign{"newsletter", "email", "weekly_picks"}, ""},
	{Campaign{"instagram", "social", "creator_collab"}, "https://l.instagram.com/"},
}

var recoveryCampaign = Campaign{"newsletter", "email", "cart_recovery"}

// The omnichannel part of the world: ads, leads and what customers do after
// their first order. It draws on its own random source (visitorSim.omni), so
// the browsing and buying drawn from the visitor's main source stay the same.
const (
	pAd           = 0.70 // a paid (cpc, paid social, display) session starts with an ad impression and click
	pAdSeenBefore = 0.40 // ... after an earlier impression of the same ad
	pDisplay      = 0.35 // a cpc session comes from the display network instead
	pLead         = 0.10 // a visitor submits a lead form or requests a demo in the first session
	pFollowUp     = 0.80 // a customer opens the post-purchase email in a later session
	pNPS          = 0.55 // ... and answers the NPS question in it
	pShare        = 0.35 // ... and refers a friend or shares a product
	pSupport      = 0.30 // a customer chats with support in a later session
	pCSAT         = 0.85 // ... and rates the chat
)

var displayCampaign = Campaign{"google", "display", "spring_banners"}

const displayReferrer = "https://googleads.g.doubleclick.net/"

var followUpCampaign = Campaign{"newsletter", "email", "order_followup"}

// npsScores and csatScores are the weights of the scores 0-10 and 1-5.
var (
	npsScores  = []float64{2, 1, 1, 1, 2, 3, 5, 12, 18, 25, 30}
	csatScores = []float64{0, 6, 7, 12, 30, 45}
)

func pickWeighted(r *rand.Rand, weights []float64) int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	u := r.Float64() * sum
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
}

type product struct {
	SKU, Name, Category string
	Price               float64
}

func (p product) props() map[string]any {
	return map[string]any{
		"product_id": p.SKU, "sku": p.SKU, "name": p.Name, "category": p.Category,
		"price": p.Price, "currency": "USD",
	}
}

type catalog struct {
	products   []product
	categories []string
}

// newCatalog is a fixed list of 48 products in 4 categories.
func newCatalog() *catalog {
	cats := []string{"shoes", "bags", "jackets", "hats"}
	adjs := []string{"Classic", "Trail", "Urban", "Canvas", "Leather", "Merino", "Storm", "Weekend", "Alpine", "Studio", "Harbor", "Desert"}
	nouns := map[string]string{"shoes": "Sneaker", "bags": "Tote", "jackets": "Parka", "hats": "Beanie"}
	c := &catalog{categories: cats}
	for i := range 48 {
		cat := cats[i%len(cats)]
		c.products = append(c.products, product{
			SKU:      fmt.Sprintf("sku-%03d", i+1),
			Name:     adjs[i/len(cats)] + " " + nouns[cat],
			Category: cat,
			Price:    float64(15+(i*37)%160) + 0.99,
		})
	}
	return c
}

// openCart is a cart of the visitor's that has no order yet.
type openCart struct {
	id      string
	session int // the session it was filled in
	added   time.Time
	items   []product
}

// visitorSim simulates one visitor. Its random source is seeded from
// (Seed, visitor number), so a visitor's events do not depend on how many
// other visitors there are.
type visitorSim struct {
	cfg      Config
	cat      *catalog
	rng      *rand.Rand
	n        int
	anon     string
	user     string
	ua       string
	logsIn   bool // identifies in a session of two or more events
	noOrders bool // an abandoned cart will never be ordered: order nothing more
	// omni draws the omnichannel events (ads, leads, follow-ups), so that
	// adding them leaves the draws of rng as they were.
	omni       *rand.Rand
	lead       string // "Lead Submitted", "Demo Requested" or "" (none)
	followedUp bool   // the follow-ups of the first order are generated
	// touch draws the email and SMS clicks (flows.go), so that adding them
	// leaves the draws of rng and omni as they were.
	touch    *rand.Rand
	clicked  bool // the visitor's one click on an email or SMS link is generated
	events   []Event
	sessions []Session
}

func newVisitorSim(cfg Config, cat *catalog, n int) *visitorSim {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(n)))
	s := &visitorSim{cfg: cfg, cat: cat, rng: rng, n: n, anon: fmt.Sprintf("v-%d", n)}
	s.ua = userAgents[rng.IntN(len(userAgents))]
	s.logsIn = rng.Float64() < pIdentify
	s.omni = rand.New(rand.NewPCG(uint64(cfg.Seed)^0x6f6d6e6963680000, uint64(n)))
	s.touch = rand.New(rand.NewPCG(uint64(cfg.Seed)^0x746f756368000000, uint64(n)))
	if s.omni.Float64() < pLead {
		s.lead = "Lead Submitted"
		if s.omni.Float64() < 0.4 {
			s.lead = "Demo Requested"
		}
	}
	return s
}

// uniformOmni is uniform drawing on omni.
func (s *visitorSim) uniformOmni(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return (lo + time.Duration(s.omni.Int64N(int64(hi-lo)))).Truncate(time.Millisecond)
}

func (s *visitorSim) uniform(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return (lo + time.Duration(s.rng.Int64N(int64(hi-lo)))).Truncate(time.Millisecond)
}

// run generates the visitor's 1-4 sessions. Each is more than 2 hours after
// the one before; a session that would end after the range is dropped, and
// so are the ones after it.
func (s *visitorSim) run() {
	span := time.Duration(s.cfg.Days) * 24 * time.Hour
	k := 1
	switch r := s.rng.Float64(); {
	case r < 0.10:
		k = 4
	case r < 0.25:
		k = 3
	case r < 0.55:
		k = 2
	}
	planned := make([]time.Duration, k, 4)
	for i := range planned {
		planned[i] = s.uniform(0, span-3*time.Hour)
	}
	slices.Sort(planned)

	var prevEnd time.Time
	var recover *openCart
	var recoverWithin bool
	for i := 0; i < k; i++ {
		start := s.cfg.Start.Add(planned[i])
		if recover != nil {
			// The order comes within 24 h of the first Product Added (at
			// most 20 h 40 min after), or clearly after (28 h or more).
			if recoverWithin {
				start = recover.added.Add(s.uniform(3*time.Hour, 20*time.Hour))
			} else {
				start = recover.added.Add(s.uniform(28*time.Hour, 96*time.Hour))
			}
		}
		if i > 0 {
			if earliest := prevEnd.Add(minSessionGap + s.uniform(time.Minute, 30*time.Minute)); start.Before(earliest) {
				start = earliest
			}
		}
		b := &sessionBuilder{s: s, idx: i + 1, t: start}
		var abandoned *openCart
		if recover != nil {
			b.recovery(recover)
			recover = nil
		} else {
			abandoned = b.browse()
			if i == 0 && s.lead != "" {
				b.leadForm(s.lead)
			}
		}
		if !b.events[len(b.events)-1].Time.Before(s.cfg.End()) {
			break
		}
		s.finish(b)
		prevEnd = b.events[len(b.events)-1].Time
		if !s.followedUp && slices.ContainsFunc(b.events, func(e Event) bool { return e.IsTrack(pipeline.EventOrderCompleted) }) {
			s.followedUp = true
			prevEnd = s.followUps(b, prevEnd)
		}
		if abandoned != nil {
			if !s.noOrders && s.rng.Float64() < pRecover && (i+1 < k || k < 4) {
				if i+1 == k {
					k++
					planned = append(planned, planned[i])
				}
				recover, recoverWithin = abandoned, s.rng.Float64() < 0.5
			} else {
				// Never ordered: order nothing more, so that "an order by
				// the same visitor" and "an order of this cart" agree.
				s.noOrders = true
			}
		}
	}
}

// finish adds the identify call if due, engagement times and message ids,
// and keeps the session.
func (s *visitorSim) finish(b *sessionBuilder) {
	evs := b.events
	if s.user == "" && len(evs) >= 2 {
		at := -1
		if i := slices.IndexFunc(evs, func(e Event) bool { return e.IsTrack(pipeline.EventCheckoutStarted) }); i > 0 && s.rng.Float64() < pIdentifyOrder {
			at = i
		} else if s.logsIn {
			// After the first page view (an ad's events come before it).
			if v := slices.IndexFunc(evs, func(e Event) bool { return e.IsView() }); v >= 0 && v+1 < len(evs) {
				at = v + 1
			}
		}
		if at > 0 {
			// Half-way between two events, so it changes neither the
			// session's bounds nor its page views.
			prev, next := evs[at-1], evs[at]
			t := prev.Time.Add(next.Time.Sub(prev.Time) / 2).Truncate(time.Millisecond)
			s.user = fmt.Sprintf("u-%d", s.n)
			id := Event{
				Type: pipeline.TypeIdentify, Time: t, AnonymousID: s.anon, UserID: s.user,
				Page: prev.Page, Campaign: prev.Campaign, UserAgent: s.ua,
				Properties: map[string]any{"email": fmt.Sprintf("visitor%d@example.com", s.n), "first_name": fmt.Sprintf("Visitor %d", s.n)},
			}
			evs = slices.Insert(evs, at, id)
			for i := at + 1; i < len(evs); i++ {
				evs[i].UserID = s.user
			}
		}
	}
	sess := Session{Visitor: s.anon, Start: evs[0].Time, End: evs[len(evs)-1].Time, Events: len(evs)}
	for i := range evs {
		e := &evs[i]
		if e.IsView() {
			sess.PageViews++
			// Engaged time on the page: part of the time until the next
			// event, or a little for the session's last page.
			var ms int64
			if i+1 < len(evs) {
				ms = int64(float64(evs[i+1].Time.Sub(e.Time).Milliseconds()) * (0.4 + 0.55*s.rng.Float64()))
			} else {
				ms = 1000 + s.rng.Int64N(19000)
			}
			e.Properties["engagement_time_msec"] = ms
		}
		if e.IsTrack(pipeline.EventOrderCompleted) {
			sess.Orders++
		}
		e.MessageID = fmt.Sprintf("m-%d-%s-%dd-%d-%d", s.cfg.Seed, s.cfg.Start.Format("20060102"), s.cfg.Days, s.n, len(s.events)+1)
		s.events = append(s.events, *e)
	}
	s.sessions = append(s.sessions, sess)
	s.keepClicks(b.clicks)
}

func (s *visitorSim) pickProduct() product {
	u := s.rng.Float64()
	return s.cat.products[int(float64(len(s.cat.products))*u*u)]
}

// sessionBuilder appends a session's events, advancing its clock.
type sessionBuilder struct {
	s        *visitorSim
	idx      int // the visitor's session number, from 1
	t        time.Time
	campaign *Campaign
	referrer string // of the landing page
	page     Page
	events   []Event
	clicks   []Event // email and SMS link clicks that brought the session (flows.go)
}

// wait advances the clock by a navigation gap: 5 s plus an exponential
// part, at most 10 min.
func (b *sessionBuilder) wait() {
	d := minGap + time.Duration(b.s.rng.ExpFloat64()*float64(meanExtraGap))
	b.t = b.t.Add(min(d, maxGap).Truncate(time.Millisecond))
}

// waitShort advances the clock by 5-9 s (a track call on the page just viewed).
func (b *sessionBuilder) waitShort() { b.t = b.t.Add(b.s.uniform(minGap, 9*time.Second)) }

func (b *sessionBuilder) view(name, path, title string) {
	p := Page{Path: path, Title: title + " | Shop Example"}
	if b.page.URL == "" { // the landing page
		p.Referrer = b.referrer
		if c := b.campaign; c != nil {
			p.Search = fmt.Sprintf("?utm_source=%s&utm_medium=%s&utm_campaign=%s", c.Source, c.Medium, c.Name)
		}
	} else {
		p.Referrer = b.page.URL
	}
	p.URL = site + path + p.Search
	b.page = p
	b.emit(pipeline.TypePage, name, map[string]any{})
}

func (b *sessionBuilder) track(name string, props map[string]any) {
	b.emit(pipeline.TypeTrack, name, props)
}

func (b *sessionBuilder) emit(typ, name string, props map[string]any) {
	b.events = append(b.events, Event{
		Type: typ, Name: name, Time: b.t, AnonymousID: b.s.anon, UserID: b.s.user,
		Page: b.page, Campaign: b.campaign, UserAgent: b.s.ua, Properties: props,
	})
}

func (b *sessionBuilder) viewProduct(p product) {
	b.view("Product", "/products/"+p.SKU, p.Name)
	b.waitShort()
	b.track(pipeline.EventProductViewed, p.props())
}

func (b *sessionBuilder) landing() {
	s := b.s
	switch r := s.rng.Float64(); {
	case r < 0.45:
		b.view("Home", "/", "Home")
	case r < 0.75:
		c := s.cat.categories[s.rng.IntN(len(s.cat.categories))]
		b.view("Category", "/c/"+c, c)
	default:
		n := 1 + s.rng.IntN(12)
		b.view("Blog", fmt.Sprintf("/blog/post-%d", n), fmt.Sprintf("Journal %d", n))
	}
}

func cartProps(c *openCart) (total float64, items []any) {
	for _, p := range c.items {
		total += p.Price
		items = append(items, map[string]any{"product_id": p.SKU, "sku": p.SKU, "price": p.Price, "quantity": 1})
	}
	return math.Round(total*100) / 100, items
}

func (b *sessionBuilder) checkout(c *openCart) {
	b.view("Checkout", "/checkout", "Checkout")
	b.waitShort()
	total, items := cartProps(c)
	b.track(pipeline.EventCheckoutStarted, map[string]any{"cart_id": c.id, "value": total, "currency": "USD", "products": items})
}

func (b *sessionBuilder) order(c *openCart) {
	total, items := cartProps(c)
	b.track(pipeline.EventOrderCompleted, map[string]any{
		"order_id": fmt.Sprintf("order-%d-%d", b.s.n, c.session), "cart_id": c.id,
		"revenue": total, "total": total, "currency": "USD", "products": items,
	})
	b.waitShort()
	b.view("Order Confirmation", "/checkout/complete", "Thank you")
}

// browse generates an ordinary session; it returns the cart filled and not
// ordered in it, if any.
func (b *sessionBuilder) browse() *openCart {
	s := b.s
	if s.rng.Float64() < pCampaign {
		c := campaigns[s.rng.IntN(len(campaigns))]
		b.campaign, b.referrer = &c.Campaign, c.referrer
		if c.Medium == "cpc" && s.omni.Float64() < pDisplay {
			b.campaign, b.referrer = &displayCampaign, displayReferrer
		}
		if b.campaign.Medium != "email" && b.campaign.Medium != "social" && s.omni.Float64() < pAd {
			b.ad()
		}
	} else if s.rng.Float64() < 0.4 {
		b.referrer = "https://www.google.com/"
	}
	if s.rng.Float64() >= pViewProduct {
		b.landing()
		if s.rng.Float64() >= pBounce {
			for range 1 + s.rng.IntN(3) {
				b.wait()
				b.landing()
			}
		}
		return nil
	}
	n := 1
	if r := s.rng.Float64(); r < 0.15 {
		n = 3
	} else if r < 0.45 {
		n = 2
	}
	landOnProduct := s.rng.Float64() < 0.3
	if b.campaign != nil {
		landOnProduct = s.rng.Float64() < 0.6
	}
	if !landOnProduct {
		b.landing()
		b.wait()
	}
	viewed := make([]product, n)
	for i := range viewed {
		if i > 0 {
			b.wait()
		}
		viewed[i] = s.pickProduct()
		b.viewProduct(viewed[i])
	}
	if s.rng.Float64() >= pAddToCart {
		return nil
	}
	c := &openCart{id: fmt.Sprintf("cart-%d-%d", s.n, b.idx), session: b.idx}
	add := func(p product) {
		b.wait()
		props := p.props()
		props["cart_id"], props["quantity"] = c.id, 1
		b.track(pipeline.EventProductAdded, props)
		if c.added.IsZero() {
			c.added = b.t
		}
		c.items = append(c.items, p)
	}
	add(viewed[n-1])
	if n > 1 && s.rng.Float64() < 0.25 {
		add(viewed[0])
	}
	b.wait()
	b.view("Cart", "/cart", "Your cart")
	if s.rng.Float64() >= pStartCheckout {
		return c
	}
	b.wait()
	b.checkout(c)
	if s.noOrders || s.rng.Float64() >= pOrder {
		return c
	}
	b.wait()
	b.order(c)
	return nil
}

// recovery generates the session in which an abandoned cart is ordered: the
// visitor follows a cart-recovery email to the cart and checks out.
func (b *sessionBuilder) recovery(c *openCart) {
	b.remind()
	b.view("Cart", "/cart", "Your cart")
	b.wait()
	b.checkout(c)
	b.wait()
	b.order(c)
}

// waitOmni advances the clock by lo-hi drawn on omni.
func (b *sessionBuilder) waitOmni(lo, hi time.Duration) { b.t = b.t.Add(b.s.uniformOmni(lo, hi)) }

// ad starts a paid session: the ad's impression (after an earlier one,
// sometimes) and the click that brings the visitor to the landing page.
func (b *sessionBuilder) ad() {
	s, c := b.s, b.campaign
	props := func() map[string]any {
		return map[string]any{
			"touchpoint": pipeline.TouchpointWeb, "ad_id": fmt.Sprintf("ad-%s-%d", c.Name, 1+s.n%5),
			"network": c.Source, "campaign": c.Name, "medium": c.Medium,
		}
	}
	if s.omni.Float64() < pAdSeenBefore {
		b.track("Ad Impression", props())
		b.waitOmni(time.Minute, 8*time.Minute)
	}
	b.track("Ad Impression", props())
	b.waitOmni(2*time.Second, 20*time.Second)
	b.track("Ad Clicked", props())
	b.waitOmni(time.Second, 4*time.Second)
}

// leadForm ends a session with a lead form or a demo request.
func (b *sessionBuilder) leadForm(name string) {
	b.waitOmni(20*time.Second, 3*time.Minute)
	props := map[string]any{"touchpoint": pipeline.TouchpointWeb}
	if name == "Demo Requested" {
		props["demo"] = "personal styling call"
	} else {
		props["form_id"] = "wholesale_inquiry"
	}
	b.track(name, props)
}
