// Package tracker serves GET /t.js, Touchstream's own browser tracker:
// hand-written, dependency-free ES2017 embedded in the binary (t.js in this
// directory; no build step).
//
// # Install
//
// One line, which then tracks page views by itself:
//
//	<script defer src="http://127.0.0.1:8080/t.js" data-write-key="KEY"></script>
//
// Attributes of the script element:
//
//	data-write-key   the source's write key (required)
//	data-endpoint    the collector's origin; default: the origin of the
//	                 script's own src
//	data-cookieless  no cookie, localStorage or sessionStorage: the
//	                 anonymous id lives in memory for one page load, and
//	                 the campaign is the landing URL's only
//	data-auto-page="false"  no automatic first page view
//
// Calls made before the script ran are kept by this stub (put it before
// the script tag) and replayed in order when it loads:
//
//	<script>window.touchstream=window.touchstream||{q:[]};["track","identify","page"].forEach(function(m){touchstream[m]=touchstream[m]||function(){touchstream.q.push([m].concat([].slice.call(arguments)))}})</script>
//
// An array of [method, ...args] in window.touchstream works too. If a
// queued call is a page call, there is no automatic first page view.
//
// # API
//
//	touchstream.track(name, props)     a track event
//	touchstream.identify(userId, traits)  an identify; userId (kept in
//	                                   localStorage ts_uid) goes on every later event
//	touchstream.page([name], [props])  a page view (automatic ones need no call)
//	touchstream.flush()                send what is queued now
//	touchstream.reset()                forget the user id, start a new anonymous id
//	touchstream.anonymousId()          the anonymous id
//
// # What it sends
//
// Segment batches, {"batch":[...],"writeKey":KEY,"sentAt":...}, POSTed to
// ENDPOINT/v1/batch?writeKey=KEY as text/plain (no CORS preflight): with
// fetch (keepalive) every 2 s or as soon as 10 events are queued, and with
// navigator.sendBeacon when the page is hidden or unloaded (pagehide,
// visibilitychange to hidden). A failed fetch (network error, 429, 5xx) is
// retried with backoff (2 s doubling to 60 s, at most 100 events kept);
// retries are safe because the collector deduplicates on messageId.
//
// Every event has messageId (a random UUID v4 from crypto.getRandomValues),
// anonymousId, userId once identified, originalTimestamp (corrected for the
// device's clock by the collector with sentAt) and context: library
// {name:"touchstream.js",version}, page {url,path,referrer,title,search},
// campaign, userAgent, locale, screen {width,height,density}, timezone.
//
// The anonymous id is first-party: localStorage ts_aid and a cookie ts_aid
// (path=/, two years, SameSite=Lax, Secure on https), whichever is found
// first, written back to both.
//
// context.campaign holds source, medium, name, term and content from the
// utm_* parameters of the landing URL, and the click ids found there
// (pipeline.ClickIDParams: gclid, gbraid, wbraid, dclid, msclkid, yclid,
// fbclid, ttclid, li_fat_id, twclid, sccid, epik, rdt_cid) under their own
// names; the collector stores the first of them in events.click_id_type and
// click_id. It is kept in sessionStorage
// (ts_camp) for the rest of the session and replaced when a later URL has
// campaign parameters of its own.
//
// # Page views
//
// A page view (type page, properties url, path, referrer, title, search;
// the collector sets touchpoint web and page_url from them) is sent on
// load and whenever history.pushState, history.replaceState or popstate
// changes the URL other than its #fragment (single-page applications). The
// referrer of an SPA page view is the previous page's URL. The title is
// document.title at the moment of navigation.
//
// # Clicks
//
// A click on an element with data-ts-event="Name" (or inside one) tracks
// Name, with a property for each data-ts-prop-* attribute: data-ts-prop-plan-id="pro"
// gives {"plan_id":"pro"} (values are strings).
//
// # Engaged time
//
// Engaged time is counted only while document.visibilityState is
// "visible" and document.hasFocus() is true (performance.now() clock). It
// is reported as a track "Page Engagement" with properties
// engagement_time_msec, url, path and title (and the page's context)
// whenever the page is left: an SPA navigation, the page becoming hidden
// (tab switch, app switch, before unload) or pagehide. Each report carries
// the time since the previous one and none is sent for 0, so the sum of
// engagement_time_msec over a page's events is its engaged time, which is
// what the sessions' engaged_msec adds up. Page view events themselves
// carry no engaged time (there is none yet when they are sent).
package tracker
