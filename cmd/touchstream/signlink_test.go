package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/collector/redirect"
)

func TestSignLink(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	t.Setenv("TOUCHSTREAM_LINK_SECRET", secret+",retired-secret-retired-secret")
	var out bytes.Buffer
	err := signLink([]string{"--url", "https://shop.test/deals?utm_campaign=bf", "--campaign", "bf", "--recipient", "crm-42",
		"--touchpoint", "sms", "--expires", "720h", "--write-key", "shop", "--source", "newsletter", "--collector", "https://c.test/"}, &out, now)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(out.String(), "\n")
	token, ok := strings.CutPrefix(line, "https://c.test/r/")
	if !ok || strings.Contains(token, "\n") {
		t.Fatalf("printed %q", out.String())
	}
	l, err := redirect.Verify([]byte(secret), token, now)
	want := redirect.Link{URL: "https://shop.test/deals?utm_campaign=bf", Campaign: "bf", Recipient: "crm-42", Touchpoint: "sms",
		Expires: now.Add(720 * time.Hour), WriteKey: "shop", Source: "newsletter"}
	if err != nil || l != want {
		t.Errorf("verified %+v, %v; want %+v", l, err, want)
	}
	if _, err := redirect.Verify([]byte(secret), token, want.Expires); !errors.Is(err, redirect.ErrExpired) {
		t.Errorf("after --expires: %v", err)
	}

	// Defaults: email, write key dev, local collector, no expiry.
	out.Reset()
	if err := signLink([]string{"--url", "http://x.test", "--recipient", "r", "--secret", secret}, &out, now); err != nil {
		t.Fatal(err)
	}
	token, _ = strings.CutPrefix(strings.TrimSpace(out.String()), "http://127.0.0.1:8080/r/")
	if l, err := redirect.Verify([]byte(secret), token, now.AddDate(100, 0, 0)); err != nil || l.Touchpoint != "email" || l.WriteKey != "dev" || !l.Expires.IsZero() {
		t.Errorf("defaults: %+v, %v", l, err)
	}
}

func TestSignLinkErrors(t *testing.T) {
	t.Setenv("TOUCHSTREAM_LINK_SECRET", "")
	const secret = "--secret=0123456789abcdef"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", "https://x.test", "--recipient", "r"}, "a link secret is required: --secret or TOUCHSTREAM_LINK_SECRET"},
		{[]string{secret, "--recipient", "r"}, "--url: required"},
		{[]string{secret, "--url", "https://x.test"}, "--recipient: required"},
		{[]string{secret, "--url", "javascript:alert(1)", "--recipient", "r"}, `sign link: invalid link: url: scheme "javascript" is not http or https`},
		{[]string{secret, "--url", "https://x.test", "--recipient", "r", "--touchpoint", "web"}, `sign link: invalid link: touchpoint: "web" is not email or sms`},
		{[]string{"--secret=short", "--url", "https://x.test", "--recipient", "r"}, "sign link: link secret shorter than 16 bytes"},
		{[]string{secret, "--url", "https://x.test", "--recipient", "r", "--expires", "-1h"}, "--expires: -1h0m0s, want >= 0"},
		{[]string{secret, "--url", "https://x.test", "--recipient", "r", "--collector", "127.0.0.1:8080"}, `--collector: "127.0.0.1:8080" is not an http or https base URL`},
		{[]string{secret, "--url", "https://x.test", "--recipient", "r", "extra"}, `unexpected arguments: ["extra"]`},
	} {
		var out bytes.Buffer
		err := signLink(tt.args, &out, time.Now())
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || out.Len() != 0 {
			t.Errorf("%q: %v, printed %q; want %q", tt.args, err, out.String(), tt.want)
		}
	}
}
