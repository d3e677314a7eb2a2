package clickhouse

import (
	"compress/gzip"
	"compress/zlib"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/touchstream/touchstream/embedded/chdb"
)

// maxCompressedBlock is the largest raw block written in ClickHouse's
// compressed-block framing (ClickHouse uses 1 MiB).
const maxCompressedBlock = 1 << 20

// output writes a response body through the encodings the request asked for.
type output struct {
	w       http.ResponseWriter
	body    io.Writer     // top of the chain: what callers write to
	closers []io.Closer   // flushed in order by finish
	native  *nativeWriter // compress=1 framing, if any
	started bool
}

// newOutput chooses the encodings: compress=1 (ClickHouse framing) and/or
// HTTP compression when enable_http_compression=1 and the client accepts it.
func newOutput(w http.ResponseWriter, r *http.Request, req *request) *output {
	o := &output{w: w, body: w}
	if req.httpCompress {
		accept := strings.ToLower(r.Header.Get("Accept-Encoding"))
		var enc string
		switch {
		case strings.Contains(accept, "gzip"):
			enc = "gzip"
			zw := gzip.NewWriter(o.body)
			o.body, o.closers = zw, append(o.closers, zw)
		case strings.Contains(accept, "deflate"):
			enc = "deflate"
			zw := zlib.NewWriter(o.body)
			o.body, o.closers = zw, append(o.closers, zw)
		case strings.Contains(accept, "zstd"):
			enc = "zstd"
			zw, _ := zstd.NewWriter(o.body, zstd.WithEncoderConcurrency(1))
			o.body, o.closers = zw, append(o.closers, zw)
		case strings.Contains(accept, "br"):
			enc = "br"
			zw := brotli.NewWriter(o.body)
			o.body, o.closers = zw, append(o.closers, zw)
		}
		if enc != "" {
			w.Header().Set("Content-Encoding", enc)
		}
	}
	if req.compress {
		nw := &nativeWriter{w: o.body, c: compress.NewWriter(compress.LevelZero, req.compressMethod)}
		o.native = nw
		o.body = nw
		// The framing flushes first, then the HTTP compression around it.
		o.closers = append([]io.Closer{nw}, o.closers...)
	}
	return o
}

// start sends the status line and headers once.
func (o *output) start(status int) {
	if !o.started {
		o.started = true
		o.w.WriteHeader(status)
	}
}

func (o *output) Write(p []byte) (int, error) {
	o.start(http.StatusOK)
	return o.body.Write(p)
}

// finish flushes every encoder.
func (o *output) finish() error {
	o.start(http.StatusOK)
	var first error
	for _, c := range o.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// flush pushes buffered output to the client (used between streamed chunks).
func (o *output) flush() {
	if o.native != nil {
		_ = o.native.flush()
	}
	if f, ok := o.body.(interface{ Flush() error }); ok && o.native == nil {
		_ = f.Flush()
	}
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
}

// nativeWriter writes ClickHouse's compressed-block framing: each block is a
// 16-byte CityHash128, a method byte, the compressed and raw sizes, the data.
type nativeWriter struct {
	w   io.Writer
	c   *compress.Writer
	buf []byte
}

func (n *nativeWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		room := maxCompressedBlock - len(n.buf)
		k := min(room, len(p))
		n.buf = append(n.buf, p[:k]...)
		p = p[k:]
		if len(n.buf) >= maxCompressedBlock {
			if err := n.flush(); err != nil {
				return total - len(p), err
			}
		}
	}
	return total, nil
}

func (n *nativeWriter) flush() error {
	if len(n.buf) == 0 {
		return nil
	}
	if err := n.c.Compress(n.buf); err != nil {
		return err
	}
	n.buf = n.buf[:0]
	_, err := n.w.Write(n.c.Data)
	return err
}

func (n *nativeWriter) Close() error { return n.flush() }

// summary is the X-ClickHouse-Summary header: ClickHouse sends every number
// as a string.
func summary(st chdb.Stats, resultBytes int) string {
	m := map[string]string{
		"read_rows":          strconv.FormatUint(st.StorageRowsRead, 10),
		"read_bytes":         strconv.FormatUint(st.StorageBytesRead, 10),
		"written_rows":       strconv.FormatUint(st.RowsWritten, 10),
		"written_bytes":      strconv.FormatUint(st.BytesWritten, 10),
		"total_rows_to_read": strconv.FormatUint(st.StorageRowsRead, 10),
		"result_rows":        strconv.FormatUint(st.RowsRead, 10),
		"result_bytes":       strconv.Itoa(resultBytes),
		"elapsed_ns":         strconv.FormatInt(int64(st.Elapsed*1e9), 10),
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// exceptionTag returns the random tag that frames an in-band exception.
func exceptionTag() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [16]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// writeException frames an error raised after the response started, as
// ClickHouse 25.11+ does.
func writeException(w io.Writer, tag string, e *chdb.Error) {
	msg := e.Message
	fmt.Fprintf(w, "\r\n__exception__\r\n%s\r\n%s\n%d %s\r\n__exception__\r\n", tag, msg, len(msg)+1, tag)
}
