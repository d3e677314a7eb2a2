package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseRetention parses the raw-event retention of `touchstream migrate
// --events-ttl`: a number of days ("400d"), weeks ("8w") or a Go duration
// that is a whole number of hours ("720h"). "0" keeps events forever.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("events ttl %q: want days like 400d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else if n, ok := strings.CutSuffix(s, "w"); ok {
		weeks, err := strconv.ParseUint(n, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("events ttl %q: want weeks like 8w", s)
		}
		d = time.Duration(weeks) * 7 * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("events ttl %q: want 400d, 8w, 720h or 0", s)
		}
	}
	if d < 0 || d%time.Hour != 0 || d > 100*365*24*time.Hour {
		return 0, fmt.Errorf("events ttl %q: want a whole number of hours between 0 and 100 years", s)
	}
	return d, nil
}

// ttlExpression is the table TTL of events for a retention d > 0, written as
// ClickHouse itself prints it (so an unchanged TTL is recognised and not
// modified again): rows go once event_time is older than d.
func ttlExpression(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("toDateTime(event_time) + toIntervalDay(%d)", d/(24*time.Hour))
	}
	return fmt.Sprintf("toDateTime(event_time) + toIntervalHour(%d)", d/time.Hour)
}

// retentionSQL returns the ALTER that gives the events table (events, or
// events_local ON CLUSTER on a cluster) the retention d: MODIFY TTL for
// d > 0, REMOVE TTL for 0.
func retentionSQL(cluster, database string, d time.Duration) string {
	if d == 0 {
		return ttlSQL(cluster, database, "")
	}
	return ttlSQL(cluster, database, ttlExpression(d))
}

// ttlSQL returns the ALTER that sets the table TTL of events (events_local
// ON CLUSTER on a cluster) to the expression ttl, or removes it for "".
func ttlSQL(cluster, database, ttl string) string {
	table := ident("events")
	if cluster != "" {
		r := clusterRewriter{cluster: cluster, database: database}
		table = r.qualified("events"+LocalSuffix) + r.onCluster()
	}
	if ttl == "" {
		return "ALTER TABLE " + table + " REMOVE TTL"
	}
	return "ALTER TABLE " + table + " MODIFY TTL " + ttl
}

// currentTTL returns the table TTL of events (events_local on a cluster)
// as the server prints it, "" for none or when there is no such table.
func currentTTL(ctx context.Context, db *sql.DB, cluster string) (string, error) {
	table := "events"
	if cluster != "" {
		table += LocalSuffix
	}
	var engine string
	err := db.QueryRowContext(ctx,
		`SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = $1`, table).Scan(&engine)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read ttl of %s: %w", table, classify(err))
	}
	_, ttl, ok := strings.Cut(engine, " TTL ")
	if !ok {
		return "", nil
	}
	ttl, _, _ = strings.Cut(ttl, " SETTINGS ")
	return strings.TrimSpace(ttl), nil
}

// keepTTL sets the TTL of events back to before (as currentTTL read it
// before the migrations ran) when a migration that rebuilt the table
// (00011: CREATE TABLE ... AS events takes no TTL) left it without one.
func keepTTL(ctx context.Context, db *sql.DB, cluster, database, before string) (changed bool, err error) {
	if before == "" {
		return false, nil
	}
	now, err := currentTTL(ctx, db, cluster)
	if err != nil || now != "" {
		return false, err
	}
	if _, err := db.ExecContext(ctx, ttlSQL(cluster, database, before)); err != nil {
		return false, fmt.Errorf("set events ttl again: %w", classify(err))
	}
	return true, nil
}

// applyRetention sets the TTL of raw events to d (0: none) unless it is
// already that. Changing it is a mutation that rewrites the table's parts
// in the background (materialize_ttl_after_modify).
func applyRetention(ctx context.Context, db *sql.DB, cluster, database string, d time.Duration) (changed bool, err error) {
	current, err := currentTTL(ctx, db, cluster)
	if err != nil {
		return false, err
	}
	want := ""
	if d > 0 {
		want = ttlExpression(d)
	}
	if current == want {
		return false, nil
	}
	if _, err := db.ExecContext(ctx, retentionSQL(cluster, database, d)); err != nil {
		return false, fmt.Errorf("set events ttl: %w", classify(err))
	}
	return true, nil
}
