package collector

import (
	"net/http"
	"strconv"
)

// CORS, per source. Browsers on any origin may post events and read the
// answer (an SDK that cannot read it would retry; no cookies are involved),
// unless the write key's source lists AllowedOrigins: then only those
// origins get their Origin echoed in Access-Control-Allow-Origin, others get
// no CORS headers (the browser blocks them) and 403.
//
// The write key may be in the request (Basic auth, ?writeKey=) or only in
// the body. The cors middleware decides from the request alone: a key in the
// request picks the source, else the answer allows "*" for now. The Segment
// handler checks again once it has parsed the body, so a body's key with an
// allow-list takes the "*" back (and refuses a disallowed origin with 403)
// before answering. A preflight carries no body and no credentials: only a
// ?writeKey= in its URL lets it be refused; without one it is allowed, and
// the request that follows is refused if its origin is not allowed.

// cors sets the CORS answer headers as far as the request alone tells.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			src := s.requestSource(r)
			if src == nil || src.allowOrigin(origin) {
				setAllowOrigin(w, src, origin)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requestSource is the source of the write key in the request outside its
// body, or nil.
func (s *Server) requestSource(r *http.Request) *source {
	if key, ok := requestWriteKey(r); ok {
		return s.sources[key]
	}
	return nil
}

// setAllowOrigin allows origin for src: "*" when src restricts no origin,
// else the origin echoed (and Vary: Origin, the answer depending on it).
func setAllowOrigin(w http.ResponseWriter, src *source, origin string) {
	h := w.Header()
	if src == nil || src.origins == nil {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
}

// checkOrigin is for a handler that now knows the request's source: it sets
// the CORS headers for it and reports whether its Origin is allowed (when
// not, the headers are gone and the caller answers 403).
func checkOrigin(w http.ResponseWriter, r *http.Request, src *source) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || src == nil {
		return true
	}
	w.Header().Del("Access-Control-Allow-Origin")
	w.Header().Del("Access-Control-Allow-Credentials")
	if !src.allowOrigin(origin) {
		return false
	}
	setAllowOrigin(w, src, origin)
	return true
}

// originGuard refuses, with 403, a request to another protocol's handler
// whose write key is in the request and whose Origin that key's source does
// not allow; a disallowed preflight gets 204 without CORS headers.
func (s *Server) originGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if src := s.requestSource(r); src != nil && !src.allowOrigin(origin) {
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			s.metrics.rejected.WithLabelValues(reasonOrigin).Inc()
			s.log.Debug("origin refused", "source", src.name, "origin", origin, "path", r.URL.Path)
			writeJSON(w, http.StatusForbidden, map[string]string{"error": forbiddenOrigin(origin)})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func forbiddenOrigin(origin string) string {
	return "origin " + strconv.Quote(origin) + " may not send with this write key"
}
