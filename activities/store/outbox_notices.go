package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Notice is a notification that is not a deal event, such as a report
// telling a rep they are behind pace. Subject and Seq key it the way a
// deal's id and event sequence key deal notifications ("funnel/q3-east" and
// the report's id), so queueing the same notice twice sends it once.
type Notice struct {
	Subject   string
	Seq       int64
	Recipient string
	Kind      string
	Message   string
	// Link is the API path the message points to, e.g. "/funnel/reports/42".
	Link string
	Data map[string]string
}

// QueueNotices adds notices to the outbox, ignoring those already queued.
// It takes q so a report and its notices can be written in one transaction.
func QueueNotices(ctx context.Context, q sqlx.ExtContext, notices []Notice) error {
	rows := make([][]any, 0, len(notices))
	for _, n := range notices {
		if n.Subject == "" || n.Recipient == "" || n.Kind == "" {
			return fmt.Errorf("notice for %q about %q: subject, recipient and kind are required: %w", n.Recipient, n.Subject, ErrInvalidChange)
		}
		payload, err := jsonText(NotificationPayload{At: time.Now().UTC(), Data: n.Data, Link: n.Link})
		if err != nil {
			return err
		}
		rows = append(rows, []any{n.Subject, n.Seq, n.Recipient, n.Kind, n.Message, payload})
	}
	return bulkInsert(ctx, q, sqlInsertOutboxHead, sqlOnConflictNothing, rows)
}

// QueueNotices adds notices to the outbox in their own transaction.
func (s *Store) QueueNotices(ctx context.Context, notices []Notice) error {
	return mapErr(QueueNotices(ctx, s.db, notices), "notices")
}
