package generate

import (
	"fmt"
	"net/url"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// The email and SMS flows of the shop: the post-purchase email (opened
// through the pixel, its review link clicked through the signed redirect)
// and the cart-recovery reminder (by email or SMS, its link clicked through
// the redirect). See Event.Via for how each reaches the collector.
//
// A click is by the message's recipient, the visitor's user id (an email
// or SMS tool knows the person, not the browser), so it is the only event
// of a visitor of its own. A visitor clicks at most once, and only once
// known (identified), so that no answer depends on when the collector
// records the click.
const (
	pReminderSMS   = 0.40 // a cart-recovery reminder goes by SMS instead of email
	pFollowUpClick = 0.45 // a customer clicks the review link of the post-purchase email
)

// smsRecoveryCampaign is the campaign of a cart-recovery reminder by SMS.
var smsRecoveryCampaign = Campaign{"reminder", pipeline.TouchpointSMS, "cart_recovery"}

// Names of the click events, as the collector's redirect records them.
const (
	EventEmailLinkClicked = "Email Link Clicked"
	EventSMSLinkClicked   = "SMS Link Clicked"
)

// utmQuery is the query string of a link of campaign c.
func utmQuery(c *Campaign) string {
	return fmt.Sprintf("?utm_source=%s&utm_medium=%s&utm_campaign=%s", c.Source, c.Medium, c.Name)
}

// uniformTouch is uniform drawing on touch.
func (s *visitorSim) uniformTouch(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return (lo + time.Duration(s.touch.Int64N(int64(hi-lo)))).Truncate(time.Millisecond)
}

// remind starts the session in which an abandoned cart is ordered: the
// visitor comes from the cart-recovery reminder, by email or (to some known
// visitors) by SMS, and a known visitor who has not clicked before clicks
// its link a few seconds before the cart page loads.
func (b *sessionBuilder) remind() {
	s := b.s
	b.campaign = &recoveryCampaign
	if s.user == "" || s.clicked {
		return
	}
	if s.touch.Float64() < pReminderSMS {
		b.campaign = &smsRecoveryCampaign
	}
	b.click(site+"/cart"+utmQuery(b.campaign), b.t.Add(-s.uniformTouch(time.Second, 4*time.Second)))
}

// reviewClick is a click, some of the time, on the review link of the
// post-purchase email just opened.
func (b *sessionBuilder) reviewClick(bought product) {
	s := b.s
	if s.user == "" || s.clicked || s.touch.Float64() >= pFollowUpClick {
		return
	}
	b.click(site+"/products/"+bought.SKU+utmQuery(b.campaign), b.t.Add(s.uniformTouch(10*time.Second, 2*time.Minute)))
}

// click adds the visitor's click at time at on a link of b's campaign (its
// medium is the touchpoint) to target.
func (b *sessionBuilder) click(target string, at time.Time) {
	s, c := b.s, *b.campaign
	s.clicked = true
	name := EventEmailLinkClicked
	if c.Medium == pipeline.TouchpointSMS {
		name = EventSMSLinkClicked
	}
	var path string
	if u, err := url.Parse(target); err == nil {
		path = u.Path
	}
	b.clicks = append(b.clicks, Event{
		Type: pipeline.TypeTrack, Name: name, Time: at, UserID: s.user,
		Page: Page{URL: target, Path: path}, Campaign: &c,
		Properties: map[string]any{"touchpoint": c.Medium, "url": target, "campaign": c.Name},
		Via:        ViaRedirect,
	})
}

// keepClicks adds the clicks of a session kept, each a session of its own
// visitor; a click at or after the end of the range is dropped.
func (s *visitorSim) keepClicks(clicks []Event) {
	for _, c := range clicks {
		if c.Time.Before(s.cfg.Start) || !c.Time.Before(s.cfg.End()) {
			continue
		}
		c.MessageID = fmt.Sprintf("m-%d-%s-%dd-%d-click", s.cfg.Seed, s.cfg.Start.Format("20060102"), s.cfg.Days, s.n)
		s.events = append(s.events, c)
		s.sessions = append(s.sessions, Session{Visitor: c.Visitor(), Start: c.Time, End: c.Time, Events: 1})
	}
}

// followUps generates, after the session b with the visitor's first order
// (ending at end), the sessions that follow it: the post-purchase email
// (with an NPS answer and a referral or share, sometimes) and a support
// chat with its CSAT answer. Each is more than 2 hours after the session
// before; one that would end after the range is dropped with the ones after
// it. It returns the end of the last session kept.
func (s *visitorSim) followUps(b *sessionBuilder, end time.Time) time.Time {
	var orderID string
	var bought product
	for _, e := range b.events {
		if e.IsTrack(pipeline.EventOrderCompleted) {
			orderID, _ = e.Properties["order_id"].(string)
		}
		if e.IsTrack(pipeline.EventProductAdded) || e.IsTrack(pipeline.EventCheckoutStarted) {
			if sku, ok := e.Properties["sku"].(string); ok {
				bought = s.productBySKU(sku)
			}
		}
	}
	if bought.SKU == "" {
		bought = s.cat.products[s.n%len(s.cat.products)]
	}
	var plans []func(*sessionBuilder)
	if s.omni.Float64() < pFollowUp {
		nps, share := s.omni.Float64() < pNPS, s.omni.Float64() < pShare
		plans = append(plans, func(f *sessionBuilder) {
			f.campaign = &followUpCampaign
			f.track("Email Opened", map[string]any{
				"touchpoint": pipeline.TouchpointEmail, "email_id": "post-purchase-" + orderID,
				"subject": "How did we do?", "order_id": orderID,
			})
			f.events[len(f.events)-1].Via = ViaPixel // the open is the email's image
			f.reviewClick(bought)
			if nps {
				f.waitOmni(20*time.Second, 4*time.Minute)
				f.track("NPS Rated", map[string]any{
					"touchpoint": pipeline.TouchpointEmail, "survey_id": "nps-post-purchase",
					"score": pickWeighted(s.omni, npsScores),
				})
			}
			if share {
				f.waitOmni(30*time.Second, 5*time.Minute)
				f.campaign = nil
				props := map[string]any{"touchpoint": pipeline.TouchpointSocial}
				name := "Referral Sent"
				switch r := s.omni.Float64(); {
				case r < 0.4:
					props["referral_code"] = fmt.Sprintf("ref-%d", s.n)
					props["channel"] = "whatsapp"
				case r < 0.75:
					name = "Product Shared"
					props["product_id"], props["sku"], props["share_via"] = bought.SKU, bought.SKU, "pinterest"
				default:
					name = "Social Share"
					props["platform"], props["url"] = "instagram", site+"/products/"+bought.SKU
				}
				f.track(name, props)
			}
		})
	}
	if s.omni.Float64() < pSupport {
		csat := s.omni.Float64() < pCSAT
		plans = append(plans, func(f *sessionBuilder) {
			f.track("Chat Started", map[string]any{"touchpoint": pipeline.TouchpointChat, "topic": "delivery", "order_id": orderID})
			if csat {
				f.waitOmni(2*time.Minute, 9*time.Minute)
				f.track("CSAT Rated", map[string]any{
					"touchpoint": pipeline.TouchpointChat, "survey_id": "csat-support-chat",
					"score": pickWeighted(s.omni, csatScores),
				})
			}
		})
	}
	for _, plan := range plans {
		start := end.Add(minSessionGap + s.uniformOmni(time.Hour, 40*time.Hour))
		f := &sessionBuilder{s: s, idx: 0, t: start}
		plan(f)
		if !f.events[len(f.events)-1].Time.Before(s.cfg.End()) {
			break
		}
		s.finish(f)
		end = f.events[len(f.events)-1].Time
	}
	return end
}

func (s *visitorSim) productBySKU(sku string) product {
	for _, p := range s.cat.products {
		if p.SKU == sku {
			return p
		}
	}
	return product{}
}
