package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
)

// ErrSignatureMissing happens when a source has a signature check and the
// request does not carry its header.
var ErrSignatureMissing = errors.New("signature missing")

// ErrSignatureInvalid happens when the signature header does not decode, or
// is not the HMAC of the body with the source's secret.
var ErrSignatureInvalid = errors.New("signature invalid")

// hashes are the HMAC algorithms a signature check may use.
var hashes = map[string]func() hash.Hash{
	"sha256": sha256.New,
	"sha1":   sha1.New,
	"sha512": sha512.New,
}

// signature is a source's HMAC check: header = prefix + encode(HMAC(secret,
// body)), the body as it came over the wire.
type signature struct {
	header    string
	algorithm string // sha256, sha1, sha512
	encoding  string // hex, base64
	prefix    string // e.g. "sha256="
	secret    []byte
}

// Verify checks the signature of body against the source's secret, when the
// source has a signature check; it returns nil otherwise. body is the request
// body as it came over the wire (before any Content-Encoding is undone).
// The error wraps ErrSignatureMissing or ErrSignatureInvalid.
func (m *Mapping) Verify(h http.Header, body []byte) error {
	if m.sig == nil {
		return nil
	}
	return m.sig.verify(h, body)
}

func (s *signature) verify(h http.Header, body []byte) error {
	got := strings.TrimSpace(h.Get(s.header))
	if got == "" {
		return fmt.Errorf("%w: header %s is required", ErrSignatureMissing, s.header)
	}
	if s.prefix != "" {
		if len(got) < len(s.prefix) || !strings.EqualFold(got[:len(s.prefix)], s.prefix) {
			return fmt.Errorf("%w: header %s must start with %q", ErrSignatureInvalid, s.header, s.prefix)
		}
		got = got[len(s.prefix):]
	}
	var sum []byte
	var err error
	switch s.encoding {
	case "base64":
		sum, err = base64.StdEncoding.DecodeString(got)
		if err != nil {
			sum, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(got, "="))
		}
	default:
		sum, err = hex.DecodeString(got)
	}
	if err != nil {
		return fmt.Errorf("%w: header %s is not %s", ErrSignatureInvalid, s.header, s.encoding)
	}
	mac := hmac.New(hashes[s.algorithm], s.secret)
	mac.Write(body)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return fmt.Errorf("%w: header %s does not match the body", ErrSignatureInvalid, s.header)
	}
	return nil
}

// sign returns the header value that signs body; tests and examples use it.
func (s *signature) sign(body []byte) string {
	mac := hmac.New(hashes[s.algorithm], s.secret)
	mac.Write(body)
	sum := mac.Sum(nil)
	if s.encoding == "base64" {
		return s.prefix + base64.StdEncoding.EncodeToString(sum)
	}
	return s.prefix + hex.EncodeToString(sum)
}
