package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// rejection is one refused event in a batch answer.
type rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// batchAnswer is the 200 answer to an ingestion request.
type batchAnswer struct {
	Accepted int         `json:"accepted"`
	Rejected []rejection `json:"rejected"`
}

// requestError refuses a whole request.
type requestError struct {
	status int
	reason string // events_rejected_total reason; "" counts nothing
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// ingest serves one Segment endpoint.
func (s *Server) ingest(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		code := s.serveIngest(w, r, rt)
		s.metrics.requests.WithLabelValues(rt.label, strconv.Itoa(code)).Inc()
	}
}

// serveIngest answers the request and returns the status it answered.
func (s *Server) serveIngest(w http.ResponseWriter, r *http.Request, rt route) int {
	receivedAt := s.now().UTC().Truncate(time.Millisecond)
	meta := batchMeta{typ: rt.typ, receivedAt: receivedAt}

	// A key in the request itself is checked before the body is read.
	key, keyInRequest := requestWriteKey(r)
	if keyInRequest && s.sources[key] == nil {
		return s.refuseRequest(w, r, rt, &meta, nil, &requestError{http.StatusUnauthorized, reasonUnauthorized, "unknown write key"})
	}
	if keyInRequest {
		if !checkOrigin(w, r, s.sources[key]) {
			return s.refuseOrigin(w, r, s.sources[key])
		}
		meta.writeKey = key
	}

	body, rerr := s.readBody(w, r)
	if rerr != nil {
		return s.refuseRequest(w, r, rt, &meta, nil, rerr)
	}
	if tooDeep(body, MaxJSONDepth) {
		return s.refuseRequest(w, r, rt, &meta, nil, &requestError{http.StatusBadRequest, reasonTooDeep,
			"body: JSON nested deeper than " + strconv.Itoa(MaxJSONDepth) + " levels"})
	}
	if rt.typ != "" && len(body) > s.cfg.MaxEventBytes {
		return s.refuseRequest(w, r, rt, &meta, nil, &requestError{http.StatusRequestEntityTooLarge, reasonTooLarge,
			"event: larger than " + strconv.Itoa(s.cfg.MaxEventBytes) + " bytes"})
	}
	req, err := decodeSegment(body, rt.typ)
	if err != nil {
		return s.refuseRequest(w, r, rt, &meta, body, &requestError{http.StatusBadRequest, reasonMalformed, err.Error()})
	}
	if !keyInRequest {
		key = req.writeKey
		if key == "" {
			key = req.eventWriteKey()
		}
		if s.sources[key] == nil {
			msg := "unknown write key"
			if key == "" {
				msg = "write key required: Basic auth user, writeKey in the body, or ?writeKey="
			}
			return s.refuseRequest(w, r, rt, &meta, nil, &requestError{http.StatusUnauthorized, reasonUnauthorized, msg})
		}
		// The body's key is known only now: its source's allow-list applies
		// from here (see cors.go).
		if !checkOrigin(w, r, s.sources[key]) {
			return s.refuseOrigin(w, r, s.sources[key])
		}
		meta.writeKey = key
	}
	meta.context, meta.sentAt = req.context, req.sentAt

	s.metrics.received.WithLabelValues(rt.label).Add(float64(len(req.events)))
	if rl := s.limit(receivedAt, map[string]int{key: len(req.events)}); rl != nil {
		w.Header().Set("Retry-After", rl.RetryAfterSeconds())
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "write key over its rate limit; retry later"})
		return http.StatusTooManyRequests
	}
	events := make([]pipeline.Event, 0, len(req.events))
	at := make([]int, 0, len(req.events)) // the request index of each event
	answer := batchAnswer{Rejected: []rejection{}}
	var dead []pipeline.Rejected
	for i, raw := range req.events {
		var eerr *eventError
		var ev pipeline.Event
		if len(raw) > s.cfg.MaxEventBytes {
			eerr = refuse(reasonTooLarge, "event: larger than %d bytes", s.cfg.MaxEventBytes)
		} else {
			ev, eerr = normalize(raw, &meta)
		}
		if eerr != nil {
			s.metrics.rejected.WithLabelValues(eerr.reason).Inc()
			answer.Rejected = append(answer.Rejected, rejection{Index: i, Error: eerr.msg})
			payload := raw
			if len(payload) > s.cfg.MaxEventBytes {
				payload = nil
			}
			dead = append(dead, pipeline.Rejected{
				ReceivedAt: receivedAt, Source: rt.label, WriteKey: meta.writeKey,
				Index: i, Error: eerr.msg, Payload: payload,
			})
			continue
		}
		events = append(events, ev)
		at = append(at, i)
	}

	err = s.publish(r.Context(), events, dead)
	if perm := (*PermanentError)(nil); errors.As(err, &perm) {
		events, err = s.isolateRefused(r.Context(), rt.label, meta.writeKey, receivedAt, events, at, perm.Unwritten, &answer)
	}
	answer.Accepted = len(events)
	if err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter/time.Second)))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "events could not be stored; retry later"})
		return http.StatusServiceUnavailable
	}

	// A single-event call that was refused answers like a bad request.
	if rt.typ != "" && len(answer.Rejected) == 1 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": answer.Rejected[0].Error})
		return http.StatusBadRequest
	}
	writeJSON(w, http.StatusOK, answer)
	return http.StatusOK
}

// publish hands events and dead letters to the publisher at once and
// returns when both are acknowledged, or the events failed; a failure to
// store dead letters is logged, not answered (those events were refused
// either way). A client that goes away does not cut the publish short.
func (s *Server) publish(ctx context.Context, events []pipeline.Event, dead []pipeline.Rejected) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
	defer cancel()
	var wg sync.WaitGroup
	if len(dead) > 0 {
		wg.Go(func() { s.deadLetters(ctx, dead) })
	}
	var err error
	if len(events) > 0 {
		start := time.Now()
		err = s.pub.Publish(ctx, events)
		s.metrics.publishDuration.Observe(time.Since(start).Seconds())
		if err != nil {
			s.metrics.publishFailures.WithLabelValues(pipeline.TopicEvents).Inc()
			s.log.Warn("publish events failed", "events", len(events), "err", err)
		}
	}
	wg.Wait()
	return err
}

// isolateRefused publishes events one by one after Kafka refused a batch of
// them for good (a record too large for the topic, say): the ones it
// refuses again become rejections of the answer and dead letters (without
// their payload, which Kafka would refuse as well); the others are
// accepted. unwritten, when not nil, lists the events the failed publish
// did not store: the others are kept without publishing them again. It
// returns the accepted events, or an error when a publish failed for
// another reason (then nothing is answered as accepted and the client
// retries the request; the events already stored deduplicate on their
// message ids).
func (s *Server) isolateRefused(ctx context.Context, endpoint, writeKey string, receivedAt time.Time, events []pipeline.Event, at, unwritten []int, answer *batchAnswer) ([]pipeline.Event, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
	defer cancel()
	kept := events[:0:0]
	var dead []pipeline.Rejected
	for i, ev := range events {
		if unwritten != nil && !slices.Contains(unwritten, i) {
			kept = append(kept, ev)
			continue
		}
		err := s.pub.Publish(ctx, []pipeline.Event{ev})
		var perm *PermanentError
		switch {
		case errors.As(err, &perm):
			msg := "kafka refused the event: " + perm.Err.Error()
			s.metrics.rejected.WithLabelValues(reasonKafkaRefused).Inc()
			answer.Rejected = append(answer.Rejected, rejection{Index: at[i], Error: msg})
			dead = append(dead, pipeline.Rejected{ReceivedAt: receivedAt, Source: endpoint, WriteKey: writeKey, Index: at[i], Error: msg})
		case err != nil:
			return nil, err
		default:
			kept = append(kept, ev)
		}
	}
	slices.SortFunc(answer.Rejected, func(a, b rejection) int { return a.Index - b.Index })
	if len(dead) > 0 {
		s.deadLetters(ctx, dead)
	}
	return kept, nil
}

func (s *Server) deadLetters(ctx context.Context, dead []pipeline.Rejected) {
	if err := s.pub.Reject(ctx, dead); err != nil {
		s.metrics.publishFailures.WithLabelValues(pipeline.TopicRejected).Inc()
		s.log.Warn("publish dead letters failed", "dead_letters", len(dead), "err", err)
	}
}

// refuseRequest answers a request refused whole. When the request named a
// known write key, it also goes to the dead letters (with the body, if it
// was read); anonymous garbage does not reach Kafka.
func (s *Server) refuseRequest(w http.ResponseWriter, r *http.Request, rt route, meta *batchMeta, body []byte, e *requestError) int {
	if e.reason != "" {
		s.metrics.rejected.WithLabelValues(e.reason).Inc()
	}
	if meta.writeKey != "" {
		d := pipeline.Rejected{ReceivedAt: meta.receivedAt, Source: rt.label, WriteKey: meta.writeKey, Index: -1, Error: e.msg}
		if body != nil {
			d.Payload = payloadOf(body, s.cfg.MaxEventBytes)
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.PublishTimeout)
		s.deadLetters(ctx, []pipeline.Rejected{d})
		cancel()
	}
	writeJSON(w, e.status, map[string]string{"error": e.msg})
	return e.status
}

// refuseOrigin answers 403 to a browser whose origin the source does not
// allow. It keeps no dead letter: the events were not the source's.
func (s *Server) refuseOrigin(w http.ResponseWriter, r *http.Request, src *source) int {
	origin := r.Header.Get("Origin")
	s.metrics.rejected.WithLabelValues(reasonOrigin).Inc()
	s.log.Debug("origin refused", "source", src.name, "origin", origin, "path", r.URL.Path)
	writeJSON(w, http.StatusForbidden, map[string]string{"error": forbiddenOrigin(origin)})
	return http.StatusForbidden
}

// payloadOf keeps an unreadable body for a dead letter: as JSON text when it
// is valid JSON, else as a JSON string of (at most max bytes of) it.
func payloadOf(body []byte, max int) json.RawMessage {
	if len(body) <= max && json.Valid(body) {
		return body
	}
	if len(body) > max {
		body = body[:max]
	}
	b, _ := json.Marshal(string(body)) // invalid UTF-8 becomes U+FFFD
	return b
}

// requestWriteKey is the write key the request carries outside its body:
// the Basic auth user (or password, if the user is empty), else
// ?writeKey=.
func requestWriteKey(r *http.Request) (string, bool) {
	if u, p, ok := r.BasicAuth(); ok {
		if u != "" {
			return u, true
		}
		if p != "" {
			return p, true
		}
	}
	if k := r.URL.Query().Get("writeKey"); k != "" {
		return k, true
	}
	return "", false
}

// readBody reads the body whatever its Content-Type, gunzipping it if
// Content-Encoding says gzip; it refuses more than MaxBatchBytes, before or
// after decompression.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *requestError) {
	limit := int64(s.cfg.MaxBatchBytes)
	tooLarge := &requestError{http.StatusRequestEntityTooLarge, reasonTooLarge, "body: larger than " + strconv.Itoa(s.cfg.MaxBatchBytes) + " bytes"}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return nil, tooLarge
			}
			return nil, &requestError{http.StatusBadRequest, reasonMalformed, "body: invalid gzip: " + err.Error()}
		}
		defer zr.Close()
		src = zr
	default:
		return nil, &requestError{http.StatusUnsupportedMediaType, reasonMalformed, "content-encoding: " + enc + " is not supported (use gzip or none)"}
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(src, limit+1))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		return nil, &requestError{http.StatusBadRequest, reasonMalformed, "body: " + err.Error()}
	}
	if n > limit {
		return nil, tooLarge
	}
	return buf.Bytes(), nil
}
