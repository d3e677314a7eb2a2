package redirect

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/touchstream/touchstream/pipeline"
)

// Limits on links and tokens.
const (
	// MinSecretBytes is the shortest secret Sign, Verify and Handler take:
	// tokens are public, and a short secret can be guessed offline from one.
	MinSecretBytes = 16
	// MaxURLBytes bounds a link's target.
	MaxURLBytes = 4096
	// MaxTokenBytes bounds a token; Verify refuses longer ones unread.
	MaxTokenBytes = 8192
)

var (
	// ErrMalformed is returned by Verify for a token that is not
	// <base64url payload>.<base64url signature>, is longer than
	// MaxTokenBytes, or whose signed payload is not a valid link (not a
	// JSON object of the link's fields, a target that is not an absolute
	// http or https URL, ...).
	ErrMalformed = errors.New("malformed link token")
	// ErrBadSignature is returned by Verify when the signature is not that
	// of the payload under the secret (under any of them, for Handler): the
	// token was altered, or signed with another secret.
	ErrBadSignature = errors.New("link signature does not match")
	// ErrExpired is returned by Verify for a correctly signed link whose
	// expiry has passed.
	ErrExpired = errors.New("link expired")
	// ErrInvalidLink is returned by Sign for a link it refuses to sign; the
	// error names the field.
	ErrInvalidLink = errors.New("invalid link")
	// ErrWeakSecret is returned by Sign and Verify for a secret shorter than
	// MinSecretBytes.
	ErrWeakSecret = fmt.Errorf("link secret shorter than %d bytes", MinSecretBytes)
)

// Link is what a click link carries. See the package documentation for how
// each field becomes part of the click event.
type Link struct {
	// URL is the target: an absolute http or https URL of printable ASCII
	// (percent-encode the rest), without user info or backslashes, at most
	// MaxURLBytes long.
	URL string
	// Campaign is the click's utm_campaign; optional.
	Campaign string
	// Recipient is who the message went to: the click's user_id and
	// visitor_id. Required; readable by whoever holds the link, so use an
	// opaque id.
	Recipient string
	// Touchpoint is email or sms; Sign takes "" for email.
	Touchpoint string
	// Expires is when the link stops working, at second precision (the
	// link is refused from that second on); zero never expires.
	Expires time.Time
	// WriteKey is the source the click is recorded under; required.
	WriteKey string
	// Source is the click's utm_source, e.g. "newsletter"; optional.
	Source string
}

// payload is a Link as signed.
type payload struct {
	URL        string `json:"u"`
	Campaign   string `json:"c,omitempty"`
	Recipient  string `json:"r"`
	Touchpoint string `json:"t"`
	Expires    int64  `json:"e,omitempty"`
	WriteKey   string `json:"k"`
	Source     string `json:"m,omitempty"`
}

var b64 = base64.RawURLEncoding.Strict()

// Sign returns the token of l, signed with secret.
func Sign(secret []byte, l Link) (string, error) {
	if len(secret) < MinSecretBytes {
		return "", ErrWeakSecret
	}
	if l.Touchpoint == "" {
		l.Touchpoint = pipeline.TouchpointEmail
	}
	p := payload{URL: l.URL, Campaign: l.Campaign, Recipient: l.Recipient, Touchpoint: l.Touchpoint,
		WriteKey: l.WriteKey, Source: l.Source}
	if !l.Expires.IsZero() {
		if p.Expires = l.Expires.Unix(); p.Expires <= 0 {
			return "", fmt.Errorf("%w: expires: %s is not after 1970", ErrInvalidLink, l.Expires.UTC().Format(time.RFC3339))
		}
	}
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidLink, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keeps the & of query strings short
	if err := enc.Encode(p); err != nil {
		return "", fmt.Errorf("encode link: %w", err)
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return b64.EncodeToString(body) + "." + b64.EncodeToString(mac(secret, body)), nil
}

// Verify returns the link token carries when it is signed with secret and
// has not expired at now. Its errors are ErrMalformed, ErrBadSignature,
// ErrExpired (check them with errors.Is) and ErrWeakSecret.
func Verify(secret []byte, token string, now time.Time) (Link, error) {
	if len(secret) < MinSecretBytes {
		return Link{}, ErrWeakSecret
	}
	return verify([][]byte{secret}, token, now)
}

// verify is Verify with the secrets tried in turn; they are known to be
// long enough.
func verify(secrets [][]byte, token string, now time.Time) (Link, error) {
	if len(token) > MaxTokenBytes {
		return Link{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenBytes)
	}
	// Only the base64url alphabet and one dot: the decoder would skip
	// newlines, and one link has one spelling.
	for i := 0; i < len(token); i++ {
		if c := token[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Link{}, fmt.Errorf("%w: invalid character at %d", ErrMalformed, i)
		}
	}
	enc, sigEnc, ok := strings.Cut(token, ".")
	if !ok || enc == "" || strings.Contains(sigEnc, ".") {
		return Link{}, fmt.Errorf("%w: want <payload>.<signature>", ErrMalformed)
	}
	body, err := b64.DecodeString(enc)
	if err != nil {
		return Link{}, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	sig, err := b64.DecodeString(sigEnc)
	if err != nil || len(sig) != sha256.Size {
		return Link{}, fmt.Errorf("%w: signature is not %d bytes of base64url", ErrMalformed, sha256.Size)
	}
	signed := false
	for _, s := range secrets {
		if hmac.Equal(sig, mac(s, body)) { // constant time
			signed = true
			break
		}
	}
	if !signed {
		return Link{}, ErrBadSignature
	}

	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Link{}, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return Link{}, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	if err := p.validate(); err != nil {
		return Link{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if p.Expires < 0 {
		return Link{}, fmt.Errorf("%w: e: %d is negative", ErrMalformed, p.Expires)
	}
	l := Link{URL: p.URL, Campaign: p.Campaign, Recipient: p.Recipient, Touchpoint: p.Touchpoint,
		WriteKey: p.WriteKey, Source: p.Source}
	if p.Expires > 0 {
		l.Expires = time.Unix(p.Expires, 0).UTC()
		if !now.Before(l.Expires) {
			return Link{}, fmt.Errorf("%w at %s", ErrExpired, l.Expires.Format(time.RFC3339))
		}
	}
	return l, nil
}

func mac(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}

// validate checks what Sign and Verify both require of a link.
func (p *payload) validate() error {
	if err := checkTarget(p.URL); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if p.Recipient == "" {
		return errors.New("recipient: required")
	}
	if p.WriteKey == "" {
		return errors.New("write key: required")
	}
	if p.Touchpoint != pipeline.TouchpointEmail && p.Touchpoint != pipeline.TouchpointSMS {
		return fmt.Errorf("touchpoint: %q is not email or sms", p.Touchpoint)
	}
	for _, f := range []struct{ name, v string }{
		{"recipient", p.Recipient}, {"write key", p.WriteKey}, {"campaign", p.Campaign}, {"source", p.Source},
	} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s: invalid UTF-8", f.name)
		}
	}
	return nil
}

// checkTarget accepts only an absolute http or https URL of printable
// ASCII with a host and no user info or backslash, so that what the
// browser follows is what was checked.
func checkTarget(s string) error {
	if s == "" {
		return errors.New("required")
	}
	if len(s) > MaxURLBytes {
		return fmt.Errorf("longer than %d bytes", MaxURLBytes)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return fmt.Errorf("byte %d (%q) is not printable ASCII; percent-encode it", i, c)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return errors.New("not an absolute URL with a host")
	}
	if u.User != nil {
		return errors.New("user info is not allowed")
	}
	return nil
}
