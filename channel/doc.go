// Package channel sorts traffic into GA4's default channel groups (Direct,
// Organic Search, Paid Social, Email, ...): the traffic_channel column of
// the events table and the channel every report breaks down by.
//
// Classify resolves an event's source, medium and campaign the way GA4 does
// (UTM fields, else the page URL's utm_ parameters; ad click ids such as
// gclid and fbclid, from the page URL, else the event's own click id; the
// referrer; the touchpoint; else direct) and applies GA4's published
// channel rules in GA4's order. The lists of search, social,
// video and shopping sites are data files, data/*.txt, embedded in the
// binary; data/email.txt (webmail, counted as Email) and data/ignore.txt
// (payment and login pages, counted as no referrer) are Touchstream's
// additions.
//
// Everything here is a pure function of the event: no I/O, no clock, safe
// for concurrent use.
package channel
