// Package stage maps each event to a stage of the customer journey
// (awareness, evaluation, purchase, return, advocacy, or none) with an
// ordered list of rules from a config file: the first rule that matches
// decides (DESIGN.md section 5). The processor calls Rules.Stage for every
// event, after channel.Classify has set the event's Channel and with
// whether the visitor had already purchased; Order ranks the stages for
// "the furthest stage a visitor reached".
//
// Stage is a pure function of the event and that flag: no I/O, no clock, no
// state. A loaded *Rules never changes and is safe for concurrent use.
//
// # Rule files
//
// A rule file is a JSON object with a "rules" list (and an optional
// "description"):
//
//	{
//	  "description": "stages for a SaaS shop",
//	  "rules": [
//	    {"name": "promoters", "stage": "advocacy",
//	     "event_name": "Survey Answered", "properties": {"score": [9, 10]}},
//	    {"name": "repeat order", "stage": "return", "requires_purchase": true,
//	     "event_name": "Order Completed"},
//	    {"name": "support", "stage": "return", "requires_purchase": true,
//	     "touchpoint": "chat"},
//	    {"name": "buying", "stage": "purchase",
//	     "event_name": ["Checkout Started", "Order Completed"]},
//	    {"name": "checkout pages", "stage": "purchase",
//	     "type": "page", "page_path": "/checkout/**"},
//	    {"name": "trials", "stage": "evaluation",
//	     "event_name_prefix": ["Trial ", "Demo "]},
//	    {"name": "ads", "stage": "awareness", "type": "page", "landing": true,
//	     "channel": ["Paid Search", "Paid Social", "Display"]},
//	    {"name": "internal traffic", "stage": "none", "utm_medium": "internal"},
//	    {"name": "blog", "stage": "awareness", "page_path": ["/blog/**", "/**/news"]}
//	  ]
//	}
//
// testdata/example_rules.json is a fuller example; default_rules.json is the
// rule file Default uses.
//
// Each rule has a "stage" (awareness, evaluation, purchase, return,
// advocacy, or none: the event gets no stage and no later rule is tried),
// an optional "name" and "description", and conditions. A rule matches when
// all of its conditions hold; a condition given a list holds when any value
// in the list does. The conditions:
//
//	type               event type: track, page, screen, identify, group, alias
//	event_name         the event name, exactly (case matters); for page and
//	                   screen events, the page or screen name
//	event_name_prefix  the event name starts with this. Given together with
//	                   event_name, either one matching is enough
//	page_path          a pattern for the page path (page_path, else the path
//	                   of page_url; events without either never match): as
//	                   path.Match, one segment at a time ("*" stays inside a
//	                   segment), plus "**" for any number of whole segments,
//	                   none included, so "/blog/**" matches /blog, /blog/a and
//	                   /blog/a/b. Patterns start with "/"; case, a query and
//	                   a trailing "/" are ignored
//	touchpoint         web, app, social, chat, email, sms, server
//	channel            the event's traffic channel (package channel's names,
//	                   case ignored: "Organic Search", "Paid Social", ...)
//	utm_medium         the event's utm_medium, case ignored
//	landing            true: the event starts a visit, i.e. its page URL has
//	                   utm_ or click-id parameters or its referrer is another
//	                   site (see channel.Landing); false: it does not
//	properties         {"name": value} or {"name": [values]}: the event's
//	                   property equals one of the values. Values are strings,
//	                   numbers, true, false or null (null also matches a
//	                   missing property). Numbers compare by value, also
//	                   against a property sent as a string ("9" equals 9). A
//	                   name with dots that is not itself a property looks
//	                   into nested objects ("plan.tier")
//	requires_purchase  true: the visitor completed an order before this
//	                   event. The journey's return stage requires an earlier
//	                   purchase, so return rules say this
//
// A rule without any condition matches every event; it may only be the last
// rule. Load refuses unknown fields, unknown stages, types, touchpoints and
// channels, empty lists and bad patterns, naming the rule by its index in
// "rules" and its name, and the field.
//
// # Default rules
//
// Default (default_rules.json, embedded) follows DESIGN.md's stage table. In
// order:
//
//   - advocacy: Referral Sent, Invite Sent and similar; Review Submitted,
//     Product Reviewed, Testimonial Submitted; Product Shared, Cart Shared,
//     Content Shared, Post Shared; Survey Answered, NPS Submitted or NPS
//     Rated with score 9 or 10 (NPS promoters); Social Comment, Mention,
//     Share, Like and Follow (and names starting Mention, Comment, Like,
//     Repost, Retweet, Tagged) on the social touchpoint
//   - return, only after a purchase: Order Completed (a repeat order) and
//     Subscription Renewed; anything on the chat touchpoint (support);
//     Social Direct Message; Support, Ticket, return and refund events;
//     other survey answers (CSAT, non-promoter NPS); anything on the email
//     and sms touchpoints (loyalty and retention messages); Loyalty, Reward
//     and recommendation events
//   - purchase: views of cart, checkout, payment and sign-up pages (also
//     for returning customers)
//   - return, only after a purchase: any other page or screen view
//   - purchase: Product Added, Product Removed, Cart Viewed, Checkout
//     Started, Checkout Step Viewed/Completed, Shipping/Payment Info
//     Entered, Coupon Entered/Applied, Signed Up, Subscription Started,
//     Order Completed (the first)
//   - evaluation: Product Viewed, Product Clicked, Product List
//     Viewed/Filtered, Products Searched, Product Compared, Product Added to
//     Wishlist, Demo Requested/Scheduled, Webinar Registered/Attended,
//     Trial Started, Lead Submitted, guide, case study and whitepaper
//     downloads; anything on the chat touchpoint, and Social Direct
//     Message, before a purchase (pre-sales)
//   - awareness: ad events (names starting "Ad " or "Video Ad "),
//     Promotion Viewed/Clicked; the landing page or screen of a visit from
//     search, social, video, shopping, display, paid, affiliate, audio or
//     referral traffic
//   - evaluation: views of guide, case study, review, comparison, pricing,
//     demo, webinar, trial, whitepaper and docs pages, and of product,
//     collection, category and search pages
//   - awareness: views of blog, article, news, story, podcast, video, learn
//     and resource pages; Article Viewed, Content Viewed, Video Playback
//     Started and similar
//
// Everything else (direct visits to other pages, identify calls, ...) has no
// stage.
package stage
