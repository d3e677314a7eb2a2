package clickhouse

// Integration tests: the unmodified clickhouse-go/v2 driver, in HTTP mode,
// against this server. Every test talks to a real server on a loopback port
// through the driver's public API only (chgo.Open, chgo.OpenDB, ParseDSN).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// chgoExchange is one HTTP request the driver made and what came back.
type chgoExchange struct {
	query        url.Values // URL parameters of the request
	reqEncoding  string     // request Content-Encoding
	acceptEnc    string     // request Accept-Encoding
	respEncoding string     // response Content-Encoding
	status       int
	user         string // Basic auth user, if any
}

// chgoRecorder records the driver's HTTP exchanges through Options.TransportFunc
// so the tests can check what actually went over the wire.
type chgoRecorder struct {
	mu  sync.Mutex
	log []chgoExchange
}

type chgoRoundTrip func(*http.Request) (*http.Response, error)

func (f chgoRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (rec *chgoRecorder) transport(rt *http.Transport) (http.RoundTripper, error) {
	return chgoRoundTrip(func(r *http.Request) (*http.Response, error) {
		ex := chgoExchange{
			query:       r.URL.Query(),
			reqEncoding: r.Header.Get("Content-Encoding"),
			acceptEnc:   r.Header.Get("Accept-Encoding"),
		}
		ex.user, _, _ = r.BasicAuth()
		res, err := rt.RoundTrip(r)
		if res != nil {
			ex.status = res.StatusCode
			ex.respEncoding = res.Header.Get("Content-Encoding")
		}
		rec.mu.Lock()
		rec.log = append(rec.log, ex)
		rec.mu.Unlock()
		return res, err
	}), nil
}

func (rec *chgoRecorder) exchanges() []chgoExchange {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]chgoExchange(nil), rec.log...)
}

// chgoOptions are driver options for the server at base (http://host:port).
func chgoOptions(base string) *chgo.Options {
	return &chgo.Options{
		Protocol:    chgo.HTTP,
		Addr:        []string{strings.TrimPrefix(base, "http://")},
		DialTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second,
	}
}

// chgoOpen opens a driver connection (closed when the test ends).
func chgoOpen(t testing.TB, base string, configure func(*chgo.Options)) driver.Conn {
	t.Helper()
	opts := chgoOptions(base)
	if configure != nil {
		configure(opts)
	}
	conn, err := chgo.Open(opts)
	if err != nil {
		t.Fatalf("clickhouse.Open: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// chgoCompression is one way the driver can compress.
type chgoCompression struct {
	name     string
	method   chgo.CompressionMethod
	settings chgo.Settings
}

var chgoCompressions = []chgoCompression{
	{"None", chgo.CompressionNone, nil},
	{"LZ4", chgo.CompressionLZ4, nil},
	{"ZSTD", chgo.CompressionZSTD, nil},
	{"GZIP", chgo.CompressionGZIP, chgo.Settings{"enable_http_compression": 1}},
	{"Deflate", chgo.CompressionDeflate, chgo.Settings{"enable_http_compression": 1}},
	{"Brotli", chgo.CompressionBrotli, chgo.Settings{"enable_http_compression": 1}},
}

// apply sets the compression (and its settings) on opts.
func (c chgoCompression) apply(opts *chgo.Options) {
	opts.Compression = &chgo.Compression{Method: c.method}
	if len(c.settings) > 0 {
		if opts.Settings == nil {
			opts.Settings = chgo.Settings{}
		}
		for k, v := range c.settings {
			opts.Settings[k] = v
		}
	}
}

// httpEncoding is the Content-Encoding the method uses, "" for none or the
// ClickHouse block framing.
func (c chgoCompression) httpEncoding() string {
	switch c.method {
	case chgo.CompressionGZIP:
		return "gzip"
	case chgo.CompressionDeflate:
		return "deflate"
	case chgo.CompressionBrotli:
		return "br"
	}
	return ""
}

// checkWire checks that the recorded exchanges used the compression: for
// LZ4/ZSTD compress=1 with the method on every query, and decompress=1 on
// inserts; for HTTP encodings a compressed response to some query and, when
// inserted, a compressed request body.
func (c chgoCompression) checkWire(t *testing.T, exs []chgoExchange, inserted bool) {
	t.Helper()
	if len(exs) == 0 {
		t.Fatal("no HTTP exchanges recorded")
	}
	var compressedResp, compressedReq, decompressParam, compressParam bool
	for _, ex := range exs {
		if ex.status != http.StatusOK {
			continue
		}
		if ex.respEncoding != "" && ex.respEncoding == c.httpEncoding() {
			compressedResp = true
		}
		if ex.reqEncoding != "" && ex.reqEncoding == c.httpEncoding() {
			compressedReq = true
		}
		if ex.query.Get("decompress") == "1" {
			decompressParam = true
		}
		switch c.method {
		case chgo.CompressionLZ4, chgo.CompressionZSTD:
			// Exec requests go uncompressed; queries and inserts carry
			// compress=1 and the method.
			if ex.query.Get("compress") == "1" {
				compressParam = true
				if m := ex.query.Get("network_compression_method"); m != c.name {
					t.Errorf("%s request with network_compression_method=%q: %v", c.name, m, ex.query)
				}
			}
		case chgo.CompressionNone:
			if ex.respEncoding != "" || ex.reqEncoding != "" || ex.query.Has("compress") {
				t.Errorf("uncompressed client saw compression: req %q resp %q params %v", ex.reqEncoding, ex.respEncoding, ex.query)
			}
		}
	}
	switch c.method {
	case chgo.CompressionLZ4, chgo.CompressionZSTD:
		if !compressParam {
			t.Errorf("%s: no request was sent with compress=1", c.name)
		}
		if inserted && !decompressParam {
			t.Errorf("%s: no insert was sent with decompress=1", c.name)
		}
	case chgo.CompressionGZIP, chgo.CompressionDeflate, chgo.CompressionBrotli:
		if !compressedResp {
			t.Errorf("%s: no response came back with Content-Encoding %s", c.name, c.httpEncoding())
		}
		if inserted && !compressedReq {
			t.Errorf("%s: no insert body was sent with Content-Encoding %s", c.name, c.httpEncoding())
		}
	}
}

// chgoName turns a test name into a database identifier.
func chgoName(t testing.TB) string {
	var b strings.Builder
	b.WriteString("cg_")
	for _, r := range strings.ToLower(t.Name()) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// chgoDatabase creates a database for the test (dropped when it ends) and
// returns its name.
func chgoDatabase(t testing.TB, conn driver.Conn) string {
	t.Helper()
	db := chgoName(t)
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		t.Fatalf("create database %s: %v", db, err)
	}
	t.Cleanup(func() {
		if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
			t.Errorf("drop database %s: %v", db, err)
		}
	})
	return db
}

func chgoCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// chgoException asserts err is a server exception with the code and, if
// status is not 0, that it came as an HTTPError with that status.
func chgoException(t *testing.T, err error, code int32, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want exception code %d", code)
	}
	var ex *chgo.Exception
	if !errors.As(err, &ex) {
		t.Fatalf("error %v (%T) is not a *clickhouse.Exception", err, err)
	}
	if ex.Code != code {
		t.Errorf("exception code = %d (%s), want %d; error: %v", ex.Code, ex.CodeName, code, err)
	}
	if status != 0 {
		var he *chgo.HTTPError
		if !errors.As(err, &he) {
			t.Errorf("error %v is not a *clickhouse.HTTPError", err)
		} else if he.StatusCode != status {
			t.Errorf("HTTP status = %d, want %d; error: %v", he.StatusCode, status, err)
		}
	}
}

func TestClickHouseGoPing(t *testing.T) {
	base := startServer(t, nil)
	for _, c := range chgoCompressions {
		t.Run(c.name, func(t *testing.T) {
			rec := &chgoRecorder{}
			conn := chgoOpen(t, base, func(o *chgo.Options) {
				c.apply(o)
				o.TransportFunc = rec.transport
			})
			ctx := chgoCtx(t)
			if err := conn.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			v, err := conn.ServerVersion()
			if err != nil {
				t.Fatalf("ServerVersion: %v", err)
			}
			if v.Version.Major < 20 || v.DisplayName == "" || v.Timezone == nil {
				t.Errorf("ServerVersion = %+v, want a real ClickHouse version, name and timezone", v)
			}
			// A query whose answer is big enough to be worth compressing.
			var got string
			if err := conn.QueryRow(ctx, "SELECT repeat('ab', 5000) || {s:String}", chgo.Named("s", c.name)).Scan(&got); err != nil {
				t.Fatalf("QueryRow: %v", err)
			}
			if want := strings.Repeat("ab", 5000) + c.name; got != want {
				t.Errorf("QueryRow = %d bytes, want %d", len(got), len(want))
			}
			c.checkWire(t, rec.exchanges(), false)
		})
	}
}

func TestClickHouseGoExec(t *testing.T) {
	base := startServer(t, nil)
	conn := chgoOpen(t, base, nil)
	ctx := chgoCtx(t)
	db := chgoDatabase(t, conn)

	steps := []struct {
		sql  string
		code int32 // 0: must succeed; -1: any server exception
	}{
		{"CREATE TABLE " + db + ".t (id UInt64, s String) ENGINE = MergeTree ORDER BY id", 0},
		{"CREATE TABLE " + db + ".t (id UInt64) ENGINE = MergeTree ORDER BY id", 57},              // TABLE_ALREADY_EXISTS
		{"CREATE TABLE IF NOT EXISTS " + db + ".t (id UInt64) ENGINE = MergeTree ORDER BY id", 0}, //
		{"CREATE TABLE " + db + ".bad (id UInt64) ENGINE = NoSuchEngine", 56},                     // UNKNOWN_STORAGE
		{"CREATE TABLE " + db + ".bad (id NoSuchType) ENGINE = MergeTree ORDER BY id", 50},        // UNKNOWN_TYPE
		{"INSERT INTO " + db + ".t VALUES (1, 'one'),\n\n(2, 'two\n\nlines')", 0},                 // inline VALUES with blank lines
		{"INSERT INTO " + db + ".t SELECT number + 10, toString(number) FROM numbers(5)", 0},      // INSERT SELECT
		{"INSERT INTO " + db + ".t VALUES (3, 'x', 'extra')", -1},                                 // bad Values data: some exception
		{"ALTER TABLE " + db + ".t ADD COLUMN n Nullable(Int32) AFTER s", 0},                      //
		{"ALTER TABLE " + db + ".t ADD COLUMN n Int32", 15},                                       // DUPLICATE_COLUMN
		{"INSERT INTO " + db + ".nope VALUES (1)", 60},                                            // UNKNOWN_TABLE
		{"SELECT 1; SELECT 2", 62},         // multi-statement
		{"DROP TABLE " + db + ".nope", 60}, //
		{"CREATE TABLE " + db + ".t2 ENGINE = MergeTree ORDER BY id AS SELECT number AS id FROM numbers(7)", 0}, //
	}
	for i, st := range steps {
		err := conn.Exec(ctx, st.sql)
		switch {
		case st.code == 0 && err != nil:
			t.Errorf("step %d: Exec(%q): %v", i, st.sql, err)
		case st.code > 0:
			t.Run(fmt.Sprintf("error%d", i), func(t *testing.T) { chgoException(t, err, st.code, 0) })
		case st.code < 0:
			var ex *chgo.Exception
			if !errors.As(err, &ex) {
				t.Errorf("step %d: Exec(%q) = %v, want a server exception", i, st.sql, err)
			}
		}
	}

	var exists uint8
	if err := conn.QueryRow(ctx, "EXISTS TABLE "+db+".t").Scan(&exists); err != nil || exists != 1 {
		t.Errorf("EXISTS TABLE t = %d, %v; want 1", exists, err)
	}
	var n uint64
	var s string
	if err := conn.QueryRow(ctx, "SELECT count(), arrayStringConcat(groupArray(s), '|') FROM (SELECT s FROM "+db+".t ORDER BY id)").Scan(&n, &s); err != nil {
		t.Fatal(err)
	}
	if n != 7 || s != "one|two\n\nlines|0|1|2|3|4" {
		t.Errorf("table t = %d rows %q, want 7 rows %q", n, s, "one|two\n\nlines|0|1|2|3|4")
	}
	var cols []string
	if err := conn.QueryRow(ctx, "SELECT groupArray(name) FROM (SELECT name FROM system.columns WHERE database = {db:String} AND table = 't' ORDER BY position)", chgo.Named("db", db)).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	if want := []string{"id", "s", "n"}; !reflect.DeepEqual(cols, want) {
		t.Errorf("columns after ALTER = %q, want %q", cols, want)
	}
	if err := conn.QueryRow(ctx, "SELECT sum(id) FROM "+db+".t2").Scan(&n); err != nil || n != 21 {
		t.Errorf("sum(id) of t2 = %d, %v; want 21", n, err)
	}
	if err := conn.Exec(ctx, "TRUNCATE TABLE "+db+".t"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".t").Scan(&n); err != nil || n != 0 {
		t.Errorf("count after TRUNCATE = %d, %v; want 0", n, err)
	}
	if err := conn.Exec(ctx, "DROP TABLE "+db+".t"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "EXISTS TABLE "+db+".t").Scan(&exists); err != nil || exists != 0 {
		t.Errorf("EXISTS TABLE t after DROP = %d, %v; want 0", exists, err)
	}
}

// chgoRow is one row of the all-types table.
type chgoRow struct {
	id    uint64
	i32   int32
	f64   float64
	s     string
	ns    *string
	lc    string
	dt    time.Time
	dt64  time.Time
	d     time.Time
	u     uuid.UUID
	dec   decimal.Decimal
	arr   []string
	m     map[string]string
	b     bool
	bytes string // String column filled from []byte
}

const chgoTypesDDL = `(
	id UInt64, i32 Int32, f64 Float64, s String, ns Nullable(String),
	lc LowCardinality(String), dt DateTime, dt64 DateTime64(3), d Date,
	u UUID, dec Decimal(18, 4), arr Array(String), m Map(String, String),
	b Bool, bytes String
) ENGINE = MergeTree ORDER BY id`

func chgoTypeRows() []chgoRow {
	str := func(s string) *string { return &s }
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	return []chgoRow{
		{
			id: 1, i32: math.MinInt32, f64: -0.5, s: "a\n\nb", ns: nil, lc: "red",
			dt:   time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
			dt64: time.Date(2024, 2, 29, 23, 59, 59, 123e6, time.UTC),
			d:    time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
			u:    uuid.MustParse("123e4567-e89b-12d3-a456-426614174000"),
			dec:  decimal.RequireFromString("-12345678901234.5678"),
			arr:  []string{"x\n\ny", "", "z"}, m: map[string]string{"k": "v", "blank\n\nline": "\r\n\r\n"},
			b: true, bytes: string(binary),
		},
		{
			id: 2, i32: math.MaxInt32, f64: 1e-300, s: "\x00\x01\xff\xfe\r\n\r\n\t'\"\\", ns: str(""), lc: "green",
			dt:   time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC),
			dt64: time.Date(1999, 12, 31, 23, 59, 59, 999e6, time.UTC),
			d:    time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
			u:    uuid.Nil,
			dec:  decimal.RequireFromString("0.0001"),
			arr:  []string{}, m: map[string]string{},
			b: false, bytes: "",
		},
		{
			id: 3, i32: 0, f64: math.Inf(1), s: strings.Repeat("long line\n", 10000), ns: str("not null\n\n"), lc: "red",
			dt:   time.Date(2106, 2, 7, 6, 28, 15, 0, time.UTC),
			dt64: time.Date(2262, 4, 11, 23, 47, 16, 854e6, time.UTC),
			d:    time.Date(2149, 6, 6, 0, 0, 0, 0, time.UTC),
			u:    uuid.MustParse("ffffffff-ffff-ffff-ffff-ffffffffffff"),
			dec:  decimal.RequireFromString("99999999999999.9999"),
			arr:  []string{strings.Repeat("\n", 3), "__exception__", "Code: 60. DB::Exception: not really"},
			m:    map[string]string{"": ""},
			b:    true, bytes: "\n\n\n",
		},
	}
}

// chgoCheckTypes reads the all-types table back and compares every value.
func chgoCheckTypes(t *testing.T, ctx context.Context, conn driver.Conn, table string, want []chgoRow) {
	t.Helper()
	rows, err := conn.Query(ctx, "SELECT id, i32, f64, s, ns, lc, dt, dt64, d, u, dec, arr, m, b, bytes FROM "+table+" ORDER BY id")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()
	var got []chgoRow
	for rows.Next() {
		var r chgoRow
		var bytes []byte
		if err := rows.Scan(&r.id, &r.i32, &r.f64, &r.s, &r.ns, &r.lc, &r.dt, &r.dt64, &r.d, &r.u, &r.dec, &r.arr, &r.m, &r.b, &bytes); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		r.bytes = string(bytes)
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows.Err: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		eq := func(name string, ok bool, gv, wv any) {
			if !ok {
				t.Errorf("row %d %s = %#v, want %#v", w.id, name, gv, wv)
			}
		}
		eq("id", g.id == w.id, g.id, w.id)
		eq("i32", g.i32 == w.i32, g.i32, w.i32)
		eq("f64", g.f64 == w.f64, g.f64, w.f64)
		eq("s", g.s == w.s, g.s, w.s)
		eq("ns", (g.ns == nil) == (w.ns == nil) && (g.ns == nil || *g.ns == *w.ns), g.ns, w.ns)
		eq("lc", g.lc == w.lc, g.lc, w.lc)
		eq("dt", g.dt.Equal(w.dt), g.dt, w.dt)
		eq("dt64", g.dt64.Equal(w.dt64), g.dt64, w.dt64)
		eq("d", g.d.Format(time.DateOnly) == w.d.Format(time.DateOnly), g.d, w.d)
		eq("u", g.u == w.u, g.u, w.u)
		eq("dec", g.dec.Equal(w.dec), g.dec.String(), w.dec.String())
		eq("arr", len(g.arr) == len(w.arr) && (len(w.arr) == 0 || reflect.DeepEqual(g.arr, w.arr)), g.arr, w.arr)
		eq("m", len(g.m) == len(w.m) && (len(w.m) == 0 || reflect.DeepEqual(g.m, w.m)), g.m, w.m)
		eq("b", g.b == w.b, g.b, w.b)
		eq("bytes", g.bytes == w.bytes, g.bytes, w.bytes)
	}
}

func TestClickHouseGoBatchTypes(t *testing.T) {
	base := startServer(t, nil)
	admin := chgoOpen(t, base, nil)
	db := chgoDatabase(t, admin)
	want := chgoTypeRows()
	for _, c := range chgoCompressions {
		t.Run(c.name, func(t *testing.T) {
			rec := &chgoRecorder{}
			conn := chgoOpen(t, base, func(o *chgo.Options) {
				c.apply(o)
				o.TransportFunc = rec.transport
			})
			ctx := chgoCtx(t)
			table := db + ".types_" + strings.ToLower(c.name)
			if err := conn.Exec(ctx, "CREATE TABLE "+table+" "+chgoTypesDDL); err != nil {
				t.Fatalf("create: %v", err)
			}
			batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table)
			if err != nil {
				t.Fatalf("PrepareBatch: %v", err)
			}
			for _, r := range want {
				if err := batch.Append(r.id, r.i32, r.f64, r.s, r.ns, r.lc, r.dt, r.dt64, r.d, r.u, r.dec, r.arr, r.m, r.b, []byte(r.bytes)); err != nil {
					t.Fatalf("Append row %d: %v", r.id, err)
				}
			}
			if err := batch.Send(); err != nil {
				t.Fatalf("Send: %v", err)
			}
			chgoCheckTypes(t, ctx, conn, table, want)
			// The same rows read by an uncompressed client: what landed is
			// right, not merely symmetric.
			chgoCheckTypes(t, ctx, admin, table, want)
			c.checkWire(t, rec.exchanges(), true)
		})
	}
}

func TestClickHouseGoMillionRows(t *testing.T) {
	base := startServer(t, nil)
	rec := &chgoRecorder{}
	conn := chgoOpen(t, base, func(o *chgo.Options) {
		o.Compression = &chgo.Compression{Method: chgo.CompressionLZ4}
		o.TransportFunc = rec.transport
	})
	ctx := chgoCtx(t)
	db := chgoDatabase(t, conn)
	if err := conn.Exec(ctx, "CREATE TABLE "+db+".big (id UInt64, v Int64, s String) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	const n = 1_000_000
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".big")
	if err != nil {
		t.Fatal(err)
	}
	var sumV int64
	var sumLen uint64
	for i := 0; i < n; i++ {
		v := int64(i)*7 - 3_000_000
		s := fmt.Sprintf("row-%d\n", i%1000)
		sumV += v
		sumLen += uint64(len(s))
		if err := batch.Append(uint64(i), v, s); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var count, sumID, gotLen uint64
	var gotV int64
	if err := conn.QueryRow(ctx, "SELECT count(), sum(id), sum(v), sum(length(s)) FROM "+db+".big").Scan(&count, &sumID, &gotV, &gotLen); err != nil {
		t.Fatal(err)
	}
	if count != n || sumID != n*(n-1)/2 || gotV != sumV || gotLen != sumLen {
		t.Errorf("count, sum(id), sum(v), sum(length(s)) = %d, %d, %d, %d; want %d, %d, %d, %d",
			count, sumID, gotV, gotLen, n, uint64(n*(n-1)/2), sumV, sumLen)
	}
	chgoCompressions[1].checkWire(t, rec.exchanges(), true)
}

func TestClickHouseGoParameters(t *testing.T) {
	base := startServer(t, nil)
	rec := &chgoRecorder{}
	conn := chgoOpen(t, base, func(o *chgo.Options) { o.TransportFunc = rec.transport })
	ctx := chgoCtx(t)
	db := chgoDatabase(t, conn)

	tricky := []string{
		`O'Brien`,
		`back\slash`,
		`trailing backslash\`,
		`it's a "quote" and a \' escaped quote`,
		`'); DROP TABLE x; --`,
		`' OR 1=1 --`,
		"tab\tnew\nline\r\n\r\nblank",
		"{s:String}",
		"ünïcødé ✓",
		"",
	}
	t.Run("Named", func(t *testing.T) {
		for i, v := range tricky {
			var got string
			var n uint64
			err := conn.QueryRow(ctx, "SELECT {s:String}, length({s:String})", chgo.Named("s", v)).Scan(&got, &n)
			if err != nil {
				t.Errorf("case %d %q: %v", i, v, err)
				continue
			}
			if got != v || n != uint64(len(v)) {
				t.Errorf("case %d: SELECT {s:String} = %q (length %d), want %q (length %d)", i, got, n, v, len(v))
			}
		}
	})

	if err := conn.Exec(ctx, "CREATE TABLE "+db+".p (id UInt32, s String, d Date, dt DateTime) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".p")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, v := range tricky {
		if err := batch.Append(uint32(i), v, day.AddDate(0, 0, i), day.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}

	t.Run("Where", func(t *testing.T) {
		for i, v := range tricky {
			var id uint32
			var n uint64
			err := conn.QueryRow(ctx, "SELECT count(), any(id) FROM "+db+".p WHERE s = {s:String}", chgo.Named("s", v)).Scan(&n, &id)
			if err != nil {
				t.Errorf("case %d %q: %v", i, v, err)
				continue
			}
			if n != 1 || id != uint32(i) {
				t.Errorf("case %d %q: WHERE s = {s:String} matched %d rows (id %d), want 1 (id %d)", i, v, n, id, i)
			}
		}
		// An injection attempt is a value, not SQL: it matches no row.
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".p WHERE s = {s:String}", chgo.Named("s", "x' OR '1'='1")).Scan(&n); err != nil || n != 0 {
			t.Errorf("injection attempt matched %d rows, %v; want 0", n, err)
		}
	})

	t.Run("DateTime", func(t *testing.T) {
		var n uint64
		var ids []uint32
		from := day.Add(2 * time.Hour)
		to := day.Add(5 * time.Hour)
		err := conn.QueryRow(ctx, "SELECT count(), groupArray(id) FROM (SELECT id FROM "+db+".p WHERE dt >= {from:DateTime} AND dt < {to:DateTime} ORDER BY id)",
			chgo.Named("from", from), chgo.Named("to", to)).Scan(&n, &ids)
		if err != nil {
			t.Fatal(err)
		}
		if want := []uint32{2, 3, 4}; n != 3 || !reflect.DeepEqual(ids, want) {
			t.Errorf("DateTime range matched %d rows %v, want %v", n, ids, want)
		}
		var gotDT time.Time
		if err := conn.QueryRow(ctx, "SELECT {t:DateTime}", chgo.Named("t", to)).Scan(&gotDT); err != nil || !gotDT.Equal(to) {
			t.Errorf("SELECT {t:DateTime} = %v, %v; want %v", gotDT, err, to)
		}
		ms := time.Date(2023, 7, 14, 12, 30, 45, 678e6, time.UTC)
		var got64 time.Time
		if err := conn.QueryRow(ctx, "SELECT {t:DateTime64(3)}", chgo.DateNamed("t", ms, chgo.MilliSeconds)).Scan(&got64); err != nil || !got64.Equal(ms) {
			t.Errorf("SELECT {t:DateTime64(3)} = %v, %v; want %v", got64, err, ms)
		}
	})

	t.Run("Date", func(t *testing.T) {
		var ids []uint32
		err := conn.QueryRow(ctx, "SELECT groupArray(id) FROM (SELECT id FROM "+db+".p WHERE d BETWEEN {a:Date} AND {b:Date} ORDER BY id)",
			chgo.Named("a", "2024-03-04"), chgo.Named("b", day.AddDate(0, 0, 5).Format(time.DateOnly))).Scan(&ids)
		if err != nil {
			t.Fatal(err)
		}
		if want := []uint32{3, 4, 5}; !reflect.DeepEqual(ids, want) {
			t.Errorf("Date range matched %v, want %v", ids, want)
		}
		// A time.Time goes as Unix seconds, which a DateTime parameter reads.
		var d time.Time
		if err := conn.QueryRow(ctx, "SELECT toDate({t:DateTime})", chgo.Named("t", day.Add(36*time.Hour))).Scan(&d); err != nil ||
			d.Format(time.DateOnly) != "2024-03-02" {
			t.Errorf("SELECT toDate({t:DateTime}) = %v, %v; want 2024-03-02", d, err)
		}
	})

	t.Run("Typed", func(t *testing.T) {
		var (
			u   uint64
			i   int64
			f   float64
			arr []string
			m   map[string]uint8
			ns  *string
		)
		err := conn.QueryRow(ctx, "SELECT {u:UInt64}, {i:Int64}, {f:Float64}, {arr:Array(String)}, {m:Map(String, UInt8)}, {ns:Nullable(String)}",
			chgo.Named("u", uint64(math.MaxUint64)), chgo.Named("i", int64(math.MinInt64)), chgo.Named("f", 2.5),
			chgo.Named("arr", []string{`a'b`, `c\d`, "e\nf"}), chgo.Named("m", map[string]uint8{"k'1": 1}), chgo.Named("ns", nil)).Scan(&u, &i, &f, &arr, &m, &ns)
		if err != nil {
			t.Fatal(err)
		}
		if u != math.MaxUint64 || i != math.MinInt64 || f != 2.5 || !reflect.DeepEqual(arr, []string{`a'b`, `c\d`, "e\nf"}) ||
			!reflect.DeepEqual(m, map[string]uint8{"k'1": 1}) || ns != nil {
			t.Errorf("typed params = %d %d %v %q %v %v", u, i, f, arr, m, ns)
		}
	})

	t.Run("WithParameters", func(t *testing.T) {
		pctx := chgo.Context(ctx, chgo.WithParameters(chgo.Parameters{"a": "1", "b": `x'y\\z\tw`}))
		var a uint8
		var b string
		if err := conn.QueryRow(pctx, "SELECT {a:UInt8}, {b:String}").Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		// WithParameters values are sent as they are and read as escaped
		// text: `\\` is a backslash, `\t` a tab.
		if want := "x'y\\z\tw"; a != 1 || b != want {
			t.Errorf("WithParameters = %d %q, want 1 %q", a, b, want)
		}
	})

	t.Run("MissingParameter", func(t *testing.T) {
		err := conn.QueryRow(ctx, "SELECT {a:UInt8}, {b:UInt8}", chgo.Named("a", 1)).Scan(new(uint8), new(uint8))
		chgoException(t, err, 456, 0) // UNKNOWN_QUERY_PARAMETER
	})

	// The values went as param_ URL parameters, not spliced into the SQL.
	var sawParam bool
	for _, ex := range rec.exchanges() {
		if ex.query.Get("param_s") == `O'Brien` {
			sawParam = true
		}
	}
	if !sawParam {
		t.Errorf("no request carried param_s=O'Brien")
	}
}

func TestClickHouseGoErrors(t *testing.T) {
	base := startServer(t, nil)
	cases := []struct {
		name   string
		sql    string
		code   int32
		status int
	}{
		{"UnknownTable", "SELECT * FROM cg_no_such_db_x.no_such_table", 81, 404}, // UNKNOWN_DATABASE
		{"UnknownTableDefault", "SELECT * FROM no_such_table_cg", 60, 404},
		{"Syntax", "SELEC 1", 62, 400},
		{"SyntaxTail", "SELECT 1 FROM", 62, 400},
		{"UnknownFunction", "SELECT no_such_function_cg(1)", 46, 404},
		{"UnknownIdentifier", "SELECT no_such_column_cg", 47, 404},
		{"UnknownSetting", "SELECT 1 SETTINGS no_such_setting_cg = 1", 115, 404},
		{"TypeMismatch", "SELECT toUInt8('abc')", 6, 400}, // CANNOT_PARSE_TEXT
		{"ThrowIf", "SELECT throwIf(1, 'boom')", 395, 500},
	}
	for _, c := range []chgoCompression{chgoCompressions[0], chgoCompressions[1], chgoCompressions[3]} {
		t.Run(c.name, func(t *testing.T) {
			conn := chgoOpen(t, base, c.apply)
			ctx := chgoCtx(t)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Run("Query", func(t *testing.T) {
						rows, err := conn.Query(ctx, tc.sql)
						if err == nil {
							for rows.Next() {
							}
							err = rows.Err()
							rows.Close()
						}
						chgoException(t, err, tc.code, tc.status)
					})
					t.Run("QueryRow", func(t *testing.T) {
						chgoException(t, conn.QueryRow(ctx, tc.sql).Scan(new(any)), tc.code, tc.status)
					})
					t.Run("Exec", func(t *testing.T) {
						chgoException(t, conn.Exec(ctx, tc.sql), tc.code, tc.status)
					})
				})
			}
			// The connection still works after every error.
			if err := conn.Ping(ctx); err != nil {
				t.Errorf("Ping after errors: %v", err)
			}
		})
	}

	t.Run("Message", func(t *testing.T) {
		conn := chgoOpen(t, base, nil)
		err := conn.Exec(chgoCtx(t), "SELECT * FROM no_such_table_cg")
		var ex *chgo.Exception
		if !errors.As(err, &ex) {
			t.Fatalf("%v is not an Exception", err)
		}
		if ex.CodeName != "UNKNOWN_TABLE" || !strings.Contains(ex.Message, "no_such_table_cg") {
			t.Errorf("exception name %q message %q, want UNKNOWN_TABLE and the table's name", ex.CodeName, ex.Message)
		}
	})

	// An error raised after rows have started to stream arrives in-band; the
	// driver must still surface it as the server's exception.
	t.Run("MidStream", func(t *testing.T) {
		for _, c := range []chgoCompression{chgoCompressions[0], chgoCompressions[1], chgoCompressions[3]} {
			t.Run(c.name, func(t *testing.T) {
				conn := chgoOpen(t, base, c.apply)
				ctx := chgoCtx(t)
				rows, err := conn.Query(ctx, "SELECT number, throwIf(number = 1500000, 'late boom') FROM numbers(2000000) SETTINGS max_threads = 1, max_block_size = 8192")
				if err == nil {
					var seen int
					for rows.Next() {
						seen++
					}
					err = rows.Err()
					rows.Close()
					if seen == 0 || seen >= 1500000 {
						t.Errorf("read %d rows before the error, want some but fewer than 1500000", seen)
					}
				}
				chgoException(t, err, 395, 0)
				// The status line was sent before the error: no HTTPError.
				var he *chgo.HTTPError
				if errors.As(err, &he) {
					t.Errorf("mid-stream error came as HTTP %d, want an in-band exception", he.StatusCode)
				}
			})
		}
	})
}

func TestClickHouseGoDatabaseSQL(t *testing.T) {
	base := startServer(t, nil)
	for _, c := range []chgoCompression{chgoCompressions[0], chgoCompressions[1], chgoCompressions[3]} {
		t.Run(c.name, func(t *testing.T) {
			opts := chgoOptions(base)
			c.apply(opts)
			db := chgo.OpenDB(opts)
			t.Cleanup(func() { db.Close() })
			ctx := chgoCtx(t)
			if err := db.PingContext(ctx); err != nil {
				t.Fatalf("PingContext: %v", err)
			}
			name := chgoName(t)
			if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name) })
			table := name + ".t"
			if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (id UInt64, s String, ns Nullable(String), ts DateTime64(3)) ENGINE = MergeTree ORDER BY id"); err != nil {
				t.Fatal(err)
			}

			// The database/sql batch: Begin, Prepare an INSERT, Exec the rows, Commit.
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			stmt, err := tx.PrepareContext(ctx, "INSERT INTO "+table)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			base := time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC)
			const n = 500
			for i := 0; i < n; i++ {
				var ns any
				if i%3 == 0 {
					ns = fmt.Sprintf("n\n\n%d", i)
				}
				if _, err := stmt.ExecContext(ctx, uint64(i), fmt.Sprintf("s'%d\\", i), ns, base.Add(time.Duration(i)*time.Millisecond)); err != nil {
					t.Fatalf("stmt.Exec %d: %v", i, err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatalf("Commit: %v", err)
			}

			rows, err := db.QueryContext(ctx, "SELECT id, s, ns, ts FROM "+table+" ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			if cols, _ := rows.Columns(); !reflect.DeepEqual(cols, []string{"id", "s", "ns", "ts"}) {
				t.Errorf("Columns = %q", cols)
			}
			i := 0
			for rows.Next() {
				var (
					id uint64
					s  string
					ns sql.NullString
					ts time.Time
				)
				if err := rows.Scan(&id, &s, &ns, &ts); err != nil {
					t.Fatal(err)
				}
				wantNS := sql.NullString{}
				if i%3 == 0 {
					wantNS = sql.NullString{String: fmt.Sprintf("n\n\n%d", i), Valid: true}
				}
				if id != uint64(i) || s != fmt.Sprintf("s'%d\\", i) || ns != wantNS || !ts.Equal(base.Add(time.Duration(i)*time.Millisecond)) {
					t.Errorf("row %d = %d %q %v %v", i, id, s, ns, ts)
				}
				i++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			if i != n {
				t.Errorf("read %d rows, want %d", i, n)
			}

			var cnt uint64
			if err := db.QueryRowContext(ctx, "SELECT count() FROM "+table+" WHERE s = {s:String}", chgo.Named("s", `s'7\`)).Scan(&cnt); err != nil || cnt != 1 {
				t.Errorf("count with named parameter = %d, %v; want 1", cnt, err)
			}
			if err := db.QueryRowContext(ctx, "SELECT count() FROM "+table+" WHERE s = {s:String}", sql.Named("s", `s'8\`)).Scan(&cnt); err != nil || cnt != 1 {
				t.Errorf("count with sql.Named parameter = %d, %v; want 1", cnt, err)
			}
			res, err := db.ExecContext(ctx, "ALTER TABLE "+table+" DELETE WHERE id >= 100 SETTINGS mutations_sync = 1")
			if err != nil {
				t.Fatalf("ALTER DELETE: %v", err)
			}
			_ = res
			if err := db.QueryRowContext(ctx, "SELECT count() FROM "+table).Scan(&cnt); err != nil || cnt != 100 {
				t.Errorf("count after DELETE = %d, %v; want 100", cnt, err)
			}

			_, err = db.ExecContext(ctx, "SELECT * FROM "+name+".nope")
			chgoException(t, err, 60, 404)
			err = db.QueryRowContext(ctx, "SELEC 1").Scan(new(uint8))
			chgoException(t, err, 62, 400)
		})
	}
}

func TestClickHouseGoAuth(t *testing.T) {
	base := startServer(t, func(c *Config) { c.Password = "s3cret" })
	addr := strings.TrimPrefix(base, "http://")
	cases := []struct {
		name string
		auth chgo.Auth
		code int32 // 0: must work
	}{
		{"Right", chgo.Auth{Username: "default", Password: "s3cret"}, 0},
		{"WrongPassword", chgo.Auth{Username: "default", Password: "wrong"}, 516},
		{"WrongUser", chgo.Auth{Username: "admin", Password: "s3cret"}, 516},
		{"NoPassword", chgo.Auth{Username: "default"}, 516},
		{"NoCredentials", chgo.Auth{}, 516},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &chgoRecorder{}
			conn := chgoOpen(t, base, func(o *chgo.Options) {
				o.Auth = tc.auth
				o.TransportFunc = rec.transport
			})
			ctx := chgoCtx(t)
			err := conn.Ping(ctx)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("Ping: %v", err)
				}
				var user string
				if err := conn.QueryRow(ctx, "SELECT 'ok'").Scan(&user); err != nil || user != "ok" {
					t.Errorf("query with the right password = %q, %v", user, err)
				}
				for _, ex := range rec.exchanges() {
					if ex.user != "default" {
						t.Errorf("request without Basic auth user default: %+v", ex)
					}
				}
				return
			}
			chgoException(t, err, tc.code, http.StatusForbidden)
			// database/sql sees the same error.
			opts := chgoOptions(base)
			opts.Auth = tc.auth
			db := chgo.OpenDB(opts)
			defer db.Close()
			chgoException(t, db.PingContext(ctx), tc.code, http.StatusForbidden)
		})
	}
	t.Run("DSN", func(t *testing.T) {
		for _, tc := range []struct {
			dsn  string
			code int32
		}{
			{"http://default:s3cret@" + addr + "/default?dial_timeout=10s", 0},
			{"http://default:nope@" + addr + "/default", 516},
		} {
			opts, err := chgo.ParseDSN(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if opts.Protocol != chgo.HTTP {
				t.Fatalf("ParseDSN(%q).Protocol = %v, want HTTP", tc.dsn, opts.Protocol)
			}
			conn, err := chgo.Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			err = conn.Ping(chgoCtx(t))
			conn.Close()
			if tc.code == 0 && err != nil {
				t.Errorf("DSN %q: Ping: %v", tc.dsn, err)
			} else if tc.code != 0 {
				chgoException(t, err, tc.code, http.StatusForbidden)
			}
		}
	})
}

func TestClickHouseGoAuthDatabase(t *testing.T) {
	base := startServer(t, nil)
	admin := chgoOpen(t, base, nil)
	db := chgoDatabase(t, admin)
	rec := &chgoRecorder{}
	conn := chgoOpen(t, base, func(o *chgo.Options) {
		o.Auth.Database = db
		o.TransportFunc = rec.transport
	})
	ctx := chgoCtx(t)
	var cur string
	if err := conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&cur); err != nil || cur != db {
		t.Fatalf("currentDatabase() = %q, %v; want %q", cur, err, db)
	}
	if err := conn.Exec(ctx, "CREATE TABLE unq (id UInt64, s String) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO unq")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := batch.Append(uint64(i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "INSERT INTO unq VALUES (100, 'x')"); err != nil {
		t.Fatal(err)
	}
	var n, sum uint64
	if err := conn.QueryRow(ctx, "SELECT count(), sum(id) FROM unq").Scan(&n, &sum); err != nil || n != 11 || sum != 145 {
		t.Errorf("count, sum from unq = %d, %d, %v; want 11, 145", n, sum, err)
	}
	// The table is in that database, not in default.
	if err := admin.QueryRow(ctx, "SELECT count() FROM "+db+".unq").Scan(&n); err != nil || n != 11 {
		t.Errorf("count from %s.unq = %d, %v; want 11", db, n, err)
	}
	err = admin.QueryRow(ctx, "SELECT count() FROM unq").Scan(&n)
	chgoException(t, err, 60, 404)
	for _, ex := range rec.exchanges() {
		if ex.query.Get("database") != db {
			t.Errorf("request without database=%s: %v", db, ex.query)
		}
	}
}

func TestClickHouseGoSession(t *testing.T) {
	base := startServer(t, nil)
	admin := chgoOpen(t, base, nil)
	db := chgoDatabase(t, admin)
	session := func(id string) driver.Conn {
		return chgoOpen(t, base, func(o *chgo.Options) {
			o.Settings = chgo.Settings{"session_id": id}
			o.MaxOpenConns = 1
		})
	}
	id := chgoName(t) + "_" + fmt.Sprint(time.Now().UnixNano())
	conn := session(id)
	ctx := chgoCtx(t)
	if err := conn.Exec(ctx, "CREATE TEMPORARY TABLE tmp (id UInt64, s String)"); err != nil {
		t.Fatalf("CREATE TEMPORARY TABLE: %v", err)
	}
	if err := conn.Exec(ctx, "INSERT INTO tmp VALUES (1, 'a\n\nb'), (2, 'c')"); err != nil {
		t.Fatalf("INSERT VALUES into tmp: %v", err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO tmp")
	if err != nil {
		t.Fatalf("PrepareBatch into tmp: %v", err)
	}
	for i := uint64(3); i <= 5; i++ {
		if err := batch.Append(i, "batch"); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("Send into tmp: %v", err)
	}
	var n, sum uint64
	if err := conn.QueryRow(ctx, "SELECT count(), sum(id) FROM tmp").Scan(&n, &sum); err != nil || n != 5 || sum != 15 {
		t.Errorf("count, sum from tmp = %d, %d, %v; want 5, 15", n, sum, err)
	}
	var s string
	if err := conn.QueryRow(ctx, "SELECT s FROM tmp WHERE id = 1").Scan(&s); err != nil || s != "a\n\nb" {
		t.Errorf("s of row 1 = %q, %v; want %q", s, err, "a\n\nb")
	}

	// SET and USE stick to the session too.
	if err := conn.Exec(ctx, "SET max_threads = 13"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "USE "+db); err != nil {
		t.Fatal(err)
	}
	var threads string
	var cur string
	if err := conn.QueryRow(ctx, "SELECT toString(getSetting('max_threads')), currentDatabase()").Scan(&threads, &cur); err != nil ||
		threads != "13" || cur != db {
		t.Errorf("session max_threads, database = %q, %q, %v; want 13, %s", threads, cur, err, db)
	}

	// Another session and a client without one do not see the table.
	other := session(id + "_other")
	chgoException(t, other.QueryRow(ctx, "SELECT count() FROM tmp").Scan(&n), 60, 404)
	chgoException(t, admin.QueryRow(ctx, "SELECT count() FROM tmp").Scan(&n), 60, 404)
	if err := admin.QueryRow(ctx, "SELECT toString(getSetting('max_threads'))").Scan(&threads); err != nil || threads == "13" {
		t.Errorf("max_threads leaked out of the session: %q, %v", threads, err)
	}
	// And the temporary table is still there for the session.
	if err := conn.QueryRow(ctx, "SELECT count() FROM tmp").Scan(&n); err != nil || n != 5 {
		t.Errorf("count from tmp at the end = %d, %v; want 5", n, err)
	}

	// With WithSettings per query instead of per connection.
	plain := chgoOpen(t, base, nil)
	sctx := chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"session_id": id + "_ctx"}))
	if err := plain.Exec(sctx, "CREATE TEMPORARY TABLE tmp2 (x UInt8)"); err != nil {
		t.Fatal(err)
	}
	if err := plain.Exec(sctx, "INSERT INTO tmp2 VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	var x uint8
	if err := plain.QueryRow(sctx, "SELECT x FROM tmp2").Scan(&x); err != nil || x != 7 {
		t.Errorf("x from tmp2 = %d, %v; want 7", x, err)
	}
}

func TestClickHouseGoDeduplication(t *testing.T) {
	base := startServer(t, nil)
	for _, c := range []chgoCompression{chgoCompressions[0], chgoCompressions[1]} {
		t.Run(c.name, func(t *testing.T) {
			conn := chgoOpen(t, base, c.apply)
			ctx := chgoCtx(t)
			db := chgoDatabase(t, conn)
			table := db + ".dedup"
			if err := conn.Exec(ctx, "CREATE TABLE "+table+" (id UInt64, s String) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100"); err != nil {
				t.Fatal(err)
			}
			send := func(token string, from uint64) {
				t.Helper()
				bctx := chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"insert_deduplication_token": token}))
				batch, err := conn.PrepareBatch(bctx, "INSERT INTO "+table)
				if err != nil {
					t.Fatal(err)
				}
				for i := from; i < from+10; i++ {
					if err := batch.Append(i, "v"); err != nil {
						t.Fatal(err)
					}
				}
				if err := batch.Send(); err != nil {
					t.Fatalf("Send with token %s: %v", token, err)
				}
			}
			count := func() uint64 {
				t.Helper()
				var n uint64
				if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			send("tok1", 0)
			send("tok1", 0)
			if n := count(); n != 10 {
				t.Errorf("after the same batch twice with token tok1: %d rows, want 10", n)
			}
			send("tok1", 100) // other data, same token: deduplicated by the token
			if n := count(); n != 10 {
				t.Errorf("after other data with token tok1: %d rows, want 10", n)
			}
			send("tok2", 0) // same data, new token: lands
			if n := count(); n != 20 {
				t.Errorf("after the batch with token tok2: %d rows, want 20", n)
			}
		})
	}
}

func TestClickHouseGoConcurrent(t *testing.T) {
	base := startServer(t, nil)
	admin := chgoOpen(t, base, nil)
	db := chgoDatabase(t, admin)
	ctx := chgoCtx(t)
	if err := admin.Exec(ctx, "CREATE TABLE "+db+".c (client UInt8, seq UInt32, v UInt64, s String) ENGINE = MergeTree ORDER BY (client, seq)"); err != nil {
		t.Fatal(err)
	}
	const (
		clients = 8
		batches = 5
		perRow  = 2000
	)
	var wg sync.WaitGroup
	for k := 0; k < clients; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			c := chgoCompressions[k%len(chgoCompressions)]
			opts := chgoOptions(base)
			c.apply(opts)
			conn, err := chgo.Open(opts)
			if err != nil {
				t.Errorf("client %d: Open: %v", k, err)
				return
			}
			defer conn.Close()
			for b := 0; b < batches; b++ {
				batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".c")
				if err != nil {
					t.Errorf("client %d (%s): PrepareBatch: %v", k, c.name, err)
					return
				}
				for i := 0; i < perRow; i++ {
					seq := uint32(b*perRow + i)
					if err := batch.Append(uint8(k), seq, uint64(k)*1_000_000+uint64(seq), fmt.Sprintf("c%d\n\n%d", k, seq)); err != nil {
						t.Errorf("client %d: Append: %v", k, err)
						return
					}
				}
				if err := batch.Send(); err != nil {
					t.Errorf("client %d (%s): Send: %v", k, c.name, err)
					return
				}
				// Read back this client's rows while the others write.
				var n, sum uint64
				var bad uint64
				q := "SELECT count(), sum(v), countIf(s != concat('c', toString(client), '\n\n', toString(seq))) FROM " + db + ".c WHERE client = {k:UInt8}"
				if err := conn.QueryRow(ctx, q, chgo.Named("k", uint8(k))).Scan(&n, &sum, &bad); err != nil {
					t.Errorf("client %d (%s): QueryRow: %v", k, c.name, err)
					return
				}
				rows := uint64((b + 1) * perRow)
				wantSum := uint64(k)*1_000_000*rows + rows*(rows-1)/2
				if n != rows || sum != wantSum || bad != 0 {
					t.Errorf("client %d (%s) after batch %d: count %d sum %d bad %d; want %d %d 0", k, c.name, b, n, sum, bad, rows, wantSum)
				}
				// And a streamed query of some size.
				var cnt, total uint64
				r, err := conn.Query(ctx, "SELECT number FROM numbers({n:UInt32})", chgo.Named("n", 100_000+k))
				if err != nil {
					t.Errorf("client %d (%s): Query: %v", k, c.name, err)
					return
				}
				for r.Next() {
					var x uint64
					if err := r.Scan(&x); err != nil {
						t.Errorf("client %d: Scan: %v", k, err)
						break
					}
					cnt++
					total += x
				}
				if err := r.Err(); err != nil {
					t.Errorf("client %d (%s): rows: %v", k, c.name, err)
				}
				r.Close()
				if m := uint64(100_000 + k); cnt != m || total != m*(m-1)/2 {
					t.Errorf("client %d (%s): numbers(%d) gave %d rows sum %d", k, c.name, m, cnt, total)
				}
			}
		}(k)
	}
	wg.Wait()
	var n uint64
	if err := admin.QueryRow(ctx, "SELECT count() FROM "+db+".c").Scan(&n); err != nil || n != clients*batches*perRow {
		t.Errorf("total rows = %d, %v; want %d", n, err, clients*batches*perRow)
	}
}

func TestClickHouseGoStreaming(t *testing.T) {
	base := startServer(t, nil)
	const n = 2_000_000
	for _, c := range []chgoCompression{chgoCompressions[0], chgoCompressions[1], chgoCompressions[3]} {
		t.Run(c.name, func(t *testing.T) {
			conn := chgoOpen(t, base, c.apply)
			ctx := chgoCtx(t)
			rows, err := conn.Query(ctx, "SELECT number FROM numbers(2000000)")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var count, sum uint64
			var x uint64
			ordered := true
			for rows.Next() {
				if err := rows.Scan(&x); err != nil {
					t.Fatal(err)
				}
				if x != count {
					ordered = false
				}
				count++
				sum += x
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("rows.Err: %v", err)
			}
			if count != n || sum != n*(n-1)/2 || !ordered {
				t.Errorf("streamed %d rows, sum %d, in order %v; want %d rows, sum %d, in order", count, sum, ordered, n, uint64(n*(n-1)/2))
			}
		})
	}
}

func TestClickHouseGoMoreTypes(t *testing.T) {
	base := startServer(t, nil)
	for _, c := range []chgoCompression{chgoCompressions[0], chgoCompressions[2], chgoCompressions[4]} {
		t.Run(c.name, func(t *testing.T) {
			conn := chgoOpen(t, base, c.apply)
			ctx := chgoCtx(t)
			db := chgoDatabase(t, conn)
			if err := conn.Exec(ctx, "CREATE TABLE "+db+`.t (
				id UInt64, j JSON, v Variant(UInt8, String), dy Dynamic, tup Tuple(a UInt8, b String),
				e Enum8('x' = 1, 'y' = 2), ip4 IPv4, ip6 IPv6, i128 Int128, u256 UInt256, fs FixedString(4),
				d32 Date32, an Array(Nullable(Int32)), mm Map(String, Array(UInt8)),
				defv UInt32 DEFAULT 42, mat UInt64 MATERIALIZED id * 2
			) ENGINE = MergeTree ORDER BY id`); err != nil {
				t.Fatal(err)
			}
			// A column list leaves out the DEFAULT and MATERIALIZED columns.
			b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".t (id, j, v, dy, tup, e, ip4, ip6, i128, u256, fs, d32, an, mm)")
			if err != nil {
				t.Fatal(err)
			}
			i128, _ := new(big.Int).SetString("-170141183460469231731687303715884105728", 10)
			u256, _ := new(big.Int).SetString("115792089237316195423570985008687907853269984665640564039457584007913129639935", 10)
			one := int32(-1)
			d32 := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := b.Append(uint64(1), `{"a": 1, "b": "x\n\ny"}`, uint8(5), "dyn", []any{uint8(7), "s\n\n"}, "y",
				net.ParseIP("1.2.3.4"), net.ParseIP("2001:db8::1"), i128, u256, "ab\x00d", d32, []*int32{nil, &one},
				map[string][]uint8{"k": {1, 2}, "": {}}); err != nil {
				t.Fatalf("Append: %v", err)
			}
			if err := b.Send(); err != nil {
				t.Fatalf("Send: %v", err)
			}
			var (
				ja                 int64
				jb, vs, dys, e, fs string
				tup                map[string]any
				ip4, ip6           net.IP
				gi128, gu256       big.Int
				gd32               time.Time
				an                 []*int32
				mm                 map[string][]uint8
				defv               uint32
				mat                uint64
			)
			err = conn.QueryRow(ctx, "SELECT j.a::Int64, j.b::String, toString(v), toString(dy), tup, e, ip4, ip6, i128, u256, fs, d32, an, mm, defv, mat FROM "+db+".t").
				Scan(&ja, &jb, &vs, &dys, &tup, &e, &ip4, &ip6, &gi128, &gu256, &fs, &gd32, &an, &mm, &defv, &mat)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			check := func(name string, ok bool, got any) {
				if !ok {
					t.Errorf("%s = %v", name, got)
				}
			}
			check("j.a", ja == 1, ja)
			check("j.b", jb == "x\n\ny", jb)
			check("v", vs == "5", vs)
			check("dy", dys == "dyn", dys)
			check("tup", reflect.DeepEqual(tup, map[string]any{"a": uint8(7), "b": "s\n\n"}), tup)
			check("e", e == "y", e)
			check("ip4", ip4.Equal(net.ParseIP("1.2.3.4")), ip4)
			check("ip6", ip6.Equal(net.ParseIP("2001:db8::1")), ip6)
			check("i128", gi128.Cmp(i128) == 0, &gi128)
			check("u256", gu256.Cmp(u256) == 0, &gu256)
			check("fs", fs == "ab\x00d", fs)
			check("d32", gd32.Format(time.DateOnly) == "1900-01-01", gd32)
			check("an", len(an) == 2 && an[0] == nil && an[1] != nil && *an[1] == -1, an)
			check("mm", reflect.DeepEqual(mm, map[string][]uint8{"k": {1, 2}, "": {}}), mm)
			check("defv", defv == 42, defv)
			check("mat", mat == 2, mat)

			// The JSON column scanned as the driver's own JSON type.
			var j chgo.JSON
			if err := conn.QueryRow(ctx, "SELECT j FROM "+db+".t").Scan(&j); err != nil {
				t.Fatalf("Scan JSON: %v", err)
			}
			if v, ok := j.ValueAtPath("b"); !ok {
				t.Errorf("JSON has no path b: %v", j)
			} else if d, isDyn := v.(chgo.Dynamic); !isDyn || d.Any() != "x\n\ny" || d.Type() != "String" {
				t.Errorf("JSON path b = %#v, want the String %q", v, "x\n\ny")
			}
			// Variant and Dynamic columns scanned as the driver's types.
			var gv, gdy chgo.Dynamic
			if err := conn.QueryRow(ctx, "SELECT v, dy FROM "+db+".t").Scan(&gv, &gdy); err != nil {
				t.Fatalf("Scan Variant, Dynamic: %v", err)
			}
			if gv.Any() != uint8(5) || gdy.Any() != "dyn" {
				t.Errorf("Variant, Dynamic = %#v, %#v; want uint8 5, \"dyn\"", gv, gdy)
			}
		})
	}
}

func TestClickHouseGoEmptyResult(t *testing.T) {
	base := startServer(t, nil)
	for _, c := range chgoCompressions {
		t.Run(c.name, func(t *testing.T) {
			conn := chgoOpen(t, base, c.apply)
			ctx := chgoCtx(t)
			rows, err := conn.Query(ctx, "SELECT number, toString(number) FROM numbers(10) WHERE number > 100")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil || n != 0 {
				t.Errorf("empty result: %d rows, %v", n, err)
			}
			rows.Close()
			var x uint64
			if err := conn.QueryRow(ctx, "SELECT number FROM numbers(10) WHERE number > 100").Scan(&x); !errors.Is(err, sql.ErrNoRows) {
				t.Errorf("QueryRow on an empty result = %v, want sql.ErrNoRows", err)
			}
			// The connection goes on working.
			if err := conn.QueryRow(ctx, "SELECT 41 + 1").Scan(new(uint16)); err != nil {
				t.Errorf("query after the empty result: %v", err)
			}
		})
	}
}

func TestClickHouseGoAsyncInsert(t *testing.T) {
	base := startServer(t, nil)
	conn := chgoOpen(t, base, nil)
	ctx := chgoCtx(t)
	db := chgoDatabase(t, conn)
	if err := conn.Exec(ctx, "CREATE TABLE "+db+".a (id UInt64, s String) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := conn.AsyncInsert(ctx, fmt.Sprintf("INSERT INTO %s.a VALUES (%d, 'x\n\ny')", db, i), true); err != nil {
			t.Fatalf("AsyncInsert %d: %v", i, err)
		}
	}
	var n, sum uint64
	var bad uint64
	if err := conn.QueryRow(ctx, "SELECT count(), sum(id), countIf(s != 'x\n\ny') FROM "+db+".a").Scan(&n, &sum, &bad); err != nil || n != 5 || sum != 10 || bad != 0 {
		t.Errorf("after 5 async inserts: count %d sum %d bad %d, %v; want 5 10 0", n, sum, bad, err)
	}
}

func TestClickHouseGoSettings(t *testing.T) {
	base := startServer(t, nil)
	conn := chgoOpen(t, base, func(o *chgo.Options) {
		o.Settings = chgo.Settings{"max_block_size": 4321}
		o.MaxOpenConns = 1
	})
	ctx := chgoCtx(t)
	get := func(ctx context.Context, name string) string {
		t.Helper()
		var v string
		if err := conn.QueryRow(ctx, "SELECT toString(getSetting({n:String}))", chgo.Named("n", name)).Scan(&v); err != nil {
			t.Fatalf("getSetting(%s): %v", name, err)
		}
		return v
	}
	if v := get(ctx, "max_block_size"); v != "4321" {
		t.Errorf("connection setting max_block_size = %s, want 4321", v)
	}
	qctx := chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"max_block_size": 1234, "max_threads": 13, "log_comment": `it's \ "quoted"`}))
	if v := get(qctx, "max_block_size"); v != "1234" {
		t.Errorf("query setting max_block_size = %s, want 1234", v)
	}
	if v := get(qctx, "log_comment"); v != `it's \ "quoted"` {
		t.Errorf("query setting log_comment = %q", v)
	}
	// Per-query settings do not stick to the engine connection.
	other := chgoOpen(t, base, nil)
	for i := 0; i < 3; i++ {
		var v string
		if err := other.QueryRow(ctx, "SELECT toString(getSetting('max_threads')) || '/' || toString(getSetting('log_comment'))").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(v, "13/") || strings.Contains(v, "quoted") {
			t.Errorf("setting leaked into another request: %q", v)
		}
	}
	if v := get(ctx, "max_block_size"); v != "4321" {
		t.Errorf("connection setting max_block_size after a query setting = %s, want 4321", v)
	}
	err := conn.QueryRow(chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"no_such_setting_cg": 1})), "SELECT 1").Scan(new(uint8))
	chgoException(t, err, 115, 404)
	// A setting that limits the result is enforced.
	err = conn.QueryRow(chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"max_result_rows": 10, "result_overflow_mode": "throw"})), "SELECT count() FROM (SELECT number FROM numbers(100))").Scan(new(uint64))
	if err != nil {
		t.Errorf("max_result_rows on a one-row result: %v", err)
	}
	rows, err := conn.Query(chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"max_result_rows": 10, "result_overflow_mode": "throw"})), "SELECT number FROM numbers(1000)")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	chgoException(t, err, 396, 0) // TOO_MANY_ROWS_OR_BYTES
}

func TestClickHouseGoCancel(t *testing.T) {
	// One query at a time: if a cancelled query kept running, the next one
	// would wait for it.
	base := startServer(t, func(c *Config) { c.MaxQueries = 1 })
	conn := chgoOpen(t, base, nil)
	ctx := chgoCtx(t)
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	rows, err := conn.Query(cctx, "SELECT sleepEachRow(0.01) FROM numbers(2000) SETTINGS max_block_size = 1")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled query: %v, want context.DeadlineExceeded", err)
	}
	var x uint8
	if err := conn.QueryRow(ctx, "SELECT 7").Scan(&x); err != nil || x != 7 {
		t.Errorf("query after the cancelled one = %d, %v", x, err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the query after a cancelled 20 s query finished %v after the start: the cancelled query kept its slot", d)
	}
}

func TestClickHouseGoInsertForms(t *testing.T) {
	base := startServer(t, nil)
	conn := chgoOpen(t, base, nil)
	ctx := chgoCtx(t)
	db := chgoDatabase(t, conn)
	table := db + ".`weird-name x`" // quoted name with a dash and a space
	if err := conn.Exec(ctx, "CREATE TABLE "+table+" (id UInt64, `my col` String) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+table)
	if err != nil {
		t.Fatalf("PrepareBatch: %v", err)
	}
	if err := b.Append(uint64(1), "batch\n\n"); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatalf("Send: %v", err)
	}
	steps := []struct {
		sql  string
		args []any
	}{
		// Inline data in another format, with a blank line inside a value and between rows.
		{"INSERT INTO " + table + " FORMAT JSONEachRow\n{\"id\": 2, \"my col\": \"a\\n\\nb\"}\n\n{\"id\": 3, \"my col\": \"c\"}\n", nil},
		{"INSERT INTO " + table + " FORMAT TSV\n4\tt\\ts\\nv\n", nil},
		// Positional arguments, bound by the driver.
		{"INSERT INTO " + table + " VALUES (?, ?)", []any{5, "it's \\"}},
		// Server-side parameters in VALUES and in INSERT SELECT.
		{"INSERT INTO " + table + " VALUES ({a:UInt64}, {s:String})", []any{chgo.Named("a", 6), chgo.Named("s", "x'y")}},
		{"INSERT INTO " + table + " SELECT {a:UInt64}, {s:String}", []any{chgo.Named("a", 7), chgo.Named("s", "z\\")}},
	}
	for _, st := range steps {
		if err := conn.Exec(ctx, st.sql, st.args...); err != nil {
			t.Errorf("Exec(%q): %v", st.sql, err)
		}
	}
	want := []string{"batch\n\n", "a\n\nb", "c", "t\ts\nv", "it's \\", "x'y", "z\\"}
	var got []string
	if err := conn.QueryRow(ctx, "SELECT groupArray(`my col`) FROM (SELECT * FROM "+table+" ORDER BY id)").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

func TestClickHouseGoBatchErrors(t *testing.T) {
	base := startServer(t, nil)
	for _, c := range []chgoCompression{chgoCompressions[0], chgoCompressions[1], chgoCompressions[3]} {
		t.Run(c.name, func(t *testing.T) {
			conn := chgoOpen(t, base, c.apply)
			ctx := chgoCtx(t)
			db := chgoDatabase(t, conn)
			if err := conn.Exec(ctx, "CREATE TABLE "+db+".c (id UInt64, CONSTRAINT small CHECK id < 100) ENGINE = MergeTree ORDER BY id"); err != nil {
				t.Fatal(err)
			}
			// A constraint violated by the data: the whole insert fails.
			b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".c")
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []uint64{1, 2, 150} {
				if err := b.Append(id); err != nil {
					t.Fatal(err)
				}
			}
			chgoException(t, b.Send(), 469, 0) // VIOLATED_CONSTRAINT
			var n uint64
			if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".c").Scan(&n); err != nil || n != 0 {
				t.Errorf("rows after the failed insert = %d, %v; want 0", n, err)
			}
			// The table goes away between PrepareBatch and Send.
			b, err = conn.PrepareBatch(ctx, "INSERT INTO "+db+".c")
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Append(uint64(1)); err != nil {
				t.Fatal(err)
			}
			if err := conn.Exec(ctx, "DROP TABLE "+db+".c"); err != nil {
				t.Fatal(err)
			}
			chgoException(t, b.Send(), 60, 404)
			// PrepareBatch on a missing table fails with the server's error.
			_, err = conn.PrepareBatch(ctx, "INSERT INTO "+db+".nope")
			chgoException(t, err, 60, 404)
			if err := conn.Ping(ctx); err != nil {
				t.Errorf("Ping after insert errors: %v", err)
			}
		})
	}
}

func TestClickHouseGoWaitEndOfQuery(t *testing.T) {
	base := startServer(t, nil)
	conn := chgoOpen(t, base, func(o *chgo.Options) { o.Settings = chgo.Settings{"wait_end_of_query": 1} })
	ctx := chgoCtx(t)
	// With the whole result buffered, a late error gets its HTTP status.
	_, err := conn.Query(ctx, "SELECT number, throwIf(number = 1500000, 'late boom') FROM numbers(2000000) SETTINGS max_threads = 1, max_block_size = 8192")
	chgoException(t, err, 395, 500)
	var sum uint64
	if err := conn.QueryRow(ctx, "SELECT sum(number) FROM numbers(1000)").Scan(&sum); err != nil || sum != 499500 {
		t.Errorf("sum = %d, %v; want 499500", sum, err)
	}
}

func TestClickHouseGoExternalTable(t *testing.T) {
	// External tables (multipart/form-data) are not supported; the driver
	// gets a clean NOT_IMPLEMENTED exception.
	base := startServer(t, nil)
	conn := chgoOpen(t, base, nil)
	et, err := ext.NewTable("ext1", ext.Column("x", "UInt8"))
	if err != nil {
		t.Fatal(err)
	}
	if err := et.Append(uint8(1)); err != nil {
		t.Fatal(err)
	}
	ctx := chgoCtx(t)
	err = conn.QueryRow(chgo.Context(ctx, chgo.WithExternalTable(et)), "SELECT count() FROM ext1").Scan(new(uint64))
	chgoException(t, err, 48, 501)
}

// Server bug: the output format is taken from a trailing "FORMAT <word>"
// found by a regular expression, so "ORDER BY format DESC" asks the engine
// for a format named DESC, and a FORMAT in a trailing comment changes the
// output. ClickHouse answers these in the default format (Native here).
func TestClickHouseGoFormatClause(t *testing.T) {
	base := startServer(t, nil)
	conn := chgoOpen(t, base, nil)
	ctx := chgoCtx(t)
	cases := []struct {
		name string
		sql  string
		want []uint64
	}{
		{"OrderByFormatDesc", "SELECT number AS format FROM numbers(3) ORDER BY format DESC", []uint64{2, 1, 0}},
		{"OrderByFormatAsc", "SELECT number AS format FROM numbers(3) ORDER BY format ASC", []uint64{0, 1, 2}},
		{"LineComment", "SELECT number FROM numbers(2) -- FORMAT JSON", []uint64{0, 1}},
		{"BlockComment", "SELECT number FROM numbers(2) /* FORMAT CSV */", []uint64{0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := conn.Query(ctx, tc.sql)
			if err != nil {
				t.Fatalf("Query(%q): %v", tc.sql, err)
			}
			defer rows.Close()
			var got []uint64
			for rows.Next() {
				var x uint64
				if err := rows.Scan(&x); err != nil {
					t.Fatal(err)
				}
				got = append(got, x)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("rows.Err: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Query(%q) = %v, want %v", tc.sql, got, tc.want)
			}
		})
	}
}

// Server bug: max_query_size is read by the front end (to size the body it
// accepts) but not passed on to the engine, so raising it does not let a
// long query through: the engine still stops at its default 262144 bytes.
func TestClickHouseGoMaxQuerySize(t *testing.T) {
	base := startServer(t, nil)
	conn := chgoOpen(t, base, nil)
	ctx := chgoCtx(t)
	long := "SELECT count() FROM numbers(10) WHERE number IN (" + strings.Repeat("1,", 200_000) + "2)" // ~400 KB
	var n uint64
	err := conn.QueryRow(ctx, long).Scan(&n)
	var ex *chgo.Exception
	if !errors.As(err, &ex) || (ex.Code != 62 && ex.Code != 229) {
		t.Errorf("a %d-byte query with the default max_query_size: %v, want SYNTAX_ERROR (Max query size exceeded)", len(long), err)
	}
	qctx := chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"max_query_size": 1 << 20}))
	if err := conn.QueryRow(qctx, long).Scan(&n); err != nil || n != 2 {
		t.Errorf("a %d-byte query with max_query_size = 1 MiB: count %d, %v; want 2", len(long), n, err)
	}
}
