package clickhouse

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/touchstream/touchstream/embedded/chdb"
)

// Server is the embedded ClickHouse: the engine plus its HTTP interface.
type Server struct {
	cfg      Config
	log      *slog.Logger
	pool     *pool
	sessions *sessions
	keep     *chdb.Conn // held open for the server's life so the engine stays booted

	displayName, version, timezone string
	formats                        map[string]string // output format names by lower-case name
}

// New opens the engine on cfg.Path (creating the directory) and prepares the
// HTTP interface. Call Run to serve, or use the Server as an http.Handler.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Path, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	keep, err := chdb.Open(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("open engine at %s: %w", cfg.Path, err)
	}
	res, err := keep.Query("SELECT displayName(), version(), timezone()", "TabSeparated")
	if err != nil {
		keep.Close()
		return nil, fmt.Errorf("read engine identity: %w", err)
	}
	fields := strings.Split(strings.TrimSpace(string(res.Bytes())), "\t")
	res.Free()
	if len(fields) != 3 {
		keep.Close()
		return nil, fmt.Errorf("read engine identity: unexpected answer %q", fields)
	}
	formats, err := outputFormats(keep)
	if err != nil {
		keep.Close()
		return nil, err
	}
	p := newPool(cfg.Path, cfg.MaxQueries)
	return &Server{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "clickhouse"),
		pool:        p,
		sessions:    newSessions(p, cfg.MaxSessions),
		keep:        keep,
		displayName: fields[0],
		version:     fields[1],
		timezone:    fields[2],
		formats:     formats,
	}, nil
}

// outputFormats reads the engine's output format names.
func outputFormats(c *chdb.Conn) (map[string]string, error) {
	res, err := c.Query("SELECT name FROM system.formats WHERE is_output", "TabSeparated")
	if err != nil {
		return nil, fmt.Errorf("read output formats: %w", err)
	}
	defer res.Free()
	m := make(map[string]string)
	for _, name := range strings.Fields(string(res.Bytes())) {
		m[strings.ToLower(name)] = name
	}
	return m, nil
}

// Version is the engine's ClickHouse version.
func (s *Server) Version() string { return s.version }

// Run listens on cfg.Listen and serves until ctx is done, then stops
// accepting requests, waits up to 10 s for those in flight and closes every
// engine connection. ready, if not nil, receives the bound address.
func (s *Server) Run(ctx context.Context, ready chan<- string) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.Close()
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln, ready)
}

// Serve is Run on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready chan<- string) error {
	defer s.Close()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("clickhouse http interface listening", "addr", ln.Addr().String(), "path", s.cfg.Path, "version", s.version, "auth", s.cfg.Password != "")
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case now := <-tick.C:
			s.sessions.expire(now)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				s.log.Warn("clickhouse http shutdown", "err", err)
			}
			s.log.Info("clickhouse http interface stopped")
			return nil
		}
	}
}

// Close closes every engine connection. Requests still running fail.
func (s *Server) Close() {
	s.sessions.closeAll()
	s.pool.close()
	if s.keep != nil {
		s.keep.Close()
		s.keep = nil
	}
}

// ServeHTTP answers one request of ClickHouse's HTTP interface.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-ClickHouse-Server-Display-Name", s.displayName)
	switch r.URL.Path {
	case "/ping", "/replicas_status":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "text/html; charset=UTF-8")
		io.WriteString(w, "Ok.\n")
		return
	case "/":
	default:
		http.Error(w, fmt.Sprintf("There is no handle %s\n\nUse / or /ping for health checks.", r.URL.Path), http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		s.fail(w, nil, chdb.Errorf(codeNotImplemented, "NOT_IMPLEMENTED", "HTTP method %s is not supported", r.Method))
		return
	}
	if err := s.authorize(r); err != nil {
		s.fail(w, nil, err)
		return
	}
	if r.Method != http.MethodPost && r.URL.Query().Get("query") == "" {
		h.Set("Content-Type", "text/html; charset=UTF-8")
		io.WriteString(w, "Ok.\n")
		return
	}
	req, err := parseRequest(r, &s.cfg)
	if err != nil {
		s.fail(w, nil, err)
		return
	}
	if req.queryID == "" {
		req.queryID = uuid.NewString()
	}
	h.Set("X-ClickHouse-Query-Id", req.queryID)
	h.Set("X-ClickHouse-Timezone", s.timezone)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		s.fail(w, nil, chdb.Errorf(codeNotImplemented, "NOT_IMPLEMENTED", "external tables (multipart/form-data) are not supported by the embedded ClickHouse"))
		return
	}
	// The slot is taken before the body is read: decoding a compressed body
	// can allocate up to its claimed block size, so MaxQueries bounds that too.
	if err := s.pool.slot(r.Context()); err != nil {
		s.fail(w, nil, err)
		return
	}
	defer s.pool.unslot()
	var body io.Reader
	if r.Method == http.MethodPost {
		body, err = decodeBody(r, req)
		if err != nil {
			s.fail(w, nil, err)
			return
		}
	}
	st, err := readStatement(req, body)
	if err != nil {
		s.fail(w, nil, err)
		return
	}
	if st.insert == nil && strings.TrimSpace(st.sql) == "" {
		s.fail(w, nil, chdb.Errorf(codeSyntaxError, "SYNTAX_ERROR", "Empty query"))
		return
	}
	c, done, err := s.conn(req)
	if err != nil {
		s.fail(w, nil, err)
		return
	}
	dirty := false
	defer func() { done(dirty) }()
	dirty, err = s.execute(w, r, req, st, c)
	if err != nil {
		// A failed or abandoned statement may leave output behind on the
		// engine connection; never reuse it.
		dirty = true
		s.log.Debug("query failed", "query_id", req.queryID, "err", err)
	}
}

// conn returns the connection for the request (its session's, or a pooled
// one, switched to the requested database) and a function to give it back.
func (s *Server) conn(req *request) (*conn, func(dirty bool), error) {
	var (
		c    *conn
		done func(dirty bool)
	)
	if req.sessionID != "" {
		ss, err := s.sessions.acquire(req.sessionID, req.sessionTimeout, req.sessionCheck, time.Now())
		if err != nil {
			return nil, nil, err
		}
		c = ss.c
		done = func(dirty bool) {
			if dirty {
				// A failed statement can leave its partial output on the
				// engine connection, to be prepended to the next answer; a
				// session cannot be replaced, so drain it.
				if res, err := c.Query("SELECT 1", "TSV"); err == nil {
					res.Free()
				}
			}
			s.sessions.release(ss, time.Now())
		}
	} else {
		pc, err := s.pool.get()
		if err != nil {
			return nil, nil, err
		}
		c = pc
		done = func(dirty bool) { s.pool.put(pc, dirty) }
	}
	if req.sessionID != "" {
		if req.database == "" {
			return c, done, nil
		}
		// A database parameter applies to this request only; the session's
		// own USE comes back afterwards.
		prev, err := queryString(c, "SELECT currentDatabase()")
		if err == nil {
			err = c.Exec("USE " + quoteIdent(req.database))
		}
		if err != nil {
			done(false)
			return nil, nil, err
		}
		release := done
		done = func(dirty bool) {
			_ = c.Exec("USE " + quoteIdent(prev))
			release(dirty)
		}
		return c, done, nil
	}
	db := firstNonEmpty(req.database, "default")
	if db != c.db {
		if err := c.Exec("USE " + quoteIdent(db)); err != nil {
			done(true)
			return nil, nil, err
		}
		c.db = db
	}
	return c, done, nil
}

// frontEndSettings are handled here and mean nothing to the engine.
var frontEndSettings = map[string]bool{
	"enable_http_compression": true, "http_zlib_compression_level": true,
	"network_compression_method": true, "network_zstd_compression_level": true,
	"send_progress_in_http_headers": true, "http_headers_progress_interval_ms": true,
	"http_response_buffer_size": true, "add_http_cors_header": true,
	"http_wait_end_of_query": true,
}

// applySettings sets the request's settings on c and returns a function that
// restores them; ok is false when they could not be restored. In a session
// the values the session had are restored, elsewhere the defaults.
func applySettings(c *conn, settings []setting, inSession bool) (restore func() (ok bool), err error) {
	var set, names []string
	for _, st := range settings {
		if frontEndSettings[st.name] {
			continue
		}
		set = append(set, st.name+" = "+quoteString(st.value))
		names = append(names, quoteString(st.name))
	}
	if len(set) == 0 {
		return func() bool { return true }, nil
	}
	var reset []string
	if inSession {
		prev, err := queryString(c, "SELECT name, value, changed FROM system.settings WHERE name IN ("+strings.Join(names, ", ")+")")
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(prev, "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 3 {
				continue
			}
			if f[2] == "1" {
				reset = append(reset, f[0]+" = "+quoteString(f[1]))
			} else {
				reset = append(reset, f[0]+" = DEFAULT")
			}
		}
	} else {
		for _, st := range settings {
			if !frontEndSettings[st.name] {
				reset = append(reset, st.name+" = DEFAULT")
			}
		}
	}
	if err := c.Exec("SET " + strings.Join(set, ", ")); err != nil {
		return nil, err
	}
	return func() bool { return len(reset) == 0 || c.Exec("SET "+strings.Join(reset, ", ")) == nil }, nil
}

// queryString runs a one-value query and returns the value.
func queryString(c *conn, sql string) (string, error) {
	res, err := c.Query(sql, "TSVRaw")
	if err != nil {
		return "", err
	}
	defer res.Free()
	return strings.TrimSuffix(string(res.Bytes()), "\n"), nil
}

// execute runs the statement on c and writes the answer. dirty reports that
// the connection's session state may have changed.
func (s *Server) execute(w http.ResponseWriter, r *http.Request, req *request, st *statement, c *conn) (dirty bool, err error) {
	restore, err := applySettings(c, req.settings, req.sessionID != "")
	if err != nil {
		return true, s.fail(w, nil, err)
	}
	defer func() {
		if !restore() {
			dirty = true
		}
	}()
	if st.insert != nil {
		if req.readOnly {
			return false, s.fail(w, nil, readonlyError())
		}
		return false, s.insert(w, r, req, st, c)
	}
	a, err := c.Classify(st.sql)
	if err != nil {
		return true, s.fail(w, nil, err)
	}
	if a.Statements > 1 {
		return false, s.fail(w, nil, chdb.Errorf(codeSyntaxError, "SYNTAX_ERROR", "Syntax error (Multi-statements are not allowed): %d statements in one request", a.Statements))
	}
	if req.readOnly && a.Statements == 1 && a.Class != chdb.ReadOnly {
		return false, s.fail(w, nil, readonlyError())
	}
	dirty = a.Class >= chdb.Control || a.Statements == 0 || isTemporaryTable(st.sql)
	format := outputFormat(st.sql, req.format, s.formats)
	out := newOutput(w, r, req)
	w.Header().Set("X-ClickHouse-Format", format)
	w.Header().Set("Content-Type", contentType(format))
	if req.clientRevision > 0 && strings.EqualFold(format, "Native") && helloRE.MatchString(st.sql) {
		b := encodeHello(req.clientRevision, s.displayName, s.version, s.timezone)
		w.Header().Set("X-ClickHouse-Summary", summary(chdb.Stats{RowsRead: 1}, len(b)))
		out.Write(b)
		return dirty, out.finish()
	}
	if a.Class == chdb.ReadOnly && a.Statements == 1 && !req.waitEnd && streamable(format) {
		err := s.stream(w, req, st, c, format, out)
		if !errors.Is(err, errNotStreamable) {
			return dirty, err
		}
	}
	res, err := c.Query(st.sql, format, req.params...)
	if err != nil {
		return dirty, s.fail(w, out, err)
	}
	defer res.Free()
	b := res.Bytes()
	w.Header().Set("X-ClickHouse-Summary", summary(res.Stats, len(b)))
	if _, err := out.Write(b); err != nil {
		return dirty, err
	}
	return dirty, out.finish()
}

// stream runs a read-only statement and sends its output chunk by chunk. An
// error before the first chunk gets its HTTP status; a later one is framed
// in-band.
func (s *Server) stream(w http.ResponseWriter, req *request, st *statement, c *conn, format string, out *output) error {
	stream, err := c.StreamQuery(st.sql, format, req.params...)
	if err != nil {
		var ce *chdb.Error
		if errors.As(err, &ce) && ce.Code == codeBadArguments && strings.Contains(ce.Message, "Streaming query is not supported") {
			return errNotStreamable // SHOW, DESCRIBE, EXISTS, ...: run them whole
		}
		return s.fail(w, out, err)
	}
	defer stream.Close()
	chunk, err := stream.Next()
	if err != nil && err != io.EOF {
		return s.fail(w, out, err)
	}
	tag := exceptionTag()
	w.Header().Set("X-ClickHouse-Exception-Tag", tag)
	w.Header().Set("X-ClickHouse-Summary", summary(stream.Stats, len(chunk)))
	for err == nil {
		if _, werr := out.Write(chunk); werr != nil {
			return werr // client went away; Close cancels the query
		}
		out.flush()
		chunk, err = stream.Next()
	}
	if err != io.EOF {
		writeException(out.body, tag, asCHError(err))
		out.finish()
		return err
	}
	return out.finish()
}

// insert streams the request's data into an INSERT.
func (s *Server) insert(w http.ResponseWriter, r *http.Request, req *request, st *statement, c *conn) error {
	a, err := c.Classify(st.sql)
	if err != nil {
		return s.fail(w, nil, err)
	}
	if a.Statements > 1 {
		return s.fail(w, nil, chdb.Errorf(codeSyntaxError, "SYNTAX_ERROR", "Syntax error (Multi-statements are not allowed): %d statements in one request", a.Statements))
	}
	in, err := c.StreamInsert(st.sql, st.insert.Format, req.params...)
	if err != nil {
		return s.fail(w, nil, err)
	}
	buf := make([]byte, 1<<20)
	for {
		n, rerr := io.ReadFull(st.data, buf)
		if n > 0 {
			if err := in.Append(buf[:n]); err != nil {
				in.Cancel()
				return s.fail(w, nil, err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			in.Cancel()
			var ce *chdb.Error
			if !errors.As(rerr, &ce) {
				rerr = chdb.Errorf(33, "CANNOT_READ_ALL_DATA", "cannot read the request body: %v", rerr)
			}
			return s.fail(w, nil, rerr)
		}
	}
	stats, err := in.Done()
	if err != nil {
		return s.fail(w, nil, err)
	}
	w.Header().Set("X-ClickHouse-Summary", summary(stats, 0))
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	return nil
}

// fail answers with a ClickHouse exception: a status and the message if the
// response has not started, else the in-band framing. It returns the error.
func (s *Server) fail(w http.ResponseWriter, out *output, err error) error {
	e := asCHError(err)
	if out != nil && out.started {
		writeException(out.body, exceptionTag(), e)
		out.finish()
		return e
	}
	h := w.Header()
	h.Del("Content-Encoding")
	h.Del("X-ClickHouse-Format")
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("X-ClickHouse-Exception-Code", fmt.Sprint(e.Code))
	status := httpStatus(e)
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="ClickHouse server HTTP API"`)
	}
	w.WriteHeader(status)
	msg := e.Message
	if !strings.Contains(msg, "(version ") {
		msg += " (version " + s.version + ")"
	}
	fmt.Fprintf(w, "%s\n", msg)
	return e
}

// streamable reports whether a format's output can be sent chunk by chunk:
// the engine writes each streamed chunk as a whole document, so formats with
// a header, footer or separators between rows (JSON, *WithNames, Values,
// Parquet, Pretty, ...) are produced whole instead.
func streamable(format string) bool {
	switch strings.ToLower(format) {
	case "tabseparated", "tsv", "tabseparatedraw", "tsvraw", "csv",
		"jsoneachrow", "jsonlines", "ndjson", "jsoncompacteachrow", "jsonstringseachrow",
		"jsoncompactstringseachrow", "native", "rowbinary", "lineasstring", "rawblob", "tskv":
		return true
	}
	return false
}

// errNotStreamable means the engine runs the statement only as a whole.
var errNotStreamable = errors.New("statement cannot be streamed")

func readonlyError() error {
	return chdb.Errorf(codeReadonly, "READONLY", "Cannot execute query in readonly mode. For queries over HTTP, method GET implies readonly. You should use method POST for modifying queries")
}

// isTemporaryTable reports whether sql creates a temporary table, which
// sticks to the connection.
func isTemporaryTable(sql string) bool {
	u := strings.ToUpper(sql)
	return strings.Contains(u, "TEMPORARY")
}

// authorize checks credentials when a password is configured. They may come
// as Basic auth, X-ClickHouse-User/Key headers, or user/password parameters.
func (s *Server) authorize(r *http.Request) error {
	if s.cfg.Password == "" {
		return nil
	}
	user, pass, basic := r.BasicAuth()
	hdrUser, hdrKey := r.Header.Get("X-ClickHouse-User"), r.Header.Get("X-ClickHouse-Key")
	q := r.URL.Query()
	switch {
	case hdrUser != "" || hdrKey != "":
		if basic || q.Has("user") || q.Has("password") {
			return chdb.Errorf(codeRequiredPassword, "REQUIRED_PASSWORD", "Invalid authentication: it is not allowed to use X-ClickHouse HTTP headers and other authentication methods simultaneously")
		}
		user, pass = hdrUser, hdrKey
	case basic:
	default:
		user, pass = q.Get("user"), q.Get("password")
	}
	if user == "" {
		user = "default"
	}
	want := s.cfg.User
	if want == "" {
		want = "default"
	}
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(want)) == 1
	okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.Password)) == 1
	if !okUser || !okPass {
		return chdb.Errorf(codeAuthFailed, "AUTHENTICATION_FAILED", "%s: Authentication failed: password is incorrect, or there is no user with such name", user)
	}
	return nil
}
