package clickhouse

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/touchstream/touchstream/embedded/chdb"
)

// request is what a ClickHouse HTTP request asks for, before its body is read.
type request struct {
	readOnly       bool   // GET: only read-only statements
	query          string // the query URL parameter
	database       string
	format         string // default output format; "" means TabSeparated
	sessionID      string
	sessionTimeout time.Duration
	sessionCheck   bool
	queryID        string
	params         []chdb.Param
	settings       []setting // applied to the connection for this request only
	compress       bool      // answer in ClickHouse's compressed-block framing
	decompress     bool      // body is in ClickHouse's compressed-block framing
	compressMethod compress.Method
	httpCompress   bool // enable_http_compression=1
	waitEnd        bool // wait_end_of_query=1: buffer the result, errors get a status
	clientRevision int  // client_protocol_version
	maxQuerySize   int
}

type setting struct{ name, value string }

// notSettings are URL parameters with a meaning of their own; every other
// parameter is a setting, as in ClickHouse.
var notSettings = map[string]bool{
	"query": true, "database": true, "default_format": true, "session_id": true,
	"session_timeout": true, "session_check": true, "query_id": true, "quota_key": true,
	"user": true, "password": true, "compress": true, "decompress": true,
	"client_protocol_version": true, "buffer_size": true, "wait_end_of_query": true,
	"stacktrace": true, "role": true, "default_database": true,
}

var settingNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

// parseRequest reads the URL parameters and headers of r.
func parseRequest(r *http.Request, cfg *Config) (*request, error) {
	q := r.URL.Query()
	req := &request{
		readOnly:       r.Method == http.MethodGet || r.Method == http.MethodHead,
		query:          q.Get("query"),
		database:       firstNonEmpty(q.Get("database"), r.Header.Get("X-ClickHouse-Database")),
		format:         firstNonEmpty(r.Header.Get("X-ClickHouse-Format"), q.Get("default_format")),
		sessionID:      q.Get("session_id"),
		sessionTimeout: cfg.SessionTimeout,
		sessionCheck:   q.Get("session_check") == "1",
		queryID:        firstNonEmpty(q.Get("query_id"), r.Header.Get("X-ClickHouse-Query-Id")),
		compress:       q.Get("compress") == "1",
		decompress:     q.Get("decompress") == "1",
		compressMethod: compress.LZ4,
		waitEnd:        q.Get("wait_end_of_query") == "1",
		maxQuerySize:   cfg.MaxQuerySize,
	}
	if v := q.Get("session_timeout"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil || secs <= 0 || secs > 3600 {
			return nil, chdb.Errorf(codeInvalidSessionTTL, "INVALID_SESSION_TIMEOUT", "Invalid session timeout: '%s'", v)
		}
		req.sessionTimeout = time.Duration(secs) * time.Second
	}
	if v := q.Get("client_protocol_version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, chdb.Errorf(codeBadArguments, "BAD_ARGUMENTS", "Invalid client_protocol_version: '%s'", v)
		}
		req.clientRevision = n
	}
	for name, values := range q {
		value := values[len(values)-1]
		switch {
		case strings.HasPrefix(name, "param_"):
			req.params = append(req.params, chdb.Param{Name: strings.TrimPrefix(name, "param_"), Value: value})
			continue
		case notSettings[name]:
			continue
		case !settingNameRE.MatchString(name):
			return nil, chdb.Errorf(115, "UNKNOWN_SETTING", "Unknown setting '%s'", name)
		}
		switch name {
		case "enable_http_compression":
			req.httpCompress = value == "1" || strings.EqualFold(value, "true")
		case "network_compression_method":
			switch strings.ToUpper(value) {
			case "LZ4", "LZ4HC":
				req.compressMethod = compress.LZ4
			case "ZSTD":
				req.compressMethod = compress.ZSTD
			case "NONE":
				req.compressMethod = compress.None
			default:
				return nil, chdb.Errorf(codeUnknownCompress, "UNKNOWN_COMPRESSION_METHOD", "Unknown compression method: '%s'", value)
			}
		case "max_query_size":
			if n, err := strconv.Atoi(value); err == nil && n > 0 {
				req.maxQuerySize = n
			}
		}
		req.settings = append(req.settings, setting{name, value})
	}
	return req, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// decodeBody unwraps the body's Content-Encoding and, with decompress=1,
// ClickHouse's compressed-block framing.
func decodeBody(r *http.Request, req *request) (io.Reader, error) {
	var body io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, chdb.Errorf(codeCannotDecompress, "CANNOT_DECOMPRESS", "cannot read gzip body: %v", err)
		}
		body = zr
	case "deflate":
		zr, err := zlib.NewReader(body)
		if err != nil {
			return nil, chdb.Errorf(codeCannotDecompress, "CANNOT_DECOMPRESS", "cannot read deflate body: %v", err)
		}
		body = zr
	case "br":
		body = brotli.NewReader(body)
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, chdb.Errorf(codeCannotDecompress, "CANNOT_DECOMPRESS", "cannot read zstd body: %v", err)
		}
		body = zr.IOReadCloser()
	case "lz4":
		body = lz4.NewReader(body)
	default:
		return nil, chdb.Errorf(codeUnknownCompress, "UNKNOWN_COMPRESSION_METHOD", "Unknown Content-Encoding of HTTP request: %s", enc)
	}
	if req.decompress {
		body = compress.NewReader(body)
	}
	return &decodeErrors{r: body}, nil
}

// decodeErrors reports a broken compressed body as CANNOT_DECOMPRESS. Its
// end is sticky: ch-go's compress.Reader hands out its last block again when
// read after its end.
type decodeErrors struct {
	r   io.Reader
	err error
}

func (d *decodeErrors) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		d.err = io.EOF // ch-go wraps a clean end of stream
	case errors.As(err, new(*chdb.Error)):
		d.err = err
	default:
		d.err = chdb.Errorf(codeCannotDecompress, "CANNOT_DECOMPRESS", "cannot decompress request body: %v", err)
	}
	return n, d.err
}

// statement is the SQL of a request and, for an INSERT with inline data, the
// data that follows it.
type statement struct {
	sql    string
	insert *insertSplit // nil unless the statement is an INSERT with data
	data   io.Reader    // the insert's data (the rest of the body)
}

// readStatement builds the statement from the query parameter and the body
// the way ClickHouse does: the SQL text is the query parameter, a newline,
// then the body. An INSERT's data is whatever follows its FORMAT clause (or
// VALUES) and is streamed, never read whole; other statements may be at most
// maxQuerySize bytes.
func readStatement(req *request, body io.Reader) (*statement, error) {
	if body == nil {
		body = bytes.NewReader(nil)
	}
	if req.query != "" {
		head := req.query
		if !req.readOnly {
			head += "\n"
		}
		if sp, isInsert, complete := splitInsert([]byte(head)); isInsert && complete && sp.Format != "" {
			data := io.MultiReader(strings.NewReader(head[min(sp.DataStart, len(head)):]), body)
			if strings.EqualFold(sp.Format, "Values") {
				data = &valuesGuard{r: data}
			}
			return &statement{sql: sp.Statement, insert: &sp, data: data}, nil
		}
		if req.readOnly {
			return &statement{sql: req.query}, nil
		}
		rest, err := readLimited(body, req.maxQuerySize-len(head))
		if err != nil {
			return nil, err
		}
		return &statement{sql: strings.TrimSuffix(head+rest, "\n")}, nil
	}
	br := bufio.NewReaderSize(body, 64<<10)
	// Peek until the INSERT statement and the start of its data are in view,
	// or the text is known not to be such an INSERT.
	for n := 4 << 10; ; n *= 2 {
		size := min(n, req.maxQuerySize)
		br = bufio.NewReaderSize(br, size) // br itself when big enough
		peek, err := br.Peek(size)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return nil, err
		}
		more := err == nil && size < req.maxQuerySize // more text may follow
		sp, isInsert, complete := splitInsert(peek)
		blank := len(bytes.TrimSpace(peek)) == 0
		if more && (!complete || blank || (isInsert && sp.DataStart >= len(peek))) {
			continue // the verdict may change with more text
		}
		if isInsert && !complete {
			if err == nil {
				return nil, chdb.Errorf(codeQueryTooLarge, "QUERY_IS_TOO_LARGE", "INSERT statement is longer than max_query_size (%d bytes)", req.maxQuerySize)
			}
			// The body ends right after the format name: an insert of no rows.
			sp, isInsert, complete = splitInsert(append(bytes.Clone(peek), '\n'))
			if !isInsert || !complete || sp.Format == "" {
				break
			}
			sp.DataStart = min(sp.DataStart, len(peek))
		}
		if !isInsert || sp.Format == "" {
			break // an ordinary statement (the engine reports any syntax error)
		}
		if _, err := br.Discard(sp.DataStart); err != nil {
			return nil, err
		}
		var data io.Reader = br
		if strings.EqualFold(sp.Format, "Values") {
			data = &valuesGuard{r: br}
		}
		return &statement{sql: sp.Statement, insert: &sp, data: data}, nil
	}
	sql, err := readLimited(br, req.maxQuerySize)
	if err != nil {
		return nil, err
	}
	return &statement{sql: sql}, nil
}

func readLimited(r io.Reader, limit int) (string, error) {
	if limit < 0 {
		limit = 0
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return "", err
	}
	if len(b) > limit {
		return "", chdb.Errorf(codeQueryTooLarge, "QUERY_IS_TOO_LARGE", "Query is too large (more than max_query_size = %d bytes)", limit)
	}
	return string(b), nil
}

// formatClause returns the name in a statement's own FORMAT clause, or "".
// It looks at top-level tokens only (not in comments, literals or brackets)
// and takes FORMAT for a clause only when a name follows it that is a known
// output format, and the token before it cannot precede an identifier (so
// "ORDER BY format DESC" and "AS format" are not clauses).
func formatClause(sql string, known map[string]string) string {
	sc := scanner{b: []byte(sql)}
	prev := ""
	found := ""
	for {
		sc.skipSpace()
		if sc.i >= len(sc.b) {
			return found
		}
		start := sc.i
		if sc.b[sc.i] == '(' {
			if !sc.skipGroup() {
				return found
			}
			prev = ")"
			continue
		}
		if !sc.skipToken() {
			return found
		}
		tok := strings.ToUpper(string(sc.b[start:sc.i]))
		if tok == "FORMAT" && !precedesIdentifier[prev] {
			save := sc.i
			sc.skipSpace()
			ns := sc.i
			if sc.skipIdent() {
				if name, ok := known[strings.ToLower(string(sc.b[ns:sc.i]))]; ok {
					found = name
				}
			}
			sc.i = save
		}
		prev = tok
	}
}

// precedesIdentifier lists tokens after which FORMAT would be a name, not a clause.
var precedesIdentifier = map[string]bool{
	"": true, "BY": true, ",": true, "AS": true, "SELECT": true, "DISTINCT": true, "=": true,
	"<": true, ">": true, "+": true, "-": true, "*": true, "/": true, "%": true, "AND": true,
	"OR": true, "NOT": true, "WHERE": true, "ON": true, "USING": true, "HAVING": true,
	"PREWHERE": true, ".": true, "IN": true, "WHEN": true, "THEN": true, "ELSE": true,
	"TABLE": true, "FROM": true, "JOIN": true, "INTO": true, "DATABASE": true, "EXISTS": true,
}

// outputFormat is the format the response will be in: the statement's own
// FORMAT clause, else the request's default, else TabSeparated.
func outputFormat(sql, def string, known map[string]string) string {
	if f := formatClause(sql, known); f != "" {
		return f
	}
	if def == "" {
		return "TabSeparated"
	}
	return def
}

// contentType is what ClickHouse sends as Content-Type for a format.
func contentType(format string) string {
	f := strings.ToLower(format)
	switch {
	case f == "tabseparated" || f == "tsv" || strings.HasPrefix(f, "tabseparated") || strings.HasPrefix(f, "tsv"):
		return "text/tab-separated-values; charset=UTF-8"
	case strings.HasPrefix(f, "csv"):
		return "text/csv; charset=UTF-8; header=absent"
	case strings.HasPrefix(f, "json"):
		return "application/json; charset=UTF-8"
	case f == "native" || strings.HasPrefix(f, "rowbinary") || f == "parquet" || f == "arrow" || f == "arrowstream" || f == "orc" || f == "avro" || f == "msgpack" || f == "protobuf":
		return "application/octet-stream"
	case f == "xml":
		return "application/xml; charset=UTF-8"
	default:
		return "text/plain; charset=UTF-8"
	}
}

// quoteString quotes s as a ClickHouse string literal.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// quoteIdent quotes s as a ClickHouse identifier.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}
