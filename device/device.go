package device

import (
	"strings"
	"sync"

	"github.com/mileusna/useragent"

	"github.com/touchstream/touchstream/pipeline"
)

// Device types (the device_type column when it comes from a user agent).
const (
	Desktop = "desktop"
	Mobile  = "mobile"
	Tablet  = "tablet"
	Bot     = "bot"
)

// Info is what a user agent says about the device that sent it.
type Info struct {
	Type    string // Desktop, Mobile, Tablet, Bot or ""
	Browser string // "" when unknown
	OS      string // "" when unknown
}

// Parse reads ua. An empty or unknown user agent gives the zero Info.
func Parse(ua string) Info {
	if ua == "" {
		return Info{}
	}
	p := useragent.Parse(ua)
	info := Info{Browser: p.Name, OS: p.OS}
	switch {
	case p.Bot:
		info.Type = Bot
	case p.Tablet, p.OS == useragent.Android && !strings.Contains(ua, "Mobile"):
		// Android tablets' browsers leave "Mobile" out of the user agent
		// (Google's advice to tablet makers); the library counts them
		// as phones.
		info.Type = Tablet
	case p.Mobile:
		info.Type = Mobile
	case p.Desktop:
		info.Type = Desktop
	}
	return info
}

// Category names the device type an SDK sent (Segment's
// context.device.type, a Snowplow mobile_context's osType) as Parse's
// categories do, so that a breakdown by device_type has one row for phones
// whichever way they were tracked. Segment's mobile libraries send their
// platform, "ios" or "android", rather than a category: those are Mobile,
// or Tablet when model (context.device.model, the mobile_context's
// deviceModel) is an iPad ("iPad13,4"); an Android model does not say
// whether it is a tablet, so Android is Mobile. "macos", "windows" and
// "linux" are Desktop. Any other value is kept, lower case and trimmed
// (the platform itself stays in the os column).
func Category(sent, model string) string {
	sent = strings.ToLower(strings.TrimSpace(sent))
	switch sent {
	case "ipados":
		return Tablet
	case "ios":
		if strings.HasPrefix(strings.TrimSpace(model), "iPad") {
			return Tablet
		}
		return Mobile
	case "android":
		return Mobile
	case "macos", "mac", "windows", "linux":
		return Desktop
	}
	return sent
}

// maxUALen is the longest user agent the cache keeps; longer ones are
// parsed every time (real browsers' are 100-300 bytes).
const maxUALen = 512

// cache is Parse with a memory of the last user agents: at most size of
// them, forgotten all at once when it is full.
type cache struct {
	mu   sync.RWMutex
	size int
	m    map[string]Info
}

// newCache returns a cache of at most size user agents (at least 1).
func newCache(size int) *cache {
	size = max(size, 1)
	return &cache{size: size, m: make(map[string]Info, size)}
}

// parse is Parse(ua), from memory when ua was seen lately.
func (c *cache) parse(ua string) Info {
	if ua == "" || len(ua) > maxUALen {
		return Parse(ua)
	}
	c.mu.RLock()
	info, ok := c.m[ua]
	c.mu.RUnlock()
	if ok {
		return info
	}
	info = Parse(ua)
	c.mu.Lock()
	if len(c.m) >= c.size {
		clear(c.m)
	}
	c.m[ua] = info
	c.mu.Unlock()
	return info
}

// shared is Fill's cache: one for the whole process, as user agents repeat
// across sources.
var shared = newCache(4096)

// Fill sets the event's DeviceType, Browser and OS from ua where they are
// empty; what the event says itself wins. It parses nothing when all three
// are set or ua is empty, and each user agent once while it stays among
// the last 4096.
func Fill(e *pipeline.Event, ua string) {
	if ua == "" || (e.DeviceType != "" && e.Browser != "" && e.OS != "") {
		return
	}
	info := shared.parse(ua)
	if e.DeviceType == "" {
		e.DeviceType = info.Type
	}
	if e.Browser == "" {
		e.Browser = info.Browser
	}
	if e.OS == "" {
		e.OS = info.OS
	}
}
