package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/internal/cliflag"
	"github.com/touchstream/touchstream/pipeline"
)

// runSignLink is `touchstream sign-link`: it prints a signed click link,
// GET /r/{token} on the collector, to put in an email or SMS.
func runSignLink(_ context.Context, args []string) error {
	return signLink(args, os.Stdout, time.Now())
}

// signLink parses args, signs the link with the first secret and writes
// the click URL to out; now starts --expires.
func signLink(args []string, out io.Writer, now time.Time) error {
	var (
		link      = redirect.Link{Touchpoint: pipeline.TouchpointEmail, WriteKey: "dev"}
		expires   time.Duration
		collector = "http://127.0.0.1:8080"
		secret    string
	)
	fs := newFlagSet("sign-link", "LINK_")
	fs.String(&link.URL, "url", "target of the link: an absolute http or https URL (required)")
	fs.String(&link.Recipient, "recipient", "recipient id, the click's user id (required; readable in the link: use an opaque id, not an address)")
	fs.String(&link.Campaign, "campaign", "campaign: the click's utm_campaign")
	fs.String(&link.Source, "source", "the click's utm_source, e.g. newsletter")
	fs.String(&link.Touchpoint, "touchpoint", "email or sms")
	fs.Duration(&expires, "expires", "how long the link works, e.g. 720h; 0 never expires")
	fs.String(&link.WriteKey, "write-key", "write key of the source the click is recorded under")
	fs.String(&collector, "collector", "collector base URL the link points at")
	fs.Secret(&secret, "secret", "the collector's link secret, at least 16 bytes; of a comma-separated list (old secrets kept for verifying) the first signs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	secrets := cliflag.Split(secret)
	if len(secrets) == 0 {
		return errors.New("a link secret is required: --secret or " + fs.envName("secret") + " (the one the collector verifies with)")
	}
	if link.URL == "" {
		return errors.New("--url: required")
	}
	if link.Recipient == "" {
		return errors.New("--recipient: required")
	}
	if expires < 0 {
		return fmt.Errorf("--expires: %s, want >= 0", expires)
	}
	if expires > 0 {
		link.Expires = now.Add(expires)
	}
	base, err := collectorBase(collector)
	if err != nil {
		return fmt.Errorf("--collector: %w", err)
	}
	token, err := redirect.Sign([]byte(secrets[0]), link)
	if err != nil {
		return fmt.Errorf("sign link: %w", err)
	}
	_, err = fmt.Fprintln(out, base+"/r/"+token)
	return err
}

// collectorBase checks a collector base URL and drops its trailing slash.
func collectorBase(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an http or https base URL", s)
	}
	return strings.TrimRight(s, "/"), nil
}
