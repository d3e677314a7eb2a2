package channel

import (
	"strings"

	"github.com/touchstream/touchstream/pipeline"
)

// The channel groups, as GA4 names them, plus Push (web push notifications).
const (
	Direct          = "Direct"
	CrossNetwork    = "Cross-network"
	PaidShopping    = "Paid Shopping"
	PaidSearch      = "Paid Search"
	PaidSocial      = "Paid Social"
	PaidVideo       = "Paid Video"
	Display         = "Display"
	PaidOther       = "Paid Other"
	OrganicShopping = "Organic Shopping"
	OrganicSocial   = "Organic Social"
	OrganicVideo    = "Organic Video"
	OrganicSearch   = "Organic Search"
	Referral        = "Referral"
	Email           = "Email"
	Affiliates      = "Affiliates"
	Audio           = "Audio"
	SMS             = "SMS"
	Push            = "Push"
	MobilePush      = "Mobile Push Notifications"
	Unassigned      = "Unassigned"
)

// names lists every channel in the order Classify tries them.
var names = []string{
	Direct, CrossNetwork, PaidShopping, PaidSearch, PaidSocial, PaidVideo,
	Display, PaidOther, OrganicShopping, OrganicSocial, OrganicVideo,
	OrganicSearch, Referral, Email, Affiliates, Audio, SMS, Push, MobilePush,
	Unassigned,
}

// Names returns every channel Classify can return, in the order it tries
// them (Unassigned last). The slice is a fresh copy.
func Names() []string { return append([]string(nil), names...) }

// Canonical returns the channel named name, ignoring case ("organic search"
// gives "Organic Search"), and whether there is one.
func Canonical(name string) (string, bool) {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// Classify returns the default channel group of e, one of the constants
// above. It resolves e's source and medium (see Resolve) and applies GA4's
// rules in GA4's order; the first that matches wins. It never returns "".
// Classify is pure and safe for concurrent use.
func Classify(e *pipeline.Event) string {
	t := Resolve(e)
	return ClassifyTraffic(t.Source, t.Medium, t.Campaign)
}

// ClassifyTraffic applies the channel rules to a source, medium and campaign
// (utm_source, utm_medium, utm_campaign or their resolved values; case is
// ignored). The rules, in order:
//
//	Direct            source is "(direct)" and medium is "(none)" or "(not set)"
//	Cross-network     campaign contains "cross-network"
//	Paid Shopping     (source is a shopping site or campaign matches
//	                  ^(.*(([^a-df-z]|^)shop|shopping).*)$) and medium is paid
//	Paid Search       source is a search site and medium is paid
//	Paid Social       source is a social site and medium is paid
//	Paid Video        source is a video site and medium is paid
//	Display           medium is display, banner, expandable, interstitial or cpm
//	Paid Other        medium is paid
//	Organic Shopping  source is a shopping site or campaign matches the shop regex
//	Organic Social    source is a social site or medium is social,
//	                  social-network, social-media, sm, social network or social media
//	Organic Video     source is a video site or medium contains "video"
//	Organic Search    source is a search site or medium is organic
//	Referral          medium is referral, app or link
//	Email             source or medium is email, e-mail, e_mail or e mail
//	Affiliates        medium is affiliate
//	Audio             medium is audio
//	SMS               source or medium is sms
//	Push              medium is web push (web-push, webpush, browser-push, ...)
//	Mobile Push Notifications
//	                  medium ends with "push" or contains "mobile" or
//	                  "notification", or source is firebase
//	Unassigned        anything else
//
// "Medium is paid" means it matches ^(.*cp.*|ppc|retargeting|paid.*)$. The
// site lists are data/*.txt. Push is Touchstream's: GA4 has no web push
// channel and would count these as Mobile Push Notifications.
func ClassifyTraffic(source, medium, campaign string) string {
	s := strings.ToLower(strings.TrimSpace(source))
	m := strings.ToLower(strings.TrimSpace(medium))
	c := strings.ToLower(campaign)
	srcHost := sourceHost(s)

	if s == "(direct)" && (m == "(none)" || m == "(not set)") {
		return Direct
	}
	if strings.Contains(c, "cross-network") {
		return CrossNetwork
	}
	paid := isPaid(m)
	shopping := shoppingSites.match(srcHost) || isShopCampaign(c)
	if paid {
		switch {
		case shopping:
			return PaidShopping
		case searchSites.match(srcHost):
			return PaidSearch
		case socialSites.match(srcHost):
			return PaidSocial
		case videoSites.match(srcHost):
			return PaidVideo
		}
	}
	switch m {
	case "display", "banner", "expandable", "interstitial", "cpm":
		return Display
	}
	switch {
	case paid:
		return PaidOther
	case shopping:
		return OrganicShopping
	case socialSites.match(srcHost) || isSocialMedium(m):
		return OrganicSocial
	case videoSites.match(srcHost) || strings.Contains(m, "video"):
		return OrganicVideo
	case searchSites.match(srcHost) || m == "organic":
		return OrganicSearch
	case m == "referral" || m == "app" || m == "link":
		return Referral
	case isEmail(s) || isEmail(m):
		return Email
	case m == "affiliate":
		return Affiliates
	case m == "audio":
		return Audio
	case s == "sms" || m == "sms":
		return SMS
	case isWebPush(m):
		return Push
	case strings.HasSuffix(m, "push") || strings.Contains(m, "mobile") ||
		strings.Contains(m, "notification") || s == "firebase":
		return MobilePush
	}
	return Unassigned
}

// sourceHost turns a source written as a URL (utm_source=https://x.com/a)
// into its host; any other source is left as it is.
func sourceHost(s string) string {
	if strings.Contains(s, "://") {
		return hostOf(s)
	}
	return s
}

// isPaid matches ^(.*cp.*|ppc|retargeting|paid.*)$.
func isPaid(m string) bool {
	return strings.Contains(m, "cp") || m == "ppc" || m == "retargeting" ||
		strings.HasPrefix(m, "paid")
}

// isShopCampaign matches ^(.*(([^a-df-z]|^)shop|shopping).*)$: "shop" at the
// start or after anything but a letter other than e (so "eshop" and
// "summer-shop" but not "workshop"), or "shopping" anywhere.
func isShopCampaign(c string) bool {
	if strings.Contains(c, "shopping") {
		return true
	}
	for i := 0; ; {
		j := strings.Index(c[i:], "shop")
		if j < 0 {
			return false
		}
		j += i
		if j == 0 {
			return true
		}
		if b := c[j-1]; b == 'e' || b < 'a' || b > 'z' {
			return true
		}
		i = j + 1
	}
}

func isSocialMedium(m string) bool {
	switch m {
	case "social", "social-network", "social-media", "sm", "social network", "social media":
		return true
	}
	return false
}

func isEmail(s string) bool {
	switch s {
	case "email", "e-mail", "e_mail", "e mail":
		return true
	}
	return false
}

func isWebPush(m string) bool {
	switch m {
	case "web-push", "webpush", "web_push", "web push",
		"browser-push", "browserpush", "browser_push", "browser push":
		return true
	}
	return false
}
