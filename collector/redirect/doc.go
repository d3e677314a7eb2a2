// Package redirect serves signed click links for email and SMS,
// GET /r/{token}: it checks the token's signature, records the click as an
// event, and redirects the person to the link's target with a 302. The
// target comes only from a token signed with the collector's secret, so the
// endpoint is never an open redirect. The collector registers it with
//
//	srv.Handle("GET /r/{token}", redirect.Handler(srv, secrets, redirect.WithLogger(log)))
//
// and `touchstream sign-link` (or Sign, in a mailer) makes the links.
//
// # Tokens
//
// A token is base64url(payload) "." base64url(HMAC-SHA256(secret, payload)),
// both without padding, where payload is a JSON object:
//
//	u  the target: an absolute http or https URL (required)
//	r  the recipient: the click's user_id and visitor_id (required)
//	k  the write key of the source the click is recorded under (required)
//	t  the touchpoint: email or sms (required; Sign defaults to email)
//	c  the campaign: utm_campaign (optional)
//	m  the source: utm_source, e.g. "newsletter" (optional)
//	e  the expiry, Unix seconds (optional): refused from that second on
//
// The payload is signed, not encrypted: anyone holding the link can read
// it. Use an opaque recipient id (a CRM id), never an email address or a
// phone number. Unknown payload fields are ignored, so that newer signers
// work with older collectors.
//
// Secrets are at least MinSecretBytes long. Handler takes a list: each is
// tried in turn, so a secret is rotated by signing with a new one (listed
// first) while the old one stays in the list until its links have expired
// or stopped mattering.
//
// # The click
//
// A verified click is a track event "Email Link Clicked" or
// "SMS Link Clicked" with touchpoint email or sms, user_id and visitor_id the
// recipient, utm_medium the touchpoint, utm_source the link's m,
// utm_campaign its c, page_url (and page_path) the target, properties
// {"url": target, "campaign": c}, library_name "touchstream-redirect", a new
// message id (every click counts), and event time = received_at. Put the
// campaign in the target's own utm_ parameters too, so that the website's
// tracker attributes the visit that follows. Link scanners that follow
// links with GET (mail security gateways) count as clicks; HEAD does not.
//
// # Answers
//
//	302  Location: the target (Cache-Control: no-store), once the click was
//	     stored, or after MaxWait (default 2 s) without Kafka's
//	     acknowledgement, or when it could not be stored: the person is
//	     always sent on, and a lost click is logged at error level with a
//	     running count (lost_clicks); the collector's
//	     touchstream_collector_publish_failures_total counts it too. A link
//	     whose write key the collector no longer knows redirects and records
//	     nothing (logged at warn level). HEAD redirects and records nothing.
//	400  malformed token (including a signed payload that is not a valid link)
//	403  the signature does not match any secret: altered or forged
//	410  the link has expired
//
// Refusals have a short text/plain body and no Location.
package redirect
