// Package endpoints adds the collector's protocols beyond the Segment API
// to a collector.Server: the email/SMS pixel (GET /pixel/v1/{track,page})
// and the signed click redirect (GET /r/{token}), and, when their mapping
// files are configured, the social and chat webhooks. cmd/collector and the
// dev stack both wire through Register, so the routes are the same
// everywhere.
package endpoints

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/pixel"
	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/internal/cliflag"
)

// EnvLinkSecret holds the link secrets, comma-separated: the first signs
// (touchstream sign-link), all verify, so a secret can be rotated.
const EnvLinkSecret = "TOUCHSTREAM_LINK_SECRET"

// Config says which optional protocols to serve.
type Config struct {
	// LinkSecrets verify signed click links; none means GET /r/{token} is
	// not served (a warning is logged).
	LinkSecrets [][]byte
	Logger      *slog.Logger
}

// LinkSecretsFromEnv reads EnvLinkSecret.
func LinkSecretsFromEnv() [][]byte {
	var out [][]byte
	for _, s := range cliflag.Split(os.Getenv(EnvLinkSecret)) {
		out = append(out, []byte(s))
	}
	return out
}

// Register adds the routes to srv. Call it before serving.
func Register(srv *collector.Server, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	srv.Handle("GET /pixel/v1/{kind}", pixel.Handler(srv))
	if len(cfg.LinkSecrets) == 0 {
		log.Warn("no link secret: signed click links (GET /r/{token}) are not served; set " + EnvLinkSecret)
		return nil
	}
	for i, s := range cfg.LinkSecrets {
		if len(s) < redirect.MinSecretBytes {
			return fmt.Errorf("link secret %d: at least %d bytes, got %d", i+1, redirect.MinSecretBytes, len(s))
		}
	}
	srv.Handle("GET /r/{token}", redirect.Handler(srv, cfg.LinkSecrets, redirect.WithLogger(log)))
	return nil
}
