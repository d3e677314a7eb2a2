package processor

import (
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
}

// stage fills the event's journey stage and records a stage transition when
// the visitor moves to another stage. Stages follow arrival order within the
// partition (which is event order for a visitor's live traffic); a replay of
// the partition gives the same rows. Call it once per event, after
// deduplication.
func (pt *partition) stage(e *pipeline.Event) {
	j := pt.stages[e.VisitorID]
	if j == nil {
		j = &journey{}
		pt.stages[e.VisitorID] = j
	}
	if e.EventTime.After(j.last) {
		j.last = e.EventTime
	}
	e.Stage = pt.p.cfg.Stages.Stage(e, j.purchased)
	if e.Stage != "" && e.Stage != j.stage {
		pt.transitions = append(pt.transitions, pipeline.StageTransition{
			VisitorID: e.VisitorID, UserID: e.UserID, FromStage: j.stage, ToStage: e.Stage,
			EventTime: e.EventTime, MessageID: e.MessageID, Touchpoint: e.Touchpoint, Channel: e.Channel,
		})
		j.stage = e.Stage
	}
	if e.IsConversion() {
		j.purchased = true
	}
}

// expireJourneys drops visitors idle for longer than the allowance before
// the partition's watermark, as the sessionizer does.
func (pt *partition) expireJourneys() {
	cutoff := pt.newest.Add(-pt.allowance())
	for id, j := range pt.stages {
		if j.last.Before(cutoff) {
			delete(pt.stages, id)
		}
	}
}
