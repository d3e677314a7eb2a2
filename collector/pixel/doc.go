// Package pixel serves the collector's tracking pixel, GET /pixel/v1/track
// and GET /pixel/v1/page: a 1x1 transparent GIF whose query string is one
// event. It is how email opens are counted (an <img> in the message) and how
// pages that cannot run a script (noscript, AMP, some SMS landing pages)
// report a view. The collector registers it with
//
//	srv.Handle("GET /pixel/v1/{kind}", pixel.Handler(srv))
//
// # Query string
//
//	writeKey                  the source's write key (required)
//	anonymousId, aid          the visitor; one of these or userId is required
//	userId, uid               the known user (the visitor id too when there is no anonymousId)
//	event                     track: the event name (see below); page: ignored
//	name                      page: the page name; track: ignored
//	messageId                 the deduplication key; default a new UUID per request
//	timestamp                 ISO 8601 event time; default the time received
//	touchpoint                email (default), sms, web, app, social, chat or server
//	utm_source, utm_medium,   the campaign; when all three are absent they are
//	utm_campaign              read from the url parameter's own query string
//	url, path, referrer       the page (page_url, page_path, referrer)
//	p                         properties: a JSON object, base64url (padding optional)
//	prop_<name>=value         one property, a string; it wins over the same key in p
//
// The event is mapped as collector/normalize.go maps a Segment call:
// visitor_id is anonymousId, else userId; properties url, path and referrer
// win over the parameters of the same name; revenue (else total), currency,
// order_id (orderId), cart_id (cartId) and engagement_time_msec fill their
// columns; library_name is "touchstream-pixel".
//
// A track pixel without an event is "Email Opened" when the touchpoint is
// email, the email open every sender wants; for any other touchpoint the
// event is required (SMS cannot carry images, so there is no SMS open).
// Email clients fetch an image on every open, and each fetch is one event;
// put a messageId in the URL to count one open per message instead. Mail
// clients that fetch images ahead of the reader (Apple Mail Privacy
// Protection, proxies) count as opens: that is the nature of the pixel.
//
// # Answers
//
// Every answer's body is the same 43-byte GIF, so that nothing looks broken
// in a message, and none may be cached (Cache-Control: no-cache, no-store,
// must-revalidate, private, max-age=0; Pragma: no-cache; Expires: 0), so
// that every open reaches the collector. The status says what happened:
//
//	200  the event was stored, or it was refused and stored as a dead letter
//	     (no anonymousId or userId, a bad timestamp or p, ...): the sender's
//	     template is wrong, not the reader's mail client, so the image still
//	     loads; X-Touchstream-Error says why
//	401  missing or unknown write key: nothing is stored (as for the Segment
//	     API); X-Touchstream-Error says so
//	503  Kafka did not acknowledge; Retry-After: 5. Most browsers still draw
//	     an image answered with an error status; image proxies (Gmail) may
//	     show it broken, and fetch it again on the next open
//
// HEAD is answered like GET and records nothing: it is link checkers and
// proxies probing, not an open. An unknown kind (not track or page) is 404.
// A query string over 32 KiB (the collector's per-event limit) is refused
// as a dead letter without its payload.
package pixel
