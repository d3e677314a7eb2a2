package clickhouse

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/touchstream/touchstream/embedded/chdb"
)

// insertSeeds are realistic request texts for the fuzz targets.
var insertSeeds = []string{
	"INSERT INTO t FORMAT CSV\n1,2\n",
	"INSERT INTO t (a, b) FORMAT TSV\n1\t2\n\n3\t4\n",
	"INSERT INTO db.t FORMAT JSONEachRow\n{\"a\":1}\n\n{\"a\":2}",
	"INSERT INTO `my db`.`t``x` FORMAT Native\n\x02\x01\x01a\x05UInt8\x07",
	"INSERT INTO FUNCTION file('a;b.csv', 'CSV', 'x String') FORMAT CSV\nq\n",
	"INSERT INTO t SETTINGS async_insert = 0, log_comment = 'x;y' FORMAT JSONEachRow\n{}",
	"INSERT INTO t VALUES (1, 'a\n\nb'), (2, 'it\\'s')",
	"insert into t values(1)",
	"INSERT INTO t SELECT 1",
	"INSERT INTO t (a) WITH 1 AS x SELECT x",
	"/* c */ INSERT -- x\nINTO t # y\n FORMAT CSV\r\n1",
	"INSERT INTO format FORMAT CSV\n1",
	"INSERT INTO t FORMAT",
	"INSERT INTO t (a, b",
	"INSERT INTO t SETTINGS x = 'open",
	"INSERT INTO TABLE FUNCTION remote('h', db, t) VALUES",
	"INSERT INTO t FORMAT RowBinary\n \x00\n\x00\r",
	"SELECT 1; DROP TABLE t",
	"SELECT 'INSERT INTO t FORMAT CSV'",
	"",
	"INSERT",
	"INSERT INTO \"t\" FORMAT CSV \t\r\n1",
	"INSERT INTO t FORMAT CSV -- c\n1",
	"INSERT INTO t /* FORMAT CSV\n1",
}

func FuzzSplitInsert(f *testing.F) {
	for _, s := range insertSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		sp, isInsert, complete := splitInsert(in)
		if !bytes.Equal(in, orig) {
			t.Fatalf("splitInsert modified its input")
		}
		if sp2, isInsert2, complete2 := splitInsert(in); sp2 != sp || isInsert2 != isInsert || complete2 != complete {
			t.Fatalf("splitInsert is not deterministic on %q", in)
		}
		if !isInsert || !complete || sp.Format == "" {
			return
		}
		if sp.DataStart < 0 || sp.DataStart > len(in) {
			t.Fatalf("splitInsert(%q): DataStart %d outside [0, %d]", in, sp.DataStart, len(in))
		}
		if !bytes.HasPrefix(bytes.TrimSpace(in), []byte(sp.Statement)) {
			t.Fatalf("splitInsert(%q): statement %q is not a prefix of the input", in, sp.Statement)
		}
		if sp.Statement == "" || len(sp.Statement) > sp.DataStart {
			t.Fatalf("splitInsert(%q): statement %q does not end before the data at %d", in, sp.Statement, sp.DataStart)
		}
		if !strings.HasPrefix(strings.ToUpper(strings.TrimLeft(stripComments(sp.Statement), " \t\r\n\f\v")), "INSERT") {
			t.Fatalf("splitInsert(%q): statement %q does not start with INSERT", in, sp.Statement)
		}
	})
}

// stripComments removes leading comments the way the scanner skips them.
func stripComments(s string) string {
	sc := scanner{b: []byte(s)}
	sc.skipSpace()
	return s[sc.i:]
}

func FuzzReadStatement(f *testing.F) {
	for _, s := range insertSeeds {
		f.Add("", []byte(s), false)
		f.Add(s, []byte(nil), true)
		f.Add(s, []byte("1\n\n2\n"), false)
	}
	f.Add("INSERT INTO t FORMAT CSV", []byte("1,2\n\n3,4\n"), false)
	f.Add("INSERT INTO t VALUES", []byte("(1)"), false)
	f.Add("SELECT 1,", []byte("2"), false)
	f.Add("", []byte("INSERT INTO t.1 VALUES (1)"), false)
	f.Add("SELECT 1", []byte(nil), true)
	f.Add("", []byte("/*"+strings.Repeat("x", 1100)+"*/ INSERT INTO t FORMAT CSV\n1\n"), false)
	f.Add("", []byte("SELECT '"+strings.Repeat("y", 1100)+"'"), false)
	const maxQuerySize = 1024
	f.Fuzz(func(t *testing.T, query string, body []byte, readOnly bool) {
		if readOnly {
			body = nil // GET has no body
		}
		req := &request{query: query, readOnly: readOnly, maxQuerySize: maxQuerySize}
		st, err := readStatement(req, iotestHalf(body))
		if err != nil {
			var ce *chdb.Error
			if !errors.As(err, &ce) {
				t.Fatalf("readStatement(%q, %q): error %T %v is not a *chdb.Error", query, body, err, err)
			}
			if ce.Code != codeQueryTooLarge {
				t.Fatalf("readStatement(%q, %q): unexpected error %v", query, body, err)
			}
			return
		}
		// The text ClickHouse would see: the query parameter, a newline
		// (POST only), the body.
		full := string(body)
		if query != "" {
			full = query
			if !readOnly {
				full += "\n" + string(body)
			}
		}
		if st.insert == nil {
			want := full
			if query != "" && !readOnly {
				want = strings.TrimSuffix(full, "\n")
			}
			if st.sql != want {
				t.Fatalf("readStatement(%q, %q): sql %q, want %q", query, body, st.sql, want)
			}
			return
		}
		if st.insert.Format == "" || st.sql != st.insert.Statement {
			t.Fatalf("readStatement(%q, %q): insert %+v with sql %q", query, body, *st.insert, st.sql)
		}
		data, err := io.ReadAll(st.data)
		if err != nil {
			var ce *chdb.Error
			if errors.As(err, &ce) && ce.Code == codeSyntaxError && strings.Contains(full, ";") {
				return // VALUES data with more after a ';': refused, as ClickHouse refuses multi-statements
			}
			t.Fatalf("reading the insert data: %v", err)
		}
		if !strings.HasSuffix(full, string(data)) {
			t.Fatalf("readStatement(%q, %q): data %q is not the end of the request text", query, body, data)
		}
		if !strings.Contains(full[:len(full)-len(data)], st.insert.Statement) {
			t.Fatalf("readStatement(%q, %q): statement %q is not in the text before the data", query, body, st.insert.Statement)
		}
	})
}

// iotestHalf returns b in small reads, like a network body.
func iotestHalf(b []byte) io.Reader {
	return &halfReader{b: b}
}

type halfReader struct{ b []byte }

func (h *halfReader) Read(p []byte) (int, error) {
	if len(h.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), (len(h.b)+1)/2)
	n = copy(p, h.b[:n])
	h.b = h.b[n:]
	return n, nil
}

// bodyEncodings are the Content-Encoding values decodeBody knows, and one it
// does not.
var bodyEncodings = []string{"", "identity", "gzip", "x-gzip", "deflate", "br", "zstd", "lz4", "snappy"}

// encodeFor compresses p with enc; enc "" and "identity" leave it as is.
func encodeFor(enc string, p []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "", "identity", "snappy":
		return p
	case "gzip", "x-gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "br":
		w = brotli.NewWriter(&buf)
	case "zstd":
		w, _ = zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	case "lz4":
		w = lz4.NewWriter(&buf)
	}
	w.Write(p)
	w.Close()
	return buf.Bytes()
}

func frame(p []byte, m compress.Method) []byte {
	w := compress.NewWriter(compress.LevelZero, m)
	if err := w.Compress(p); err != nil {
		panic(err)
	}
	return bytes.Clone(w.Data)
}

// decode runs decodeBody on body and reads what it gives the way
// readStatement does: a bufio peek to the end, then reads on.
func decode(t *testing.T, body []byte, enc string, decompress bool) ([]byte, error) {
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	if enc != "" {
		r.Header.Set("Content-Encoding", enc)
	}
	rd, err := decodeBody(r, &request{decompress: decompress})
	if err != nil {
		return nil, err
	}
	const limit = 4 << 20
	br := bufio.NewReaderSize(io.LimitReader(rd, limit), 4096)
	if _, err := br.Peek(4096); err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	return io.ReadAll(br)
}

func FuzzDecodeBody(f *testing.F) {
	payloads := [][]byte{
		[]byte("SELECT 1"),
		[]byte("INSERT INTO t FORMAT CSV\n1,\"a\n\nb\"\n"),
		[]byte(""),
		bytes.Repeat([]byte("0123456789abcdef\n"), 300),
	}
	for _, p := range payloads {
		f.Add(p)
		for _, enc := range bodyEncodings {
			f.Add(encodeFor(enc, p))
		}
		for _, m := range []compress.Method{compress.LZ4, compress.ZSTD, compress.None} {
			fr := frame(p, m)
			f.Add(fr)
			f.Add(encodeFor("gzip", fr))
			f.Add(fr[:len(fr)/2])
		}
	}
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Add([]byte("\x28\xb5\x2f\xfdgarbage"))
	f.Add([]byte("\x04\x22\x4d\x18garbage"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, enc := range bodyEncodings {
			for _, dec := range []bool{false, true} {
				data, err := decode(t, in, enc, dec)
				if err != nil {
					var ce *chdb.Error
					if !errors.As(err, &ce) {
						t.Fatalf("Content-Encoding %q decompress=%v: error %T %v is not a *chdb.Error", enc, dec, err, err)
					}
					continue
				}
				if enc == "snappy" {
					t.Fatalf("an unknown Content-Encoding was accepted")
				}
				if (enc == "" || enc == "identity") && !dec && !bytes.Equal(data, in) {
					t.Fatalf("identity body changed: %q -> %q", in, data)
				}
			}
		}
		// Round trip: the input as the payload of every encoding comes back
		// unchanged, however it is read.
		if len(in) > 1<<16 {
			return
		}
		for _, enc := range bodyEncodings[:len(bodyEncodings)-1] {
			for _, framing := range []string{"", "LZ4", "ZSTD"} {
				body := in
				if framing != "" {
					m, _ := compress.MethodString(framing)
					body = frame(in, m)
				}
				got, err := decode(t, encodeFor(enc, body), enc, framing != "")
				if err != nil {
					t.Fatalf("Content-Encoding %q, decompress=1 framing %q: a valid body fails: %v", enc, framing, err)
				}
				if !bytes.Equal(got, in) {
					t.Fatalf("Content-Encoding %q, decompress=1 framing %q: %d bytes %q decode to %d bytes %q", enc, framing, len(in), in[:min(len(in), 80)], len(got), got[:min(len(got), 80)])
				}
			}
		}
	})
}
