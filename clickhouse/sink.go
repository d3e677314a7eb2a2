package clickhouse

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/touchstream/touchstream/pipeline"
)

// SinkOptions configures a Sink.
type SinkOptions struct {
	// Database holds the events and sessions tables. Empty means the
	// connection's own database (the one in its DSN).
	Database string
}

// Sink writes batches of events and sessions to ClickHouse, each batch as
// one INSERT carrying a deduplication token, so that a batch retried with
// the same token lands once (the tables keep a
// non_replicated_deduplication_window). Batching and retrying are the
// caller's: the processor collects a batch, picks its token (for example
// from the Kafka offsets it covers) and calls WriteEvents until it succeeds
// or returns a *PermanentError.
//
// A Sink is safe for concurrent use; it does not own the connection and has
// nothing to close.
type Sink struct {
	conn        driver.Conn
	events      string             // INSERT statement for events
	sessions    string             // INSERT statement for sessions
	transitions string             // INSERT statement for stage_transitions
	identities  string             // INSERT statement for identities
	inserts     map[string]*insert // by statement
}

// NewSink returns a Sink writing through conn.
func NewSink(conn driver.Conn, opts SinkOptions) *Sink {
	s := &Sink{conn: conn, inserts: make(map[string]*insert)}
	for _, t := range []struct {
		query    *string
		table    string
		columns  []string
		settings ch.Settings
	}{
		{&s.events, "events", eventColumns, eventInsertSettings},
		{&s.sessions, "sessions", sessionColumns, nil},
		{&s.transitions, "stage_transitions", transitionColumns, nil},
		{&s.identities, "identities", identityColumns, nil},
	} {
		in := newInsert(opts.Database, t.table, t.columns)
		in.settings = t.settings
		*t.query = in.query
		s.inserts[in.query] = in
	}
	return s
}

// eventInsertSettings are the settings of every insert into events, on top
// of the deduplication token.
//
// optimize_on_insert = 0: by default ClickHouse runs ReplacingMergeTree's
// merge over each inserted block (collapsing rows of one key within it)
// before writing the part. That merge was 40-50 % of the engine's CPU
// time of a 40,000-event insert (BENCHMARKS.md, "The processor's sink"),
// and it rarely has anything to collapse: the processor's sessionizer drops
// the duplicates it sees before a batch is written, and the copies a
// redelivery brings come in other blocks, which only FINAL or a background
// merge collapses anyway. Without it a block's own duplicates (late events
// are not deduplicated by the sessionizer) stay as rows until a merge, and
// FINAL (the contract's only way to read events, sql/README.md) collapses
// them exactly as before; the traffic_daily view reads the inserted block
// either way, and its uniqExact states absorb copies.
var eventInsertSettings = ch.Settings{"optimize_on_insert": 0}

// insert is one table's INSERT statement and the types of its columns.
// Over HTTP, clickhouse-go asks the server for the types (DESCRIBE TABLE)
// before every batch unless it is told them; the Sink learns them on the
// first write and tells them from then on, and forgets them when a write
// fails (the table may have changed).
type insert struct {
	table    string      // quoted, qualified name
	query    string      // INSERT INTO table (names)
	names    []string    // columns in the order of the statement
	settings ch.Settings // sent with every insert; nil for none

	mu    sync.Mutex
	types []ch.ColumnNameAndType // nil until learned
}

func newInsert(database, table string, columns []string) *insert {
	name := quoteIdent(table)
	if database != "" {
		name = quoteIdent(database) + "." + name
	}
	return &insert{table: name, query: "INSERT INTO " + name + " (" + strings.Join(columns, ", ") + ")", names: columns}
}

// columnTypes returns the types of the insert's columns, asking the server
// on first use; learned reports whether they were known already.
func (in *insert) columnTypes(ctx context.Context, conn driver.Conn) (types []ch.ColumnNameAndType, learned bool, err error) {
	in.mu.Lock()
	types = in.types
	in.mu.Unlock()
	if types != nil {
		return types, true, nil
	}
	rows, err := conn.Query(ctx, "DESCRIBE TABLE "+in.table)
	if err != nil {
		return nil, false, fmt.Errorf("describe %s: %w", in.table, classify(err))
	}
	defer rows.Close()
	byName := make(map[string]string)
	for rows.Next() {
		var name, typ, ignore string
		if err := rows.Scan(&name, &typ, &ignore, &ignore, &ignore, &ignore, &ignore); err != nil {
			return nil, false, fmt.Errorf("describe %s: %w", in.table, classify(err))
		}
		byName[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("describe %s: %w", in.table, classify(err))
	}
	types = make([]ch.ColumnNameAndType, len(in.names))
	for i, name := range in.names {
		typ, ok := byName[name]
		if !ok {
			return nil, false, &PermanentError{Err: fmt.Errorf("describe %s: no column %s", in.table, name)}
		}
		types[i] = ch.ColumnNameAndType{Name: name, Type: typ}
	}
	in.mu.Lock()
	in.types = types
	in.mu.Unlock()
	return types, false, nil
}

// forget drops the learned column types.
func (in *insert) forget() {
	in.mu.Lock()
	in.types = nil
	in.mu.Unlock()
}

// transitionColumns are the stage_transitions columns the Sink writes.
var transitionColumns = []string{
	"visitor_id", "user_id", "from_stage", "to_stage", "event_time",
	"message_id", "session_id", "touchpoint", "traffic_channel",
}

// WriteStageTransitions inserts stage changes as one batch, with token as
// for WriteEvents. Rows are keyed by (visitor_id, message_id), so a
// transition written twice counts once in FINAL reads.
func (s *Sink) WriteStageTransitions(ctx context.Context, ts []pipeline.StageTransition, token string) error {
	if len(ts) == 0 {
		return nil
	}
	n := len(ts)
	var (
		visitorID  = make([]string, n)
		userID     = make([]string, n)
		from       = make([]string, n)
		to         = make([]string, n)
		eventTime  = make([]time.Time, n)
		messageID  = make([]string, n)
		sessionID  = make([]string, n)
		touchpoint = make([]string, n)
		channel    = make([]string, n)
	)
	for i := range ts {
		t := &ts[i]
		visitorID[i], userID[i], from[i], to[i] = t.VisitorID, t.UserID, t.FromStage, t.ToStage
		eventTime[i], messageID[i], sessionID[i] = t.EventTime.UTC(), t.MessageID, t.SessionID
		touchpoint[i], channel[i] = t.Touchpoint, t.Channel
	}
	columns := []any{visitorID, userID, from, to, eventTime, messageID, sessionID, touchpoint, channel}
	if err := s.send(ctx, s.transitions, transitionColumns, columns, token); err != nil {
		return fmt.Errorf("write %d stage transitions: %w", n, err)
	}
	return nil
}

// eventColumns are the events columns the Sink writes, in the order
// WriteEvents fills them. inserted_at takes its default.
var eventColumns = []string{
	"message_id", "event_time", "received_at", "type", "event_name", "touchpoint",
	"visitor_id", "user_id", "session_id", "stage", "traffic_channel",
	"utm_source", "utm_medium", "utm_campaign", "click_id_type", "click_id",
	"page_url", "page_path", "referrer",
	"library_name", "device_type", "browser", "os", "revenue", "currency",
	"order_id", "cart_id", "engagement_time_msec", "properties", "write_key",
}

// sessionColumns are the sessions columns the Sink writes, in the order
// WriteSessions fills them: all but the ALIAS ones.
var sessionColumns = []string{
	"session_id", "visitor_id", "user_id", "start_time", "end_time",
	"events", "page_views", "engaged_msec", "entry_page", "exit_page",
	"touchpoint", "traffic_channel", "utm_source", "utm_medium", "utm_campaign",
	"device_type", "conversions", "revenue", "version", "is_deleted",
}

// WriteEvents inserts events as one batch, with eventInsertSettings. token
// is the batch's insert_deduplication_token: the same batch written again
// with the same token lands once. An empty token writes without one
// (identical batches are still dropped inside the deduplication window). An
// empty batch writes nothing. Errors are retryable unless they are a
// *PermanentError.
func (s *Sink) WriteEvents(ctx context.Context, events []pipeline.Event, token string) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	var (
		messageID   = make([]string, n)
		eventTime   = make([]time.Time, n)
		receivedAt  = make([]time.Time, n)
		typ         = make([]string, n)
		eventName   = make([]string, n)
		touchpoint  = make([]string, n)
		visitorID   = make([]string, n)
		userID      = make([]string, n)
		sessionID   = make([]string, n)
		stage       = make([]string, n)
		channel     = make([]string, n)
		utmSource   = make([]string, n)
		utmMedium   = make([]string, n)
		utmCampaign = make([]string, n)
		clickIDType = make([]string, n)
		clickID     = make([]string, n)
		pageURL     = make([]string, n)
		pagePath    = make([]string, n)
		referrer    = make([]string, n)
		libraryName = make([]string, n)
		deviceType  = make([]string, n)
		browser     = make([]string, n)
		osName      = make([]string, n)
		revenue     = make([]float64, n)
		currency    = make([]string, n)
		orderID     = make([]string, n)
		cartID      = make([]string, n)
		engagement  = make([]uint32, n)
		properties  = make([]string, n)
		writeKey    = make([]string, n)
	)
	for i := range events {
		e := &events[i]
		messageID[i] = e.MessageID
		eventTime[i] = e.EventTime.UTC()
		receivedAt[i] = e.ReceivedAt.UTC()
		typ[i] = e.Type
		eventName[i] = e.EventName
		touchpoint[i] = e.Touchpoint
		visitorID[i] = e.VisitorID
		userID[i] = e.UserID
		sessionID[i] = e.SessionID
		stage[i] = e.Stage
		channel[i] = e.Channel
		utmSource[i] = e.UTMSource
		utmMedium[i] = e.UTMMedium
		utmCampaign[i] = e.UTMCampaign
		clickIDType[i] = e.ClickIDType
		clickID[i] = e.ClickID
		pageURL[i] = e.PageURL
		pagePath[i] = e.PagePath
		referrer[i] = e.Referrer
		libraryName[i] = e.LibraryName
		deviceType[i] = e.DeviceType
		browser[i] = e.Browser
		osName[i] = e.OS
		revenue[i] = e.Revenue
		currency[i] = e.Currency
		orderID[i] = e.OrderID
		cartID[i] = e.CartID
		engagement[i] = clampUint32(e.EngagementMS)
		properties[i] = string(e.Properties)
		writeKey[i] = e.WriteKey
	}
	columns := []any{
		messageID, eventTime, receivedAt, typ, eventName, touchpoint,
		visitorID, userID, sessionID, stage, channel,
		utmSource, utmMedium, utmCampaign, clickIDType, clickID, pageURL, pagePath, referrer,
		libraryName, deviceType, browser, osName, revenue, currency,
		orderID, cartID, engagement, properties, writeKey,
	}
	if err := s.send(ctx, s.events, eventColumns, columns, token); err != nil {
		return fmt.Errorf("write %d events: %w", n, err)
	}
	return nil
}

// WriteSessions inserts sessions (new ones, restatements and tombstones) as
// one batch, with token as for WriteEvents. The sessions table keeps the
// row with the highest Version per session; a row with Deleted set removes
// the session from FINAL reads.
func (s *Sink) WriteSessions(ctx context.Context, sessions []pipeline.Session, token string) error {
	if len(sessions) == 0 {
		return nil
	}
	n := len(sessions)
	var (
		sessionID   = make([]string, n)
		visitorID   = make([]string, n)
		userID      = make([]string, n)
		start       = make([]time.Time, n)
		end         = make([]time.Time, n)
		events      = make([]uint32, n)
		pageViews   = make([]uint32, n)
		engagedMS   = make([]uint64, n)
		entryPage   = make([]string, n)
		exitPage    = make([]string, n)
		touchpoint  = make([]string, n)
		channel     = make([]string, n)
		utmSource   = make([]string, n)
		utmMedium   = make([]string, n)
		utmCampaign = make([]string, n)
		deviceType  = make([]string, n)
		conversions = make([]uint32, n)
		revenue     = make([]float64, n)
		version     = make([]uint64, n)
		isDeleted   = make([]uint8, n)
	)
	for i := range sessions {
		ss := &sessions[i]
		sessionID[i] = ss.SessionID
		visitorID[i] = ss.VisitorID
		userID[i] = ss.UserID
		start[i] = ss.Start.UTC()
		end[i] = ss.End.UTC()
		events[i] = clampUint32(int64(ss.Events))
		pageViews[i] = clampUint32(int64(ss.PageViews))
		engagedMS[i] = uint64(max(ss.EngagedMS, 0))
		entryPage[i] = ss.EntryPage
		exitPage[i] = ss.ExitPage
		touchpoint[i] = ss.Touchpoint
		channel[i] = ss.Channel
		utmSource[i] = ss.UTMSource
		utmMedium[i] = ss.UTMMedium
		utmCampaign[i] = ss.UTMCampaign
		deviceType[i] = ss.DeviceType
		conversions[i] = clampUint32(int64(ss.Conversions))
		revenue[i] = ss.Revenue
		version[i] = ss.Version
		if ss.Deleted {
			isDeleted[i] = 1
		}
	}
	columns := []any{
		sessionID, visitorID, userID, start, end,
		events, pageViews, engagedMS, entryPage, exitPage,
		touchpoint, channel, utmSource, utmMedium, utmCampaign,
		deviceType, conversions, revenue, version, isDeleted,
	}
	if err := s.send(ctx, s.sessions, sessionColumns, columns, token); err != nil {
		return fmt.Errorf("write %d sessions: %w", n, err)
	}
	return nil
}

// send inserts columns (slices in the order of names) with query, one of
// the Sink's statements, with that statement's settings and token as the
// insert_deduplication_token. It tells clickhouse-go the column types it
// learned, and when the insert fails permanently with learned types it
// learns them again and tries once more (the table may have changed
// since). The returned error is classified.
func (s *Sink) send(ctx context.Context, query string, names []string, columns []any, token string) error {
	in := s.inserts[query]
	if in == nil {
		return s.sendOnce(ctx, query, names, columns, insertSettings(nil, token), nil)
	}
	types, learned, err := in.columnTypes(ctx, s.conn)
	if err != nil {
		return err
	}
	settings := insertSettings(in.settings, token)
	err = s.sendOnce(ctx, query, names, columns, settings, types)
	if err != nil && learned && IsPermanent(err) {
		in.forget()
		if types, _, derr := in.columnTypes(ctx, s.conn); derr == nil {
			err = s.sendOnce(ctx, query, names, columns, settings, types)
		}
	}
	if err != nil {
		in.forget()
	}
	return err
}

// insertSettings returns an insert's settings: fixed ones plus token as the
// insert_deduplication_token (none when empty); nil when there are none.
func insertSettings(fixed ch.Settings, token string) ch.Settings {
	if len(fixed) == 0 && token == "" {
		return nil
	}
	settings := make(ch.Settings, len(fixed)+1)
	for name, value := range fixed {
		settings[name] = value
	}
	if token != "" {
		settings["insert_deduplication_token"] = token
	}
	return settings
}

// sendOnce prepares query as a batch of the columns of types (nil: ask the
// server), appends columns and sends it with settings (nil: none).
func (s *Sink) sendOnce(ctx context.Context, query string, names []string, columns []any, settings ch.Settings, types []ch.ColumnNameAndType) (err error) {
	var opts []ch.QueryOption
	if types != nil {
		opts = append(opts, ch.WithColumnNamesAndTypes(types))
	}
	if settings != nil {
		opts = append(opts, ch.WithSettings(settings))
	}
	if len(opts) > 0 {
		ctx = ch.Context(ctx, opts...)
	}
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return fmt.Errorf("prepare insert: %w", classify(err))
	}
	defer func() {
		if err != nil {
			_ = batch.Abort()
		}
	}()
	for i, values := range columns {
		if err := batch.Column(i).Append(values); err != nil {
			return fmt.Errorf("column %s: %w", names[i], classify(err))
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("send insert: %w", classify(err))
	}
	return nil
}

func clampUint32(v int64) uint32 {
	return uint32(min(max(v, 0), math.MaxUint32))
}
