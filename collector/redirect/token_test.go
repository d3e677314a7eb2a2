package redirect_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector/redirect"
)

var (
	secret    = []byte("0123456789abcdef0123456789abcdef")
	oldSecret = []byte("retired-secret-retired-secret!!")
	otherKey  = []byte("someone-else's-secret-not-ours")
)

// expires is the expiry of testLink: 2026-12-20T12:00:00Z.
var expires = time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)

var testLink = redirect.Link{
	URL:        "https://shop.test/deals?utm_source=newsletter&utm_medium=email&utm_campaign=bf#top",
	Campaign:   "bf",
	Recipient:  "crm-42",
	Touchpoint: "email",
	Expires:    expires,
	WriteKey:   "dev",
	Source:     "newsletter",
}

func sign(t testing.TB, key []byte, l redirect.Link) string {
	t.Helper()
	tok, err := redirect.Sign(key, l)
	if err != nil {
		t.Fatalf("sign %+v: %v", l, err)
	}
	return tok
}

// signRaw signs any payload, as a signer with a bug or of another version
// could.
func signRaw(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestSignVerify(t *testing.T) {
	tok := sign(t, secret, testLink)
	if strings.ContainsAny(tok, "=+/") || strings.Count(tok, ".") != 1 {
		t.Errorf("token %q is not two unpadded base64url parts", tok)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
	if want := `{"u":"https://shop.test/deals?utm_source=newsletter&utm_medium=email&utm_campaign=bf#top","c":"bf","r":"crm-42","t":"email","e":1797768000,"k":"dev","m":"newsletter"}`; string(payload) != want {
		t.Errorf("payload\n got %s\nwant %s", payload, want)
	}
	got, err := redirect.Verify(secret, tok, expires.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got != testLink {
		t.Errorf("verified %+v, want %+v", got, testLink)
	}

	// Defaults: email, no expiry, no campaign or source.
	min := redirect.Link{URL: "http://x.test", Recipient: "r", WriteKey: "k"}
	got, err = redirect.Verify(secret, sign(t, secret, min), time.Date(2299, 1, 1, 0, 0, 0, 0, time.UTC))
	min.Touchpoint = "email"
	if err != nil || got != min {
		t.Errorf("minimal link: %+v, %v", got, err)
	}
}

func TestVerify(t *testing.T) {
	good := sign(t, secret, testLink)
	payload, sig, _ := strings.Cut(good, ".")
	altered := strings.Replace(testLink.URL, "shop.test", "evil.test", 1)
	tamperedPayload := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(decode(t, payload), testLink.URL, altered, 1))) + "." + sig
	flip := map[byte]byte{'A': 'B'}
	sigFlipped := []byte(sig)
	if c, ok := flip[sigFlipped[0]]; ok {
		sigFlipped[0] = c
	} else {
		sigFlipped[0] = 'A'
	}
	before := expires.Add(-time.Nanosecond)
	valid := `"u":"https://x.test/","r":"r","k":"dev","t":"sms"`

	tests := []struct {
		name  string
		key   []byte
		token string
		now   time.Time
		want  error // nil: verifies
	}{
		{"good", secret, good, before, nil},
		{"a second before expiry", secret, good, expires.Add(-time.Second), nil},
		{"expiry second, exactly", secret, good, expires, redirect.ErrExpired},
		{"a nanosecond after expiry", secret, good, expires.Add(time.Nanosecond), redirect.ErrExpired},
		{"a year after expiry", secret, good, expires.AddDate(1, 0, 0), redirect.ErrExpired},
		{"tampered payload", secret, tamperedPayload, before, redirect.ErrBadSignature},
		{"tampered signature", secret, payload + "." + string(sigFlipped), before, redirect.ErrBadSignature},
		{"signature of another payload", secret, payload + "." + strings.SplitN(sign(t, secret, redirect.Link{URL: "https://evil.test", Recipient: "r", WriteKey: "dev"}), ".", 2)[1], before, redirect.ErrBadSignature},
		{"wrong secret", otherKey, good, before, redirect.ErrBadSignature},
		{"expired and altered", secret, tamperedPayload, expires.AddDate(1, 0, 0), redirect.ErrBadSignature},
		{"signature truncated", secret, payload + "." + sig[:20], before, redirect.ErrMalformed},
		{"signature with nonzero trailing bits", secret, payload + "." + sig[:len(sig)-1] + "B", before, redirect.ErrMalformed},
		{"no signature", secret, payload + ".", before, redirect.ErrMalformed},
		{"no dot", secret, payload, before, redirect.ErrMalformed},
		{"no payload", secret, "." + sig, before, redirect.ErrMalformed},
		{"three parts", secret, good + "." + sig, before, redirect.ErrMalformed},
		{"padded", secret, payload + "==." + sig, before, redirect.ErrMalformed},
		{"newline inside", secret, payload[:4] + "\n" + payload[4:] + "." + sig, before, redirect.ErrMalformed},
		{"standard alphabet", secret, strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/", before, redirect.ErrMalformed},
		{"empty", secret, "", before, redirect.ErrMalformed},
		{"garbage", secret, "hello, world", before, redirect.ErrMalformed},
		{"too long", secret, strings.Repeat("A", redirect.MaxTokenBytes) + "." + sig, before, redirect.ErrMalformed},
		{"signed, javascript: target", secret, signRaw(secret, `{"u":"javascript:alert(1)","r":"r","k":"dev","t":"email"}`), before, redirect.ErrMalformed},
		{"signed, data: target", secret, signRaw(secret, `{"u":"data:text/html,<script>x</script>","r":"r","k":"dev","t":"email"}`), before, redirect.ErrMalformed},
		{"signed, ftp: target", secret, signRaw(secret, `{"u":"ftp://x.test/","r":"r","k":"dev","t":"email"}`), before, redirect.ErrMalformed},
		{"signed, scheme-relative target", secret, signRaw(secret, `{"u":"//evil.test/","r":"r","k":"dev","t":"email"}`), before, redirect.ErrMalformed},
		{"signed, relative target", secret, signRaw(secret, `{"u":"/account","r":"r","k":"dev","t":"email"}`), before, redirect.ErrMalformed},
		{"signed, target with CRLF", secret, signRaw(secret, `{"u":"https://x.test/\r\nSet-Cookie: a=b","r":"r","k":"dev","t":"email"}`), before, redirect.ErrMalformed},
		{"signed, target with user info", secret, signRaw(secret, `{"u":"https://shop.test@evil.test/","r":"r","k":"dev","t":"email"}`), before, redirect.ErrMalformed},
		{"signed, not an object", secret, signRaw(secret, `["https://x.test/"]`), before, redirect.ErrMalformed},
		{"signed, null", secret, signRaw(secret, `null`), before, redirect.ErrMalformed},
		{"signed, not JSON", secret, signRaw(secret, `{"u":`), before, redirect.ErrMalformed},
		{"signed, field of the wrong type", secret, signRaw(secret, `{`+valid+`,"e":"soon"}`), before, redirect.ErrMalformed},
		{"signed, no recipient", secret, signRaw(secret, `{"u":"https://x.test/","k":"dev","t":"email"}`), before, redirect.ErrMalformed},
		{"signed, no write key", secret, signRaw(secret, `{"u":"https://x.test/","r":"r","t":"email"}`), before, redirect.ErrMalformed},
		{"signed, no touchpoint", secret, signRaw(secret, `{"u":"https://x.test/","r":"r","k":"dev"}`), before, redirect.ErrMalformed},
		{"signed, web touchpoint", secret, signRaw(secret, `{"u":"https://x.test/","r":"r","k":"dev","t":"web"}`), before, redirect.ErrMalformed},
		{"signed, negative expiry", secret, signRaw(secret, `{`+valid+`,"e":-1}`), before, redirect.ErrMalformed},
		{"signed, unknown fields ignored", secret, signRaw(secret, `{`+valid+`,"z":[1,{}]}`), before, nil},
		{"weak secret", []byte("short"), good, before, redirect.ErrWeakSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := redirect.Verify(tt.key, tt.token, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if l.URL == "" {
					t.Errorf("verified %+v", l)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			for _, other := range []error{redirect.ErrMalformed, redirect.ErrBadSignature, redirect.ErrExpired, redirect.ErrWeakSecret} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v is also %v", err, other)
				}
			}
			if l != (redirect.Link{}) {
				t.Errorf("refused, but returned %+v", l)
			}
		})
	}
}

func decode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSignRefuses(t *testing.T) {
	with := func(edit func(*redirect.Link)) redirect.Link {
		l := testLink
		edit(&l)
		return l
	}
	tests := []struct {
		name string
		link redirect.Link
		want string
	}{
		{"no url", with(func(l *redirect.Link) { l.URL = "" }), "invalid link: url: required"},
		{"javascript:", with(func(l *redirect.Link) { l.URL = "javascript:alert(document.cookie)" }), `invalid link: url: scheme "javascript" is not http or https`},
		{"JavaScript: with a host", with(func(l *redirect.Link) { l.URL = "JavaScript://x.test/%0aalert(1)" }), `invalid link: url: scheme "javascript" is not http or https`},
		{"data:", with(func(l *redirect.Link) { l.URL = "data:text/html;base64,PHNjcmlwdD4=" }), `invalid link: url: scheme "data" is not http or https`},
		{"mailto:", with(func(l *redirect.Link) { l.URL = "mailto:a@b.test" }), `invalid link: url: scheme "mailto" is not http or https`},
		{"relative", with(func(l *redirect.Link) { l.URL = "/cart" }), `invalid link: url: scheme "" is not http or https`},
		{"scheme-relative", with(func(l *redirect.Link) { l.URL = "//evil.test" }), `invalid link: url: scheme "" is not http or https`},
		{"opaque", with(func(l *redirect.Link) { l.URL = "https:evil.test" }), "invalid link: url: not an absolute URL with a host"},
		{"no host", with(func(l *redirect.Link) { l.URL = "https://:443/x" }), "invalid link: url: not an absolute URL with a host"},
		{"user info", with(func(l *redirect.Link) { l.URL = "https://shop.test@evil.test/" }), "invalid link: url: user info is not allowed"},
		{"backslash", with(func(l *redirect.Link) { l.URL = `https://evil.test\@shop.test/` }), `invalid link: url: byte 17 ('\\') is not printable ASCII; percent-encode it`},
		{"newline", with(func(l *redirect.Link) { l.URL = "https://x.test/\r\nSet-Cookie: a=b" }), `invalid link: url: byte 15 ('\r') is not printable ASCII; percent-encode it`},
		{"NUL", with(func(l *redirect.Link) { l.URL = "https://x.test/\x00" }), `invalid link: url: byte 15 ('\x00') is not printable ASCII; percent-encode it`},
		{"space", with(func(l *redirect.Link) { l.URL = "https://x.test/a b" }), `invalid link: url: byte 16 (' ') is not printable ASCII; percent-encode it`},
		{"non-ASCII", with(func(l *redirect.Link) { l.URL = "https://x.test/é" }), `invalid link: url: byte 15 ('Ã') is not printable ASCII; percent-encode it`},
		{"too long", with(func(l *redirect.Link) { l.URL = "https://x.test/" + strings.Repeat("a", redirect.MaxURLBytes) }), "invalid link: url: longer than 4096 bytes"},
		{"not a URL", with(func(l *redirect.Link) { l.URL = "https://x.test/%zz" }), "invalid link: url: not a URL"},
		{"no recipient", with(func(l *redirect.Link) { l.Recipient = "" }), "invalid link: recipient: required"},
		{"no write key", with(func(l *redirect.Link) { l.WriteKey = "" }), "invalid link: write key: required"},
		{"web touchpoint", with(func(l *redirect.Link) { l.Touchpoint = "web" }), `invalid link: touchpoint: "web" is not email or sms`},
		{"EMAIL", with(func(l *redirect.Link) { l.Touchpoint = "EMAIL" }), `invalid link: touchpoint: "EMAIL" is not email or sms`},
		{"invalid UTF-8", with(func(l *redirect.Link) { l.Campaign = "\xff" }), "invalid link: campaign: invalid UTF-8"},
		{"expires in 1970", with(func(l *redirect.Link) { l.Expires = time.Unix(0, 0) }), "invalid link: expires: 1970-01-01T00:00:00Z is not after 1970"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := redirect.Sign(secret, tt.link)
			if !errors.Is(err, redirect.ErrInvalidLink) || err.Error() != tt.want {
				t.Errorf("Sign: %q, %v; want %q", tok, err, tt.want)
			}
		})
	}
	if _, err := redirect.Sign(secret[:redirect.MinSecretBytes-1], testLink); !errors.Is(err, redirect.ErrWeakSecret) {
		t.Errorf("short secret: %v", err)
	}
	if _, err := redirect.Sign(secret[:redirect.MinSecretBytes], testLink); err != nil {
		t.Errorf("secret of MinSecretBytes: %v", err)
	}
}
