package report

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Defaults of the paths report.
const (
	DefaultDepth = 4  // labels a path has, the start included
	pathsLimit   = 20 // paths listed
	maxDepth     = 50
)

// PathsReport is the answer of `touchstream report paths`:
// sql/queries/paths.sql defines each number.
type PathsReport struct {
	// FromEvent is the starting label ("" for session entry).
	FromEvent string `json:"from_event"`
	// ToEvent is the ending label ("" for none): the paths lead to it.
	ToEvent string `json:"to_event"`
	// Depth is the most labels a path has.
	Depth int `json:"depth"`
	// Paths are the most common paths, the most visitors first.
	Paths []Path `json:"paths"`
}

// Path is one sequence of labels ("page:/pricing", "Signed Up") and how
// many visitors and sessions followed it.
type Path struct {
	Path     []string `json:"path"`
	Visitors uint64   `json:"visitors"`
	Sessions uint64   `json:"sessions"`
}

// Kind is KindPaths.
func (*PathsReport) Kind() string { return KindPaths }

// Paths runs sql/queries/paths.sql: opts.From, To, Site, FromEvent or
// ToEvent (not both), Depth (DefaultDepth when 0) and Filter. A session
// passes the filter when its first event does, as in TimeOnSite: the
// session's traffic_channel and touchpoint (those of its first event) and
// that event's properties. A
// session that passes keeps its whole path, from its entry or from
// FromEvent; its later events decide nothing.
func Paths(ctx context.Context, conn driver.Conn, opts Options) (*PathsReport, error) {
	if err := opts.validateRange(); err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	depth := opts.Depth
	if depth == 0 {
		depth = DefaultDepth
	}
	if depth < 1 || depth > maxDepth {
		return nil, fmt.Errorf("paths: depth %d: want 1 to %d", opts.Depth, maxDepth)
	}
	from, to := strings.TrimSpace(opts.FromEvent), strings.TrimSpace(opts.ToEvent)
	if from != "" && to != "" {
		return nil, fmt.Errorf("paths: from event %q and to event %q: give one of them", from, to)
	}
	query, err := filteredSQL("paths", opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	params := append(opts.rangeParams(), chgo.Named("from_event", from), chgo.Named("to_event", to),
		chgo.Named("depth", uint64(depth)), chgo.Named("limit", uint64(pathsLimit)))
	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		return nil, fmt.Errorf("paths: query: %w", err)
	}
	defer rows.Close()
	r := &PathsReport{FromEvent: from, ToEvent: to, Depth: depth, Paths: []Path{}}
	for rows.Next() {
		var p Path
		if err := rows.Scan(&p.Path, &p.Visitors, &p.Sessions); err != nil {
			return nil, fmt.Errorf("paths: scan: %w", err)
		}
		r.Paths = append(r.Paths, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("paths: query: %w", err)
	}
	return r, nil
}

// pathSeparator joins a path's labels in CSV and tables.
const pathSeparator = " > "

func (r *PathsReport) records() [][]string {
	out := [][]string{{"path", "visitors", "sessions"}}
	for _, p := range r.Paths {
		out = append(out, []string{strings.Join(p.Path, pathSeparator), formatUint(p.Visitors), formatUint(p.Sessions)})
	}
	return out
}

func (r *PathsReport) display() []table {
	out := table{{"#", "PATH", "VISITORS", "SESSIONS"}}
	for i, p := range r.Paths {
		out = append(out, []string{strconv.Itoa(i + 1), strings.Join(p.Path, pathSeparator), formatUint(p.Visitors), formatUint(p.Sessions)})
	}
	return []table{out}
}
