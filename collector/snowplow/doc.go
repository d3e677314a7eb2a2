// Package snowplow serves the Snowplow tracker protocol, so that sites and
// apps already instrumented with a Snowplow tracker (JavaScript, iOS,
// Android, server-side) can point it at Touchstream instead of a Snowplow
// collector. Their events land on the same event model as Segment calls.
// The collector registers it with
//
//	h := snowplow.Handler(srv)
//	srv.Handle("POST /com.snowplowanalytics.snowplow/tp2", h)
//	srv.Handle("OPTIONS /com.snowplowanalytics.snowplow/tp2", h) // CORS preflight
//	srv.Handle("GET /i", h)
//
// POST carries a batch: a payload_data self-describing JSON,
// {"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{...},...]},
// each element one event whose parameters are strings. GET /i carries one
// event in its query string (the tracker's GET mode, and <img> pixels).
//
// # Write key
//
// Snowplow has no write key. An event's write key is its app id (aid) when
// that is a configured write key, else the request's: the Basic auth user
// (or password), else ?writeKey=. So either name the tracker's appId after a
// write key, or keep the app id and give the key in the request. A request
// none of whose events has a write key is refused whole with 401 and
// nothing is stored. In a POST where some events have one, an event without
// one is refused as a dead letter (without write key) and its siblings are
// kept.
//
// # Mapping
//
//	e   Touchstream event
//	pv  type page; event_name = page (the title)
//	pp  track "Page Ping"; engagement_time_msec = the ping interval (below);
//	    properties x_min, x_max, y_min, y_max = pp_mix, pp_max, pp_miy, pp_may
//	se  track; event_name = se_ac (required); properties category (se_ca),
//	    action (se_ac), label (se_la), property (se_pr), value (se_va, a number)
//	ue  track; event_name = the name of the event's schema
//	    (iglu:com.acme/add_to_cart/jsonschema/1-0-0 is "add_to_cart");
//	    properties = its data. Snowplow's own schemas are named as Segment
//	    names them:
//	      com.snowplowanalytics.snowplow/add_to_cart        Product Added
//	      com.snowplowanalytics.snowplow/remove_from_cart   Product Removed
//	      com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action
//	        by data.type: product_view Product Viewed, add_to_cart Product
//	        Added, remove_from_cart Product Removed, list_view Product List
//	        Viewed, list_click Product Clicked, promo_view Promotion Viewed,
//	        promo_click Promotion Clicked, checkout_step Checkout Started
//	        (step 1 of the checkout_step entity) or Checkout Step Viewed,
//	        transaction Order Completed, refund Order Refunded; another
//	        type is its own name. The plugin's entities are added to the
//	        properties: product entities as "products", the others under
//	        their schema's name ("transaction", "cart", ...); order_id,
//	        revenue (the transaction's revenue for a transaction, the
//	        refund's refund_amount for a refund), currency and cart_id come
//	        from the transaction, refund, cart and product entities
//	      com.snowplowanalytics.mobile/screen_view and
//	      com.snowplowanalytics.snowplow/screen_view        type screen, named by data.name
//	      com.snowplowanalytics.mobile/application_install  Application Installed
//	      com.snowplowanalytics.snowplow/application_foreground  Application Opened
//	      com.snowplowanalytics.snowplow/application_background  Application Backgrounded
//	    As for a Segment call, revenue (else total), currency, order_id
//	    (orderId), cart_id (cartId) and engagement_time_msec of the data
//	    fill their columns when the entities did not.
//	tr  track "Order Completed"; order_id = tr_id, revenue = tr_tt, currency =
//	    tr_cu; properties order_id, affiliation, total, tax, shipping, city,
//	    state, country, currency
//	ti  track "Order Item", one per line of the order (the tracker sends
//	    them as events of their own, so they cannot be folded into the
//	    order); order_id = ti_id, currency = ti_cu, no revenue (the order
//	    has it); properties order_id, sku, name, category, price, quantity,
//	    currency
//
// Every event:
//
//	message_id    eid, else a new UUID
//	visitor_id    duid (the domain user id), else the userId of a
//	              client_session entity (mobile trackers), else nuid, else
//	              tnuid, else uid; an event with none is refused
//	user_id       uid
//	event_time    ttm (the true timestamp), else dtm corrected for the
//	              device's clock skew with stm, as Segment's sentAt:
//	              received_at - (stm - dtm); else dtm; else received_at
//	touchpoint    p: mob, app, pc, tv, cnsl, iot are app; srv is server; web
//	              and anything else web
//	page_url      url; page_path its path; utm_* its utm_ parameters;
//	click_id_type the ad click id of its query (gclid, fbclid, ...: see
//	click_id      pipeline.ClickIDOf) and its value
//	referrer      refr
//	os            osType of a mobile_context entity
//	device_type   that osType as a category (device.Category: ios and
//	              android are mobile, an iPad deviceModel tablet); else,
//	              with browser and os, from the user agent: ua, else the
//	              request's User-Agent
//	library_name  "snowplow-" and the tracker's name from tv ("snowplow-js")
//	properties    as above, and "snowplow": app_id (aid), platform (p),
//	              event (e), tracker (tv), namespace (tna), schema (of a ue),
//	              session_id (sid), session_index (vid) and contexts, the
//	              entities of co or cx as sent. A key the event's own data
//	              has is left to the data.
//
// Self-describing JSONs come plain (ue_pr, co) or base64 (ue_px, cx; the
// URL alphabet without padding as the JavaScript tracker sends it, or the
// standard one). A ue or co that does not decode refuses the event, as
// Snowplow's enrichment would; so does a time, tr_tt, tr_tx, tr_sh, ti_pr,
// ti_qu or se_va that is not a number. Scroll offsets of a ping that are
// not numbers are left out.
//
// # Page pings
//
// A ping says the page was used during the last heartbeat, but not how
// long the heartbeat is: that is the tracker's configuration
// (enableActivityTracking's heartbeatDelay). Each ping counts
// DefaultPingInterval (10 s, what Snowplow documents and its web data model
// assumes) unless WithPingInterval says otherwise; WithPingInterval(0)
// keeps pings without engagement time. The first ping of a page comes
// after minimumVisitLength rather than a heartbeat; it counts one
// heartbeat too.
//
// # Answers
//
// POST answers 200 {"accepted":N,"rejected":[{"index":i,"error":"..."}]}
// once Kafka acknowledged (trackers take any 2xx as sent; refused events
// are dead letters with the reason, their siblings kept); 400 for a body
// that is not payload_data JSON; 401 as above; 413 over MaxBodyBytes (an
// event over MaxEventBytes is refused alone); 415 for a Content-Encoding
// other than gzip; 503 with Retry-After when Kafka did not acknowledge (the
// trackers retry). Requests refused whole with a known write key in the
// request also go to the dead letters.
//
// GET answers the pixel's 1x1 transparent GIF, never cached: 200 when the
// event was stored or refused as a dead letter (X-Touchstream-Error says
// why), 401 without a write key, 503 with Retry-After when Kafka did not
// acknowledge. HEAD records nothing.
//
// Both answer CORS with the request's origin and credentials allowed, since
// the JavaScript tracker sends with credentials; OPTIONS answers the
// preflight of its application/json POST. No cookie is set or read
// (Snowplow's network user id cookie included), so SP-Anonymous needs no
// handling.
//
// Metrics are the collector's, under the endpoints PathPost and PathGet.
package snowplow
