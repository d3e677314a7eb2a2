package endpoints

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/collector/pixel"
	"github.com/touchstream/touchstream/collector/redirect"
	"github.com/touchstream/touchstream/collector/snowplow"
	"github.com/touchstream/touchstream/collector/tracker"
	"github.com/touchstream/touchstream/collector/webhook"
	"github.com/touchstream/touchstream/internal/cliflag"
	webhooks "github.com/touchstream/touchstream/schemas/webhooks"
)

// EnvLinkSecret holds the link secrets, comma-separated: the first signs
// (touchstream sign-link), all verify, so a secret can be rotated.
const EnvLinkSecret = "TOUCHSTREAM_LINK_SECRET"

// Config says which optional protocols to serve.
type Config struct {
	// LinkSecrets verify signed click links; none means GET /r/{token} is
	// not served (a warning is logged).
	LinkSecrets [][]byte
	// WebhooksDir holds webhook mapping files (*.json); empty means the
	// mappings shipped in schemas/webhooks, built into the binary.
	WebhooksDir string
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

// Register adds the routes to srv. Call it before serving. It checks the
// whole configuration before adding any route.
func Register(srv *collector.Server, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	for i, s := range cfg.LinkSecrets {
		if len(s) < redirect.MinSecretBytes {
			return fmt.Errorf("link secret %d: at least %d bytes, got %d", i+1, redirect.MinSecretBytes, len(s))
		}
	}
	var (
		hooks *webhook.Registry
		err   error
	)
	if cfg.WebhooksDir != "" {
		hooks, err = webhook.Load(cfg.WebhooksDir)
	} else {
		hooks, err = webhook.LoadFS(webhooks.FS, nil)
	}
	if err != nil {
		return fmt.Errorf("webhook mappings: %w", err)
	}

	srv.Handle("GET /pixel/v1/{kind}", pixel.Handler(srv))
	srv.Handle("POST /v1/webhooks/{source}", webhook.Handler(srv, hooks))
	srv.Handle("POST /com.snowplowanalytics.snowplow/tp2", snowplow.Handler(srv))
	srv.Handle("OPTIONS /com.snowplowanalytics.snowplow/tp2", snowplow.Handler(srv)) // the JavaScript tracker's CORS preflight
	srv.Handle("GET /i", snowplow.Handler(srv))
	srv.Handle("GET /t.js", tracker.Handler())
	log.Info("webhooks served", "sources", hooks.Sources())
	if len(cfg.LinkSecrets) == 0 {
		log.Warn("no link secret: signed click links (GET /r/{token}) are not served; set " + EnvLinkSecret)
		return nil
	}
	srv.Handle("GET /r/{token}", redirect.Handler(srv, cfg.LinkSecrets, redirect.WithLogger(log)))
	return nil
}
