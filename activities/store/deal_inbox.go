package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"dealflow/workflows/deal"
)

// Inbox is what waits for one user across all open deals.
type Inbox struct {
	// Tasks are active milestones the user owns.
	Tasks []InboxItem `json:"tasks"`
	// Reviews are submitted milestones where the user is one of this round's
	// reviewers and has not voted yet.
	Reviews []InboxItem `json:"reviews"`
	// Escalations are the latest escalation addressed to the user for each
	// milestone that is still open.
	Escalations []InboxItem `json:"escalations"`
}

// InboxItem is one milestone in an inbox.
type InboxItem struct {
	DealID          string              `json:"deal_id" db:"deal_id"`
	DealName        string              `json:"deal_name" db:"deal_name"`
	Customer        string              `json:"customer" db:"customer"`
	DealStatus      deal.DealStatus     `json:"deal_status" db:"deal_status"`
	Milestone       string              `json:"milestone" db:"milestone"`
	Title           string              `json:"title" db:"title"`
	Owner           string              `json:"owner" db:"owner"`
	State           deal.MilestoneState `json:"state" db:"state"`
	Round           int                 `json:"round" db:"round"`
	DueAt           *time.Time          `json:"due_at,omitempty" db:"due_at"`
	Overdue         bool                `json:"overdue" db:"overdue"`
	EscalationLevel int                 `json:"escalation_level" db:"escalation_level"`
	// Message and At describe the escalation (escalations only).
	Message string     `json:"message,omitempty" db:"message"`
	At      *time.Time `json:"at,omitempty" db:"at"`
}

const (
	sqlInboxColumns = `
	m.deal_id, d.name AS deal_name, d.customer, d.status AS deal_status, m.key AS milestone,
	m.title, m.owner, m.state, m.round, m.due_at, m.overdue, m.escalation_level`

	sqlInboxTasks = `
SELECT` + sqlInboxColumns + `, '' AS message, NULL::timestamptz AS at
FROM milestones m JOIN deals d ON d.id = m.deal_id
WHERE m.owner = $1 AND m.state = 'active' AND d.status IN ('active', 'paused')
ORDER BY m.due_at NULLS LAST, m.deal_id, m.position`

	sqlInboxReviews = `
SELECT` + sqlInboxColumns + `, '' AS message, NULL::timestamptz AS at
FROM milestones m JOIN deals d ON d.id = m.deal_id
WHERE m.pending_reviewers @> ARRAY[$1::text] AND m.state IN ('submitted', 'in_review')
	AND d.status IN ('active', 'paused')
ORDER BY m.due_at NULLS LAST, m.deal_id, m.position`

	// Escalations fired during the milestone's current activation only: an
	// escalation of a milestone that has since been done and reopened, or
	// re-dated, is history, not a to-do.
	sqlInboxEscalations = `
SELECT * FROM (
	SELECT DISTINCT ON (m.deal_id, m.key)` + sqlInboxColumns + `, a.message, a.at
	FROM audit_events a
	JOIN milestones m ON m.deal_id = a.deal_id AND m.key = a.milestone
	JOIN deals d ON d.id = m.deal_id
	WHERE a.kind = 'escalation' AND a.notify @> ARRAY[$1::text]
		AND m.state IN ('active', 'submitted', 'in_review')
		AND d.status IN ('active', 'paused')
		AND a.at >= m.activated_at
	ORDER BY m.deal_id, m.key, a.seq DESC
) e
ORDER BY e.at DESC, e.deal_id, e.milestone`
)

// Inbox returns what waits for userID. Every list is non-nil.
func (s *Store) Inbox(ctx context.Context, userID string) (*Inbox, error) {
	in := &Inbox{}
	for _, part := range []struct {
		query string
		dest  *[]InboxItem
	}{
		{sqlInboxTasks, &in.Tasks},
		{sqlInboxReviews, &in.Reviews},
		{sqlInboxEscalations, &in.Escalations},
	} {
		*part.dest = []InboxItem{}
		if err := sqlx.SelectContext(ctx, s.db, part.dest, part.query, userID); err != nil {
			return nil, fmt.Errorf("store: inbox of %s: %w", userID, err)
		}
	}
	return in, nil
}
