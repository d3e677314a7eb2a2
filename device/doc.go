// Package device reads an event's device type, browser and operating system
// off the user agent that sent it, for the events columns device_type,
// browser and os when the event does not say them itself (web trackers send
// only context.userAgent; Segment's mobile libraries send
// context.device.type and context.os.name).
//
// Parse uses github.com/mileusna/useragent and names the device type as
// GA4's device category does, lower case: desktop, mobile or tablet, and
// bot for crawlers; "" when the user agent says none of these. Browser and
// OS are the library's names (Chrome, Safari, Mobile Safari, Firefox, Edge;
// Windows, macOS, iOS, Android, Linux, ChromeOS). Versions are dropped:
// they would split every breakdown.
//
// Category names a device type an SDK sent (Segment's mobile libraries and
// Snowplow's mobile trackers send their platform, ios or android) as the
// same categories, so that one breakdown row holds all phones.
//
// Fill sets the fields an event leaves empty. It remembers the answers for
// the most recent user agents, which repeat across a site's traffic, so
// that the collector parses each once (BenchmarkParse); the memory is
// bounded and safe for concurrent use.
package device
