package generate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/pipeline"
)

// pixelErrorHeader is the pixel's reason for refusing an event it still
// answers 200 to (collector/pixel).
const pixelErrorHeader = "X-Touchstream-Error"

// PixelURL is the pixel request of e: GET /pixel/v1/track (or /page for a
// page event) on the collector at base, with the write key, and the
// event's message id, time, ids, name, touchpoint (properties.touchpoint),
// campaign (utm_*), page and properties (p, base64url JSON) in the query
// string, so that the collector stores the event as generated.
func (e *Event) PixelURL(base, writeKey string) (string, error) {
	q := url.Values{}
	q.Set("writeKey", writeKey)
	q.Set("messageId", e.MessageID)
	q.Set("timestamp", e.Timestamp())
	if e.AnonymousID != "" {
		q.Set("anonymousId", e.AnonymousID)
	}
	if e.UserID != "" {
		q.Set("userId", e.UserID)
	}
	kind := pipeline.TypeTrack
	switch e.Type {
	case pipeline.TypeTrack:
		q.Set("event", e.Name)
	case pipeline.TypePage:
		kind = pipeline.TypePage
		q.Set("name", e.Name)
	default:
		return "", fmt.Errorf("pixel: a %s event cannot be sent", e.Type)
	}
	if tp, ok := e.Properties["touchpoint"].(string); ok {
		q.Set("touchpoint", tp)
	}
	if c := e.Campaign; c != nil {
		q.Set("utm_source", c.Source)
		q.Set("utm_medium", c.Medium)
		q.Set("utm_campaign", c.Name)
	}
	if e.Page.URL != "" {
		q.Set("url", e.Page.URL)
		q.Set("path", e.Page.Path)
		q.Set("referrer", e.Page.Referrer)
	}
	if len(e.Properties) > 0 {
		p, err := json.Marshal(e.Properties)
		if err != nil {
			return "", fmt.Errorf("pixel: properties: %w", err)
		}
		q.Set("p", base64.RawURLEncoding.EncodeToString(p))
	}
	return base + "/pixel/v1/" + kind + "?" + q.Encode(), nil
}

// Link is the signed link of a click (ViaRedirect): the target is
// Page.URL, the recipient UserID (else AnonymousID), the touchpoint
// properties.touchpoint, and utm_source and utm_campaign the campaign's.
func (e *Event) Link(writeKey string) redirect.Link {
	l := redirect.Link{URL: e.Page.URL, Recipient: e.UserID, WriteKey: writeKey}
	if l.Recipient == "" {
		l.Recipient = e.AnonymousID
	}
	l.Touchpoint, _ = e.Properties["touchpoint"].(string)
	if c := e.Campaign; c != nil {
		l.Campaign, l.Source = c.Name, c.Source
	}
	return l
}

// sendPixel requests e's pixel until the collector stores it.
func (s *sender) sendPixel(ctx context.Context, e *Event) error {
	target, err := e.PixelURL(s.base, s.opts.WriteKey)
	if err != nil {
		return err
	}
	if err := s.get(ctx, target, http.StatusOK); err != nil {
		return fmt.Errorf("pixel %s: %w", e.MessageID, err)
	}
	s.events.Add(1)
	s.pixels.Add(1)
	return nil
}

// sendClick follows e's signed link once (not the redirect it answers).
// A click retried after a transport error may be recorded twice: the
// collector gives every click a message id of its own.
func (s *sender) sendClick(ctx context.Context, e *Event) error {
	token, err := redirect.Sign(s.opts.LinkSecret, e.Link(s.opts.WriteKey))
	if err != nil {
		return fmt.Errorf("click %s: %w", e.MessageID, err)
	}
	if err := s.get(ctx, s.base+"/r/"+token, http.StatusFound); err != nil {
		var se *StatusError
		if errors.As(err, &se) {
			switch se.Status {
			case http.StatusNotFound:
				return fmt.Errorf("click %s: %w (the collector serves no signed links: is its TOUCHSTREAM_LINK_SECRET set?)", e.MessageID, err)
			case http.StatusForbidden:
				return fmt.Errorf("click %s: %w (is the link secret one the collector verifies with, TOUCHSTREAM_LINK_SECRET?)", e.MessageID, err)
			}
		}
		return fmt.Errorf("click %s: %w", e.MessageID, err)
	}
	s.events.Add(1)
	s.clicks.Add(1)
	return nil
}

// get requests target until the collector answers want, retrying as post
// does. A pixel's 200 with an error header is a refusal.
func (s *sender) get(ctx context.Context, target string, want int) error {
	bo := s.backOff()
	op := func() error {
		s.requests.Add(1)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return backoff.Permanent(err)
		}
		req.Header.Set("User-Agent", LibraryName+"/"+LibraryVersion)
		resp, err := s.noFollow.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return backoff.Permanent(context.Cause(ctx))
			}
			return err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		body := string(data)
		if msg := resp.Header.Get(pixelErrorHeader); msg != "" {
			body = msg // the pixel's body is always the GIF
		}
		if resp.StatusCode != want {
			se := &StatusError{Status: resp.StatusCode, Body: body, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
			if !se.Retryable() {
				return backoff.Permanent(se)
			}
			bo.after = se.RetryAfter
			return se
		}
		if resp.Header.Get(pixelErrorHeader) != "" {
			return backoff.Permanent(fmt.Errorf("%w: %s", ErrRejected, body))
		}
		return nil
	}
	return backoff.RetryNotify(op, backoff.WithContext(bo, ctx), func(error, time.Duration) { s.retries.Add(1) })
}

// noFollow is a copy of c that does not follow redirects.
func noFollow(c *http.Client) *http.Client {
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &nc
}
