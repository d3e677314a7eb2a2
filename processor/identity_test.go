package processor

import (
	"reflect"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

func TestIdentify(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	e := func(id, typ, visitor, user string, m int) pipeline.Event {
		return pipeline.Event{MessageID: id, Type: typ, VisitorID: visitor, UserID: user, EventTime: at(m)}
	}
	row := func(visitor, user string, first, last int, source, msg string) pipeline.Identity {
		return pipeline.Identity{VisitorID: visitor, UserID: user, FirstSeen: at(first), LastSeen: at(last), Source: source, MessageID: msg}
	}
	for _, tc := range []struct {
		name   string
		events []pipeline.Event
		want   []pipeline.Identity
	}{
		{
			name: "no link without both ids, or with equal ones",
			events: []pipeline.Event{
				e("1", "track", "a", "", 0),
				e("2", "track", "u", "u", 1), // no anonymousId: visitor id = user id
			},
		},
		{
			name: "one row per link; repeats only update the state",
			events: []pipeline.Event{
				e("1", "page", "a", "", 0),
				e("2", "identify", "a", "u1", 1),
				e("3", "track", "a", "u1", 2),
				e("4", "alias", "b", "u1", 3),
				e("5", "track", "c", "u1", 4),
			},
			want: []pipeline.Identity{
				row("a", "u1", 1, 1, "identify", "2"),
				row("b", "u1", 3, 3, "alias", "4"),
				row("c", "u1", 4, 4, "event", "5"),
			},
		},
		{
			name: "switching back to an earlier user writes it again",
			events: []pipeline.Event{
				e("1", "identify", "k", "u1", 0),
				e("2", "identify", "k", "u2", 5),
				e("3", "track", "k", "u2", 6),
				e("4", "track", "k", "u1", 10),
				e("5", "track", "k", "u1", 11),
			},
			want: []pipeline.Identity{
				row("k", "u1", 0, 0, "identify", "1"),
				row("k", "u2", 5, 5, "identify", "2"),
				row("k", "u1", 0, 10, "identify", "1"),
			},
		},
		{
			name: "a late link does not displace the newer one",
			events: []pipeline.Event{
				e("1", "identify", "k", "u1", 0),
				e("2", "track", "k", "u1", 20), // state only: u1 last seen at 20
				e("3", "identify", "k", "u2", 10),
			},
			want: []pipeline.Identity{
				row("k", "u1", 0, 0, "identify", "1"),
				row("k", "u2", 10, 10, "identify", "3"),
				row("k", "u1", 0, 20, "identify", "1"), // u1 (20) stays newer than u2 (10)
			},
		},
		{
			name: "an earlier event moves first_seen, source and message id",
			events: []pipeline.Event{
				e("2", "track", "a", "u1", 5),
				e("1", "identify", "a", "u1", 1),
				e("3", "identify", "a", "u2", 6),
				e("4", "track", "a", "u1", 7),
			},
			want: []pipeline.Identity{
				row("a", "u1", 5, 5, "event", "2"),
				row("a", "u1", 1, 5, "identify", "1"),
				row("a", "u2", 6, 6, "identify", "3"),
				row("a", "u1", 1, 7, "identify", "1"),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := &partition{}
			for i := range tc.events {
				pt.identify(&tc.events[i])
			}
			if !reflect.DeepEqual(pt.identities, tc.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", pt.identities, tc.want)
			}
		})
	}
}

func TestExpireIdentities(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	pt := &partition{p: &Processor{cfg: DefaultConfig()}}
	pt.identify(&pipeline.Event{MessageID: "1", VisitorID: "old", UserID: "u1", EventTime: t0})
	pt.identify(&pipeline.Event{MessageID: "2", VisitorID: "new", UserID: "u1", EventTime: t0.Add(48 * time.Hour)})
	pt.newest = t0.Add(48 * time.Hour)
	pt.identities = nil
	pt.expireIdentities()
	if _, ok := pt.links["old"]; ok || len(pt.links) != 1 {
		t.Fatalf("links after expiry: %v", pt.links)
	}
	// Seen again after it was forgotten: the link is written again.
	pt.identify(&pipeline.Event{MessageID: "3", VisitorID: "old", UserID: "u1", EventTime: t0.Add(49 * time.Hour)})
	if len(pt.identities) != 1 || pt.identities[0].VisitorID != "old" {
		t.Errorf("rows: %+v, want old-u1 again", pt.identities)
	}
}
