package stage

import (
	"encoding/json"
	"testing"

	"github.com/touchstream/touchstream/channel"
	"github.com/touchstream/touchstream/pipeline"
)

const site = "https://shop.example.com"

func track(name string) pipeline.Event {
	return pipeline.Event{Type: pipeline.TypeTrack, EventName: name, Touchpoint: pipeline.TouchpointWeb}
}

func page(path, referrer string) pipeline.Event {
	return pipeline.Event{
		Type: pipeline.TypePage, Touchpoint: pipeline.TouchpointWeb,
		PageURL: site + path, PagePath: path, Referrer: referrer,
	}
}

func social(name string) pipeline.Event {
	return pipeline.Event{Type: pipeline.TypeTrack, EventName: name, Touchpoint: pipeline.TouchpointSocial, UTMSource: "instagram", UTMMedium: "social"}
}

func chat(name string) pipeline.Event {
	return pipeline.Event{Type: pipeline.TypeTrack, EventName: name, Touchpoint: pipeline.TouchpointChat}
}

func with(e pipeline.Event, f func(*pipeline.Event)) pipeline.Event { f(&e); return e }

func props(e pipeline.Event, p string) pipeline.Event {
	e.Properties = json.RawMessage(p)
	return e
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name      string
		e         pipeline.Event
		purchased bool
		want      string
	}{
		// awareness
		{"ad impression", track("Ad Impression"), false, Awareness},
		{"ad clicked", track("Ad Clicked"), false, Awareness},
		{"video ad", track("Video Ad Started"), false, Awareness},
		{"promotion viewed", track("Promotion Viewed"), false, Awareness},
		{"blog post", page("/blog/post-1", site+"/"), false, Awareness},
		{"blog index", page("/blog/", ""), false, Awareness},
		{"blog case ignored", page("/Blog/Post-2", site+"/"), false, Awareness},
		{"article viewed", track("Article Viewed"), false, Awareness},
		{"search landing home", page("/", "https://www.google.com/"), false, Awareness},
		{"search landing product", page("/products/sku-1", "https://www.google.com/"), false, Awareness},
		{"social landing", page("/", "https://l.facebook.com/"), false, Awareness},
		{"paid search landing", page("/?utm_source=google&utm_medium=cpc", ""), false, Awareness},
		{"gclid landing", page("/?gclid=abc", ""), false, Awareness},
		{"referral landing", page("/", "https://news.example.org/"), false, Awareness},

		// evaluation
		{"product viewed", track("Product Viewed"), false, Evaluation},
		{"product list viewed", track("Product List Viewed"), false, Evaluation},
		{"products searched", track("Products Searched"), false, Evaluation},
		{"product compared", track("Product Compared"), false, Evaluation},
		{"demo requested", track("Demo Requested"), false, Evaluation},
		{"webinar registered", track("Webinar Registered"), false, Evaluation},
		{"trial started", track("Trial Started"), false, Evaluation},
		{"guide page", page("/guides/choosing-shoes", site+"/"), false, Evaluation},
		{"case study page", page("/case-studies/acme", site+"/"), false, Evaluation},
		{"review page", page("/reviews", site+"/"), false, Evaluation},
		{"product reviews page", page("/products/sku-1/reviews", site+"/"), false, Evaluation},
		{"pricing page", page("/pricing", site+"/"), false, Evaluation},
		{"product page inside a visit", page("/products/sku-1", site+"/"), false, Evaluation},
		{"pre-sales chat", with(track("Chat Started"), func(e *pipeline.Event) { e.Touchpoint = "chat" }), false, Evaluation},
		{"guide page from email, not a landing channel", page("/guides/x?utm_source=nl&utm_medium=email", ""), false, Evaluation},

		// purchase
		{"product added", track("Product Added"), false, Purchase},
		{"cart viewed", track("Cart Viewed"), false, Purchase},
		{"checkout started", track("Checkout Started"), false, Purchase},
		{"checkout step", track("Checkout Step Completed"), false, Purchase},
		{"payment info", track("Payment Info Entered"), false, Purchase},
		{"signed up", track("Signed Up"), false, Purchase},
		{"first order", track("Order Completed"), false, Purchase},
		{"cart page", page("/cart", site+"/products/sku-1"), false, Purchase},
		{"checkout page", page("/checkout", site+"/cart"), false, Purchase},
		{"order confirmation page", page("/checkout/complete", site+"/checkout"), true, Purchase},
		{"returning customer adds to cart", track("Product Added"), true, Purchase},
		{"returning customer at checkout", track("Checkout Started"), true, Purchase},

		// return
		{"repeat order", track("Order Completed"), true, Return},
		{"support chat", with(track("Chat Started"), func(e *pipeline.Event) { e.Touchpoint = "chat" }), true, Return},
		{"support ticket", track("Ticket Created"), true, Return},
		{"loyalty email click", with(track("Email Link Clicked"), func(e *pipeline.Event) { e.Touchpoint = "email" }), true, Return},
		{"sms after purchase", with(track("SMS Delivered"), func(e *pipeline.Event) { e.Touchpoint = "sms" }), true, Return},
		{"loyalty points", track("Loyalty Points Earned"), true, Return},
		{"recommendation", track("Recommendation Clicked"), true, Return},
		{"visit after purchase", page("/", ""), true, Return},
		{"search landing after purchase", page("/", "https://www.google.com/"), true, Return},
		{"blog after purchase", page("/blog/x", site+"/"), true, Return},
		{"screen after purchase", pipeline.Event{Type: pipeline.TypeScreen, EventName: "Home", Touchpoint: "app"}, true, Return},
		{"csat after purchase", props(track("Survey Answered"), `{"score": 4}`), true, Return},

		// advocacy
		{"referral sent", track("Referral Sent"), false, Advocacy},
		{"referral sent after purchase", track("Referral Sent"), true, Advocacy},
		{"review submitted", track("Review Submitted"), true, Advocacy},
		{"product shared", track("Product Shared"), false, Advocacy},
		{"nps 9", props(track("Survey Answered"), `{"score": 9}`), true, Advocacy},
		{"nps 10 as string", props(track("Survey Answered"), `{"score": "10"}`), true, Advocacy},
		{"nps 10.0", props(track("Survey Answered"), `{"score": 10.0, "comment": "great"}`), false, Advocacy},
		{"social mention", with(track("Mention Received"), func(e *pipeline.Event) { e.Touchpoint = "social" }), false, Advocacy},

		// webhook events (schemas/webhooks)
		{"social mention webhook", social("Social Mention"), false, Advocacy},
		{"social share webhook", social("Social Share"), true, Advocacy},
		{"social follow webhook", social("Social Follow"), false, Advocacy},
		{"social dm before purchase", social("Social Direct Message"), false, Evaluation},
		{"social dm after purchase", social("Social Direct Message"), true, Return},
		{"chat nps promoter", props(chat("NPS Rated"), `{"score": 10}`), true, Advocacy},
		{"chat nps detractor", props(chat("NPS Rated"), `{"score": 3}`), true, Return},
		{"chat csat after purchase", props(chat("CSAT Rated"), `{"score": 5}`), true, Return},
		{"chat resolved before purchase", chat("Chat Resolved"), false, Evaluation},
		{"email link before purchase", with(track("Email Link Clicked"), func(e *pipeline.Event) { e.Touchpoint = "email" }), false, None},

		// none
		{"nps 8", props(track("Survey Answered"), `{"score": 8}`), false, None},
		{"survey without score", track("Survey Answered"), false, None},
		{"survey bad properties", props(track("Survey Answered"), `[1,2]`), false, None},
		{"direct home page", page("/", ""), false, None},
		{"inner page", page("/about", site+"/"), false, None},
		{"identify", pipeline.Event{Type: pipeline.TypeIdentify, Touchpoint: "web"}, false, None},
		{"email open before purchase", with(track("Email Opened"), func(e *pipeline.Event) { e.Touchpoint = "email" }), false, None},
		{"unknown track", track("Button Clicked"), false, None},
		{"chat-like name on web after purchase", track("Chat Started"), true, None},
		{"server event without page", pipeline.Event{Type: "track", EventName: "Invoice Paid", Touchpoint: "server"}, false, None},
	}
	rules := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.Channel = channel.Classify(&e)
			got, i := rules.Match(&e, tt.purchased)
			if got != tt.want {
				t.Errorf("Stage = %q by rule %d (%s), want %q (channel %q)", got, i, rules.RuleName(i), tt.want, e.Channel)
			}
			if s := rules.Stage(&e, tt.purchased); s != got {
				t.Errorf("Stage = %q, Match = %q", s, got)
			}
		})
	}
}

// TestDefaultJourney runs one visitor's journey through the default rules,
// tracking purchasedBefore as the processor does.
func TestDefaultJourney(t *testing.T) {
	journey := []struct {
		e    pipeline.Event
		want string
	}{
		{page("/blog/best-running-shoes", "https://www.google.com/"), Awareness},
		{page("/products/sku-1", site+"/blog/best-running-shoes"), Evaluation},
		{track("Product Viewed"), Evaluation},
		{track("Product Added"), Purchase},
		{page("/cart", site+"/products/sku-1"), Purchase},
		{track("Checkout Started"), Purchase},
		{track("Order Completed"), Purchase},
		{page("/checkout/complete", site+"/checkout"), Purchase},
		{with(track("Email Link Clicked"), func(e *pipeline.Event) { e.Touchpoint = "email" }), Return},
		{page("/?utm_source=newsletter&utm_medium=email", ""), Return},
		{track("Order Completed"), Return},
		{props(track("Survey Answered"), `{"score": 10}`), Advocacy},
	}
	rules := Default()
	purchased, reached := false, None
	for i, step := range journey {
		e := step.e
		e.Channel = channel.Classify(&e)
		got := rules.Stage(&e, purchased)
		if got != step.want {
			t.Errorf("step %d (%s %s%s): stage %q, want %q", i, e.Type, e.EventName, e.PagePath, got, step.want)
		}
		if Order(got) > Order(reached) {
			reached = got
		}
		if e.IsConversion() {
			purchased = true
		}
	}
	if reached != Advocacy {
		t.Errorf("reached %q, want advocacy", reached)
	}
}

func TestDefaultShared(t *testing.T) {
	if Default() != Default() {
		t.Error("Default returns a new value each call")
	}
	if Default().Len() < 15 {
		t.Errorf("Default has %d rules", Default().Len())
	}
	r, err := Load(jsonReader(string(DefaultJSON())))
	if err != nil || r.Len() != Default().Len() {
		t.Errorf("DefaultJSON does not load as Default: %v", err)
	}
	for i := range Default().Len() {
		if Default().RuleName(i) == "" {
			t.Errorf("default rule %d has no name", i)
		}
	}
}

func TestOrder(t *testing.T) {
	want := map[string]int{"": 0, "awareness": 1, "evaluation": 2, "purchase": 3, "return": 4, "advocacy": 5, "Awareness": 0, "none": 0}
	for s, n := range want {
		if got := Order(s); got != n {
			t.Errorf("Order(%q) = %d, want %d", s, got, n)
		}
	}
	for i, s := range Names() {
		if Order(s) != i+1 {
			t.Errorf("Names()[%d] = %q has order %d", i, s, Order(s))
		}
	}
}

func BenchmarkDefaultStage(b *testing.B) {
	events := []pipeline.Event{
		page("/products/sku-1", site+"/"),
		track("Product Added"),
		page("/", "https://www.google.com/"),
		props(track("Survey Answered"), `{"score": 9}`),
		page("/about", site+"/"),
	}
	for i := range events {
		events[i].Channel = channel.Classify(&events[i])
	}
	rules := Default()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rules.Stage(&events[i%len(events)], i%3 == 0)
	}
}
