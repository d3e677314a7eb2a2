package redirect_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector/redirect"
)

// FuzzVerify verifies arbitrary tokens: no panic, exactly one of the
// sentinel errors or a link whose target is an absolute http(s) URL, which
// signs again into a token that verifies to the same link.
func FuzzVerify(f *testing.F) {
	f.Add(sign(f, secret, testLink))
	f.Add(sign(f, secret, redirect.Link{URL: "http://x.test", Recipient: "r", WriteKey: "k", Touchpoint: "sms"}))
	f.Add(signRaw(secret, `{"u":"javascript:alert(1)","r":"r","k":"dev","t":"email"}`))
	f.Add(signRaw(secret, `{"u":"https://x.test/","r":"r","k":"dev","t":"email","e":1,"z":null}`))
	f.Add(signRaw(secret, `{"u":"https://x.test/","r":"\ud800","k":"dev","t":"sms","e":9223372036854775807}`))
	f.Add(signRaw(secret, `[]`))
	f.Add("a.b")
	f.Add(".")
	f.Add("")
	when := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, token string) {
		l, err := redirect.Verify(secret, token, when)
		if err != nil {
			n := 0
			for _, e := range []error{redirect.ErrMalformed, redirect.ErrBadSignature, redirect.ErrExpired} {
				if errors.Is(err, e) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %v is %d of the sentinels", err, n)
			}
			return
		}
		u, perr := url.Parse(l.URL)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(l.URL, "\r\n\\ ") {
			t.Fatalf("verified target %q", l.URL)
		}
		again, err := redirect.Verify(secret, sign(t, secret, l), when)
		if err != nil || again != l {
			t.Fatalf("re-signed %+v: %+v, %v", l, again, err)
		}
	})
}

// FuzzSignVerify signs arbitrary links: Sign refuses with ErrInvalidLink,
// or Verify gives the link back.
func FuzzSignVerify(f *testing.F) {
	f.Add("https://shop.test/x?a=1&b=2", "bf", "crm-42", "email", int64(1797768000), "dev", "newsletter")
	f.Add("javascript:alert(1)", "", "r", "sms", int64(0), "k", "")
	f.Add("https://x.test/\r\n", "\xff", "", "web", int64(-5), "", "")
	when := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, u, c, r, tp string, e int64, k, m string) {
		l := redirect.Link{URL: u, Campaign: c, Recipient: r, Touchpoint: tp, WriteKey: k, Source: m}
		if e != 0 {
			l.Expires = time.Unix(e, 0).UTC()
		}
		tok, err := redirect.Sign(secret, l)
		if err != nil {
			if !errors.Is(err, redirect.ErrInvalidLink) {
				t.Fatalf("Sign: %v", err)
			}
			return
		}
		got, err := redirect.Verify(secret, tok, when)
		if len(tok) > redirect.MaxTokenBytes {
			if !errors.Is(err, redirect.ErrMalformed) {
				t.Fatalf("token of %d bytes: %v", len(tok), err)
			}
			return
		}
		if !l.Expires.IsZero() && !when.Before(l.Expires) {
			if !errors.Is(err, redirect.ErrExpired) {
				t.Fatalf("expired link: %v", err)
			}
			return
		}
		if l.Touchpoint == "" {
			l.Touchpoint = "email"
		}
		if err != nil || got != l {
			t.Fatalf("signed %+v, verified %+v, %v", l, got, err)
		}
	})
}
