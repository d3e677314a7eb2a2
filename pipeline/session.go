package pipeline

import "time"

// Session is a visitor's run of events with no gap longer than the
// inactivity timeout (DESIGN.md section 5). Its ID is deterministic: a hash
// of the visitor id and the first event's time.
type Session struct {
	SessionID   string
	VisitorID   string
	UserID      string
	Start       time.Time // first event time; the session belongs to Start's day
	End         time.Time // last event time
	Events      int
	PageViews   int   // page and screen views
	EngagedMS   int64 // sum of EngagementMS, each capped
	EntryPage   string
	ExitPage    string
	Touchpoint  string // of the first event
	Channel     string // of the first event
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	DeviceType  string
	Conversions int     // Order Completed events
	Revenue     float64 // sum over conversions
	Deleted     bool    // a restatement removed this session (its id changed)
	Version     uint64  // increases with every restatement; the newest row wins
}

// Duration is last event time minus first event time.
func (s *Session) Duration() time.Duration { return s.End.Sub(s.Start) }

// Engaged reports whether the session counts as engaged: duration >= 10 s,
// or >= 2 page/screen views, or a conversion.
func (s *Session) Engaged() bool {
	return s.Duration() >= 10*time.Second || s.PageViews >= 2 || s.Conversions > 0
}

// StageTransition records a visitor moving from one journey stage to
// another (DESIGN.md section 5), for stage-to-stage conversion and time
// between stages.
type StageTransition struct {
	VisitorID  string
	UserID     string
	FromStage  string // "" for the visitor's first stage
	ToStage    string
	EventTime  time.Time // of the event that moved the visitor
	MessageID  string    // of that event; with VisitorID, the row's key
	SessionID  string
	Touchpoint string
	Channel    string
}
