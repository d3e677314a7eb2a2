package tracker

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// Script is t.js as served.
//
//go:embed t.js
var Script []byte

// etag is the strong validator of Script: a hash of its bytes, so it
// changes exactly when the script does.
var etag = func() string {
	sum := sha256.Sum256(Script)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// Handler serves t.js (GET and HEAD): application/javascript, cacheable
// for five minutes by browsers and shared caches, with an ETag answered
// 304 on a matching If-None-Match.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("ETag", etag)
		h.Set("X-Content-Type-Options", "nosniff")
		// Any page may load the script; crossorigin="anonymous" works too.
		h.Set("Access-Control-Allow-Origin", "*")
		// http.ServeContent answers If-None-Match (304), If-Match and
		// Range itself, from the ETag set above; no modification time, so
		// If-Modified-Since is ignored.
		http.ServeContent(w, r, "t.js", time.Time{}, bytes.NewReader(Script))
	})
}
