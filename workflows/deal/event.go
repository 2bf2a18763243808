package deal

import "time"

// EventKind names something that happened to a deal. Every human action and
// every automatic transition produces at least one event; the audit trail is
// the list of them.
type EventKind string

// Event kinds.
const (
	EventDealStarted        EventKind = "deal_started"
	EventMilestoneActivated EventKind = "milestone_activated"
	EventMilestoneSubmitted EventKind = "milestone_submitted"
	EventReviewApproved     EventKind = "review_approved"
	EventReviewRejected     EventKind = "review_rejected"
	EventMilestoneDone      EventKind = "milestone_done"
	EventMilestoneOverdue   EventKind = "milestone_overdue"
	EventEscalation         EventKind = "escalation"
	EventMilestoneAdded     EventKind = "milestone_added"
	EventMilestoneRedated   EventKind = "milestone_redated"
	EventMilestoneReassign  EventKind = "milestone_reassigned"
	EventMilestoneSkipped   EventKind = "milestone_skipped"
	EventDealPaused         EventKind = "deal_paused"
	EventDealResumed        EventKind = "deal_resumed"
	EventBuyerStage         EventKind = "buyer_stage_recorded"
	EventSellerAhead        EventKind = "seller_ahead_of_buyer"
	EventDealClosed         EventKind = "deal_closed"
)

// SystemActor is the actor of automatic events (activation, timers).
const SystemActor = "system"

// Event is one entry of a deal's audit trail. Seq is unique and increasing
// within a deal, across continue-as-new, so (deal, seq) keys the audit row.
type Event struct {
	Seq       int64     `json:"seq"`
	Kind      EventKind `json:"kind"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Milestone string    `json:"milestone,omitempty"`
	Message   string    `json:"message"`
	// Notify lists the users this event must reach through the notification
	// channels; empty means it is recorded only.
	Notify []string          `json:"notify,omitempty"`
	Data   map[string]string `json:"data,omitempty"`
}
