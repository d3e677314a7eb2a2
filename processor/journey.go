package processor

import (
	"slices"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// journey is what the processor keeps of a visitor between events for the
// journey stages: the current stage and whether the visitor has purchased
// (return requires an earlier purchase).
type journey struct {
	stage     string
	purchased bool
	last      time.Time // newest event time, for expiry

	// The offsets of the first and the last message of the visitor since
	// its state was made (duplicates and late events included). Replaying
	// the partition from from rebuilds the visitor's state exactly; see
	// partition.needed.
	from, to int64
	// w0 is the partition's watermark before the message at from: what
	// a replay from there must start with.
	w0 time.Time
}

// span is the offsets [from, to] of an expired visitor's messages, and the
// watermark before from.
type span struct {
	from, to int64
	w0       time.Time
}

// stage fills the event's journey stage and records a stage transition when
// the visitor moves to another stage. Stages follow arrival order within the
// partition (which is event order for a visitor's live traffic); a replay of
// the partition gives the same rows. Call it once per event, after
// deduplication.
func (pt *partition) stage(e *pipeline.Event) {
	j := pt.stages[e.VisitorID]
	if j == nil {
		j = &journey{from: pt.cur, to: pt.cur, w0: pt.newest}
		pt.stages[e.VisitorID] = j
	}
	if e.EventTime.After(j.last) {
		j.last = e.EventTime
	}
	e.Stage = pt.p.cfg.Stages.Stage(e, j.purchased)
	if e.Stage != "" && e.Stage != j.stage {
		tr := pipeline.StageTransition{
			VisitorID: e.VisitorID, UserID: e.UserID, FromStage: j.stage, ToStage: e.Stage,
			EventTime: e.EventTime, MessageID: e.MessageID, Touchpoint: e.Touchpoint, Channel: e.Channel,
		}
		pt.transitions = append(pt.transitions, tr)
		pt.stageChanged(tr, e)
		j.stage = e.Stage
	}
	if e.IsConversion() {
		j.purchased = true
	}
}

// expireJourneys drops visitors idle for longer than the allowance before
// the partition's watermark, as the sessionizer does. A visitor's journey
// is made with its sessionizer state (stage runs after every event the
// sessionizer takes) and its newest event time is never older than the
// sessionizer's, so at a flush a visitor has a journey whenever it has
// sessionizer, identity or trigger state: the journeys are the partition's
// visitors, and a visitor's trigger state goes with its journey. The
// offsets of an expired visitor that a replay from the committed offset
// could reach are kept in gone (see needed).
func (pt *partition) expireJourneys() {
	cutoff := pt.newest.Add(-pt.allowance())
	for id, j := range pt.stages {
		if j.last.Before(cutoff) {
			delete(pt.stages, id)
			pt.forgetTriggers(id)
			if j.to >= pt.committed {
				pt.gone = append(pt.gone, span{j.from, j.to, j.w0})
			}
		}
	}
}

// needed returns the offset to commit: the oldest offset from which a
// replay rebuilds the partition's state exactly. That is the next offset
// when no visitor is held, else the first offset of the oldest visitor
// held; and it must not fall inside the offsets of an expired visitor (a
// replay from there would see the visitor's later messages without its
// earlier ones), so it moves back to such a visitor's first offset. It
// never goes below the committed offset.
func (pt *partition) needed() (int64, time.Time) {
	r, w := pt.next, pt.newest
	for _, j := range pt.stages {
		if j.from < r {
			r, w = j.from, j.w0
		}
	}
	for moved := true; moved; {
		moved = false
		for _, g := range pt.gone {
			if g.from < r && r <= g.to {
				r, w, moved = g.from, g.w0, true
			}
		}
	}
	if r <= pt.committed {
		r, w = pt.committed, pt.committedW
	}
	// Expired visitors wholly before r can no longer be reached.
	pt.gone = slices.DeleteFunc(pt.gone, func(g span) bool { return g.to < r })
	return r, w
}

// stale reports whether the visitor's state is older than the lateness
// allowance before the watermark. Such a visitor is forgotten before its
// next message is taken (see expire), whether or not a flush has expired
// it yet: what a message does must not depend on where batches were cut,
// or a replay, which cuts them elsewhere, would write other rows.
func (pt *partition) stale(visitor string) bool {
	j := pt.stages[visitor]
	return j != nil && j.last.Before(pt.newest.Add(-pt.allowance()))
}

// expire drops the state of every visitor idle for longer than the
// allowance before the watermark: sessionizer, journeys, triggers and
// identities. Staleness only grows with the watermark, so dropping one
// earlier than the next flush would changes nothing else.
func (pt *partition) expire() {
	pt.expireJourneys()
	pt.expireIdentities()
	pt.sz.Expire(pt.newest)
}
