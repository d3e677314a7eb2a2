package clickhouse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/touchstream/touchstream/embedded/chdb"
)

func TestSplitInsert(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		isInsert bool
		complete bool
		stmt     string // want Statement, when isInsert && complete
		format   string // want Format
		data     string // want in[DataStart:]
	}{
		{"csv", "INSERT INTO t FORMAT CSV\n1,2\n", true, true, "INSERT INTO t", "CSV", "1,2\n"},
		{"blank lines in data", "INSERT INTO t FORMAT TSV\na\n\nb\n\n", true, true, "INSERT INTO t", "TSV", "a\n\nb\n\n"},
		{"columns", "INSERT INTO t (a, b) FORMAT TSV\n1\t2\n", true, true, "INSERT INTO t (a, b)", "TSV", "1\t2\n"},
		{"columns without spaces", "INSERT INTO t(a,b)FORMAT CSV\n1,2", true, true, "INSERT INTO t(a,b)", "CSV", "1,2"},
		{"nested parens in columns", "INSERT INTO t (a, `b)`) FORMAT CSV\nx", true, true, "INSERT INTO t (a, `b)`)", "CSV", "x"},
		{"qualified", "INSERT INTO db.t FORMAT JSONEachRow\n{\"a\":1}\n", true, true, "INSERT INTO db.t", "JSONEachRow", "{\"a\":1}\n"},
		{"backquoted", "INSERT INTO `my db`.`t``x` FORMAT CSV\n1\n", true, true, "INSERT INTO `my db`.`t``x`", "CSV", "1\n"},
		{"backquoted with FORMAT inside", "INSERT INTO `FORMAT CSV` FORMAT TSV\n1\n", true, true, "INSERT INTO `FORMAT CSV`", "TSV", "1\n"},
		{"double quoted", "INSERT INTO \"t\" FORMAT CSV\n1\n", true, true, "INSERT INTO \"t\"", "CSV", "1\n"},
		{"without INTO", "INSERT t FORMAT CSV\n1\n", true, true, "INSERT t", "CSV", "1\n"},
		{"INTO TABLE", "INSERT INTO TABLE t FORMAT CSV\n1\n", true, true, "INSERT INTO TABLE t", "CSV", "1\n"},
		{"function", "INSERT INTO FUNCTION file('a;b.csv', 'CSV', 'x String') FORMAT CSV\nq\n", true, true, "INSERT INTO FUNCTION file('a;b.csv', 'CSV', 'x String')", "CSV", "q\n"},
		{"table function with nested call", "INSERT INTO TABLE FUNCTION remote('h', db, t, 'u', concat('p', ')')) VALUES (1)", true, true, "INSERT INTO TABLE FUNCTION remote('h', db, t, 'u', concat('p', ')'))", "Values", " (1)"},
		{"settings with quoted semicolon", "INSERT INTO t SETTINGS async_insert = 0, log_comment = 'x;y FORMAT z' FORMAT JSONEachRow\n{\"a\":1}", true, true, "INSERT INTO t SETTINGS async_insert = 0, log_comment = 'x;y FORMAT z'", "JSONEachRow", "{\"a\":1}"},
		{"settings with escaped quote", "INSERT INTO t SETTINGS log_comment = 'it\\'s FORMAT x' FORMAT CSV\n1", true, true, "INSERT INTO t SETTINGS log_comment = 'it\\'s FORMAT x'", "CSV", "1"},
		{"values", "INSERT INTO t VALUES (1, 'a'), (2, 'b')", true, true, "INSERT INTO t", "Values", " (1, 'a'), (2, 'b')"},
		{"values with columns no space", "INSERT INTO t (a) VALUES(1)", true, true, "INSERT INTO t (a)", "Values", "(1)"},
		{"values newline", "INSERT INTO t VALUES\n(1)\n\n(2)", true, true, "INSERT INTO t", "Values", "\n(1)\n\n(2)"},
		{"lowercase", "insert into t format csv\n1", true, true, "insert into t", "csv", "1"},
		{"lowercase values", "insert into t values (1)", true, true, "insert into t", "Values", " (1)"},
		{"mixed case", "InSeRt InTo t FoRmAt CSV\n1", true, true, "InSeRt InTo t", "CSV", "1"},
		{"CRLF after format", "INSERT INTO t FORMAT CSV\r\n1,2\r\n", true, true, "INSERT INTO t", "CSV", "1,2\r\n"},
		{"only one line break is skipped", "INSERT INTO t FORMAT CSV\n\n1", true, true, "INSERT INTO t", "CSV", "\n1"},
		{"spaces then line break", "INSERT INTO t FORMAT CSV  \t\n1", true, true, "INSERT INTO t", "CSV", "1"},
		{"data on the same line", "INSERT INTO t FORMAT CSV 1,2", true, true, "INSERT INTO t", "CSV", "1,2"},
		{"tab before format name", "INSERT INTO t FORMAT\tTSV\n1", true, true, "INSERT INTO t", "TSV", "1"},
		{"binary data after line break", "INSERT INTO t FORMAT RowBinary\n \x00\n\x00", true, true, "INSERT INTO t", "RowBinary", " \x00\n\x00"},
		{"comment after format name is data", "INSERT INTO t FORMAT CSV -- c\n1", true, true, "INSERT INTO t", "CSV", "-- c\n1"},
		{"comments", "/* c */ INSERT -- x\nINTO t # y\n /* FORMAT TSV */ FORMAT CSV\n1", true, true, "/* c */ INSERT -- x\nINTO t # y\n /* FORMAT TSV */", "CSV", "1"},
		{"leading whitespace", "\n\t  INSERT INTO t FORMAT CSV\n1", true, true, "INSERT INTO t", "CSV", "1"},
		{"table named format", "INSERT INTO format FORMAT CSV\n1", true, true, "INSERT INTO format", "CSV", "1"},
		{"table named values", "INSERT INTO values VALUES (1)", true, true, "INSERT INTO values", "Values", " (1)"},
		{"column named format", "INSERT INTO t (format) FORMAT TSV\n1", true, true, "INSERT INTO t (format)", "TSV", "1"},
		{"db named format", "INSERT INTO format.format FORMAT CSV\n1", true, true, "INSERT INTO format.format", "CSV", "1"},
		{"no format nor values", "INSERT INTO t (a, b)", true, true, "INSERT INTO t (a, b)", "Values", ""},

		{"insert select", "INSERT INTO t SELECT 1", false, true, "", "", ""},
		{"insert columns select", "INSERT INTO t (a) SELECT * FROM s", false, true, "", "", ""},
		{"insert with select", "INSERT INTO t WITH 1 AS x SELECT x", false, true, "", "", ""},
		{"insert select lowercase", "insert into t select 1 format CSV", false, true, "", "", ""},
		{"insert select with format in string", "INSERT INTO t SELECT 'FORMAT CSV\n'", false, true, "", "", ""},
		{"insert from infile", "INSERT INTO t FROM INFILE 'a.csv' FORMAT CSV", false, true, "", "", ""},
		{"select", "SELECT 1 FORMAT CSV", false, true, "", "", ""},
		{"empty", "", false, true, "", "", ""},
		{"insertion is not insert", "INSERTION INTO t FORMAT CSV\n", false, true, "", "", ""},

		{"format name may go on", "INSERT INTO t FORMAT CSV", true, false, "", "", ""},
		{"format keyword at end", "INSERT INTO t FORMAT", true, false, "", "", ""},
		{"format keyword and space at end", "INSERT INTO t FORMAT ", true, false, "", "", ""},
		{"open column list", "INSERT INTO t (a, b", true, false, "", "", ""},
		{"open string in settings", "INSERT INTO t SETTINGS log_comment = 'x", true, false, "", "", ""},
		{"only INSERT INTO", "INSERT INTO", true, false, "", "", ""},
		{"open function call", "INSERT INTO FUNCTION file('x.csv'", true, false, "", "", ""},
		{"open backquote", "INSERT INTO `t", true, false, "", "", ""},
		{"open comment before FORMAT", "INSERT INTO t /* FORMAT CSV\n1", true, false, "", "", ""},
		{"INSERT cut short", "  INSE", false, false, "", "", ""},
		{"open comment before INSERT", "/* a long comment that the peek cut", false, false, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, isInsert, complete := splitInsert([]byte(tc.in))
			if isInsert != tc.isInsert || complete != tc.complete {
				t.Fatalf("splitInsert(%q): isInsert %v complete %v, want %v %v (%+v)", tc.in, isInsert, complete, tc.isInsert, tc.complete, sp)
			}
			if !isInsert || !complete {
				return
			}
			if sp.DataStart < 0 || sp.DataStart > len(tc.in) {
				t.Fatalf("splitInsert(%q): DataStart %d out of range", tc.in, sp.DataStart)
			}
			if sp.Statement != tc.stmt || sp.Format != tc.format || tc.in[sp.DataStart:] != tc.data {
				t.Errorf("splitInsert(%q) = statement %q, format %q, data %q; want %q, %q, %q", tc.in, sp.Statement, sp.Format, tc.in[sp.DataStart:], tc.stmt, tc.format, tc.data)
			}
		})
	}
}

// TestSplitInsertPrefixes: cutting a complete INSERT anywhere before its data
// starts (as a 4 KiB peek of a body may) gives either "incomplete" or, where
// the cut text is itself a whole INSERT, the same statement.
func TestSplitInsertPrefixes(t *testing.T) {
	for _, in := range []string{
		"INSERT INTO db.t (a, b) SETTINGS log_comment = 'x;y' FORMAT JSONEachRow\n{\"a\":1}\n",
		"/* c */ INSERT INTO `t` FORMAT CSV\r\n1\n",
		"INSERT INTO FUNCTION file('f.csv', 'CSV') VALUES (1)",
		"INSERT INTO t /* a comment */ -- another\n FORMAT TSV\n1\n",
	} {
		full, ok, complete := splitInsert([]byte(in))
		if !ok || !complete {
			t.Fatalf("splitInsert(%q) not a complete insert", in)
		}
		// Cuts inside the INSERT keyword or a comment before it are covered
		// by TestSplitInsert; start after the keyword.
		for n := strings.Index(in, "INSERT") + len("INSERT") + 1; n < full.DataStart; n++ {
			sp, isInsert, complete := splitInsert([]byte(in[:n]))
			if !complete {
				continue
			}
			if isInsert && sp.Format == full.Format && sp.Statement == full.Statement {
				continue
			}
			if isInsert && sp.Format == "Values" && sp.DataStart == n && strings.TrimSpace(in[:n]) == sp.Statement {
				continue // "INSERT INTO t" alone: Values data follows
			}
			t.Errorf("splitInsert(%q) = %+v %v %v: a cut of %q that should be incomplete", in[:n], sp, isInsert, complete, in)
		}
	}
}

// chunkReader returns its bytes in small reads, like a network body.
func chunkReader(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) }

func TestReadStatement(t *testing.T) {
	longCols := "INSERT INTO t (" + strings.Repeat("c, ", 3000) + "c) FORMAT CSV\n"
	bin := make([]byte, 100<<10)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name     string
		query    string
		readOnly bool
		body     string
		max      int // maxQuerySize, default 256 KiB

		sql    string // want statement text
		format string // want insert format, "" for no insert with data
		data   string // want insert data
		code   int    // want error code
	}{
		{name: "GET query", query: "SELECT 1", readOnly: true, sql: "SELECT 1"},
		{name: "GET ignores body", query: "SELECT 1", readOnly: true, body: "ignored", sql: "SELECT 1"},
		{name: "POST body", body: "SELECT 1", sql: "SELECT 1"},
		{name: "POST query only", query: "SELECT 1", sql: "SELECT 1"},
		{name: "POST query newline body", query: "SELECT 1,", body: "2", sql: "SELECT 1,\n2"},
		{name: "POST body with blank lines", body: "SELECT\n\n1\n\n", sql: "SELECT\n\n1\n\n"},
		{name: "insert param", query: "INSERT INTO t FORMAT CSV", body: "1\n\n2\n", sql: "INSERT INTO t", format: "CSV", data: "1\n\n2\n"},
		{name: "insert param, data starts in query", query: "INSERT INTO t FORMAT CSV\n1\n", body: "2\n", sql: "INSERT INTO t", format: "CSV", data: "1\n\n2\n"},
		{name: "insert param, empty body", query: "INSERT INTO t FORMAT CSV", sql: "INSERT INTO t", format: "CSV", data: ""},
		{name: "insert param values", query: "INSERT INTO t VALUES", body: "(1)", sql: "INSERT INTO t", format: "Values", data: "\n(1)"},
		{name: "insert param binary starting with newline", query: "INSERT INTO t FORMAT RowBinary", body: "\n \x00\x01", sql: "INSERT INTO t", format: "RowBinary", data: "\n \x00\x01"},
		{name: "GET insert values", query: "INSERT INTO t VALUES (1)", readOnly: true, sql: "INSERT INTO t", format: "Values", data: " (1)"},
		{name: "GET insert format is a statement", query: "INSERT INTO t FORMAT CSV", readOnly: true, sql: "INSERT INTO t FORMAT CSV"},
		{name: "insert body", body: "INSERT INTO t FORMAT TSV\nA\n\nB\n", sql: "INSERT INTO t", format: "TSV", data: "A\n\nB\n"},
		{name: "insert body data on the format line", body: "INSERT INTO t FORMAT CSV 1,2\n", sql: "INSERT INTO t", format: "CSV", data: "1,2\n"},
		{name: "insert body binary", body: "INSERT INTO t FORMAT Native\n" + string(bin), sql: "INSERT INTO t", format: "Native", data: string(bin)},
		{name: "insert body long statement", body: longCols + "1\n\n", sql: strings.TrimSuffix(longCols, " FORMAT CSV\n"), format: "CSV", data: "1\n\n"},
		{name: "insert body long comment first", body: "/*" + strings.Repeat("x", 5000) + "*/ INSERT INTO t FORMAT CSV\n1\n\n2\n", sql: "/*" + strings.Repeat("x", 5000) + "*/ INSERT INTO t", format: "CSV", data: "1\n\n2\n"},
		{name: "insert body long whitespace first", body: strings.Repeat(" ", 5000) + "INSERT INTO t FORMAT CSV\n1\n\n2\n", sql: "INSERT INTO t", format: "CSV", data: "1\n\n2\n"},
		{name: "insert body long comment inside", body: "INSERT INTO t /*" + strings.Repeat("x", 5000) + "*/ FORMAT CSV\n1\n\n2\n", sql: "INSERT INTO t /*" + strings.Repeat("x", 5000) + "*/", format: "CSV", data: "1\n\n2\n"},
		{name: "insert body long settings", body: "INSERT INTO t SETTINGS " + strings.Repeat("max_threads = 1, ", 300) + "max_threads = 1 FORMAT CSV\n1\n\n2\n", sql: "INSERT INTO t SETTINGS " + strings.Repeat("max_threads = 1, ", 300) + "max_threads = 1", format: "CSV", data: "1\n\n2\n"},
		{name: "insert select body", body: "INSERT INTO t SELECT 1", sql: "INSERT INTO t SELECT 1"},
		{name: "malformed insert", body: "INSERT 0", sql: "INSERT 0"},
		{name: "malformed insert qualified name", body: "INSERT INTO t.1 VALUES (1)", sql: "INSERT INTO t.1 VALUES (1)"},
		{name: "incomplete insert at EOF", body: "INSERT INTO t (a, b", sql: "INSERT INTO t (a, b"},
		{name: "insert data beyond max_query_size", body: "INSERT INTO t FORMAT CSV\n" + strings.Repeat("1\n", 5000), max: 2048, sql: "INSERT INTO t", format: "CSV", data: strings.Repeat("1\n", 5000)},
		{name: "insert statement beyond max_query_size", body: "INSERT INTO t SETTINGS log_comment = '" + strings.Repeat("x", 5000) + "' FORMAT CSV\n1\n", max: 2048, code: codeQueryTooLarge},
		{name: "body beyond max_query_size", body: "SELECT 1 --" + strings.Repeat("x", 3000), max: 2048, code: codeQueryTooLarge},
		{name: "body at max_query_size", body: "SELECT 1 --" + strings.Repeat("x", 2048-11), max: 2048, sql: "SELECT 1 --" + strings.Repeat("x", 2048-11)},
		{name: "query and body beyond max_query_size", query: "SELECT 1 --" + strings.Repeat("x", 1500), body: strings.Repeat("y", 1000), max: 2048, code: codeQueryTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &request{query: tc.query, readOnly: tc.readOnly, maxQuerySize: tc.max}
			if req.maxQuerySize == 0 {
				req.maxQuerySize = 256 << 10
			}
			var body io.Reader
			if !tc.readOnly || tc.body != "" {
				body = chunkReader(tc.body)
			}
			st, err := readStatement(req, body)
			if tc.code != 0 {
				var ce *chdb.Error
				if !errors.As(err, &ce) || ce.Code != tc.code {
					t.Fatalf("want error code %d, got %v (%+v)", tc.code, err, st)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.sql != tc.sql {
				t.Errorf("sql %q, want %q", trim(st.sql), trim(tc.sql))
			}
			if tc.format == "" {
				if st.insert != nil {
					t.Errorf("an insert with data (%+v), want a plain statement", *st.insert)
				}
				return
			}
			if st.insert == nil {
				t.Fatalf("not an insert with data, want format %s", tc.format)
			}
			if st.insert.Format != tc.format {
				t.Errorf("format %q, want %q", st.insert.Format, tc.format)
			}
			data, err := io.ReadAll(st.data)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tc.data {
				t.Errorf("data %q, want %q", trim(string(data)), trim(tc.data))
			}
		})
	}
}

func TestReadStatementBodyError(t *testing.T) {
	broken := chdb.Errorf(codeCannotDecompress, "CANNOT_DECOMPRESS", "broken")
	for _, body := range []io.Reader{
		io.MultiReader(strings.NewReader("SELECT 1"), iotest.ErrReader(broken)),
		iotest.ErrReader(broken),
	} {
		_, err := readStatement(&request{maxQuerySize: 1 << 20}, body)
		var ce *chdb.Error
		if !errors.As(err, &ce) || ce.Code != codeCannotDecompress {
			t.Errorf("a body read error gives %v, want the CANNOT_DECOMPRESS error", err)
		}
	}
	// The error of an insert's data arrives when the data is read.
	st, err := readStatement(&request{maxQuerySize: 1 << 20}, io.MultiReader(strings.NewReader("INSERT INTO t FORMAT CSV\n1\n"), iotest.ErrReader(broken)))
	if err == nil && st.insert != nil {
		_, err = io.ReadAll(st.data)
	}
	if !errors.Is(err, broken) {
		t.Errorf("an insert body read error gives %v, want the CANNOT_DECOMPRESS error", err)
	}
}

func trim(s string) string {
	if len(s) > 120 {
		return s[:60] + "..." + s[len(s)-60:]
	}
	return s
}
