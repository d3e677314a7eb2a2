package clickhouse

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Raw HTTP tests: requests as curl would send them, answers checked byte by
// byte against what ClickHouse's HTTP interface answers.

// httpClient never adds Accept-Encoding by itself, so responses arrive as the
// server encoded them.
var httpClient = &http.Client{
	Timeout:   120 * time.Second,
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32},
}

var nameSeq atomic.Int64

// uniq returns a database or table name no other test in this process uses.
func uniq(prefix string) string {
	return fmt.Sprintf("ht_%s_%d_%d", prefix, time.Now().UnixNano()%1_000_000, nameSeq.Add(1))
}

// hreq is one raw HTTP request.
type hreq struct {
	method string            // default GET without body, POST with one
	path   string            // default "/"
	params []string          // URL parameters as name, value pairs
	header map[string]string // request headers
	body   any               // nil, string, []byte or io.Reader
	basic  [2]string         // Basic auth user and password, if user != ""
}

// hres is the answer to an hreq.
type hres struct {
	status int
	header http.Header
	body   []byte
}

// short quotes s, cut to a readable length.
func short[T string | []byte](s T) string {
	if len(s) > 300 {
		return fmt.Sprintf("%q... (%d bytes)", s[:300], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func (r hres) code() string { return r.header.Get("X-ClickHouse-Exception-Code") }

func (r hres) String() string {
	return fmt.Sprintf("status %d, exception code %q, body %s", r.status, r.code(), short(r.body))
}

func buildURL(base string, q hreq) string {
	path := q.path
	if path == "" {
		path = "/"
	}
	if len(q.params)%2 != 0 {
		panic("params must be name, value pairs")
	}
	v := url.Values{}
	for i := 0; i < len(q.params); i += 2 {
		v.Add(q.params[i], q.params[i+1])
	}
	u := base + path
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return u
}

func doReq(t testing.TB, base string, q hreq) hres {
	t.Helper()
	r, err := doReqE(base, q)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// goReq is doReq for goroutines other than the test's: it reports a failure
// with Errorf and returns a zero hres.
func goReq(t testing.TB, base string, q hreq) hres {
	t.Helper()
	r, err := doReqE(base, q)
	if err != nil {
		t.Error(err)
	}
	return r
}

// goQuery is query for goroutines other than the test's.
func goQuery(t testing.TB, base, sql string, params ...string) string {
	t.Helper()
	r := goReq(t, base, hreq{params: params, body: sql})
	if r.status != http.StatusOK {
		t.Errorf("%.200q: want 200, got %s", sql, r)
	}
	return string(r.body)
}

func doReqE(base string, q hreq) (hres, error) {
	var body io.Reader
	switch b := q.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	case io.Reader:
		body = b
	default:
		return hres{}, fmt.Errorf("bad body type %T", q.body)
	}
	method := q.method
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	r, err := http.NewRequest(method, buildURL(base, q), body)
	if err != nil {
		return hres{}, err
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	if q.basic[0] != "" {
		r.SetBasicAuth(q.basic[0], q.basic[1])
	}
	res, err := httpClient.Do(r)
	if err != nil {
		return hres{}, fmt.Errorf("%s %s: %w", method, r.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return hres{}, fmt.Errorf("%s %s: read body: %w", method, r.URL, err)
	}
	return hres{status: res.StatusCode, header: res.Header, body: b}, nil
}

// must runs q and fails the test unless the answer is 200.
func must(t testing.TB, base string, q hreq) hres {
	t.Helper()
	r := doReq(t, base, q)
	if r.status != http.StatusOK {
		t.Fatalf("%s %v body %.200q: want 200, got %s", q.method, q.params, fmt.Sprint(q.body), r)
	}
	if r.code() != "" {
		t.Fatalf("200 answer with X-ClickHouse-Exception-Code %q: %s", r.code(), r)
	}
	return r
}

// exec POSTs a statement and requires 200.
func exec(t testing.TB, base, sql string, params ...string) {
	t.Helper()
	must(t, base, hreq{params: params, body: sql})
}

// query POSTs a statement and returns the answer body, requiring 200.
func query(t testing.TB, base, sql string, params ...string) string {
	t.Helper()
	return string(must(t, base, hreq{params: params, body: sql}).body)
}

// wantError checks a refused request: status and ClickHouse error code, and
// a body in ClickHouse's exception format.
func wantError(t testing.TB, r hres, status int, code string) {
	t.Helper()
	if status != 0 && r.status != status {
		t.Errorf("want status %d, got %s", status, r)
	}
	if r.status < 400 {
		t.Errorf("want an error status, got %s", r)
	}
	if code != "" && r.code() != code {
		t.Errorf("want X-ClickHouse-Exception-Code %s, got %s", code, r)
	}
	if code != "" && !bytes.HasPrefix(r.body, []byte("Code: "+code+". DB::Exception:")) {
		t.Errorf("want a body starting %q, got %s", "Code: "+code+". DB::Exception:", r)
	}
}

func TestHTTPBasics(t *testing.T) {
	base := startServer(t, nil)
	tbl := uniq("basics")
	exec(t, base, "CREATE TABLE "+tbl+" (x UInt32) ENGINE = MergeTree ORDER BY x")
	exec(t, base, "INSERT INTO "+tbl+" VALUES (1), (2), (3)")

	for _, tc := range []struct {
		name       string
		q          hreq
		wantStatus int
		wantBody   string // exact body when status is 200
		wantCode   string // X-ClickHouse-Exception-Code when not 200
	}{
		{name: "ping", q: hreq{path: "/ping"}, wantStatus: 200, wantBody: "Ok.\n"},
		{name: "root without query", q: hreq{}, wantStatus: 200, wantBody: "Ok.\n"},
		{name: "GET select", q: hreq{params: []string{"query", "SELECT 1 + 1"}}, wantStatus: 200, wantBody: "2\n"},
		{name: "GET select table", q: hreq{params: []string{"query", "SELECT sum(x) FROM " + tbl}}, wantStatus: 200, wantBody: "6\n"},
		{name: "GET two columns", q: hreq{params: []string{"query", "SELECT 1, 'a\tb'"}}, wantStatus: 200, wantBody: "1\ta\\tb\n"},
		{name: "GET format clause", q: hreq{params: []string{"query", "SELECT 1 AS a, 'x' AS b FORMAT CSV"}}, wantStatus: 200, wantBody: "1,\"x\"\n"},
		{name: "GET query parameter", q: hreq{params: []string{"query", "SELECT {n:UInt8} + 1", "param_n", "41"}}, wantStatus: 200, wantBody: "42\n"},
		{name: "GET EXISTS", q: hreq{params: []string{"query", "EXISTS TABLE " + tbl}}, wantStatus: 200, wantBody: "1\n"},
		{name: "GET trailing semicolon", q: hreq{params: []string{"query", "SELECT 7;"}}, wantStatus: 200, wantBody: "7\n"},
		{name: "GET CREATE readonly", q: hreq{params: []string{"query", "CREATE TABLE " + tbl + "_x (x UInt8) ENGINE = Memory"}}, wantStatus: 500, wantCode: "164"},
		{name: "GET INSERT VALUES readonly", q: hreq{params: []string{"query", "INSERT INTO " + tbl + " VALUES (9)"}}, wantStatus: 500, wantCode: "164"},
		{name: "GET INSERT SELECT readonly", q: hreq{params: []string{"query", "INSERT INTO " + tbl + " SELECT 9"}}, wantStatus: 500, wantCode: "164"},
		{name: "GET INSERT FORMAT readonly", q: hreq{params: []string{"query", "INSERT INTO " + tbl + " FORMAT CSV"}}, wantStatus: 500, wantCode: "164"},
		{name: "GET DROP readonly", q: hreq{params: []string{"query", "DROP TABLE " + tbl}}, wantStatus: 500, wantCode: "164"},
		{name: "GET TRUNCATE readonly", q: hreq{params: []string{"query", "TRUNCATE TABLE " + tbl}}, wantStatus: 500, wantCode: "164"},
		{name: "POST body", q: hreq{body: "SELECT 40 + 2"}, wantStatus: 200, wantBody: "42\n"},
		{name: "POST query param only", q: hreq{method: "POST", params: []string{"query", "SELECT 3"}}, wantStatus: 200, wantBody: "3\n"},
		{name: "POST param + body concatenated", q: hreq{params: []string{"query", "SELECT 1,"}, body: "2"}, wantStatus: 200, wantBody: "1\t2\n"},
		{name: "POST param + body FORMAT", q: hreq{params: []string{"query", "SELECT 'a' AS s"}, body: "FORMAT CSV"}, wantStatus: 200, wantBody: "\"a\"\n"},
		{name: "POST newline joins param and body", q: hreq{params: []string{"query", "SELECT 5 -- comment to end of line"}, body: ", 6"}, wantStatus: 200, wantBody: "5\t6\n"},
		{name: "empty POST", q: hreq{method: "POST", body: ""}, wantStatus: 400, wantCode: "62"},
		{name: "whitespace POST", q: hreq{body: " \n\t "}, wantStatus: 400, wantCode: "62"},
		{name: "syntax error", q: hreq{body: "SELEC 1"}, wantStatus: 400, wantCode: "62"},
		{name: "multi-statement", q: hreq{body: "SELECT 1; SELECT 2"}, wantStatus: 400, wantCode: "62"},
		{name: "multi-statement GET", q: hreq{params: []string{"query", "SELECT 1; SELECT 2"}}, wantStatus: 400, wantCode: "62"},
		{name: "unknown table", q: hreq{body: "SELECT * FROM ht_no_such_table"}, wantStatus: 404, wantCode: "60"},
		{name: "unknown function", q: hreq{body: "SELECT ht_no_such_function(1)"}, wantStatus: 404, wantCode: "46"},
		{name: "unknown database", q: hreq{body: "SELECT * FROM ht_no_such_db.t"}, wantStatus: 404, wantCode: "81"},
		{name: "unknown identifier", q: hreq{body: "SELECT ht_no_such_column"}, wantStatus: 404, wantCode: "47"},
		{name: "unknown path", q: hreq{path: "/no/such/handler"}, wantStatus: 404},
		{name: "unknown path POST", q: hreq{path: "/query", body: "SELECT 1"}, wantStatus: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := doReq(t, base, tc.q)
			if tc.wantStatus == 200 {
				if r.status != 200 || string(r.body) != tc.wantBody {
					t.Errorf("want 200 %q, got %s", tc.wantBody, r)
				}
				return
			}
			wantError(t, r, tc.wantStatus, tc.wantCode)
		})
	}

	// Nothing the refused requests asked for happened.
	if got := query(t, base, "SELECT count(), sum(x) FROM "+tbl); got != "3\t6\n" {
		t.Errorf("table after refused requests: %s, want 3 rows summing to 6", short(got))
	}
	if got := query(t, base, "EXISTS TABLE "+tbl+"_x"); got != "0\n" {
		t.Errorf("GET CREATE TABLE created the table: EXISTS = %s", short(got))
	}
}

// TestHTTPMultiStatementNothingExecuted: ClickHouse parses the whole request
// first and refuses more than one statement, so no part of it runs.
func TestHTTPMultiStatementNothingExecuted(t *testing.T) {
	base := startServer(t, nil)
	for _, tc := range []struct {
		name string
		q    func(tbl string) hreq
		code string // "" means any error
	}{
		{"insert select then drop", func(tbl string) hreq {
			return hreq{body: "INSERT INTO " + tbl + " SELECT 1; DROP TABLE " + tbl}
		}, "62"},
		{"query param then body drop", func(tbl string) hreq {
			return hreq{params: []string{"query", "INSERT INTO " + tbl + " SELECT 1;"}, body: "DROP TABLE " + tbl}
		}, "62"},
		{"trailing garbage after drop", func(tbl string) hreq {
			return hreq{body: "INSERT INTO " + tbl + " SELECT 1; DROP TABLE " + tbl + "; SELEC"}
		}, "62"},
		{"values then drop", func(tbl string) hreq {
			return hreq{body: "INSERT INTO " + tbl + " VALUES (1); DROP TABLE " + tbl}
		}, ""},
		{"values param then drop", func(tbl string) hreq {
			return hreq{params: []string{"query", "INSERT INTO " + tbl + " VALUES"}, body: "(1); DROP TABLE " + tbl}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := uniq("multi")
			exec(t, base, "CREATE TABLE "+tbl+" (x UInt8) ENGINE = MergeTree ORDER BY x")
			r := doReq(t, base, tc.q(tbl))
			wantError(t, r, 0, tc.code)
			if tc.code == "62" && r.status != 400 {
				t.Errorf("want 400, got %s", r)
			}
			if got := query(t, base, "EXISTS TABLE "+tbl); got != "1\n" {
				t.Fatalf("the refused multi-statement request dropped the table (EXISTS = %s)", short(got))
			}
			if tc.code == "62" {
				if got := query(t, base, "SELECT count() FROM "+tbl); got != "0\n" {
					t.Errorf("the refused multi-statement request inserted rows: count = %s", short(got))
				}
			}
		})
	}
}

// testRows hold strings that break naive line-oriented handling: blank lines,
// CR LF, quotes, tabs, backslashes, UTF-8.
var testRows = []struct {
	id uint32
	s  string
}{
	{1, "a\n\nb"},
	{2, "\n\n"},
	{3, "plain"},
	{4, ""},
	{5, "x\r\n\r\ny"},
	{6, "quote\" apostrophe' back\\slash\ttab"},
	{7, "\n\nINSERT INTO x FORMAT CSV\n\n"},
	{8, "ünïcödé ✓"},
}

func csvData() string {
	var b strings.Builder
	for _, r := range testRows {
		fmt.Fprintf(&b, "%d,\"%s\"\n", r.id, strings.ReplaceAll(r.s, `"`, `""`))
	}
	return b.String()
}

func tsvData() string {
	esc := strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n", "\r", "\\r")
	var b strings.Builder
	for _, r := range testRows {
		fmt.Fprintf(&b, "%d\t%s\n", r.id, esc.Replace(r.s))
	}
	return b.String()
}

func jsonEachRowData() string {
	var rows []string
	for _, r := range testRows {
		b, _ := json.Marshal(map[string]any{"id": r.id, "s": r.s})
		rows = append(rows, string(b))
	}
	return strings.Join(rows, "\n\n") + "\n" // blank lines between rows
}

func valuesData() string {
	esc := strings.NewReplacer("\\", "\\\\", "'", "\\'")
	var rows []string
	for _, r := range testRows {
		rows = append(rows, fmt.Sprintf("(%d, '%s')", r.id, esc.Replace(r.s)))
	}
	return strings.Join(rows, ",\n\n") // raw newlines inside literals and between tuples
}

// readRows reads (id, s) back from tbl ordered by id.
func readRows(t testing.TB, base, tbl string) []struct {
	id uint32
	s  string
} {
	t.Helper()
	out := query(t, base, "SELECT id, s FROM "+tbl+" ORDER BY id FORMAT JSONCompactEachRow")
	var rows []struct {
		id uint32
		s  string
	}
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var row [2]json.RawMessage
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
		var r struct {
			id uint32
			s  string
		}
		if err := json.Unmarshal(row[0], &r.id); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(row[1], &r.s); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

func checkTestRows(t testing.TB, base, tbl string) {
	t.Helper()
	got := readRows(t, base, tbl)
	if len(got) != len(testRows) {
		t.Fatalf("%s: read back %d rows %v, want %d", tbl, len(got), got, len(testRows))
	}
	for i := range got {
		if got[i].id != testRows[i].id || got[i].s != testRows[i].s {
			t.Errorf("%s row %d: got (%d, %q), want (%d, %q)", tbl, i, got[i].id, got[i].s, testRows[i].id, testRows[i].s)
		}
	}
}

// parseSummary decodes X-ClickHouse-Summary, whose numbers are all strings.
func parseSummary(t testing.TB, r hres) map[string]string {
	t.Helper()
	h := r.header.Get("X-ClickHouse-Summary")
	if h == "" {
		t.Fatalf("no X-ClickHouse-Summary header: %s", r)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(h), &m); err != nil {
		t.Fatalf("X-ClickHouse-Summary %q is not a JSON object of strings: %v", h, err)
	}
	for k, v := range m {
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			t.Errorf("X-ClickHouse-Summary %s = %q, want a decimal number in a string", k, v)
		}
	}
	return m
}

func TestHTTPInsertFormats(t *testing.T) {
	base := startServer(t, nil)
	const schema = " (id UInt32, s String) ENGINE = MergeTree ORDER BY id"

	// The binary formats come from the server itself, read from a source table.
	src := uniq("src")
	exec(t, base, "CREATE TABLE "+src+schema)
	exec(t, base, "INSERT INTO "+src+" FORMAT TSV\n"+tsvData())
	checkTestRows(t, base, src)
	bin := map[string][]byte{}
	for name, sql := range map[string]string{
		"Native":       "SELECT id, s FROM " + src + " ORDER BY id FORMAT Native",
		"RowBinary":    "SELECT id, s FROM " + src + " ORDER BY id FORMAT RowBinary",
		"RowBinaryWNT": "SELECT id, s FROM " + src + " ORDER BY id FORMAT RowBinaryWithNamesAndTypes",
	} {
		r := must(t, base, hreq{body: sql})
		if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("%s: Content-Type %q, want application/octet-stream", name, ct)
		}
		bin[name] = r.body
	}
	// Rows whose RowBinary encoding starts with a space or a newline: the
	// data must begin right after the one line break that ends the statement.
	src2 := uniq("src2")
	exec(t, base, "CREATE TABLE "+src2+schema)
	exec(t, base, "INSERT INTO "+src2+" SELECT id, s FROM "+src)
	exec(t, base, "INSERT INTO "+src2+" VALUES (32, ' space first'), (10, '\\nnewline first')")
	bin["RowBinarySP"] = must(t, base, hreq{body: "SELECT id, s FROM " + src2 + " ORDER BY id = 32 DESC, id FORMAT RowBinary"}).body
	bin["RowBinaryNL"] = must(t, base, hreq{body: "SELECT id, s FROM " + src2 + " ORDER BY id = 10 DESC, id FORMAT RowBinary"}).body
	if bin["RowBinarySP"][0] != ' ' || bin["RowBinaryNL"][0] != '\n' {
		t.Fatalf("RowBinary test data does not start with space / newline: %q %q", bin["RowBinarySP"][:4], bin["RowBinaryNL"][:4])
	}

	for _, tc := range []struct {
		format string // as written in the INSERT
		data   []byte
		extra  bool // src2 rows (32, 10) are in the data
	}{
		{"JSONEachRow", []byte(jsonEachRowData()), false},
		{"CSV", []byte(csvData()), false},
		{"TSV", []byte(tsvData()), false},
		{"TabSeparated", []byte(tsvData()), false},
		{"Native", bin["Native"], false},
		{"RowBinary", bin["RowBinary"], false},
		{"RowBinaryWithNamesAndTypes", bin["RowBinaryWNT"], false},
		{"RowBinary", bin["RowBinarySP"], true},
		{"RowBinary", bin["RowBinaryNL"], true},
		{"VALUES", []byte(valuesData()), false},
	} {
		for _, form := range []string{"param", "body"} {
			name := fmt.Sprintf("%s/%s/%d", tc.format, form, len(tc.data))
			if tc.extra {
				name += "/first-byte-" + strconv.Quote(string(tc.data[:1]))
			}
			t.Run(name, func(t *testing.T) {
				dst := uniq("dst")
				exec(t, base, "CREATE TABLE "+dst+schema)
				clause := "FORMAT " + tc.format
				if tc.format == "VALUES" {
					clause = "VALUES"
				}
				var q hreq
				if form == "param" {
					q = hreq{params: []string{"query", "INSERT INTO " + dst + " " + clause}, body: tc.data}
				} else {
					q = hreq{body: append([]byte("INSERT INTO "+dst+" "+clause+"\n"), tc.data...)}
				}
				r := must(t, base, q)
				wantRows := len(testRows)
				if tc.extra {
					wantRows += 2
				}
				if s := parseSummary(t, r); s["written_rows"] != strconv.Itoa(wantRows) {
					t.Errorf("X-ClickHouse-Summary written_rows = %q, want %d (%s)", s["written_rows"], wantRows, r.header.Get("X-ClickHouse-Summary"))
				}
				if tc.extra {
					got := query(t, base, "SELECT id, s FROM "+dst+" WHERE id IN (10, 32) ORDER BY id FORMAT TSV")
					if want := "10\t\\nnewline first\n32\t space first\n"; got != want {
						t.Errorf("rows whose data starts with a space/newline: got %s, want %s", short(got), short(want))
					}
					exec(t, base, "ALTER TABLE "+dst+" DELETE WHERE id IN (10, 32)", "mutations_sync", "1")
				}
				checkTestRows(t, base, dst)
				// The binary round trip is byte-exact.
				for _, f := range []string{"Native", "RowBinary"} {
					want := bin[f]
					got := must(t, base, hreq{body: "SELECT id, s FROM " + dst + " ORDER BY id FORMAT " + f}).body
					if !bytes.Equal(got, want) {
						t.Errorf("%s of the copy differs from the source:\n got %s\nwant %s", f, short(got), short(want))
					}
				}
			})
		}
	}
}

// TestHTTPLargeInsert streams 20 MB of CSV in a chunked body, far beyond
// max_query_size.
func TestHTTPLargeInsert(t *testing.T) {
	base := startServer(t, nil)
	tbl := uniq("large")
	exec(t, base, "CREATE TABLE "+tbl+" (id UInt64, s String) ENGINE = MergeTree ORDER BY id")
	const size = 20 << 20
	type totals struct{ rows, sum uint64 }
	done := make(chan totals, 1)
	pr, pw := io.Pipe()
	go func() {
		var tot totals
		defer func() { done <- tot }()
		buf := make([]byte, 0, 256<<10)
		written := 0
		for written < size {
			buf = buf[:0]
			for len(buf) < 250<<10 {
				tot.rows++
				tot.sum += tot.rows
				// Quoted strings with blank lines inside every 1000th row.
				if tot.rows%1000 == 0 {
					buf = fmt.Appendf(buf, "%d,\"multi\n\nline %d\"\n", tot.rows, tot.rows)
				} else {
					buf = fmt.Appendf(buf, "%d,row number %d with some padding text\n", tot.rows, tot.rows)
				}
			}
			if _, err := pw.Write(buf); err != nil {
				return
			}
			written += len(buf)
		}
		pw.Close()
	}()
	start := time.Now()
	r := must(t, base, hreq{params: []string{"query", "INSERT INTO " + tbl + " FORMAT CSV"}, body: pr})
	t.Logf("20 MB CSV insert: %s", time.Since(start))
	tot := <-done
	rows, sum := tot.rows, tot.sum
	if rows < 400000 {
		t.Fatalf("only %d rows generated", rows)
	}
	if s := parseSummary(t, r); s["written_rows"] != strconv.FormatUint(rows, 10) {
		t.Errorf("written_rows = %q, want %d", s["written_rows"], rows)
	}
	want := fmt.Sprintf("%d\t%d\t%d\n", rows, sum, rows/1000)
	if got := query(t, base, "SELECT count(), sum(id), countIf(s LIKE 'multi\n\nline %') FROM "+tbl); got != want {
		t.Errorf("after the 20 MB insert: got %s, want %s", short(got), short(want))
	}
}

func TestHTTPFormats(t *testing.T) {
	base := startServer(t, nil)
	const sql = "SELECT 1 AS a, 'x' AS b"
	for _, tc := range []struct {
		name       string
		q          hreq
		wantFormat string
		wantCT     string
		wantBody   string
	}{
		{"default TabSeparated", hreq{body: sql}, "TabSeparated", "text/tab-separated-values; charset=UTF-8", "1\tx\n"},
		{"default_format CSV", hreq{params: []string{"default_format", "CSV"}, body: sql}, "CSV", "text/csv; charset=UTF-8; header=absent", "1,\"x\"\n"},
		{"default_format JSONCompactEachRow", hreq{params: []string{"default_format", "JSONCompactEachRow"}, body: sql}, "JSONCompactEachRow", "application/*", "[1, \"x\"]\n"},
		{"X-ClickHouse-Format header", hreq{header: map[string]string{"X-ClickHouse-Format": "CSVWithNames"}, body: sql}, "CSVWithNames", "text/csv; charset=UTF-8; header=absent", "\"a\",\"b\"\n1,\"x\"\n"},
		{"FORMAT clause beats default_format", hreq{params: []string{"default_format", "CSV"}, body: sql + " FORMAT TSVWithNames"}, "TSVWithNames", "text/tab-separated-values; charset=UTF-8", "a\tb\n1\tx\n"},
		{"FORMAT clause beats header", hreq{header: map[string]string{"X-ClickHouse-Format": "CSV"}, body: sql + " FORMAT JSONCompactEachRow"}, "JSONCompactEachRow", "application/*", "[1, \"x\"]\n"},
		{"GET default_format", hreq{params: []string{"query", sql, "default_format", "CSV"}}, "CSV", "text/csv; charset=UTF-8; header=absent", "1,\"x\"\n"},
		{"lowercase format clause", hreq{body: sql + " format CSV"}, "CSV", "text/csv; charset=UTF-8; header=absent", "1,\"x\"\n"},
		{"format clause with semicolon", hreq{body: sql + " FORMAT CSV;"}, "CSV", "text/csv; charset=UTF-8; header=absent", "1,\"x\"\n"},
		{"SHOW with FORMAT", hreq{body: "SHOW DATABASES LIKE 'system' FORMAT JSONEachRow"}, "JSONEachRow", "application/*", "{\"name\":\"system\"}\n"},
		{"Native", hreq{params: []string{"default_format", "Native"}, body: "SELECT toUInt8(7) AS a"}, "Native", "application/octet-stream", "\x01\x01\x01a\x05UInt8\x07"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := must(t, base, tc.q)
			if string(r.body) != tc.wantBody {
				t.Errorf("body %s, want %q", short(r.body), tc.wantBody)
			}
			if got := r.header.Get("X-ClickHouse-Format"); got != tc.wantFormat {
				t.Errorf("X-ClickHouse-Format %s, want %q", short(got), tc.wantFormat)
			}
			// JSON*EachRow: application/json or application/x-ndjson.
			got := r.header.Get("Content-Type")
			if p, ok := strings.CutSuffix(tc.wantCT, "*"); ok {
				if !strings.HasPrefix(got, p) || !strings.Contains(got, "json") {
					t.Errorf("Content-Type %s, want %sjson...", short(got), p)
				}
			} else if got != tc.wantCT {
				t.Errorf("Content-Type %s, want %q", short(got), tc.wantCT)
			}
		})
	}
	t.Run("JSON", func(t *testing.T) {
		r := must(t, base, hreq{body: sql + " FORMAT JSON"})
		var doc struct {
			Meta []struct{ Name, Type string }
			Data []map[string]any
			Rows int
		}
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatalf("FORMAT JSON body %s: %v", short(r.body), err)
		}
		if doc.Rows != 1 || len(doc.Meta) != 2 || doc.Meta[0].Name != "a" || doc.Data[0]["b"] != "x" {
			t.Errorf("FORMAT JSON: %+v", doc)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
	})
}

func TestHTTPDatabase(t *testing.T) {
	base := startServer(t, nil)
	db := uniq("db")
	exec(t, base, "CREATE DATABASE "+db)
	exec(t, base, "CREATE TABLE "+db+".t (x UInt8) ENGINE = Memory")
	exec(t, base, "INSERT INTO t VALUES (1), (2)", "database", db)
	must(t, base, hreq{params: []string{"query", "INSERT INTO t FORMAT CSV", "database", db}, body: "3\n"})
	if got := query(t, base, "SELECT count() FROM "+db+".t"); got != "3\n" {
		t.Fatalf("inserts with database=%s did not land in %s.t: count %s", db, db, short(got))
	}

	// Alternate requests with and without the parameter, several at once, so
	// that pooled connections that switched database are reused.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 8 {
				if (i+w)%2 == 0 {
					r := goReq(t, base, hreq{params: []string{"database", db}, body: "SELECT currentDatabase(), count() FROM t"})
					if r.status != 200 || string(r.body) != db+"\t3\n" {
						t.Errorf("with database=%s: %s", db, r)
					}
					r = goReq(t, base, hreq{header: map[string]string{"X-ClickHouse-Database": db}, params: []string{"query", "SELECT currentDatabase()"}})
					if r.status != 200 || string(r.body) != db+"\n" {
						t.Errorf("with X-ClickHouse-Database: %s: %s", db, r)
					}
				} else {
					r := goReq(t, base, hreq{body: "SELECT currentDatabase()"})
					if r.status != 200 || string(r.body) != "default\n" {
						t.Errorf("without database: want default, got %s", r)
					}
					r = goReq(t, base, hreq{body: "SELECT count() FROM t"})
					wantError(t, r, 404, "60")
				}
			}
		})
	}
	wg.Wait()

	// USE on a pooled (session-less) connection does not stick either.
	exec(t, base, "USE "+db)
	for range 6 {
		if got := query(t, base, "SELECT currentDatabase()"); got != "default\n" {
			t.Fatalf("after a session-less USE %s, a later request resolves to %s", db, short(got))
		}
	}
	wantError(t, doReq(t, base, hreq{params: []string{"database", "ht_no_such_db"}, body: "SELECT 1"}), 404, "81")
	if got := query(t, base, "SELECT currentDatabase()"); got != "default\n" {
		t.Errorf("after a request with an unknown database: %s", short(got))
	}
}

func TestHTTPSettings(t *testing.T) {
	base := startServer(t, nil)
	const probe = "SELECT getSetting('max_threads'), getSetting('max_result_rows'), getSetting('log_comment'), getSetting('readonly')"
	baseline := query(t, base, probe)
	if strings.HasPrefix(baseline, "3\t") {
		t.Fatalf("baseline max_threads is already 3: %s", short(baseline))
	}
	checkBaseline := func(t *testing.T, after string) {
		t.Helper()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 6 {
					if got := goQuery(t, base, probe); got != baseline {
						t.Errorf("after %s, a request without settings sees %s, want %s", after, short(got), short(baseline))
						return
					}
				}
			})
		}
		wg.Wait()
	}

	t.Run("URL settings apply", func(t *testing.T) {
		got := query(t, base, probe, "max_threads", "3", "max_result_rows", "1000", "log_comment", "it's a \\ test")
		if want := "3\t1000\tit\\'s a \\\\ test\t0\n"; got != want {
			t.Errorf("got %s, want %s", short(got), short(want))
		}
		r := must(t, base, hreq{params: []string{"query", probe, "max_threads", "3"}})
		if !strings.HasPrefix(string(r.body), "3\t") {
			t.Errorf("GET with max_threads=3: %s", r)
		}
		checkBaseline(t, "URL settings")
	})
	t.Run("setting enforced", func(t *testing.T) {
		r := doReq(t, base, hreq{params: []string{"max_result_rows", "5", "result_overflow_mode", "throw"}, body: "SELECT number FROM numbers(100) SETTINGS max_block_size = 10"})
		if r.status == 200 && !bytes.Contains(r.body, []byte("__exception__")) {
			t.Errorf("max_result_rows=5 was not enforced: %s", r)
		}
		checkBaseline(t, "max_result_rows=5")
	})
	t.Run("settings on a failing query", func(t *testing.T) {
		wantError(t, doReq(t, base, hreq{params: []string{"max_threads", "3"}, body: "SELECT * FROM ht_no_such_table"}), 404, "60")
		wantError(t, doReq(t, base, hreq{params: []string{"max_threads", "3"}, body: "SELEC 1"}), 400, "62")
		checkBaseline(t, "failed queries with max_threads=3")
	})
	t.Run("SET without session", func(t *testing.T) {
		exec(t, base, "SET max_threads = 3")
		checkBaseline(t, "a session-less SET")
	})
	t.Run("readonly setting", func(t *testing.T) {
		wantError(t, doReq(t, base, hreq{params: []string{"readonly", "1"}, body: "CREATE TABLE " + uniq("ro") + " (x UInt8) ENGINE = Memory"}), 0, "164")
		tbl := uniq("ro")
		exec(t, base, "CREATE TABLE "+tbl+" (x UInt8) ENGINE = Memory")
		exec(t, base, "INSERT INTO "+tbl+" VALUES (1)")
		checkBaseline(t, "readonly=1")
	})
	t.Run("unknown setting", func(t *testing.T) {
		wantError(t, doReq(t, base, hreq{params: []string{"ht_no_such_setting", "1"}, body: "SELECT 1"}), 404, "115")
		wantError(t, doReq(t, base, hreq{params: []string{"query", "SELECT 1", "ht_no_such_setting", "1"}}), 404, "115")
		wantError(t, doReq(t, base, hreq{params: []string{"bad-name", "1"}, body: "SELECT 1"}), 404, "115")
		checkBaseline(t, "an unknown setting")
	})
	t.Run("SETTINGS clause", func(t *testing.T) {
		if got := query(t, base, "SELECT getSetting('max_threads') SETTINGS max_threads = 3"); got != "3\n" {
			t.Errorf("SETTINGS clause: %s", short(got))
		}
		checkBaseline(t, "a SETTINGS clause")
	})
}

func TestHTTPSession(t *testing.T) {
	base := startServer(t, nil)
	baseline := query(t, base, "SELECT getSetting('max_threads')")
	db := uniq("sdb")
	exec(t, base, "CREATE DATABASE "+db)
	exec(t, base, "CREATE TABLE "+db+".t (x UInt8) ENGINE = Memory")
	sid := uniq("session")
	s := func(extra ...string) []string { return append([]string{"session_id", sid}, extra...) }

	exec(t, base, "SET max_threads = 5", s()...)
	exec(t, base, "USE "+db, s()...)
	exec(t, base, "CREATE TEMPORARY TABLE tmp (a UInt8)", s()...)
	exec(t, base, "INSERT INTO tmp VALUES (1), (2)", s()...)
	must(t, base, hreq{params: s("query", "INSERT INTO tmp FORMAT CSV"), body: "3\n"})

	for _, tc := range []struct {
		name string
		q    hreq
		want string
	}{
		{"SET sticks", hreq{params: s(), body: "SELECT getSetting('max_threads')"}, "5\n"},
		{"SET sticks on GET", hreq{params: s("query", "SELECT getSetting('max_threads')")}, "5\n"},
		{"USE sticks", hreq{params: s(), body: "SELECT currentDatabase(), count() FROM t"}, db + "\t0\n"},
		{"temporary table sticks", hreq{params: s(), body: "SELECT sum(a) FROM tmp"}, "6\n"},
		{"session_check on a live session", hreq{params: s("session_check", "1"), body: "SELECT count() FROM tmp"}, "3\n"},
		{"URL setting overrides for one request", hreq{params: s("max_threads", "3"), body: "SELECT getSetting('max_threads')"}, "3\n"},
		{"session SET is back after a URL setting", hreq{params: s(), body: "SELECT getSetting('max_threads')"}, "5\n"},
		{"database param overrides for one request", hreq{params: s("database", "default"), body: "SELECT currentDatabase()"}, "default\n"},
		{"USE is back after a database param", hreq{params: s(), body: "SELECT currentDatabase()"}, db + "\n"},
		{"not seen without session: SET", hreq{body: "SELECT getSetting('max_threads')"}, baseline},
		{"not seen without session: USE", hreq{body: "SELECT currentDatabase()"}, "default\n"},
		{"not seen in another session", hreq{params: []string{"session_id", sid + "_other"}, body: "SELECT getSetting('max_threads'), currentDatabase()"}, strings.TrimSuffix(baseline, "\n") + "\tdefault\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := doReq(t, base, tc.q)
			if r.status != 200 || string(r.body) != tc.want {
				t.Errorf("want 200 %q, got %s", tc.want, r)
			}
		})
	}
	t.Run("temporary table not seen without session", func(t *testing.T) {
		wantError(t, doReq(t, base, hreq{body: "SELECT count() FROM tmp"}), 404, "60")
		wantError(t, doReq(t, base, hreq{params: []string{"session_id", sid + "_other"}, body: "SELECT count() FROM tmp"}), 404, "60")
	})
	t.Run("readonly URL setting does not stick to the session", func(t *testing.T) {
		if got := query(t, base, "SELECT 1", s("readonly", "1")...); got != "1\n" {
			t.Fatalf("readonly=1 select: %s", short(got))
		}
		r := doReq(t, base, hreq{params: s(), body: "INSERT INTO tmp VALUES (4)"})
		if r.status != 200 {
			t.Errorf("after one request with readonly=1, the session refuses an INSERT: %s", r)
		}
	})
	t.Run("session_check unknown", func(t *testing.T) {
		wantError(t, doReq(t, base, hreq{params: []string{"session_id", uniq("nosession"), "session_check", "1"}, body: "SELECT 1"}), 0, "372")
	})
	t.Run("invalid session_timeout", func(t *testing.T) {
		wantError(t, doReq(t, base, hreq{params: []string{"session_id", uniq("s"), "session_timeout", "abc"}, body: "SELECT 1"}), 0, "374")
	})
	t.Run("concurrent use is locked", func(t *testing.T) {
		sid2 := uniq("locked")
		exec(t, base, "SELECT 1", "session_id", sid2)
		slow := make(chan hres, 1)
		go func() {
			slow <- goReq(t, base, hreq{params: []string{"session_id", sid2}, body: "SELECT sleep(2)"})
		}()
		var locked hres
		deadline := time.After(1800 * time.Millisecond)
	poll:
		for {
			select {
			case <-deadline:
				break poll
			case <-time.After(100 * time.Millisecond):
			}
			r := doReq(t, base, hreq{params: []string{"session_id", sid2}, body: "SELECT 1"})
			if r.code() == "373" {
				locked = r
				break
			}
		}
		first := <-slow
		if first.status != 200 || string(first.body) != "0\n" {
			t.Errorf("the slow request: %s", first)
		}
		if locked.status == 0 {
			t.Fatalf("a second request on a session busy with SELECT sleep(2) never got code 373")
		}
		wantError(t, locked, 0, "373")
		if got := query(t, base, "SELECT 2", "session_id", sid2); got != "2\n" {
			t.Errorf("after the slow request, the session answers %s", short(got))
		}
	})
}

func TestHTTPHeaders(t *testing.T) {
	base := startServer(t, nil)
	tbl := uniq("hdr")
	exec(t, base, "CREATE TABLE "+tbl+" (x UInt32) ENGINE = MergeTree ORDER BY x")

	t.Run("summary after insert", func(t *testing.T) {
		for _, q := range []hreq{
			{body: "INSERT INTO " + tbl + " FORMAT CSV\n1\n2\n3\n"},
			{params: []string{"query", "INSERT INTO " + tbl + " FORMAT TSV"}, body: "4\n5\n6\n"},
			{body: "INSERT INTO " + tbl + " VALUES (7), (8), (9)"},
		} {
			r := must(t, base, q)
			if s := parseSummary(t, r); s["written_rows"] != "3" {
				t.Errorf("written_rows %q, want \"3\" (%s)", s["written_rows"], r.header.Get("X-ClickHouse-Summary"))
			}
		}
		r := must(t, base, hreq{body: "INSERT INTO " + tbl + " SELECT number + 100 FROM numbers(10)"})
		if s := parseSummary(t, r); s["written_rows"] != "10" {
			t.Errorf("INSERT SELECT written_rows %q, want \"10\" (%s)", s["written_rows"], r.header.Get("X-ClickHouse-Summary"))
		}
	})
	t.Run("summary on select", func(t *testing.T) {
		r := must(t, base, hreq{body: "SELECT x FROM " + tbl + " ORDER BY x"})
		parseSummary(t, r)
		if n := bytes.Count(r.body, []byte("\n")); n != 19 {
			t.Errorf("read %d rows, want 19", n)
		}
	})
	t.Run("query_id echoed", func(t *testing.T) {
		r := must(t, base, hreq{params: []string{"query_id", "ht-query-id-42"}, body: "SELECT 1"})
		if got := r.header.Get("X-ClickHouse-Query-Id"); got != "ht-query-id-42" {
			t.Errorf("X-ClickHouse-Query-Id %s, want ht-query-id-42", short(got))
		}
		r = must(t, base, hreq{body: "SELECT 1"})
		if r.header.Get("X-ClickHouse-Query-Id") == "" {
			t.Errorf("no X-ClickHouse-Query-Id without query_id")
		}
		r = doReq(t, base, hreq{params: []string{"query_id", "ht-failing-id"}, body: "SELECT * FROM ht_no_such_table"})
		if got := r.header.Get("X-ClickHouse-Query-Id"); got != "ht-failing-id" {
			t.Errorf("X-ClickHouse-Query-Id on error %s, want ht-failing-id", short(got))
		}
		if got := query(t, base, "SELECT queryID()", "query_id", "ht-query-id-43"); got != "ht-query-id-43\n" {
			t.Logf("note: queryID() inside the query is %q, not the query_id parameter", got)
		}
	})
	t.Run("exception code and body", func(t *testing.T) {
		r := doReq(t, base, hreq{body: "SELECT throwIf(1)"})
		wantError(t, r, 0, "395")
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("error Content-Type %q, want text/plain", ct)
		}
		if r.header.Get("X-ClickHouse-Format") != "" {
			t.Errorf("error answer has X-ClickHouse-Format %q", r.header.Get("X-ClickHouse-Format"))
		}
	})
	t.Run("timezone and display name", func(t *testing.T) {
		r := must(t, base, hreq{body: "SELECT 1"})
		for _, h := range []string{"X-ClickHouse-Timezone", "X-ClickHouse-Server-Display-Name"} {
			if r.header.Get(h) == "" {
				t.Errorf("no %s header", h)
			}
		}
	})
}

func TestHTTPQueryTooLarge(t *testing.T) {
	base := startServer(t, func(c *Config) { c.MaxQuerySize = 4096 })
	long := "SELECT 1 /*" + strings.Repeat("x", 5000) + "*/"
	wantError(t, doReq(t, base, hreq{body: long}), 413, "229")
	wantError(t, doReq(t, base, hreq{params: []string{"query", "SELECT 1"}, body: "/*" + strings.Repeat("x", 5000) + "*/"}), 413, "229")
	wantError(t, doReq(t, base, hreq{body: "INSERT INTO t SETTINGS log_comment = '" + strings.Repeat("x", 5000) + "' FORMAT CSV\n1\n"}), 413, "229")
	wantError(t, doReq(t, base, hreq{params: []string{"max_query_size", "2000"}, body: "SELECT 1 /*" + strings.Repeat("x", 3000) + "*/"}), 413, "229")
	// Just under the limit is fine, and insert data is not limited.
	if got := query(t, base, "SELECT 1 /*"+strings.Repeat("x", 4000)+"*/"); got != "1\n" {
		t.Errorf("query under max_query_size: %s", short(got))
	}
	tbl := uniq("big")
	exec(t, base, "CREATE TABLE "+tbl+" (s String) ENGINE = Memory")
	exec(t, base, "INSERT INTO "+tbl+" FORMAT TSV\n"+strings.Repeat("y", 100000)+"\n")
	if got := query(t, base, "SELECT length(s) FROM "+tbl); got != "100000\n" {
		t.Errorf("insert data longer than max_query_size: %s", short(got))
	}
}

// chCompress writes data in ClickHouse's compressed-block framing.
func chCompress(t testing.TB, data []byte, m compress.Method) []byte {
	t.Helper()
	w := compress.NewWriter(compress.LevelZero, m)
	var out []byte
	for len(data) > 0 {
		n := min(len(data), 1<<20)
		if err := w.Compress(data[:n]); err != nil {
			t.Fatal(err)
		}
		out = append(out, w.Data...)
		data = data[n:]
	}
	return out
}

// chDecompress reads ClickHouse's compressed-block framing to the end.
func chDecompress(data []byte) ([]byte, error) {
	r := compress.NewReader(bytes.NewReader(data))
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				return out.Bytes(), nil
			}
			return out.Bytes(), err
		}
	}
}

// httpEncode compresses data with an HTTP Content-Encoding.
func httpEncode(t testing.TB, enc string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "br":
		w = brotli.NewWriter(&buf)
	case "zstd":
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	case "lz4":
		w = lz4.NewWriter(&buf)
	default:
		t.Fatalf("no encoder for %q", enc)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// httpDecode undoes an HTTP Content-Encoding.
func httpDecode(enc string, data []byte) ([]byte, error) {
	var r io.Reader
	var err error
	switch enc {
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(data))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(data))
	case "br":
		r = brotli.NewReader(bytes.NewReader(data))
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(data))
		if err == nil {
			defer d.Close()
			r = d
		}
	default:
		return nil, fmt.Errorf("no decoder for %q", enc)
	}
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestHTTPRequestCompression(t *testing.T) {
	base := startServer(t, nil)
	const schema = " (id UInt32, s String) ENGINE = MergeTree ORDER BY id"
	src := uniq("csrc")
	exec(t, base, "CREATE TABLE "+src+schema)
	exec(t, base, "INSERT INTO "+src+" FORMAT CSV\n"+csvData())
	native := must(t, base, hreq{body: "SELECT id, s FROM " + src + " ORDER BY id FORMAT Native"}).body

	for _, enc := range []string{"gzip", "deflate", "br", "zstd", "lz4"} {
		t.Run(enc, func(t *testing.T) {
			// A SELECT in a compressed body.
			r := must(t, base, hreq{header: map[string]string{"Content-Encoding": enc}, body: httpEncode(t, enc, []byte("SELECT 'compressed ' || '"+enc+"'"))})
			if want := "compressed " + enc + "\n"; string(r.body) != want {
				t.Errorf("compressed SELECT: %s, want %s", short(r.body), short(want))
			}
			// An INSERT statement and its data in one compressed body.
			dst := uniq("cdst")
			exec(t, base, "CREATE TABLE "+dst+schema)
			must(t, base, hreq{header: map[string]string{"Content-Encoding": enc}, body: httpEncode(t, enc, []byte("INSERT INTO "+dst+" FORMAT CSV\n"+csvData()))})
			checkTestRows(t, base, dst)
			// Query parameter INSERT with compressed Native data.
			dst2 := uniq("cdst")
			exec(t, base, "CREATE TABLE "+dst2+schema)
			must(t, base, hreq{params: []string{"query", "INSERT INTO " + dst2 + " FORMAT Native"}, header: map[string]string{"Content-Encoding": enc}, body: httpEncode(t, enc, native)})
			checkTestRows(t, base, dst2)
		})
	}
	for _, m := range []compress.Method{compress.LZ4, compress.ZSTD, compress.None} {
		t.Run("decompress=1/"+m.String(), func(t *testing.T) {
			t.Run("SELECT in body", func(t *testing.T) {
				r := doReq(t, base, hreq{params: []string{"decompress", "1"}, body: chCompress(t, []byte("SELECT 'framed'"), m)})
				if r.status != 200 || string(r.body) != "framed\n" {
					t.Errorf("want 200 \"framed\\n\", got %s", r)
				}
			})
			t.Run("SELECT param + body", func(t *testing.T) {
				r := doReq(t, base, hreq{params: []string{"decompress", "1", "query", "SELECT"}, body: chCompress(t, []byte("'framed'"), m)})
				if r.status != 200 || string(r.body) != "framed\n" {
					t.Errorf("want 200 \"framed\\n\", got %s", r)
				}
			})
			t.Run("INSERT param, Native body", func(t *testing.T) {
				dst := uniq("fdst")
				exec(t, base, "CREATE TABLE "+dst+schema)
				must(t, base, hreq{params: []string{"query", "INSERT INTO " + dst + " FORMAT Native", "decompress", "1"}, body: chCompress(t, native, m)})
				checkTestRows(t, base, dst)
			})
			t.Run("INSERT and CSV in body", func(t *testing.T) {
				dst := uniq("fdst")
				exec(t, base, "CREATE TABLE "+dst+schema)
				must(t, base, hreq{params: []string{"decompress", "1"}, body: chCompress(t, []byte("INSERT INTO "+dst+" FORMAT CSV\n"+csvData()), m)})
				checkTestRows(t, base, dst)
			})
			t.Run("inside gzip", func(t *testing.T) {
				// Framing inside an HTTP encoding.
				dst := uniq("fdst")
				exec(t, base, "CREATE TABLE "+dst+schema)
				must(t, base, hreq{params: []string{"query", "INSERT INTO " + dst + " FORMAT Native", "decompress", "1"}, header: map[string]string{"Content-Encoding": "gzip"}, body: httpEncode(t, "gzip", chCompress(t, native, m))})
				checkTestRows(t, base, dst)
			})
		})
	}
	t.Run("large framed insert", func(t *testing.T) {
		dst := uniq("fbig")
		exec(t, base, "CREATE TABLE "+dst+" (n UInt64) ENGINE = MergeTree ORDER BY n")
		var data []byte
		for i := range 600000 {
			data = strconv.AppendInt(data, int64(i), 10)
			data = append(data, '\n')
		}
		must(t, base, hreq{params: []string{"query", "INSERT INTO " + dst + " FORMAT TSV", "decompress", "1"}, body: chCompress(t, data, compress.LZ4)})
		if got := query(t, base, "SELECT count(), sum(n) FROM "+dst); got != "600000\t179999700000\n" {
			t.Errorf("framed 4 MB insert: %s", short(got))
		}
	})

	t.Run("corrupt", func(t *testing.T) {
		tbl := uniq("corrupt")
		exec(t, base, "CREATE TABLE "+tbl+schema)
		good := httpEncode(t, "gzip", []byte("INSERT INTO "+tbl+" FORMAT CSV\n"+csvData()))
		framed := chCompress(t, []byte("INSERT INTO "+tbl+" FORMAT CSV\n"+csvData()), compress.LZ4)
		badHash := bytes.Clone(framed)
		badHash[3] ^= 0xff
		badData := bytes.Clone(framed)
		badData[len(badData)-2] ^= 0xff
		for _, tc := range []struct {
			name string
			q    hreq
		}{
			{"gzip garbage", hreq{header: map[string]string{"Content-Encoding": "gzip"}, body: "this is not gzip at all"}},
			{"gzip truncated", hreq{header: map[string]string{"Content-Encoding": "gzip"}, body: good[:len(good)-12]}},
			{"gzip truncated insert param", hreq{params: []string{"query", "INSERT INTO " + tbl + " FORMAT Native"}, header: map[string]string{"Content-Encoding": "gzip"}, body: httpEncode(t, "gzip", native)[:40]}},
			{"deflate garbage", hreq{header: map[string]string{"Content-Encoding": "deflate"}, body: "garbage garbage"}},
			{"br garbage", hreq{header: map[string]string{"Content-Encoding": "br"}, body: "\xff\xff\xff garbage"}},
			{"zstd garbage", hreq{header: map[string]string{"Content-Encoding": "zstd"}, body: "garbage garbage"}},
			{"lz4 garbage", hreq{header: map[string]string{"Content-Encoding": "lz4"}, body: "garbage garbage"}},
			{"unknown encoding", hreq{header: map[string]string{"Content-Encoding": "snappy-ish"}, body: "SELECT 1"}},
			{"decompress=1 plain text", hreq{params: []string{"decompress", "1"}, body: "SELECT 1 this is no framing at all"}},
			{"decompress=1 bad checksum", hreq{params: []string{"decompress", "1"}, body: badHash}},
			{"decompress=1 bad data", hreq{params: []string{"decompress", "1"}, body: badData}},
			{"decompress=1 truncated", hreq{params: []string{"decompress", "1"}, body: framed[:len(framed)-5]}},
			{"decompress=1 truncated insert param", hreq{params: []string{"query", "INSERT INTO " + tbl + " FORMAT Native", "decompress", "1"}, body: chCompress(t, native, compress.LZ4)[:30]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := doReq(t, base, tc.q)
				wantError(t, r, 0, "")
				if r.code() == "" || !bytes.HasPrefix(r.body, []byte("Code: ")) {
					t.Errorf("want a ClickHouse exception, got %s", r)
				}
			})
		}
		if got := query(t, base, "SELECT count() FROM "+tbl); got != "0\n" {
			t.Errorf("broken compressed bodies inserted rows: count %s", short(got))
		}
		if got := query(t, base, "SELECT 'still up'"); got != "still up\n" {
			t.Errorf("server after corrupt bodies: %s", short(got))
		}
		if r := doReq(t, base, hreq{path: "/ping"}); string(r.body) != "Ok.\n" {
			t.Errorf("ping after corrupt bodies: %s", r)
		}
	})
}

func TestHTTPResponseCompression(t *testing.T) {
	base := startServer(t, nil)
	const sql = "SELECT number, toString(number * 7) FROM numbers(200000)"
	plain := query(t, base, sql)
	if len(plain) < 1<<20 {
		t.Fatalf("plain answer only %d bytes", len(plain))
	}
	for _, m := range []string{"", "LZ4", "ZSTD"} {
		t.Run("compress=1/"+m, func(t *testing.T) {
			params := []string{"compress", "1"}
			if m != "" {
				params = append(params, "network_compression_method", m)
			}
			r := must(t, base, hreq{params: params, body: sql})
			got, err := chDecompress(r.body)
			if err != nil {
				t.Fatalf("compress=1 answer does not decode: %v", err)
			}
			if string(got) != plain {
				t.Errorf("compress=1 answer differs: %d bytes, want %d", len(got), len(plain))
			}
			wantMethod := byte(0x82)
			if m == "ZSTD" {
				wantMethod = 0x90
			}
			if len(r.body) < 17 || r.body[16] != wantMethod {
				t.Errorf("first block method byte %#x, want %#x", r.body[16:17], wantMethod)
			}
		})
	}
	for _, enc := range []string{"gzip", "deflate", "br", "zstd"} {
		t.Run("enable_http_compression/"+enc, func(t *testing.T) {
			r := must(t, base, hreq{params: []string{"enable_http_compression", "1"}, header: map[string]string{"Accept-Encoding": enc}, body: sql})
			if got := r.header.Get("Content-Encoding"); got != enc {
				t.Fatalf("Content-Encoding %s, want %q", short(got), enc)
			}
			got, err := httpDecode(enc, r.body)
			if err != nil {
				t.Fatalf("%s answer does not decode: %v", enc, err)
			}
			if string(got) != plain {
				t.Errorf("%s answer differs: %d bytes, want %d", enc, len(got), len(plain))
			}
			if len(r.body) >= len(plain) {
				t.Errorf("%s answer is not compressed: %d bytes", enc, len(r.body))
			}
		})
	}
	t.Run("GET with enable_http_compression", func(t *testing.T) {
		r := must(t, base, hreq{params: []string{"query", "SELECT 'gz'", "enable_http_compression", "1"}, header: map[string]string{"Accept-Encoding": "gzip"}})
		got, err := httpDecode(r.header.Get("Content-Encoding"), r.body)
		if err != nil || string(got) != "gz\n" {
			t.Errorf("GET gzip answer %s, %v (%s)", short(got), err, r)
		}
	})
	t.Run("not enabled", func(t *testing.T) {
		r := must(t, base, hreq{header: map[string]string{"Accept-Encoding": "gzip"}, body: "SELECT 'plain'"})
		if r.header.Get("Content-Encoding") != "" || string(r.body) != "plain\n" {
			t.Errorf("without enable_http_compression: %s, Content-Encoding %q", r, r.header.Get("Content-Encoding"))
		}
		r = must(t, base, hreq{params: []string{"enable_http_compression", "1"}, body: "SELECT 'plain'"})
		if r.header.Get("Content-Encoding") != "" || string(r.body) != "plain\n" {
			t.Errorf("without Accept-Encoding: %s, Content-Encoding %q", r, r.header.Get("Content-Encoding"))
		}
	})
	t.Run("compress=1 inside gzip", func(t *testing.T) {
		r := must(t, base, hreq{params: []string{"compress", "1", "enable_http_compression", "1"}, header: map[string]string{"Accept-Encoding": "gzip"}, body: sql})
		if r.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", r.header.Get("Content-Encoding"))
		}
		unz, err := httpDecode("gzip", r.body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := chDecompress(unz)
		if err != nil || string(got) != plain {
			t.Errorf("compress=1 inside gzip: %d bytes, %v", len(got), err)
		}
	})
	t.Run("error is not encoded", func(t *testing.T) {
		r := doReq(t, base, hreq{params: []string{"enable_http_compression", "1", "compress", "1"}, header: map[string]string{"Accept-Encoding": "gzip"}, body: "SELECT * FROM ht_no_such_table"})
		wantError(t, r, 404, "60")
		if r.header.Get("Content-Encoding") != "" {
			t.Errorf("error answer has Content-Encoding %q", r.header.Get("Content-Encoding"))
		}
	})
}

func TestHTTPMidStreamError(t *testing.T) {
	base := startServer(t, nil)
	const sql = "SELECT throwIf(number = 900000) FROM numbers(1000000) SETTINGS max_block_size = 1000"
	r := doReq(t, base, hreq{body: sql})
	if r.status != 200 {
		t.Fatalf("want 200 (the error comes after the first chunk), got %s", r)
	}
	tag := r.header.Get("X-ClickHouse-Exception-Tag")
	if tag == "" {
		t.Fatalf("no X-ClickHouse-Exception-Tag header")
	}
	if !bytes.HasPrefix(r.body, []byte("0\n0\n0\n")) {
		t.Errorf("body does not start with the rows: %q", r.body[:min(20, len(r.body))])
	}
	if !bytes.HasSuffix(r.body, []byte("__exception__\r\n")) {
		t.Fatalf("body does not end with the exception framing: ...%q", r.body[max(0, len(r.body)-300):])
	}
	i := bytes.LastIndex(r.body[:len(r.body)-len("__exception__\r\n")], []byte("__exception__"))
	if i < 0 {
		t.Fatalf("no opening __exception__ marker: ...%q", r.body[max(0, len(r.body)-300):])
	}
	frame := string(r.body[i:])
	if !strings.Contains(frame, tag) || !strings.Contains(frame, "Code: 395") {
		t.Errorf("exception frame %q lacks the tag %q or Code: 395", frame, tag)
	}
	// Rows before the exception are whole rows of "0".
	rows := strings.TrimSuffix(string(r.body[:i]), "\r\n")
	if strings.Trim(rows, "0\n") != "" || !strings.HasSuffix(rows, "\n") {
		t.Errorf("rows before the frame are not whole: ...%q", rows[max(0, len(rows)-40):])
	}

	t.Run("wait_end_of_query gives a status", func(t *testing.T) {
		r := doReq(t, base, hreq{params: []string{"wait_end_of_query", "1"}, body: sql})
		wantError(t, r, 500, "395")
	})
	t.Run("server still answers", func(t *testing.T) {
		if got := query(t, base, "SELECT 'ok'"); got != "ok\n" {
			t.Errorf("after a mid-stream error, the next request on the pool answers %s", short(got))
		}
	})
}

func TestHTTPAuth(t *testing.T) {
	const pw = "s3cret pass"
	base := startServer(t, func(c *Config) { c.Password = pw })
	sel := "SELECT 'authed'"
	for _, tc := range []struct {
		name   string
		q      hreq
		status int
		code   string
	}{
		{"basic", hreq{basic: [2]string{"default", pw}, body: sel}, 200, ""},
		{"basic GET", hreq{basic: [2]string{"default", pw}, params: []string{"query", sel}}, 200, ""},
		{"headers", hreq{header: map[string]string{"X-ClickHouse-User": "default", "X-ClickHouse-Key": pw}, body: sel}, 200, ""},
		{"params", hreq{params: []string{"user", "default", "password", pw}, body: sel}, 200, ""},
		{"params GET", hreq{params: []string{"user", "default", "password", pw, "query", sel}}, 200, ""},
		{"password only", hreq{params: []string{"password", pw}, body: sel}, 200, ""},
		{"no credentials", hreq{body: sel}, 403, "516"},
		{"no credentials GET", hreq{params: []string{"query", sel}}, 403, "516"},
		{"basic wrong password", hreq{basic: [2]string{"default", "wrong"}, body: sel}, 403, "516"},
		{"basic wrong user", hreq{basic: [2]string{"nobody", pw}, body: sel}, 403, "516"},
		{"headers wrong key", hreq{header: map[string]string{"X-ClickHouse-User": "default", "X-ClickHouse-Key": "wrong"}, body: sel}, 403, "516"},
		{"params wrong password", hreq{params: []string{"user", "default", "password", "wrong"}, body: sel}, 403, "516"},
		{"headers and basic", hreq{basic: [2]string{"default", pw}, header: map[string]string{"X-ClickHouse-User": "default", "X-ClickHouse-Key": pw}, body: sel}, 0, ""},
		{"headers and params", hreq{params: []string{"user", "default", "password", pw}, header: map[string]string{"X-ClickHouse-User": "default", "X-ClickHouse-Key": pw}, body: sel}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := doReq(t, base, tc.q)
			if tc.status == 200 {
				if r.status != 200 || string(r.body) != "authed\n" {
					t.Errorf("want 200 \"authed\\n\", got %s", r)
				}
				return
			}
			wantError(t, r, tc.status, tc.code)
			if r.code() == "" {
				t.Errorf("no X-ClickHouse-Exception-Code: %s", r)
			}
			if bytes.Contains(r.body, []byte(pw)) {
				t.Errorf("the error answer contains the password: %s", r)
			}
		})
	}
	if r := doReq(t, base, hreq{path: "/ping"}); r.status != 200 || string(r.body) != "Ok.\n" {
		t.Errorf("/ping needs no credentials: %s", r)
	}
}

func TestHTTPConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		listen, password string
		wantOpen         bool // errors.Is ErrOpenWithoutPassword
		wantErr          bool
	}{
		{"0.0.0.0:8123", "", true, true},
		{"[::]:8123", "", true, true},
		{"192.168.1.10:8123", "", true, true},
		{":8123", "", true, true},
		{"0.0.0.0:8123", "pw", false, false},
		{"127.0.0.1:8123", "", false, false},
		{"[::1]:8123", "", false, false},
		{"localhost:8123", "", false, false},
		{"127.0.0.1", "", false, true},
	} {
		t.Run(tc.listen+"/"+tc.password, func(t *testing.T) {
			c := DefaultConfig()
			c.Listen, c.Password = tc.listen, tc.password
			err := c.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrOpenWithoutPassword) != tc.wantOpen {
				t.Errorf("errors.Is(%v, ErrOpenWithoutPassword) = %v, want %v", err, !tc.wantOpen, tc.wantOpen)
			}
		})
	}
	c := DefaultConfig()
	c.Listen = "0.0.0.0:0"
	c.Path = t.TempDir()
	if _, err := New(c); !errors.Is(err, ErrOpenWithoutPassword) {
		t.Errorf("New with an open address and no password: %v, want ErrOpenWithoutPassword", err)
	}
}

// readUvarintString reads a RowBinary String.
func readRBString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", nil, fmt.Errorf("bad string at %q", b[:min(len(b), 10)])
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

// TestHTTPMetabaseLike asks as clickhouse-java v2 does: RowBinaryWithNamesAndTypes
// through X-ClickHouse-Format, compress=1, Basic auth when configured.
func TestHTTPMetabaseLike(t *testing.T) {
	base := startServer(t, nil)
	r := must(t, base, hreq{
		params: []string{"compress", "1", "query_id", "mb-1"},
		header: map[string]string{"X-ClickHouse-Format": "RowBinaryWithNamesAndTypes", "Content-Type": "text/plain; charset=utf-8"},
		body:   "-- Metabase:: userID: 1 queryType: native\nSELECT toUInt32(number) AS n, concat('row ', toString(number)) AS s FROM numbers(3)",
	})
	if got := r.header.Get("X-ClickHouse-Format"); got != "RowBinaryWithNamesAndTypes" {
		t.Errorf("X-ClickHouse-Format %s", short(got))
	}
	b, err := chDecompress(r.body)
	if err != nil {
		t.Fatalf("compress=1 answer: %v", err)
	}
	ncols, k := binary.Uvarint(b)
	if ncols != 2 {
		t.Fatalf("columns %d, want 2 (%s)", ncols, short(b))
	}
	b = b[k:]
	var header []string
	for range 4 {
		var s string
		if s, b, err = readRBString(b); err != nil {
			t.Fatal(err)
		}
		header = append(header, s)
	}
	if want := []string{"n", "s", "UInt32", "String"}; fmt.Sprint(header) != fmt.Sprint(want) {
		t.Errorf("names and types %q, want %q", header, want)
	}
	for i := range 3 {
		if len(b) < 4 || binary.LittleEndian.Uint32(b) != uint32(i) {
			t.Fatalf("row %d: bad n in %s", i, short(b))
		}
		var s string
		if s, b, err = readRBString(b[4:]); err != nil || s != fmt.Sprintf("row %d", i) {
			t.Fatalf("row %d: s = %q, %v", i, s, err)
		}
	}
	if len(b) != 0 {
		t.Errorf("%d bytes after the rows: %s", len(b), short(b))
	}
}

// TestHTTPSupersetLike asks as clickhouse-connect does: a session,
// wait_end_of_query=1, a read of system.settings, a Native probe.
func TestHTTPSupersetLike(t *testing.T) {
	base := startServer(t, nil)
	sid := uniq("superset")
	p := func(extra ...string) []string {
		return append([]string{"session_id", sid, "wait_end_of_query", "1", "database", "default"}, extra...)
	}
	r := must(t, base, hreq{params: p(), body: "SELECT name, value, changed, description, type, readonly FROM system.settings WHERE name IN ('max_threads', 'readonly', 'date_time_input_format', 'allow_experimental_object_type') FORMAT JSON"})
	var doc struct {
		Data []map[string]any
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("system.settings JSON: %v (%s)", err, short(r.body))
	}
	names := map[string]bool{}
	for _, row := range doc.Data {
		names[fmt.Sprint(row["name"])] = true
	}
	for _, n := range []string{"max_threads", "readonly", "date_time_input_format"} {
		if !names[n] {
			t.Errorf("system.settings lacks %s: %s", n, short(r.body))
		}
	}
	r = must(t, base, hreq{params: p("client_protocol_version", "54405", "default_format", "Native"), body: "SELECT version(), timezone()"})
	if len(r.body) < 5 || r.body[0] != 2 || r.body[1] != 1 {
		t.Errorf("Native probe: %s", short(r.body))
	}
	exec(t, base, "SET max_threads = 2", p()...)
	if got := string(must(t, base, hreq{params: p(), body: "SELECT toUInt64(getSetting('max_threads')) AS v FORMAT TabSeparatedWithNamesAndTypes"}).body); got != "v\nUInt64\n2\n" {
		t.Errorf("session SET read back: %s", short(got))
	}
	r = doReq(t, base, hreq{params: p(), body: "SELECT * FROM ht_no_such_table"})
	wantError(t, r, 404, "60")
}

func TestHTTPConcurrentClients(t *testing.T) {
	base := startServer(t, nil)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			tbl := uniq(fmt.Sprintf("conc%d", w))
			goQuery(t, base, "CREATE TABLE "+tbl+" (n UInt64) ENGINE = MergeTree ORDER BY n")
			var sum uint64
			for i := range 12 {
				n := uint64(w*1000 + i*37 + 1)
				switch i % 4 {
				case 0:
					want := fmt.Sprintf("%d\n", n*(n-1)/2)
					if got := goQuery(t, base, fmt.Sprintf("SELECT sum(number) FROM numbers(%d)", n)); got != want {
						t.Errorf("worker %d: sum over %d = %s, want %s", w, n, short(got), short(want))
					}
				case 1:
					if r := goReq(t, base, hreq{params: []string{"query", "INSERT INTO " + tbl + " FORMAT TSV"}, body: fmt.Sprintf("%d\n", n)}); r.status != 200 {
						t.Errorf("worker %d: insert: %s", w, r)
					}
					sum += n
				case 2:
					r := goReq(t, base, hreq{params: []string{"query", fmt.Sprintf("SELECT %d AS w, %d AS i", w, i), "default_format", "JSONEachRow"}})
					if want := fmt.Sprintf("{\"w\":%d,\"i\":%d}\n", w, i); string(r.body) != want {
						t.Errorf("worker %d: %s, want %s", w, short(r.body), short(want))
					}
				case 3:
					r := goReq(t, base, hreq{params: []string{"enable_http_compression", "1"}, header: map[string]string{"Accept-Encoding": "gzip"}, body: fmt.Sprintf("SELECT count() FROM numbers(%d)", n)})
					got, err := httpDecode("gzip", r.body)
					if err != nil || string(got) != fmt.Sprintf("%d\n", n) {
						t.Errorf("worker %d: gzip count %s %v", w, short(got), err)
					}
				}
			}
			if got := goQuery(t, base, "SELECT sum(n) FROM "+tbl); got != fmt.Sprintf("%d\n", sum) {
				t.Errorf("worker %d: table sum %s, want %d", w, short(got), sum)
			}
		})
	}
	wg.Wait()
}

// TestHTTPFailedQueryLeavesNothingBehind: the output a query produced before
// it failed must not show up in the answer to a later request on the same
// engine connection (a session's, or a pooled one).
func TestHTTPFailedQueryLeavesNothingBehind(t *testing.T) {
	// One query at a time: one pooled connection, reused by every request.
	base := startServer(t, func(c *Config) { c.MaxQueries = 1 })
	const failing = "SELECT throwIf(number = 3) FROM numbers(10) SETTINGS max_block_size = 1"
	for _, tc := range []struct {
		name   string
		params []string
	}{
		{"pooled wait_end_of_query", []string{"wait_end_of_query", "1"}},
		{"session wait_end_of_query", []string{"wait_end_of_query", "1", "session_id", uniq("leak")}},
		{"pooled streaming", nil},
		{"session streaming", []string{"session_id", uniq("leak")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := tc.params
			if len(next) >= 2 && next[0] == "wait_end_of_query" {
				next = next[2:]
			}
			for i := range 5 {
				r := doReq(t, base, hreq{params: tc.params, body: failing})
				if r.status == 200 && !bytes.Contains(r.body, []byte("__exception__")) {
					t.Fatalf("the failing query succeeded: %s", r)
				}
				r = doReq(t, base, hreq{params: next, body: "SELECT 'next'"})
				if r.status != 200 || string(r.body) != "next\n" {
					t.Fatalf("round %d: the request after a failed query answers %s, want \"next\\n\"", i, r)
				}
			}
		})
	}
}

// TestHTTPErrorMessage: the body is ClickHouse's one exception line with the
// version named once, for errors of the engine and of this server alike.
func TestHTTPErrorMessage(t *testing.T) {
	base := startServer(t, nil)
	tbl := uniq("errmsg")
	exec(t, base, "CREATE TABLE "+tbl+" (x UInt8) ENGINE = Memory")
	for _, q := range []hreq{
		{body: "SELECT * FROM ht_no_such_table"},
		{body: "SELEC 1"},
		{body: "INSERT INTO " + tbl + " VALUES (2) garbage"},
		{params: []string{"query", "INSERT INTO " + tbl + " FORMAT CSV"}, body: "not a number\n"},
		{params: []string{"query", "CREATE TABLE x (x UInt8) ENGINE = Memory"}},
		{body: "INSERT 0"},
		{body: "INSERT INTO " + tbl + " (x, ht_no_such_column) FORMAT CSV\n1,2\n"},
		{body: "INSERT INTO t.1 VALUES (1)"},
	} {
		r := doReq(t, base, q)
		if bytes.Contains(r.body, []byte("Empty query")) {
			t.Errorf("%q: the error says the query is empty: %s", q.body, r)
		}
		if r.status < 400 {
			t.Errorf("want an error, got %s", r)
			continue
		}
		if n := bytes.Count(r.body, []byte("Code: ")); n != 1 {
			t.Errorf("the message has %d \"Code: \" prefixes, want one: %s", n, r)
		}
		if n := bytes.Count(r.body, []byte("(version ")); n != 1 {
			t.Errorf("the message names the version %d times, want once: %s", n, r)
		}
		if !bytes.HasPrefix(r.body, []byte("Code: "+r.code()+". DB::Exception: ")) || !bytes.HasSuffix(r.body, []byte(")\n")) {
			t.Errorf("not a ClickHouse exception line: %s", r)
		}
	}
}
