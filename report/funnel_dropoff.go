package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// FunnelDropoff is the drop-off list of a funnel (`--dropoff K`);
// sql/queries/funnel_dropoff.sql defines each field in mode ordered,
// sql/queries/funnel_modes_dropoff.sql in modes strict and any. It lists
// what the funnel counts: visitors, persons (ByPerson) or sessions
// (BySession).
type FunnelDropoff struct {
	// Step is K: the units reached step K and not K+1.
	Step int `json:"step"`
	// StepName is step K as given.
	StepName string `json:"step_name"`
	// Visitors are the units who dropped off, by the time of step K.
	Visitors []DroppedVisitor `json:"visitors"`
	// NextEvents are the 10 most common first events they did after step K.
	NextEvents []NextEvent `json:"next_events"`
}

// DroppedVisitor is one unit (visitor, person or session) that reached
// step K and not K+1.
type DroppedVisitor struct {
	// PersonID is the person (ByPerson only): the user id of a linked
	// person, else its one visitor id.
	PersonID string `json:"person_id,omitempty"`
	// SessionID is the session (BySession only).
	SessionID string `json:"session_id,omitempty"`
	// VisitorID is the visitor (for persons and sessions, the visitor of
	// the step-K event).
	VisitorID string `json:"visitor_id"`
	// VisitorIDs are a person's visitors with events in the range, sorted
	// (ByPerson only).
	VisitorIDs []string `json:"visitor_ids,omitempty"`
	// UserID is the user id to reach the unit by: a linked person's own,
	// else the newest user_id of the unit's events ('' if none).
	UserID   string    `json:"user_id"`
	StepTime time.Time `json:"step_time"`
	Channel  string    `json:"channel"`
}

// NextEvent is an event that dropped units did next, and how many
// (Visitors counts units: persons or sessions when the funnel counts them).
type NextEvent struct {
	Event    string `json:"event"`
	Visitors uint64 `json:"visitors"`
}

// dropoffSQL renders funnel_dropoff.sql with the variant v of funnel.sql
// for n steps and step k (from 1): the visitor list, or with next the top
// next events. It names the units, so it renders v with ids set.
func dropoffSQL(v funnelVariant, n, k int, next bool) (string, error) {
	v.ids = true
	t, err := v.template()
	if err != nil {
		return "", err
	}
	if t, err = companion(t, "funnel_dropoff"); err != nil {
		return "", err
	}
	var b strings.Builder
	data := struct {
		Steps   []struct{}
		K, Cond int
		Next    bool
	}{make([]struct{}, n), k, k - 1, next}
	if err := t.ExecuteTemplate(&b, "funnel_dropoff.sql", data); err != nil {
		return "", fmt.Errorf("render funnel_dropoff.sql: %w", err)
	}
	return b.String(), nil
}

// dropoffQueries returns the two queries of q's drop-off list (the units,
// the next events) and their parameters: funnel_dropoff.sql in mode
// ordered, funnel_modes_dropoff.sql in modes strict and any.
func (q *funnelQuery) dropoffQueries() (list, next string, params []any, err error) {
	k := q.opts.Dropoff
	params = q.params("", "")
	if q.mode == ModeOrdered {
		if list, err = dropoffSQL(q.variant(""), len(q.steps), k, false); err != nil {
			return "", "", nil, err
		}
		if next, err = dropoffSQL(q.variant(""), len(q.steps), k, true); err != nil {
			return "", "", nil, err
		}
		return list, next, params, nil
	}
	if list, err = q.modesDropoffSQL(false); err != nil {
		return "", "", nil, err
	}
	if next, err = q.modesDropoffSQL(true); err != nil {
		return "", "", nil, err
	}
	return list, next, append(params, chgo.Named("dropoff_step", uint64(k))), nil
}

// dropoff runs the drop-off list for q.opts.Dropoff (dropoffQueries).
func (q *funnelQuery) dropoff(ctx context.Context, conn driver.Conn) (*FunnelDropoff, error) {
	k := q.opts.Dropoff
	d := &FunnelDropoff{Step: k, StepName: q.steps[k-1].label, Visitors: []DroppedVisitor{}, NextEvents: []NextEvent{}}
	query, nextQuery, params, err := q.dropoffQueries()
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, query, params...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			v        DroppedVisitor
			unit     string
			visitors []string
		)
		if err := rows.Scan(&unit, &v.VisitorID, &visitors, &v.UserID, &v.StepTime, &v.Channel); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		switch q.by {
		case ByPerson:
			v.PersonID, v.VisitorIDs = unit, visitors
		case BySession:
			v.SessionID = unit
		}
		v.StepTime = v.StepTime.UTC()
		d.Visitors = append(d.Visitors, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}

	next, err := conn.Query(ctx, nextQuery, params...)
	if err != nil {
		return nil, fmt.Errorf("query next events: %w", err)
	}
	defer next.Close()
	for next.Next() {
		var e NextEvent
		if err := next.Scan(&e.Event, &e.Visitors); err != nil {
			return nil, fmt.Errorf("scan next events: %w", err)
		}
		d.NextEvents = append(d.NextEvents, e)
	}
	if err := next.Err(); err != nil {
		return nil, fmt.Errorf("query next events: %w", err)
	}
	return d, nil
}
