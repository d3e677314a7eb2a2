package processor

import (
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// links is what the processor keeps of a visitor's identity links between
// events: each user id it has been linked to, and which link the rows
// written so far make the visitor's person.
type links struct {
	users    map[string]*link // by user id
	winner   string           // user id of the written row with the newest last_seen
	winnerAt time.Time        // that row's last_seen
	last     time.Time        // newest event time, for expiry
}

// link is one visitor-user link as the state knows it.
type link struct {
	first, last time.Time // event times of the oldest and the newest event with the link
	source      string    // pipeline.IdentitySource of the event at first
	messageID   string    // the event at first
}

// identify records the identity link an event carries: any event with both
// a visitor id and a different user id links them (identify, alias, or any
// other type). It adds a row to the batch for a link the partition's state
// has not seen; again when an event older than the link's first arrives
// (out of order), so that first_seen, source and message_id describe the
// oldest event; and again for the visitor's newest link (by event time)
// when the rows written so far name another user as the newest, so that
// the newest row of a visitor (by last_seen) always names the user it was
// last seen with, which is what the persons view picks. Other repeats only
// update the state (last_seen of a written row is not advanced), so a
// visitor who stays with one user, in event order, makes one row per
// partition state. Links follow arrival order within the partition, as the
// journey stages do; a replay gives rows that fold into the same ones under
// the table's key. Call it once per event, after deduplication.
//
// Alias: pipeline.Event has no previousId, so an alias links its visitor
// id (anonymousId, else userId) to its userId; a previousId naming another
// id is lost.
func (pt *partition) identify(e *pipeline.Event) {
	if e.UserID == "" || e.VisitorID == "" || e.UserID == e.VisitorID {
		return
	}
	if pt.links == nil {
		pt.links = make(map[string]*links)
	}
	l := pt.links[e.VisitorID]
	if l == nil {
		l = &links{users: make(map[string]*link, 1)}
		pt.links[e.VisitorID] = l
	}
	if e.EventTime.After(l.last) {
		l.last = e.EventTime
	}
	k := l.users[e.UserID]
	switch {
	case k == nil:
		k = &link{first: e.EventTime, last: e.EventTime, source: pipeline.IdentitySource(e.Type), messageID: e.MessageID}
		l.users[e.UserID] = k
		pt.writeLink(e.VisitorID, e.UserID, l, k)
	case e.EventTime.Before(k.first): // an older event: the link began earlier
		k.first, k.source, k.messageID = e.EventTime, pipeline.IdentitySource(e.Type), e.MessageID
		pt.writeLink(e.VisitorID, e.UserID, l, k)
	case e.EventTime.After(k.last):
		k.last = e.EventTime
	}
	// The newest link by event time must be the newest written row.
	newest, nk := "", (*link)(nil)
	for user, c := range l.users {
		if nk == nil || newer(c.last, user, nk.last, newest) {
			newest, nk = user, c
		}
	}
	if newest != l.winner && newer(nk.last, newest, l.winnerAt, l.winner) {
		pt.writeLink(e.VisitorID, newest, l, nk)
	}
}

// writeLink adds a row for the link of visitor to user to the batch.
func (pt *partition) writeLink(visitor, user string, l *links, k *link) {
	pt.identities = append(pt.identities, pipeline.Identity{
		VisitorID: visitor, UserID: user, FirstSeen: k.first, LastSeen: k.last,
		Source: k.source, MessageID: k.messageID,
	})
	if l.winner == "" || newer(k.last, user, l.winnerAt, l.winner) {
		l.winner, l.winnerAt = user, k.last
	}
}

// newer reports whether a link of user seen last at t is newer than one of
// other seen last at than: the order of the persons view's
// argMax(user_id, (last_seen, user_id)).
func newer(t time.Time, user string, than time.Time, other string) bool {
	return t.After(than) || (t.Equal(than) && user > other)
}

// expireIdentities drops visitors idle for longer than the allowance
// before the partition's watermark, as expireJourneys does.
func (pt *partition) expireIdentities() {
	cutoff := pt.newest.Add(-pt.allowance())
	for id, l := range pt.links {
		if l.last.Before(cutoff) {
			delete(pt.links, id)
		}
	}
}
