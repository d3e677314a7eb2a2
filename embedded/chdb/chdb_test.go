package chdb

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testPath is the one storage path every test opens: a process can boot the
// engine on a single path only.
var testPath string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "touchstream-chdb-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chdb tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	testPath = dir

	// Closing the last connection shuts the engine down, so one connection
	// stays open for the whole run and tests that open and close their own
	// connections never reboot it. Shutdown is not called: once any MergeTree
	// table has existed, chdb_shutdown fails even with every connection
	// closed (an engine thread it cannot stop), so it would prove nothing.
	keeper, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chdb tests: cannot boot the engine:", err)
		return 1
	}
	code := m.Run()
	if err := keeper.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "chdb tests: close keeper:", err)
		code = 1
	}
	return code
}

// ---- helpers ----

var nameSeq atomic.Int64

// uniqueName returns an identifier no other test uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, nameSeq.Add(1))
}

// openConn opens a connection to testPath, closed when the test ends.
func openConn(t *testing.T, args ...string) *Conn {
	t.Helper()
	c, err := Open(testPath, args...)
	if err != nil {
		t.Fatalf("Open(%q): %v", testPath, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// query runs sql and returns a copy of its output.
func query(t *testing.T, c *Conn, sql, format string) string {
	t.Helper()
	r, err := c.Query(sql, format)
	if err != nil {
		t.Fatalf("Query(%q): %v", sql, err)
	}
	defer r.Free()
	return string(r.Bytes())
}

func exec(t *testing.T, c *Conn, sql string) {
	t.Helper()
	if err := c.Exec(sql); err != nil {
		t.Fatalf("Exec(%q): %v", sql, err)
	}
}

// mustChdbError asserts err is an *Error with the given code and name.
func mustChdbError(t *testing.T, err error, code int, name string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %d (%s)", code, name)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *chdb.Error", err, err)
	}
	if e.Code != code || e.Name != name {
		t.Fatalf("got code %d name %q, want %d %q; message: %s", e.Code, e.Name, code, name, e.Message)
	}
	if e.Error() != e.Message {
		t.Errorf("Error() = %q, want the Message %q", e.Error(), e.Message)
	}
	if prefix := fmt.Sprintf("Code: %d. ", code); !strings.HasPrefix(e.Message, prefix) {
		t.Errorf("message %q does not start with %q", e.Message, prefix)
	}
	return e
}

// anyChdbError asserts err is an *Error carrying an engine error code.
func anyChdbError(t *testing.T, err error) *Error {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a *chdb.Error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *chdb.Error", err, err)
	}
	if e.Code <= 0 || e.Name == "" {
		t.Fatalf("error without code or name: %+v", e)
	}
	return e
}

// mustWork asserts the connection runs a statement.
func mustWork(t *testing.T, c *Conn) {
	t.Helper()
	if got := query(t, c, "SELECT 40 + 2", "TabSeparated"); got != "42\n" {
		t.Fatalf("connection returned %q for SELECT 40 + 2", got)
	}
}

// readAll drains a stream, returning its output and the number of chunks.
func readAll(t *testing.T, s *Stream) ([]byte, int) {
	t.Helper()
	var out []byte
	chunks := 0
	for {
		b, err := s.Next()
		if err == io.EOF {
			return out, chunks
		}
		if err != nil {
			t.Fatalf("Next after %d chunks: %v", chunks, err)
		}
		if len(b) == 0 {
			t.Fatalf("Next returned an empty chunk")
		}
		chunks++
		out = append(out, b...)
	}
}

// insertChunks streams data into sql in chunks of size n (all at once for n <= 0).
func insertChunks(t *testing.T, c *Conn, sql, format string, data []byte, n int) Stats {
	t.Helper()
	in, err := c.StreamInsert(sql, format)
	if err != nil {
		t.Fatalf("StreamInsert(%q): %v", sql, err)
	}
	if n <= 0 {
		n = len(data) + 1
	}
	for off := 0; off < len(data); off += n {
		end := min(off+n, len(data))
		if err := in.Append(data[off:end]); err != nil {
			in.Cancel()
			t.Fatalf("Append(bytes %d-%d): %v", off, end, err)
		}
	}
	st, err := in.Done()
	if err != nil {
		t.Fatalf("Done: %v", err)
	}
	return st
}

func csvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ---- errors (no engine needed) ----

func TestParseError(t *testing.T) {
	multi := "Code: 27. DB::Exception: Cannot parse input: expected ',' before: 'x':\nRow 1:\nColumn 0, name: s\n\n: While executing CSVRowInputFormat. (CANNOT_PARSE_INPUT_ASSERTION_FAILED) (version 26.7.2.1)"
	tests := []struct {
		name     string
		in       string
		wantCode int
		wantName string
		wantMsg  string
	}{
		{
			name:     "engine message",
			in:       "Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE)",
			wantCode: 60, wantName: "UNKNOWN_TABLE",
			wantMsg: "Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE)",
		},
		{
			name:     "trailing newlines are trimmed",
			in:       "Code: 62. DB::Exception: Syntax error: failed at position 1. (SYNTAX_ERROR)\n\n",
			wantCode: 62, wantName: "SYNTAX_ERROR",
			wantMsg: "Code: 62. DB::Exception: Syntax error: failed at position 1. (SYNTAX_ERROR)",
		},
		{
			name:     "trailing version",
			in:       "Code: 73. DB::Exception: Unknown format NoSuchFormat. (UNKNOWN_FORMAT) (version 26.7.2.1)",
			wantCode: 73, wantName: "UNKNOWN_FORMAT",
			wantMsg: "Code: 73. DB::Exception: Unknown format NoSuchFormat. (UNKNOWN_FORMAT) (version 26.7.2.1)",
		},
		{
			name:     "trailing version with build suffix",
			in:       "Code: 241. DB::Exception: Memory limit exceeded. (MEMORY_LIMIT_EXCEEDED) (version 24.3.1.2672 (official build))",
			wantCode: 241, wantName: "",
			wantMsg: "Code: 241. DB::Exception: Memory limit exceeded. (MEMORY_LIMIT_EXCEEDED) (version 24.3.1.2672 (official build))",
		},
		{
			name:     "multi-line message with version",
			in:       multi + "\n",
			wantCode: 27, wantName: "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
			wantMsg: multi,
		},
		{
			name:     "code without name",
			in:       "Code: 999. DB::Exception: something odd",
			wantCode: 999, wantName: "",
			wantMsg: "Code: 999. DB::Exception: something odd",
		},
		{
			name:     "name in the middle is not the name",
			in:       "Code: 1. DB::Exception: saw (NOT_THE_NAME) in the text",
			wantCode: 1, wantName: "",
			wantMsg: "Code: 1. DB::Exception: saw (NOT_THE_NAME) in the text",
		},
		{
			name:     "lower-case parenthesis is not a name",
			in:       "Code: 2. DB::Exception: failed (see log)",
			wantCode: 2, wantName: "",
			wantMsg: "Code: 2. DB::Exception: failed (see log)",
		},
		{
			name:     "no code prefix",
			in:       "Invalid or closed connection",
			wantCode: 1000, wantName: "STD_EXCEPTION",
			wantMsg: "Code: 1000. DB::Exception: Invalid or closed connection. (STD_EXCEPTION)",
		},
		{
			name:     "no code prefix, trailing newline",
			in:       "Unexpected null connection\n",
			wantCode: 1000, wantName: "STD_EXCEPTION",
			wantMsg: "Code: 1000. DB::Exception: Unexpected null connection. (STD_EXCEPTION)",
		},
		{
			name:     "no code prefix but a name",
			in:       "Timeout exceeded: elapsed 5 seconds (TIMEOUT_EXCEEDED)",
			wantCode: 1000, wantName: "TIMEOUT_EXCEEDED",
			wantMsg: "Code: 1000. DB::Exception: Timeout exceeded: elapsed 5 seconds (TIMEOUT_EXCEEDED). (STD_EXCEPTION)",
		},
		{
			name:     "code not at the start is not a code",
			in:       "wrapped: Code: 60. DB::Exception: x",
			wantCode: 1000, wantName: "STD_EXCEPTION",
			wantMsg: "Code: 1000. DB::Exception: wrapped: Code: 60. DB::Exception: x. (STD_EXCEPTION)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseError(tt.in)
			if e.Code != tt.wantCode || e.Name != tt.wantName {
				t.Errorf("parseError(%q) = code %d name %q, want %d %q", tt.in, e.Code, e.Name, tt.wantCode, tt.wantName)
			}
			if e.Message != tt.wantMsg {
				t.Errorf("Message = %q, want %q", e.Message, tt.wantMsg)
			}
			if e.Error() != e.Message {
				t.Errorf("Error() = %q, want %q", e.Error(), e.Message)
			}
			var err error = e
			var target *Error
			if !errors.As(err, &target) || target != e {
				t.Errorf("errors.As did not find the *Error")
			}
		})
	}
}

func TestErrorf(t *testing.T) {
	e := Errorf(373, "SESSION_IS_LOCKED", "connection %d is %s", 7, "busy")
	want := "Code: 373. DB::Exception: connection 7 is busy. (SESSION_IS_LOCKED)"
	if e.Code != 373 || e.Name != "SESSION_IS_LOCKED" || e.Message != want || e.Error() != want {
		t.Fatalf("Errorf = %+v, want message %q", e, want)
	}
	// A message Errorf makes parses back to the same code and name.
	if p := parseError(e.Message); *p != *e {
		t.Fatalf("parseError(Errorf(...).Message) = %+v, want %+v", p, e)
	}
	wrapped := fmt.Errorf("while doing things: %w", e)
	var got *Error
	if !errors.As(wrapped, &got) || got.Code != 373 {
		t.Fatalf("errors.As through a wrap: %v", wrapped)
	}
}

// ---- locating and loading the library ----

func TestLibraryPath(t *testing.T) {
	// fakeLib creates root/chdb/<Version>/libchdb.so and returns its path.
	fakeLib := func(t *testing.T, root string) string {
		t.Helper()
		p := filepath.Join(root, "chdb", Version, "libchdb.so")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("not really a library"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("env names a missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope", "libchdb.so")
		t.Setenv(EnvLibrary, missing)
		p, err := LibraryPath()
		if err == nil {
			t.Fatalf("LibraryPath() = %q, want an error", p)
		}
		if !strings.Contains(err.Error(), EnvLibrary) || !strings.Contains(err.Error(), missing) {
			t.Errorf("error %q should name %s and the path", err, EnvLibrary)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v should wrap fs.ErrNotExist", err)
		}
		// The library is loaded once per process: a bad variable now changes nothing.
		if err := Load(""); err != nil {
			t.Errorf("Load after the library was loaded: %v", err)
		}
		if v, err := LibraryVersion(); err != nil || v == "" {
			t.Errorf("LibraryVersion() = %q, %v", v, err)
		}
	})

	t.Run("env names an existing file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "custom.so")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv(EnvLibrary, p)
		t.Setenv(EnvCacheDir, t.TempDir()) // ignored when EnvLibrary is set
		got, err := LibraryPath()
		if err != nil || got != p {
			t.Fatalf("LibraryPath() = %q, %v; want %q", got, err, p)
		}
	})

	t.Run("cache dir override", func(t *testing.T) {
		root := t.TempDir()
		want := fakeLib(t, root)
		t.Setenv(EnvLibrary, "")
		t.Setenv(EnvCacheDir, root)
		got, err := LibraryPath()
		if err != nil || got != want {
			t.Fatalf("LibraryPath() = %q, %v; want %q", got, err, want)
		}
	})

	t.Run("cache dir without library", func(t *testing.T) {
		root := t.TempDir()
		t.Setenv(EnvLibrary, "")
		t.Setenv(EnvCacheDir, root)
		p, err := LibraryPath()
		if !errors.Is(err, ErrLibraryMissing) {
			t.Fatalf("LibraryPath() = %q, %v; want ErrLibraryMissing", p, err)
		}
		wantPath := filepath.Join(root, "chdb", Version, "libchdb.so")
		for _, s := range []string{wantPath, EnvLibrary, "install-chdb.sh"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q should mention %q", err, s)
			}
		}
	})

	t.Run("user cache dir by default", func(t *testing.T) {
		xdg := t.TempDir()
		want := fakeLib(t, filepath.Join(xdg, "touchstream"))
		t.Setenv(EnvLibrary, "")
		t.Setenv(EnvCacheDir, "")
		t.Setenv("XDG_CACHE_HOME", xdg)
		got, err := LibraryPath()
		if err != nil || got != want {
			t.Fatalf("LibraryPath() = %q, %v; want %q", got, err, want)
		}
	})
}

func TestLibraryVersion(t *testing.T) {
	if err := Load(""); err != nil {
		t.Fatalf("Load: %v", err)
	}
	v, err := LibraryVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v == "" {
		t.Fatal("empty version")
	}
	// The project pins Version; the cached library must be that release.
	if cached, err := LibraryPath(); err == nil && cached == loadPath && os.Getenv(EnvLibrary) == "" && v != Version {
		t.Errorf("LibraryVersion() = %q, want %q (the release install-chdb.sh installs)", v, Version)
	}
}

// ---- connections ----

func TestOpenClose(t *testing.T) {
	t.Parallel()
	c, err := Open(testPath)
	if err != nil {
		t.Fatal(err)
	}
	mustWork(t, c)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	calls := []struct {
		name string
		call func() error
	}{
		{"Query", func() error { _, err := c.Query("SELECT 1", "CSV"); return err }},
		{"Exec", func() error { return c.Exec("SELECT 1") }},
		{"Classify", func() error { _, err := c.Classify("SELECT 1"); return err }},
		{"StreamQuery", func() error { _, err := c.StreamQuery("SELECT 1", "CSV"); return err }},
		{"StreamInsert", func() error { _, err := c.StreamInsert("INSERT INTO t", "CSV"); return err }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, ErrClosed) {
				t.Fatalf("%s on a closed Conn = %v, want ErrClosed", tc.name, err)
			}
		})
	}
}

func TestOpenManyConnections(t *testing.T) {
	t.Parallel()
	conns := make([]*Conn, 5)
	for i := range conns {
		conns[i] = openConn(t)
	}
	for i, c := range conns {
		want := strconv.Itoa(i) + "\n"
		if got := query(t, c, "SELECT "+strconv.Itoa(i), "TabSeparated"); got != want {
			t.Errorf("conn %d: got %q, want %q", i, got, want)
		}
	}
}

func TestOpenAnotherPathFails(t *testing.T) {
	t.Parallel()
	other := filepath.Join(t.TempDir(), "other")
	c, err := Open(other)
	if err == nil {
		c.Close()
		t.Fatalf("Open(%q) succeeded while the engine runs on %q", other, testPath)
	}
	e := mustChdbError(t, err, 1000, "STD_EXCEPTION")
	if !strings.Contains(e.Message, other) {
		t.Errorf("message %q should name the path", e.Message)
	}
	// The engine on testPath is unaffected.
	mustWork(t, openConn(t))
}

func TestOpenArgs(t *testing.T) {
	t.Parallel()
	other := openConn(t)
	def := query(t, other, "SELECT getSetting('max_threads')", "TabSeparated")
	value := "5"
	if def == value+"\n" {
		value = "7"
	}
	c := openConn(t, "--max_threads="+value)
	if got := query(t, c, "SELECT getSetting('max_threads')", "TabSeparated"); got != value+"\n" {
		t.Errorf("max_threads with --max_threads=%s = %q", value, got)
	}
	// A connection argument applies to that connection only.
	if got := query(t, other, "SELECT getSetting('max_threads')", "TabSeparated"); got != def {
		t.Errorf("another connection sees max_threads = %q, want %q", got, def)
	}

	bad, err := Open(testPath, "--max_threads=notanumber")
	if err == nil {
		bad.Close()
		t.Fatal("Open with an invalid setting value succeeded")
	}
	anyChdbError(t, err)
	mustWork(t, c)
}

// ---- Query ----

func TestQueryFormats(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	const sql = "SELECT toUInt32(number) AS n, concat('v', toString(number)) AS s FROM numbers(3)"
	tests := []struct {
		format string
		want   string
	}{
		{"TabSeparated", "0\tv0\n1\tv1\n2\tv2\n"},
		{"TSVWithNames", "n\ts\n0\tv0\n1\tv1\n2\tv2\n"},
		{"CSV", "0,\"v0\"\n1,\"v1\"\n2,\"v2\"\n"},
		{"CSVWithNames", "\"n\",\"s\"\n0,\"v0\"\n1,\"v1\"\n2,\"v2\"\n"},
		{"JSONEachRow", "{\"n\":0,\"s\":\"v0\"}\n{\"n\":1,\"s\":\"v1\"}\n{\"n\":2,\"s\":\"v2\"}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			r, err := c.Query(sql, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Free()
			if got := string(r.Bytes()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if r.Stats.RowsRead != 3 {
				t.Errorf("RowsRead = %d, want 3", r.Stats.RowsRead)
			}
		})
	}

	t.Run("JSONEachRow decodes", func(t *testing.T) {
		out := query(t, c, "SELECT number AS n, repeat('x', toUInt32(number)) AS s, toBool(number % 2 = 0) AS even FROM numbers(50)", "JSONEachRow")
		dec := json.NewDecoder(strings.NewReader(out))
		dec.UseNumber()
		i := 0
		for {
			var row struct {
				N    json.Number `json:"n"`
				S    string      `json:"s"`
				Even bool        `json:"even"`
			}
			if err := dec.Decode(&row); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
			if row.N.String() != strconv.Itoa(i) || row.S != strings.Repeat("x", i) || row.Even != (i%2 == 0) {
				t.Fatalf("row %d = %+v", i, row)
			}
			i++
		}
		if i != 50 {
			t.Fatalf("decoded %d rows, want 50", i)
		}
	})

	t.Run("escaping", func(t *testing.T) {
		got := query(t, c, `SELECT 'a'||char(9)||'b'||char(10)||'c\\d' AS s`, "TabSeparated")
		if want := "a\\tb\\nc\\\\d\n"; got != want {
			t.Errorf("TSV got %q, want %q", got, want)
		}
		got = query(t, c, `SELECT 'say "hi"'||char(10) AS s`, "CSV")
		if want := "\"say \"\"hi\"\"\n\"\n"; got != want {
			t.Errorf("CSV got %q, want %q", got, want)
		}
	})

	t.Run("SQL with a NUL byte", func(t *testing.T) {
		// Query passes its length: a NUL does not end the statement.
		if got := query(t, c, "SELECT length('a\x00b'), hex('a\x00b')", "TabSeparated"); got != "3\t610062\n" {
			t.Errorf("got %q, want 3 and 610062", got)
		}
	})

	t.Run("empty result", func(t *testing.T) {
		r, err := c.Query("SELECT number FROM numbers(10) WHERE number > 100", "TabSeparated")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Free()
		if b := r.Bytes(); len(b) != 0 {
			t.Errorf("Bytes() = %q, want empty", b)
		}
		if r.Stats.RowsRead != 0 {
			t.Errorf("RowsRead = %d, want 0", r.Stats.RowsRead)
		}
	})

	t.Run("several statements", func(t *testing.T) {
		if got := query(t, c, "SELECT 1; SELECT 2", "TabSeparated"); got != "1\n2\n" {
			t.Errorf("got %q, want both results", got)
		}
	})
}

func TestResultFree(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	r, err := c.Query("SELECT 'hello'", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Bytes()); got != "hello\n" {
		t.Fatalf("got %q", got)
	}
	r.Free()
	if b := r.Bytes(); b != nil {
		t.Errorf("Bytes after Free = %q, want nil", b)
	}
	r.Free() // safe twice
	var zero Result
	if zero.Bytes() != nil {
		t.Error("zero Result has bytes")
	}
	zero.Free()
	mustWork(t, c)
}

func TestQueryStats(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	r, err := c.Query("SELECT number FROM numbers(1000)", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Free()
	st := r.Stats
	if st.RowsRead != 1000 {
		t.Errorf("RowsRead = %d, want 1000", st.RowsRead)
	}
	if st.BytesRead != 8000 { // UInt64 column
		t.Errorf("BytesRead = %d, want 8000", st.BytesRead)
	}
	if st.StorageRowsRead != 1000 {
		t.Errorf("StorageRowsRead = %d, want 1000", st.StorageRowsRead)
	}
	if st.Elapsed <= 0 || st.Elapsed > 60 {
		t.Errorf("Elapsed = %v, want a positive number of seconds", st.Elapsed)
	}
	if st.RowsWritten != 0 || st.BytesWritten != 0 {
		t.Errorf("a SELECT wrote %d rows, %d bytes", st.RowsWritten, st.BytesWritten)
	}

	tbl := uniqueName("stats")
	exec(t, c, "CREATE TABLE "+tbl+" (a UInt32) ENGINE = MergeTree ORDER BY a")
	ri, err := c.Query("INSERT INTO "+tbl+" SELECT number FROM numbers(7)", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	defer ri.Free()
	if ri.Stats.RowsWritten != 7 || ri.Stats.BytesWritten != 28 {
		t.Errorf("INSERT wrote %d rows, %d bytes; want 7, 28", ri.Stats.RowsWritten, ri.Stats.BytesWritten)
	}
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	tests := []struct {
		name     string
		sql      string
		code     int
		codeName string
		contains string
	}{
		{"unknown table", "SELECT * FROM no_such_table_xyz", 60, "UNKNOWN_TABLE", "no_such_table_xyz"},
		{"unknown database", "SELECT * FROM no_such_db_xyz.t", 81, "UNKNOWN_DATABASE", "no_such_db_xyz"},
		{"syntax error", "SELEC 1", 62, "SYNTAX_ERROR", "Syntax error"},
		{"unknown function", "SELECT no_such_function_xyz(1)", 46, "UNKNOWN_FUNCTION", "no_such_function_xyz"},
		{"throwIf", "SELECT throwIf(1)", 395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO", "throwIf"},
		{"unknown setting", "SET no_such_setting_xyz = 1", 115, "UNKNOWN_SETTING", "no_such_setting_xyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Query(tt.sql, "TabSeparated")
			if err == nil {
				r.Free()
				t.Fatalf("Query(%q) succeeded", tt.sql)
			}
			if r != nil {
				t.Errorf("Query returned a result with its error")
			}
			e := mustChdbError(t, err, tt.code, tt.codeName)
			if !strings.Contains(e.Message, tt.contains) {
				t.Errorf("message %q should contain %q", e.Message, tt.contains)
			}
			if !strings.HasSuffix(e.Message, "("+tt.codeName+")") && !strings.Contains(e.Message, "("+tt.codeName+") (version ") {
				t.Errorf("message %q should end with the name", e.Message)
			}
			// Exec reports the same error.
			mustChdbError(t, c.Exec(tt.sql), tt.code, tt.codeName)
			// An error leaves the connection usable.
			mustWork(t, c)
		})
	}
}

// ---- Exec and DDL ----

func TestExecRoundTrip(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	db := uniqueName("db_roundtrip")
	exec(t, c, "CREATE DATABASE "+db)
	t.Cleanup(func() {
		if err := c.Exec("DROP DATABASE IF EXISTS " + db); err != nil {
			t.Errorf("drop: %v", err)
		}
	})
	exec(t, c, "CREATE TABLE "+db+".events (id UInt64, name String, at DateTime('UTC'), tags Array(String), score Nullable(Float64)) ENGINE = MergeTree ORDER BY id")
	if got := query(t, c, "SHOW TABLES FROM "+db, "TabSeparated"); got != "events\n" {
		t.Fatalf("SHOW TABLES = %q", got)
	}
	if got := query(t, c, "SELECT engine FROM system.tables WHERE database = '"+db+"' AND name = 'events'", "TabSeparated"); got != "MergeTree\n" {
		t.Fatalf("engine = %q", got)
	}
	exec(t, c, `INSERT INTO `+db+`.events VALUES
		(3, 'c', '2024-01-03 00:00:00', ['x'], NULL),
		(1, 'a', '2024-01-01 10:20:30', [], 1.5),
		(2, 'b''s', '2024-01-02 00:00:00', ['y', 'z'], -2)`)
	got := query(t, c, "SELECT * FROM "+db+".events ORDER BY id", "TabSeparated")
	want := "1\ta\t2024-01-01 10:20:30\t[]\t1.5\n" +
		"2\tb\\'s\t2024-01-02 00:00:00\t['y','z']\t-2\n" +
		"3\tc\t2024-01-03 00:00:00\t['x']\t\\N\n"
	if got != want {
		t.Fatalf("round trip:\ngot  %q\nwant %q", got, want)
	}
	// The data is on disk in testPath and visible from another connection.
	other := openConn(t)
	if got := query(t, other, "SELECT count(), sum(id) FROM "+db+".events", "TabSeparated"); got != "3\t6\n" {
		t.Fatalf("other connection sees %q", got)
	}
	exec(t, c, "ALTER TABLE "+db+".events DELETE WHERE id = 2 SETTINGS mutations_sync = 1")
	if got := query(t, c, "SELECT groupArray(id) FROM (SELECT id FROM "+db+".events ORDER BY id)", "TabSeparated"); got != "[1,3]\n" {
		t.Fatalf("after delete: %q", got)
	}
	exec(t, c, "DROP TABLE "+db+".events")
	mustChdbError(t, c.Exec("SELECT * FROM "+db+".events"), 60, "UNKNOWN_TABLE")
	if err := c.Exec("CREATE DATABASE " + db); err == nil {
		t.Fatal("creating an existing database succeeded")
	} else {
		mustChdbError(t, err, 82, "DATABASE_ALREADY_EXISTS")
	}
}

// ---- streaming queries ----

// tsvNumbers is the TSV output of SELECT number FROM numbers(n).
func tsvNumbers(n int) []byte {
	var b []byte
	for i := range n {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, '\n')
	}
	return b
}

func TestStreamQuery(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	const rows = 1000000
	s, err := c.StreamQuery("SELECT number FROM numbers(1000000)", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	out, chunks := readAll(t, s)
	want := tsvNumbers(rows)
	if len(out) != len(want) {
		t.Fatalf("streamed %d bytes, want %d", len(out), len(want))
	}
	if !bytes.Equal(out, want) {
		t.Fatal("streamed output differs from the expected numbers")
	}
	if n := bytes.Count(out, []byte{'\n'}); n != rows {
		t.Fatalf("streamed %d rows, want %d", n, rows)
	}
	if chunks < 2 {
		t.Fatalf("streamed in %d chunk(s), want more than one", chunks)
	}
	t.Logf("%d bytes in %d chunks, stats %+v", len(out), chunks, s.Stats)
	if s.Stats.RowsRead != rows || s.Stats.BytesRead != 8*rows {
		t.Errorf("Stats = %+v, want RowsRead %d BytesRead %d", s.Stats, rows, 8*rows)
	}
	if s.Stats.Elapsed <= 0 {
		t.Errorf("Stats.Elapsed = %v after the whole stream, want > 0", s.Stats.Elapsed)
	}
	// After the end, Next keeps saying EOF.
	for range 2 {
		if b, err := s.Next(); err != io.EOF || b != nil {
			t.Fatalf("Next after EOF = %q, %v", b, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Next(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
	mustWork(t, c)
}

func TestStreamQueryFormats(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	const sql = "SELECT toUInt32(number) AS n, toString(number) AS s FROM numbers(200000)"
	// Formats without a header or footer: the chunks are the whole output, split.
	for _, format := range []string{"CSV", "JSONEachRow", "RowBinary", "Native"} {
		t.Run(format, func(t *testing.T) {
			s, err := c.StreamQuery(sql, format)
			if err != nil {
				t.Fatal(err)
			}
			got, chunks := readAll(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := c.Query(sql, format)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Free()
			if !bytes.Equal(got, r.Bytes()) {
				t.Fatalf("streamed %d bytes in %d chunks, Query returned %d bytes, and they differ", len(got), chunks, len(r.Bytes()))
			}
			if s.Stats.RowsRead != 200000 || r.Stats.RowsRead != 200000 {
				t.Errorf("RowsRead: stream %d, query %d, want 200000", s.Stats.RowsRead, r.Stats.RowsRead)
			}
		})
	}

	// Each chunk is formatted on its own: a format with a header repeats it
	// at the start of every chunk.
	t.Run("TSVWithNames repeats the header", func(t *testing.T) {
		s, err := c.StreamQuery(sql, "TSVWithNames")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		const header = "n\ts\n"
		var body []byte
		chunks := 0
		for {
			b, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte(header)) {
				t.Fatalf("chunk %d starts %q, want the header", chunks, b[:min(len(b), 20)])
			}
			chunks++
			body = append(body, b[len(header):]...)
		}
		if chunks < 2 {
			t.Fatalf("%d chunk(s), want several", chunks)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		want := query(t, c, sql, "TSV")
		if string(body) != want {
			t.Fatalf("chunk bodies (%d bytes) differ from the TSV output (%d bytes)", len(body), len(want))
		}
	})
}

func TestStreamQueryCloseEarly(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	for round := range 3 {
		// Far more rows than could be produced in the test's time: Close has to cancel.
		s, err := c.StreamQuery("SELECT number FROM numbers(100000000000)", "TabSeparated")
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Next()
		if err != nil || len(b) == 0 {
			t.Fatalf("round %d: first chunk: %d bytes, %v", round, len(b), err)
		}
		if !bytes.HasPrefix(b, []byte("0\n1\n2\n")) {
			t.Fatalf("first chunk starts %q", b[:min(len(b), 20)])
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		closed := make(chan error, 1)
		go func() { closed <- s.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
		case <-ctx.Done():
			cancel()
			t.Fatal("Close did not cancel the query within 30 s")
		}
		cancel()
		if _, err := s.Next(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close = %v, want ErrClosed", err)
		}
		mustWork(t, c)
	}
	// A full stream works after the cancelled ones.
	s, err := c.StreamQuery("SELECT number FROM numbers(300000)", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, _ := readAll(t, s)
	if !bytes.Equal(out, tsvNumbers(300000)) {
		t.Fatal("stream after cancellations returned wrong data")
	}
}

func TestStreamQueryErrors(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	tests := []struct {
		name     string
		sql      string
		code     int
		codeName string
	}{
		{"syntax error", "SELEC 1", 62, "SYNTAX_ERROR"},
		{"unknown table", "SELECT * FROM no_such_stream_table", 60, "UNKNOWN_TABLE"},
		{"unknown function", "SELECT no_such_function_xyz(number) FROM numbers(10)", 46, "UNKNOWN_FUNCTION"},
		{"throw at once", "SELECT throwIf(1)", 395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.StreamQuery(tt.sql, "TabSeparated")
			if err == nil {
				s.Close()
				t.Fatalf("StreamQuery(%q) succeeded", tt.sql)
			}
			if s != nil {
				t.Error("StreamQuery returned a stream with its error")
			}
			mustChdbError(t, err, tt.code, tt.codeName)
			mustWork(t, c) // the failed stream does not hold the connection
		})
	}

	t.Run("error mid-stream", func(t *testing.T) {
		s, err := c.StreamQuery("SELECT throwIf(number = 700000) FROM numbers(1000000)", "TabSeparated")
		if err != nil {
			t.Fatalf("StreamQuery: %v", err)
		}
		defer s.Close()
		chunks := 0
		for {
			b, err := s.Next()
			if err == nil {
				if len(b) == 0 {
					t.Fatal("empty chunk")
				}
				chunks++
				continue
			}
			if err == io.EOF {
				t.Fatalf("stream ended after %d chunks without the error", chunks)
			}
			mustChdbError(t, err, 395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO")
			break
		}
		if chunks == 0 {
			t.Error("no chunk before the error")
		}
		if _, err := s.Next(); err != io.EOF {
			t.Errorf("Next after the error = %v, want io.EOF", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		mustWork(t, c)
	})

	t.Run("empty result", func(t *testing.T) {
		s, err := c.StreamQuery("SELECT number FROM numbers(10) WHERE number > 100", "TabSeparated")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if b, err := s.Next(); err != io.EOF {
			t.Fatalf("Next = %q, %v; want io.EOF", b, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		mustWork(t, c)
	})
}

// ---- streaming inserts ----

// blankLineRows are strings full of blank lines, CR LF and quotes.
var blankLineRows = []string{
	"a\n\nb",
	"\n\n",
	"",
	"line1\r\n\r\nline2",
	"say \"hi\"\n\n",
	"\n",
	"comma, \"quote\", and\n\n\nthree blank lines",
	"ünïcödé\n\n✓",
}

// csvOf encodes blankLineRows as id,"s" CSV rows.
func csvOf(rows []string) []byte {
	var b bytes.Buffer
	for i, s := range rows {
		fmt.Fprintf(&b, "%d,%s\n", i+1, csvQuote(s))
	}
	return b.Bytes()
}

// hexRows is the expected "id\thex(s)" output for rows.
func hexRows(rows []string) string {
	var b strings.Builder
	for i, s := range rows {
		fmt.Fprintf(&b, "%d\t%s\n", i+1, strings.ToUpper(hex.EncodeToString([]byte(s))))
	}
	return b.String()
}

func newTable(t *testing.T, c *Conn, columns string) string {
	t.Helper()
	tbl := uniqueName("ins")
	exec(t, c, "CREATE TABLE "+tbl+" ("+columns+") ENGINE = MergeTree ORDER BY tuple()")
	return tbl
}

func TestStreamInsertCSVBlankLines(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	data := csvOf(blankLineRows)
	for _, size := range []int{0, 1, 2, 3, 7, 64} {
		t.Run(fmt.Sprintf("chunk %d", size), func(t *testing.T) {
			tbl := newTable(t, c, "id UInt32, s String")
			st := insertChunks(t, c, "INSERT INTO "+tbl, "CSV", data, size)
			if st.RowsWritten != uint64(len(blankLineRows)) {
				t.Errorf("RowsWritten = %d, want %d", st.RowsWritten, len(blankLineRows))
			}
			// Byte-exact: compare hex of every stored string.
			if got, want := query(t, c, "SELECT id, hex(s) FROM "+tbl+" ORDER BY id", "TabSeparated"), hexRows(blankLineRows); got != want {
				t.Fatalf("stored strings differ:\ngot  %q\nwant %q", got, want)
			}
			// And the engine writes the same CSV back.
			if got := query(t, c, "SELECT id, s FROM "+tbl+" ORDER BY id", "CSV"); got != string(data) {
				t.Fatalf("CSV read back:\ngot  %q\nwant %q", got, data)
			}
			mustWork(t, c)
		})
	}
}

func TestStreamInsertCSVBlankLinesBetweenRows(t *testing.T) {
	t.Parallel()
	c := openConn(t)

	// With one String column a blank line is a row holding "": blank lines
	// between rows are kept as rows, none dropped and none merged.
	t.Run("one column", func(t *testing.T) {
		data := []byte("first\n\n\"two\n\nlines\"\n\n\nlast\n")
		want := []string{"first", "", "two\n\nlines", "", "", "last"}
		for _, size := range []int{0, 1, 7} {
			tbl := uniqueName("blank")
			exec(t, c, "CREATE TABLE "+tbl+" (s String) ENGINE = Memory")
			st := insertChunks(t, c, "INSERT INTO "+tbl, "CSV", data, size)
			if st.RowsWritten != uint64(len(want)) {
				t.Errorf("chunk %d: RowsWritten = %d, want %d", size, st.RowsWritten, len(want))
			}
			var exp strings.Builder
			for _, s := range want {
				exp.WriteString(strings.ToUpper(hex.EncodeToString([]byte(s))) + "\n")
			}
			// Memory keeps insertion order.
			if got := query(t, c, "SELECT hex(s) FROM "+tbl, "TabSeparated"); got != exp.String() {
				t.Fatalf("chunk %d: got %q, want %q", size, got, exp.String())
			}
		}
	})

	// With two columns a blank line between rows is a row with too few
	// fields: the engine refuses the whole insert.
	t.Run("two columns", func(t *testing.T) {
		tbl := newTable(t, c, "id UInt32, s String")
		in, err := c.StreamInsert("INSERT INTO "+tbl, "CSV")
		if err != nil {
			t.Fatal(err)
		}
		err = in.Append([]byte("1,\"a\n\nb\"\n\n2,\"c\"\n"))
		if err == nil {
			_, err = in.Done()
		} else {
			in.Cancel()
		}
		e := anyChdbError(t, err)
		t.Logf("engine: %s", e.Message)
		if got := query(t, c, "SELECT count() FROM "+tbl, "TabSeparated"); got != "0\n" {
			t.Fatalf("count after a refused insert = %q, want 0", got)
		}
		mustWork(t, c)
	})
}

func TestStreamInsertJSONEachRow(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	var data bytes.Buffer
	for i, s := range blankLineRows {
		line, err := json.Marshal(map[string]any{"id": i + 1, "s": s})
		if err != nil {
			t.Fatal(err)
		}
		data.Write(line)
		data.WriteString("\n\n") // blank lines between objects are whitespace
	}
	for _, size := range []int{0, 7} {
		t.Run(fmt.Sprintf("chunk %d", size), func(t *testing.T) {
			tbl := newTable(t, c, "id UInt32, s String")
			st := insertChunks(t, c, "INSERT INTO "+tbl, "JSONEachRow", data.Bytes(), size)
			if st.RowsWritten != uint64(len(blankLineRows)) {
				t.Errorf("RowsWritten = %d, want %d", st.RowsWritten, len(blankLineRows))
			}
			if got, want := query(t, c, "SELECT id, hex(s) FROM "+tbl+" ORDER BY id", "TabSeparated"), hexRows(blankLineRows); got != want {
				t.Fatalf("stored strings differ:\ngot  %q\nwant %q", got, want)
			}
			// Decode what the engine writes back.
			out := query(t, c, "SELECT id, s FROM "+tbl+" ORDER BY id", "JSONEachRow")
			dec := json.NewDecoder(strings.NewReader(out))
			for i, s := range blankLineRows {
				var row struct {
					ID int    `json:"id"`
					S  string `json:"s"`
				}
				if err := dec.Decode(&row); err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				if row.ID != i+1 || row.S != s {
					t.Fatalf("row %d = %+v, want %q", i, row, s)
				}
			}
		})
	}
}

func TestStreamInsertChunked(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	const rows = 5000
	var data bytes.Buffer
	for i := range rows {
		fmt.Fprintf(&data, "%d,%s,%d.5\n", i, csvQuote(fmt.Sprintf("row %d\n\nwith \"quotes\", commas", i)), i)
	}
	for _, size := range []int{7, 1000, 4096} {
		t.Run(fmt.Sprintf("chunk %d", size), func(t *testing.T) {
			tbl := newTable(t, c, "id UInt32, s String, f Float64")
			st := insertChunks(t, c, "INSERT INTO "+tbl, "CSV", data.Bytes(), size)
			if st.RowsWritten != rows {
				t.Errorf("RowsWritten = %d, want %d", st.RowsWritten, rows)
			}
			if st.BytesWritten == 0 {
				t.Error("BytesWritten = 0")
			}
			if got := query(t, c, "SELECT id, s, f FROM "+tbl+" ORDER BY id", "CSV"); got != data.String() {
				t.Fatalf("read back %d bytes, inserted %d, and they differ", len(got), data.Len())
			}
		})
	}

	t.Run("empty and single-byte appends", func(t *testing.T) {
		tbl := newTable(t, c, "id UInt32, s String")
		in, err := c.StreamInsert("INSERT INTO "+tbl+" (id, s)", "TabSeparated")
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range [][]byte{nil, []byte("1\t"), {}, []byte("x"), []byte("\n"), nil, []byte("2\ty\\n\n")} {
			if err := in.Append(part); err != nil {
				in.Cancel()
				t.Fatalf("Append(%q): %v", part, err)
			}
		}
		st, err := in.Done()
		if err != nil {
			t.Fatal(err)
		}
		if st.RowsWritten != 2 {
			t.Errorf("RowsWritten = %d, want 2", st.RowsWritten)
		}
		if got := query(t, c, "SELECT id, hex(s) FROM "+tbl+" ORDER BY id", "TabSeparated"); got != "1\t78\n2\t790A\n" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("nothing appended", func(t *testing.T) {
		tbl := newTable(t, c, "id UInt32")
		st := insertChunks(t, c, "INSERT INTO "+tbl, "CSV", nil, 0)
		if st.RowsWritten != 0 {
			t.Errorf("RowsWritten = %d, want 0", st.RowsWritten)
		}
		if got := query(t, c, "SELECT count() FROM "+tbl, "TabSeparated"); got != "0\n" {
			t.Fatalf("count = %q", got)
		}
	})

	t.Run("binary RowBinary with NUL bytes", func(t *testing.T) {
		tbl := newTable(t, c, "id UInt32, s String")
		// RowBinary: UInt32 little-endian, then a varint-length string.
		var rb []byte
		vals := []string{"\x00\x00", "a\x00b", ""}
		for i, s := range vals {
			rb = append(rb, byte(i+1), 0, 0, 0, byte(len(s)))
			rb = append(rb, s...)
		}
		st := insertChunks(t, c, "INSERT INTO "+tbl, "RowBinary", rb, 3)
		if st.RowsWritten != uint64(len(vals)) {
			t.Errorf("RowsWritten = %d", st.RowsWritten)
		}
		if got := query(t, c, "SELECT id, hex(s) FROM "+tbl+" ORDER BY id", "TabSeparated"); got != "1\t0000\n2\t610062\n3\t\n" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestStreamInsertBadData(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	tests := []struct {
		name   string
		format string
		data   string
	}{
		{"CSV not a number", "CSV", "1,\"ok\"\nnotanumber,\"x\"\n"},
		{"CSV too few columns", "CSV", "1,\"ok\"\n2\n"},
		{"CSV too many columns", "CSV", "1,\"a\",3,4\n"},
		{"JSON garbage", "JSONEachRow", "{\"id\": 1, \"s\": \"ok\"}\n{not json\n"},
		{"JSON wrong type", "JSONEachRow", "{\"id\": \"abc\", \"s\": \"x\"}\n"},
		{"TSV not a number", "TabSeparated", "1\tok\nx\ty\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := newTable(t, c, "id UInt32, s String")
			in, err := c.StreamInsert("INSERT INTO "+tbl, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			var st Stats
			err = in.Append([]byte(tt.data))
			if err != nil {
				// A failed append leaves the insert open; Done reports the failure too.
				_, doneErr := in.Done()
				if doneErr == nil {
					t.Error("Done after a failed Append succeeded")
				}
			} else {
				st, err = in.Done()
			}
			e := anyChdbError(t, err)
			t.Logf("%s: code %d %s", tt.name, e.Code, e.Name)
			if st != (Stats{}) {
				t.Errorf("failed insert returned stats %+v", st)
			}
			if got := query(t, c, "SELECT count() FROM "+tbl, "TabSeparated"); got != "0\n" {
				t.Fatalf("count after a failed insert = %q, want 0", got)
			}
			// The insert is over: calls on it say so, and the connection is free.
			if err := in.Append([]byte("1,\"x\"\n")); !errors.Is(err, ErrClosed) {
				t.Errorf("Append after failure = %v, want ErrClosed", err)
			}
			if _, err := in.Done(); !errors.Is(err, ErrClosed) {
				t.Errorf("Done after failure = %v, want ErrClosed", err)
			}
			in.Cancel()
			mustWork(t, c)
		})
	}
}

func TestStreamInsertStartErrors(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	tbl := newTable(t, c, "id UInt32")
	tests := []struct {
		name     string
		sql      string
		format   string
		code     int
		codeName string
	}{
		{"unknown table", "INSERT INTO no_such_insert_table", "CSV", 60, "UNKNOWN_TABLE"},
		{"unknown format", "INSERT INTO " + tbl, "NoSuchFormat", 73, "UNKNOWN_FORMAT"},
		{"syntax error", "INSERT INTOO " + tbl, "CSV", 62, "SYNTAX_ERROR"},
		{"unknown column", "INSERT INTO " + tbl + " (nope)", "CSV", 16, "NO_SUCH_COLUMN_IN_TABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := c.StreamInsert(tt.sql, tt.format)
			if err == nil {
				in.Cancel()
				t.Fatalf("StreamInsert(%q, %q) succeeded", tt.sql, tt.format)
			}
			if in != nil {
				t.Error("StreamInsert returned an insert with its error")
			}
			mustChdbError(t, err, tt.code, tt.codeName)
			mustWork(t, c)
		})
	}
}

func TestStreamInsertCancel(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	tbl := newTable(t, c, "id UInt32, s String")
	in, err := c.StreamInsert("INSERT INTO "+tbl, "CSV")
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Append(csvOf(blankLineRows)); err != nil {
		t.Fatal(err)
	}
	in.Cancel()
	in.Cancel() // safe twice
	if got := query(t, c, "SELECT count() FROM "+tbl, "TabSeparated"); got != "0\n" {
		t.Fatalf("count after Cancel = %q, want 0", got)
	}
	if err := in.Append([]byte("1,\"x\"\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Cancel = %v, want ErrClosed", err)
	}
	if _, err := in.Done(); !errors.Is(err, ErrClosed) {
		t.Errorf("Done after Cancel = %v, want ErrClosed", err)
	}
	mustWork(t, c)

	// Done, then Cancel: the data stays.
	st := insertChunks(t, c, "INSERT INTO "+tbl, "CSV", []byte("1,\"kept\"\n"), 0)
	if st.RowsWritten != 1 {
		t.Fatalf("RowsWritten = %d", st.RowsWritten)
	}
	in, err = c.StreamInsert("INSERT INTO "+tbl, "CSV")
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Append([]byte("2,\"also kept\"\n")); err != nil {
		t.Fatal(err)
	}
	if st, err := in.Done(); err != nil || st.RowsWritten != 1 {
		t.Fatalf("Done = %+v, %v", st, err)
	}
	in.Cancel() // safe after Done
	if _, err := in.Done(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Done = %v, want ErrClosed", err)
	}
	if got := query(t, c, "SELECT groupArray(s) FROM (SELECT s FROM "+tbl+" ORDER BY id)", "TabSeparated"); got != "['kept','also kept']\n" {
		t.Fatalf("table holds %q", got)
	}
}

// ---- one statement at a time per connection ----

func TestBusyConnection(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	tbl := newTable(t, c, "id UInt32")
	calls := []struct {
		name string
		call func() error
	}{
		{"Query", func() error { _, err := c.Query("SELECT 1", "CSV"); return err }},
		{"Exec", func() error { return c.Exec("SELECT 1") }},
		{"Classify", func() error { _, err := c.Classify("SELECT 1"); return err }},
		{"StreamQuery", func() error { _, err := c.StreamQuery("SELECT 1", "CSV"); return err }},
		{"StreamInsert", func() error { _, err := c.StreamInsert("INSERT INTO "+tbl, "CSV"); return err }},
	}
	holders := []struct {
		name string
		open func(t *testing.T) (finish func())
	}{
		{"Stream", func(t *testing.T) func() {
			s, err := c.StreamQuery("SELECT number FROM numbers(10000000)", "TabSeparated")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
			return func() {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"finished Stream not yet closed", func(t *testing.T) func() {
			s, err := c.StreamQuery("SELECT 1", "TabSeparated")
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, s)
			return func() { s.Close() }
		}},
		{"Insert", func(t *testing.T) func() {
			in, err := c.StreamInsert("INSERT INTO "+tbl, "CSV")
			if err != nil {
				t.Fatal(err)
			}
			if err := in.Append([]byte("1\n")); err != nil {
				t.Fatal(err)
			}
			return func() {
				if _, err := in.Done(); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"cancelled Insert", func(t *testing.T) func() {
			in, err := c.StreamInsert("INSERT INTO "+tbl, "CSV")
			if err != nil {
				t.Fatal(err)
			}
			return in.Cancel
		}},
	}
	other := openConn(t)
	for _, h := range holders {
		t.Run(h.name, func(t *testing.T) {
			finish := h.open(t)
			for _, tc := range calls {
				mustChdbError(t, tc.call(), 373, "SESSION_IS_LOCKED")
			}
			// Other connections are not held up.
			mustWork(t, other)
			finish()
			mustWork(t, c)
		})
	}
	if got := query(t, c, "SELECT count() FROM "+tbl, "TabSeparated"); got != "1\n" {
		t.Fatalf("count = %q, want the one committed row", got)
	}
}

func TestCloseWhileStreaming(t *testing.T) {
	t.Parallel()

	t.Run("Stream", func(t *testing.T) {
		c, err := Open(testPath)
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.StreamQuery("SELECT number FROM numbers(500000)", "TabSeparated")
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close with an open stream: %v", err)
		}
		if _, err := c.Query("SELECT 1", "CSV"); !errors.Is(err, ErrClosed) {
			t.Errorf("Query on a closing Conn = %v, want ErrClosed", err)
		}
		// The stream still runs to its end; closing it closes the connection.
		out, _ := readAll(t, s)
		if !bytes.Equal(out, tsvNumbers(500000)) {
			t.Error("stream output wrong after Conn.Close")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if c.handle != nil {
			t.Fatal("connection still open after its stream closed")
		}
		if _, err := c.Query("SELECT 1", "CSV"); !errors.Is(err, ErrClosed) {
			t.Errorf("Query = %v, want ErrClosed", err)
		}
	})

	t.Run("Insert", func(t *testing.T) {
		setup := openConn(t)
		tbl := newTable(t, setup, "id UInt32")
		c, err := Open(testPath)
		if err != nil {
			t.Fatal(err)
		}
		in, err := c.StreamInsert("INSERT INTO "+tbl, "CSV")
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close with an open insert: %v", err)
		}
		if err := in.Append([]byte("1\n2\n3\n")); err != nil {
			t.Fatal(err)
		}
		if st, err := in.Done(); err != nil || st.RowsWritten != 3 {
			t.Fatalf("Done = %+v, %v", st, err)
		}
		if c.handle != nil {
			t.Fatal("connection still open after its insert finished")
		}
		if got := query(t, setup, "SELECT sum(id) FROM "+tbl, "TabSeparated"); got != "6\n" {
			t.Fatalf("sum = %q, want 6", got)
		}
	})
}

// ---- Classify ----

func TestClassify(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	tests := []struct {
		sql        string
		statements int
		class      QueryClass
		secrets    bool
	}{
		{"SELECT 1", 1, ReadOnly, false},
		{"SELECT 1; SELECT 2", 2, ReadOnly, false},
		{"SHOW TABLES", 1, ReadOnly, false},
		{"INSERT INTO t VALUES (1)", 1, Mutating, false},
		{"SELECT 1; INSERT INTO t VALUES (1)", 2, Mutating, false},
		{"CREATE TABLE t (a Int8) ENGINE = Memory", 1, Mutating, false},
		{"DROP TABLE t", 1, Mutating, false},
		{"CREATE FUNCTION classify_f AS x -> x + 1", 1, MutatingGlobal, false},
		{"USE default", 1, Control, false},
		{"SET max_threads=1", 1, Control, false},
		{"SELECT 1; SET max_threads = 1", 2, Control, false},
		{"SELECT * FROM s3('http://example.com/x.csv', 'AKIAEXAMPLE', 'secretkey')", 1, ReadOnly, true},
		{"garbage !!", 0, Unknown, false},
		{"SELEC 1", 0, Unknown, false},
		{"", 0, Unknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			a, err := c.Classify(tt.sql)
			if err != nil {
				t.Fatalf("Classify(%q): %v", tt.sql, err)
			}
			want := Analysis{Statements: tt.statements, Class: tt.class, HasSecrets: tt.secrets}
			if a != want {
				t.Errorf("Classify(%q) = %+v, want %+v", tt.sql, a, want)
			}
		})
	}

	t.Run("runs nothing", func(t *testing.T) {
		tbl := uniqueName("classified")
		state := "SELECT currentDatabase(), getSetting('max_threads'), " +
			"(SELECT count() FROM system.tables WHERE name = '" + tbl + "'), " +
			"(SELECT count() FROM system.databases WHERE name = '" + tbl + "')"
		before := query(t, c, state, "TabSeparated")
		if !strings.HasPrefix(before, "default\t") || !strings.HasSuffix(before, "\t0\t0\n") {
			t.Fatalf("unexpected state before: %q", before)
		}
		for _, sql := range []string{
			"CREATE TABLE " + tbl + " (a Int8) ENGINE = Memory",
			"CREATE DATABASE " + tbl,
			"USE system",
			"SET max_threads = 1",
			"SET max_threads = 9",
		} {
			if _, err := c.Classify(sql); err != nil {
				t.Fatal(err)
			}
		}
		if after := query(t, c, state, "TabSeparated"); after != before {
			t.Fatalf("Classify changed the session: %q, before %q", after, before)
		}
	})
}

// ---- per-connection session state ----

func TestSettingsStickToConnection(t *testing.T) {
	t.Parallel()
	a := openConn(t)
	b := openConn(t)
	get := func(c *Conn) string {
		t.Helper()
		return strings.TrimSuffix(query(t, c, "SELECT getSetting('max_threads')", "TabSeparated"), "\n")
	}
	def := get(b)
	if def == "" || get(a) != def {
		t.Fatalf("fresh connections disagree on max_threads: %q vs %q", get(a), def)
	}
	value := "3"
	if def == value {
		value = "5"
	}
	exec(t, a, "SET max_threads = "+value)
	if got := get(a); got != value {
		t.Errorf("A: max_threads = %q after SET, want %s", got, value)
	}
	if got := get(b); got != def {
		t.Errorf("B: max_threads = %q, want the default %q", got, def)
	}
	// A new connection does not inherit it either.
	if got := get(openConn(t)); got != def {
		t.Errorf("new connection: max_threads = %q, want %q", got, def)
	}
	exec(t, a, "SET max_threads = DEFAULT")
	if got := get(a); got != def {
		t.Errorf("A after SET DEFAULT: max_threads = %q, want %q", got, def)
	}

	t.Run("USE", func(t *testing.T) {
		db := uniqueName("db_use")
		exec(t, a, "CREATE DATABASE "+db)
		defer exec(t, a, "DROP DATABASE "+db)
		exec(t, a, "USE "+db)
		defer exec(t, a, "USE default")
		if got := query(t, a, "SELECT currentDatabase()", "TabSeparated"); got != db+"\n" {
			t.Errorf("A: currentDatabase = %q", got)
		}
		if got := query(t, b, "SELECT currentDatabase()", "TabSeparated"); got != "default\n" {
			t.Errorf("B: currentDatabase = %q", got)
		}
		// Unqualified names resolve in A's database.
		exec(t, a, "CREATE TABLE here (x UInt8) ENGINE = Memory")
		if got := query(t, b, "SELECT count() FROM system.tables WHERE database = '"+db+"' AND name = 'here'", "TabSeparated"); got != "1\n" {
			t.Errorf("table not created in %s: %q", db, got)
		}
	})

	t.Run("temporary table", func(t *testing.T) {
		tmp := uniqueName("tmp")
		exec(t, a, "CREATE TEMPORARY TABLE "+tmp+" (x UInt8)")
		exec(t, a, "INSERT INTO "+tmp+" VALUES (7)")
		if got := query(t, a, "SELECT x FROM "+tmp, "TabSeparated"); got != "7\n" {
			t.Errorf("A: %q", got)
		}
		_, err := b.Query("SELECT x FROM "+tmp, "TabSeparated")
		mustChdbError(t, err, 60, "UNKNOWN_TABLE")
		exec(t, a, "DROP TEMPORARY TABLE "+tmp)
	})
}

// ---- concurrency ----

func TestConcurrentConnections(t *testing.T) {
	t.Parallel()
	const workers = 8
	const rounds = 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			errs <- func() error {
				c, err := Open(testPath)
				if err != nil {
					return err
				}
				defer c.Close()
				tbl := uniqueName("conc")
				if err := c.Exec("CREATE TABLE " + tbl + " (w UInt32, i UInt32) ENGINE = MergeTree ORDER BY i"); err != nil {
					return err
				}
				for i := range rounds {
					n := uint64(1000*(w+1) + i)
					r, err := c.Query(fmt.Sprintf("SELECT sum(number), count() FROM numbers(%d)", n), "TabSeparated")
					if err != nil {
						return fmt.Errorf("worker %d round %d: %w", w, i, err)
					}
					got := string(r.Bytes())
					r.Free()
					if want := fmt.Sprintf("%d\t%d\n", n*(n-1)/2, n); got != want {
						return fmt.Errorf("worker %d round %d: got %q, want %q", w, i, got, want)
					}
					if err := c.Exec(fmt.Sprintf("INSERT INTO %s VALUES (%d, %d)", tbl, w, i)); err != nil {
						return fmt.Errorf("worker %d insert %d: %w", w, i, err)
					}
					if t.Context().Err() != nil {
						return t.Context().Err()
					}
				}
				r, err := c.Query("SELECT count(), sum(i), min(w), max(w) FROM "+tbl, "TabSeparated")
				if err != nil {
					return err
				}
				defer r.Free()
				if got, want := string(r.Bytes()), fmt.Sprintf("%d\t%d\t%d\t%d\n", rounds, rounds*(rounds-1)/2, w, w); got != want {
					return fmt.Errorf("worker %d table: got %q, want %q", w, got, want)
				}
				return nil
			}()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// One Conn shared by goroutines: its mutex runs their statements one at a time.
func TestSharedConnection(t *testing.T) {
	t.Parallel()
	c := openConn(t)
	const goroutines = 4
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*20)
	for g := range goroutines {
		wg.Go(func() {
			for i := range 20 {
				n := g*100 + i
				r, err := c.Query(fmt.Sprintf("SELECT %d * 2", n), "TabSeparated")
				if err != nil {
					errs <- err
					return
				}
				if got, want := string(r.Bytes()), fmt.Sprintf("%d\n", n*2); got != want {
					errs <- fmt.Errorf("goroutine %d: got %q, want %q", g, got, want)
				}
				r.Free()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Streams on several connections at once, each read to the end.
func TestConcurrentStreams(t *testing.T) {
	t.Parallel()
	const streams = 4
	var wg sync.WaitGroup
	results := make([][]byte, streams)
	errs := make([]error, streams)
	conns := make([]*Conn, streams)
	for i := range conns {
		conns[i] = openConn(t)
	}
	for i := range streams {
		wg.Go(func() {
			s, err := conns[i].StreamQuery(fmt.Sprintf("SELECT number FROM numbers(%d)", 100000*(i+1)), "TabSeparated")
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			for {
				b, err := s.Next()
				if err == io.EOF {
					return
				}
				if err != nil {
					errs[i] = err
					return
				}
				results[i] = append(results[i], b...)
			}
		})
	}
	wg.Wait()
	for i := range streams {
		if errs[i] != nil {
			t.Errorf("stream %d: %v", i, errs[i])
			continue
		}
		if !bytes.Equal(results[i], tsvNumbers(100000*(i+1))) {
			t.Errorf("stream %d: wrong output (%d bytes)", i, len(results[i]))
		}
	}
}

// ---- query parameters ----

func TestParams(t *testing.T) {
	t.Parallel()
	c := openConn(t)

	t.Run("Query", func(t *testing.T) {
		// Values are parsed as the engine parses TSV fields: a newline, tab
		// or backslash has to be escaped, a quote or a NUL need not be.
		evil := "it's \"quoted\"; DROP TABLE x; --\n\t\\ \x00end"
		escaped := strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\t", "\\t").Replace(evil)
		r, err := c.Query("SELECT {a:UInt32} + 1, hex({s:String}), length({s:String})", "TabSeparated",
			Param{Name: "a", Value: "41"}, Param{Name: "s", Value: escaped})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Free()
		want := fmt.Sprintf("42\t%s\t%d\n", strings.ToUpper(hex.EncodeToString([]byte(evil))), len(evil))
		if got := string(r.Bytes()); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})

	t.Run("Query missing parameter", func(t *testing.T) {
		_, err := c.Query("SELECT {a:UInt32}, {b:UInt32}", "TabSeparated", Param{Name: "a", Value: "1"})
		e := anyChdbError(t, err)
		if !strings.Contains(e.Message, "b") {
			t.Errorf("message %q should name the missing parameter", e.Message)
		}
		mustWork(t, c)
	})

	t.Run("Query bad value", func(t *testing.T) {
		_, err := c.Query("SELECT {a:UInt32}", "TabSeparated", Param{Name: "a", Value: "not a number"})
		anyChdbError(t, err)
		// A raw newline does not parse as a String value.
		_, err = c.Query("SELECT {s:String}", "TabSeparated", Param{Name: "s", Value: "two\nlines"})
		mustChdbError(t, err, 457, "BAD_QUERY_PARAMETER")
		mustWork(t, c)
	})

	t.Run("parameters do not outlive the call", func(t *testing.T) {
		if got := query(t, c, "SELECT 1", "TabSeparated"); got != "1\n" {
			t.Fatal(got)
		}
		_, err := c.Query("SELECT {a:UInt32}", "TabSeparated")
		anyChdbError(t, err)
	})

	t.Run("StreamQuery", func(t *testing.T) {
		s, err := c.StreamQuery("SELECT number FROM numbers({n:UInt64})", "TabSeparated", Param{Name: "n", Value: "300000"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, _ := readAll(t, s)
		if !bytes.Equal(out, tsvNumbers(300000)) {
			t.Fatalf("streamed %d bytes, want the numbers below 300000", len(out))
		}
	})

	t.Run("StreamInsert", func(t *testing.T) {
		tbl := newTable(t, c, "id UInt32, s String")
		in, err := c.StreamInsert("INSERT INTO {t:Identifier}", "CSV", Param{Name: "t", Value: tbl})
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Append(csvOf(blankLineRows)); err != nil {
			in.Cancel()
			t.Fatal(err)
		}
		st, err := in.Done()
		if err != nil {
			t.Fatal(err)
		}
		if st.RowsWritten != uint64(len(blankLineRows)) {
			t.Errorf("RowsWritten = %d", st.RowsWritten)
		}
		if got, want := query(t, c, "SELECT id, hex(s) FROM "+tbl+" ORDER BY id", "TabSeparated"), hexRows(blankLineRows); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
