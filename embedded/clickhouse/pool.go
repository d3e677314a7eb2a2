package clickhouse

import (
	"context"
	"sync"
	"time"

	"github.com/touchstream/touchstream/embedded/chdb"
)

// conn is an engine connection with what this package knows of its state.
type conn struct {
	*chdb.Conn
	db string // current database as last set by this package
}

// pool hands out engine connections. sem bounds the statements running at
// once (pooled and session connections alike); idle keeps clean connections
// for reuse. A connection whose session state may have changed (USE, SET, a
// temporary table) is closed instead of returned.
type pool struct {
	path string
	sem  chan struct{}

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

func newPool(path string, maxQueries int) *pool {
	return &pool{path: path, sem: make(chan struct{}, maxQueries)}
}

// slot waits for a free statement slot; release it with unslot.
func (p *pool) slot(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return chdb.Errorf(codeTimeoutExceeded, "TIMEOUT_EXCEEDED", "request ended while waiting for a free query slot: %v", ctx.Err())
	}
}

func (p *pool) unslot() { <-p.sem }

// get returns an idle connection or opens one.
func (p *pool) get() (*conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, chdb.ErrClosed
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := chdb.Open(p.path)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, db: "default"}, nil
}

// put returns a clean connection, or closes it when dirty.
func (p *pool) put(c *conn, dirty bool) {
	p.mu.Lock()
	if dirty || p.closed || len(p.idle) >= cap(p.sem) {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// session is a connection bound to a client's session_id.
type session struct {
	c       *conn
	timeout time.Duration
	expires time.Time
	inUse   bool
}

// sessions holds the open sessions and expires idle ones.
type sessions struct {
	p   *pool
	max int

	mu sync.Mutex
	m  map[string]*session
}

func newSessions(p *pool, max int) *sessions {
	return &sessions{p: p, max: max, m: make(map[string]*session)}
}

// acquire locks the session id for one request, creating it unless check is
// set. Release it with release.
func (s *sessions) acquire(id string, timeout time.Duration, check bool, now time.Time) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if ok && now.After(ss.expires) && !ss.inUse {
		ss.c.Close()
		delete(s.m, id)
		ok = false
	}
	if !ok {
		if check {
			return nil, chdb.Errorf(codeSessionNotFound, "SESSION_NOT_FOUND", "Session %s not found", id)
		}
		if len(s.m) >= s.max {
			return nil, chdb.Errorf(codeSessionIsLocked, "SESSION_IS_LOCKED", "too many open sessions (%d)", s.max)
		}
		c, err := chdb.Open(s.p.path)
		if err != nil {
			return nil, err
		}
		ss = &session{c: &conn{Conn: c, db: "default"}}
		s.m[id] = ss
	}
	if ss.inUse {
		return nil, chdb.Errorf(codeSessionIsLocked, "SESSION_IS_LOCKED", "Session %s is locked by a concurrent client", id)
	}
	ss.inUse = true
	ss.timeout = timeout
	return ss, nil
}

func (s *sessions) release(ss *session, now time.Time) {
	s.mu.Lock()
	ss.inUse = false
	ss.expires = now.Add(ss.timeout)
	s.mu.Unlock()
}

// expire closes sessions idle past their timeout.
func (s *sessions) expire(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ss := range s.m {
		if !ss.inUse && now.After(ss.expires) {
			ss.c.Close()
			delete(s.m, id)
		}
	}
}

func (s *sessions) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ss := range s.m {
		ss.c.Close()
		delete(s.m, id)
	}
}
