package channel

import (
	"net/url"
	"strings"

	"github.com/touchstream/touchstream/pipeline"
)

// Traffic is where an event's visit came from, in GA4's terms: the source
// and medium the channel rules look at.
type Traffic struct {
	// Source is utm_source; else the network of a click id ("google" for
	// gclid); else the referrer's host; else "email", "sms" or "social" for
	// those touchpoints; else "(direct)". "(not set)" when only a medium is known.
	Source string
	// Medium is utm_medium; else "cpc" ("display" for dclid) for a click id;
	// else "organic" for a search engine referrer, "email" for a webmail
	// referrer, "referral" for any other; else the touchpoint's; else "(none)".
	Medium string
	// Campaign is utm_campaign, "" when there is none.
	Campaign string
	// ClickID is the click-id parameter (gclid, fbclid, ...) found in the
	// page URL, else the event's own ClickIDType; "" when there is none.
	ClickID string
}

// A click id is an ad network's auto-tagging parameter: its presence in the
// landing page's URL means the visit is a paid click on that network.
type network struct {
	source, medium string
}

// clickIDNetworks gives the network of each of pipeline.ClickIDParams, the
// list (and order of precedence) the collector uses too.
var clickIDNetworks = map[string]network{
	"gclid":     {"google", "cpc"}, // Google Ads
	"gbraid":    {"google", "cpc"},
	"wbraid":    {"google", "cpc"},
	"dclid":     {"dv360", "display"}, // Display & Video 360, Campaign Manager 360
	"msclkid":   {"bing", "cpc"},      // Microsoft Advertising
	"yclid":     {"yandex", "cpc"},    // Yandex Direct
	"fbclid":    {"facebook", "cpc"},  // Meta (also added to some organic links)
	"ttclid":    {"tiktok", "cpc"},
	"li_fat_id": {"linkedin", "cpc"},
	"twclid":    {"twitter", "cpc"},
	"sccid":     {"snapchat", "cpc"},
	"epik":      {"pinterest", "cpc"},
	"rdt_cid":   {"reddit", "cpc"},
}

// Resolve works out the source, medium and campaign of e, the way GA4 does
// before it applies the channel rules:
//
//  1. utm_source, utm_medium and utm_campaign: the event's UTM fields, or,
//     when all three are empty, the utm_ parameters of the page URL (its
//     query, else its fragment);
//  2. a click id in the page URL's query (pipeline.ClickIDOf), else the
//     event's own (ClickIDType with a ClickID: the collector's, which t.js
//     keeps for the whole session, so later pages of a paid visit keep
//     it), fills a missing medium, and a missing source (gclid, gbraid,
//     wbraid: google / cpc; msclkid: bing / cpc; fbclid: facebook / cpc;
//     dclid: dv360 / display; ...);
//  3. with neither source nor medium: an email or sms touchpoint is email /
//     email or sms / sms, a social one <referrer host or "social"> / social;
//     otherwise the referrer's host with medium organic (search engines),
//     email (webmail) or referral. A referrer from the page's own host
//     (ignoring "www.") or from a payment or login page (data/ignore.txt)
//     is no referrer;
//  4. nothing at all: (direct) / (none).
//
// Resolve is pure and safe for concurrent use.
func Resolve(e *pipeline.Event) Traffic {
	var t Traffic
	if e == nil {
		t.Source, t.Medium = "(direct)", "(none)"
		return t
	}
	t.Source = strings.TrimSpace(e.UTMSource)
	t.Medium = strings.TrimSpace(e.UTMMedium)
	t.Campaign = strings.TrimSpace(e.UTMCampaign)

	query, fragment := splitURL(e.PageURL)
	var q url.Values
	if query != "" {
		q, _ = url.ParseQuery(query) // keeps what parses
	}
	if t.Source == "" && t.Medium == "" && t.Campaign == "" {
		t.Source, t.Medium, t.Campaign = utmOf(q)
		if t.Source == "" && t.Medium == "" && t.Campaign == "" && strings.Contains(fragment, "utm_") {
			f, _ := url.ParseQuery(strings.TrimLeft(fragment, "!?/"))
			t.Source, t.Medium, t.Campaign = utmOf(f)
		}
	}

	param, _ := pipeline.ClickIDOf(q)
	if param == "" && strings.TrimSpace(e.ClickID) != "" && pipeline.ClickIDRank(e.ClickIDType) >= 0 {
		param = strings.ToLower(e.ClickIDType)
	}
	if n, ok := clickIDNetworks[param]; ok {
		t.ClickID = param
		if t.Medium == "" {
			t.Medium = n.medium
			if t.Source == "" {
				t.Source = n.source
			}
		}
	}

	switch {
	case t.Source != "" || t.Medium != "":
	case e.Touchpoint == pipeline.TouchpointEmail:
		t.Source, t.Medium = "email", "email"
	case e.Touchpoint == pipeline.TouchpointSMS:
		t.Source, t.Medium = "sms", "sms"
	case e.Touchpoint == pipeline.TouchpointSocial:
		t.Source, t.Medium = externalReferrer(e), "social"
		if t.Source == "" {
			t.Source = "social"
		}
	default:
		switch host := externalReferrer(e); {
		case host == "":
			t.Source, t.Medium = "(direct)", "(none)"
		case emailSites.match(host):
			t.Source, t.Medium = host, "email"
		case searchSites.match(host):
			t.Source, t.Medium = host, "organic"
		default:
			t.Source, t.Medium = host, "referral"
		}
	}
	if t.Source == "" {
		t.Source = "(not set)"
	}
	if t.Medium == "" {
		t.Medium = "(not set)"
	}
	return t
}

// Landing reports whether e brings a traffic source of its own, as the first
// event of a visit does: its page URL carries utm_ or click-id parameters,
// or its referrer is another site (not the page's own host, not a payment
// or login page). Page views inside a visit have the previous page as their
// referrer and are not landings, even when they carry the visit's UTM
// fields or click id (ClickIDType), as t.js sends them on every page.
func Landing(e *pipeline.Event) bool {
	if e == nil {
		return false
	}
	query, fragment := splitURL(e.PageURL)
	if query != "" {
		q, _ := url.ParseQuery(query)
		if s, m, c := utmOf(q); s != "" || m != "" || c != "" {
			return true
		}
		if param, _ := pipeline.ClickIDOf(q); param != "" {
			return true
		}
	}
	if strings.Contains(fragment, "utm_") {
		f, _ := url.ParseQuery(strings.TrimLeft(fragment, "!?/"))
		if s, m, c := utmOf(f); s != "" || m != "" || c != "" {
			return true
		}
	}
	return externalReferrer(e) != ""
}

func utmOf(q url.Values) (source, medium, campaign string) {
	if q == nil {
		return "", "", ""
	}
	return strings.TrimSpace(q.Get("utm_source")), strings.TrimSpace(q.Get("utm_medium")),
		strings.TrimSpace(q.Get("utm_campaign"))
}

// splitURL returns the raw query and fragment of a URL, "" when absent.
func splitURL(raw string) (query, fragment string) {
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw, fragment = raw[:i], raw[i+1:]
	}
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		query = raw[i+1:]
	}
	return query, fragment
}

// externalReferrer returns the lower-case host of e's referrer, or "" when
// there is none, it is the page's own host, or it is on the ignore list.
func externalReferrer(e *pipeline.Event) string {
	host := hostOf(e.Referrer)
	if host == "" || ignoredSites.match(host) {
		return ""
	}
	if page := hostOf(e.PageURL); page != "" && strings.TrimPrefix(page, "www.") == strings.TrimPrefix(host, "www.") {
		return ""
	}
	return host
}

// hostOf returns the lower-case host of a URL ("https://www.google.com/x"),
// an app referrer ("android-app://com.google.android.gm/"), or a bare host
// ("google.com/x"); "" for an empty or placeholder referrer.
func hostOf(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	} else if strings.HasPrefix(s, "//") {
		s = s[2:]
	} else if i := strings.IndexByte(s, ':'); i >= 0 && !strings.ContainsAny(s[:i], "/?#") {
		// host:port/path, or a URL without a host (about:blank, javascript:...)
		port := s[i+1:]
		if j := strings.IndexAny(port, "/?#"); j >= 0 {
			port = port[:j]
		}
		if !isDigits(port) {
			return ""
		}
	}
	if i := strings.IndexAny(s, "/?#\\"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") { // [::1]:8080
		if i := strings.IndexByte(s, ']'); i >= 0 {
			s = s[1:i]
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	switch s {
	case "(direct)", "$direct", "direct", "(none)", "none", "null", "undefined":
		return ""
	}
	return s
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
