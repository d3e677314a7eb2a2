package deadletter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/pipeline"
)

// Table is the table dead letters are written to.
const Table = "rejected_events"

// columns are the rejected_events columns written, in the order of row's
// fields; inserted_at takes its default. types are their types, told to
// clickhouse-go so that it need not ask the server before every batch.
var (
	columns = []string{"received_at", "source", "write_key", "batch_index", "error", "payload", "kafka_partition", "kafka_offset"}
	types   = []string{"DateTime64(3, 'UTC')", "LowCardinality(String)", "LowCardinality(String)", "Int32", "String", "String", "Int32", "Int64"}
)

// row is one dead letter as rejected_events stores it.
type row struct {
	receivedAt time.Time
	source     string
	writeKey   string
	index      int32
	err        string
	payload    string
	partition  int32
	offset     int64
}

// undecodablePrefix starts the error of a message that is not a
// pipeline.Rejected.
const undecodablePrefix = "undecodable dead letter: "

// minTime and maxTime bound what DateTime64(3) stores.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2299, 12, 31, 23, 59, 59, 0, time.UTC)
)

// decode turns a message into its row; ok is false when the message is not
// a pipeline.Rejected, whose row then keeps the raw message as payload and
// the Kafka timestamp as received_at. A row depends only on the message,
// so a message read again gives the same row (and the same sorting key).
func decode(m kafkago.Message) (r row, ok bool) {
	r.partition, r.offset = int32(m.Partition), m.Offset
	var d pipeline.Rejected
	err := json.Unmarshal(m.Value, &d)
	if err == nil && (d.ReceivedAt.Before(minTime) || d.ReceivedAt.After(maxTime)) {
		err = fmt.Errorf("received_at %s out of range", d.ReceivedAt.Format(time.RFC3339))
	}
	if err != nil {
		r.receivedAt = clampTime(m.Time)
		r.index = -1
		r.err = undecodablePrefix + err.Error()
		r.payload = string(m.Value)
		return r, false
	}
	r.receivedAt = d.ReceivedAt.UTC().Truncate(time.Millisecond)
	r.source, r.writeKey = d.Source, d.WriteKey
	r.index = int32(min(max(d.Index, math.MinInt32), math.MaxInt32))
	r.err, r.payload = d.Error, string(d.Payload)
	return r, true
}

func clampTime(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Millisecond)
	if t.Before(minTime) || t.After(maxTime) {
		return time.Unix(0, 0).UTC()
	}
	return t
}

// token returns the insert_deduplication_token of a batch: the topic and,
// per partition, the range of offsets [first, next) it holds, e.g.
// clickstream.rejected-0-10-20_3-5-7. The same messages give the same
// token, so a retried write lands once; a long one is hashed.
func token(topic string, msgs []kafkago.Message) string {
	type span struct{ first, next int64 }
	spans := map[int]*span{}
	for _, m := range msgs {
		s := spans[m.Partition]
		if s == nil {
			spans[m.Partition] = &span{m.Offset, m.Offset + 1}
			continue
		}
		s.first, s.next = min(s.first, m.Offset), max(s.next, m.Offset+1)
	}
	parts := make([]string, 0, len(spans))
	for _, p := range slices.Sorted(maps.Keys(spans)) {
		s := spans[p]
		parts = append(parts, strconv.Itoa(p)+"-"+strconv.FormatInt(s.first, 10)+"-"+strconv.FormatInt(s.next, 10))
	}
	t := topic + "-" + strings.Join(parts, "_")
	if len(t) > 200 {
		sum := sha256.Sum256([]byte(t))
		t = topic + "-" + hex.EncodeToString(sum[:16])
	}
	return t
}

// writer inserts rows into rejected_events.
type writer struct {
	conn  driver.Conn
	query string
	types []ch.ColumnNameAndType
}

func newWriter(conn driver.Conn, database string) *writer {
	table := quoteIdent(Table)
	if database != "" {
		table = quoteIdent(database) + "." + table
	}
	w := &writer{conn: conn, query: "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ")"}
	for i, name := range columns {
		w.types = append(w.types, ch.ColumnNameAndType{Name: name, Type: types[i]})
	}
	return w
}

func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

// write inserts rows as one INSERT with token as its
// insert_deduplication_token.
func (w *writer) write(ctx context.Context, rows []row, token string) (err error) {
	n := len(rows)
	var (
		receivedAt = make([]time.Time, n)
		source     = make([]string, n)
		writeKey   = make([]string, n)
		index      = make([]int32, n)
		errText    = make([]string, n)
		payload    = make([]string, n)
		partition  = make([]int32, n)
		offset     = make([]int64, n)
	)
	for i, r := range rows {
		receivedAt[i], source[i], writeKey[i], index[i] = r.receivedAt, r.source, r.writeKey, r.index
		errText[i], payload[i], partition[i], offset[i] = r.err, r.payload, r.partition, r.offset
	}
	ctx = ch.Context(ctx, ch.WithColumnNamesAndTypes(w.types),
		ch.WithSettings(ch.Settings{"insert_deduplication_token": token}))
	batch, err := w.conn.PrepareBatch(ctx, w.query)
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer func() {
		if err != nil {
			_ = batch.Abort()
		}
	}()
	for i, values := range []any{receivedAt, source, writeKey, index, errText, payload, partition, offset} {
		if err := batch.Column(i).Append(values); err != nil {
			return fmt.Errorf("column %s: %w", columns[i], err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("send insert: %w", err)
	}
	return nil
}

// Kinds of write errors (the kind label of write_errors_total).
const (
	kindRetryable = "retryable"
	kindPermanent = "permanent"
)

// permanentCodes are ClickHouse error codes that only an operator cures:
// the table or database is missing (not migrated), a column does not fit,
// the user may not write.
var permanentCodes = map[int32]bool{
	8: true, 10: true, 16: true, 20: true, 47: true, 53: true, 60: true, 81: true,
	164: true, 192: true, 193: true, 194: true, 195: true, 497: true, 516: true,
}

// permanent reports whether retrying err soon cannot help: a
// *clickhouse.PermanentError, an HTTP 4xx answer other than 408 and 429, or
// one of permanentCodes. Such errors are still retried, slowly (see
// Config.MaxRetryInterval and doc.go).
func permanent(err error) bool {
	if clickhouse.IsPermanent(err) {
		return true
	}
	var httpErr *ch.HTTPError
	if errors.As(err, &httpErr) {
		s := httpErr.StatusCode
		if s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests {
			return true
		}
	}
	var exc *ch.Exception
	return errors.As(err, &exc) && permanentCodes[exc.Code]
}
