package pipeline

import "time"

// Identity link sources: what kind of event linked a visitor to a user id.
const (
	IdentitySourceIdentify = "identify" // an identify call
	IdentitySourceAlias    = "alias"    // an alias call
	IdentitySourceEvent    = "event"    // any other event carrying both ids
)

// Identity links a visitor (an anonymous id: a device or browser) to a user
// id (DESIGN.md section 5): a person is every visitor linked to one user
// id. Any event carrying both an anonymousId and a different userId makes
// a link; (VisitorID, UserID) is the row's key.
type Identity struct {
	VisitorID string
	UserID    string
	FirstSeen time.Time // event time of the oldest event seen with the link
	LastSeen  time.Time // event time of the newest; the newest link is the visitor's person
	Source    string    // of the event at FirstSeen: IdentitySourceIdentify, IdentitySourceAlias or IdentitySourceEvent
	MessageID string    // the event at FirstSeen
}

// IdentitySource is the Source of a link made by an event of type typ.
func IdentitySource(typ string) string {
	switch typ {
	case TypeIdentify:
		return IdentitySourceIdentify
	case TypeAlias:
		return IdentitySourceAlias
	}
	return IdentitySourceEvent
}
