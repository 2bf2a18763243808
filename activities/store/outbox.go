package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// MaxDeliveryAttempts is how many failed attempts a notification gets before
// MarkFailed gives up on it (sets failed_at).
const MaxDeliveryAttempts = 12

// Notification is one outbox row: one event for one recipient.
type Notification struct {
	ID        int64               `json:"id"`
	DealID    string              `json:"deal_id"`
	Seq       int64               `json:"seq"`
	Recipient string              `json:"recipient"`
	Kind      string              `json:"kind"`
	Message   string              `json:"message"`
	Payload   NotificationPayload `json:"payload"`
	CreatedAt time.Time           `json:"created_at"`
	// Attempts counts failed attempts so far.
	Attempts int `json:"attempts"`
	// ChannelsDone names the channels that need not be tried again (sent,
	// or failed for good) after an earlier partial failure.
	ChannelsDone []string `json:"channels_done,omitempty"`
	LastError    string   `json:"last_error,omitempty"`
}

type notificationRow struct {
	ID           int64          `db:"id"`
	DealID       string         `db:"deal_id"`
	Seq          int64          `db:"seq"`
	Recipient    string         `db:"recipient"`
	Kind         string         `db:"kind"`
	Message      string         `db:"message"`
	Payload      []byte         `db:"payload"`
	CreatedAt    time.Time      `db:"created_at"`
	Attempts     int            `db:"attempts"`
	ChannelsDone pq.StringArray `db:"channels_done"`
	LastError    string         `db:"last_error"`
}

const (
	// sqlClaimNotifications takes due rows no other relay holds (SKIP
	// LOCKED) and pushes their next_attempt_at out by the lease, so they stay
	// claimed after this statement commits; if the relay dies, they come due
	// again when the lease ends.
	sqlClaimNotifications = `
WITH due AS (
	SELECT id FROM outbox
	WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
	ORDER BY next_attempt_at, id
	LIMIT $1
	FOR UPDATE SKIP LOCKED
)
UPDATE outbox o SET next_attempt_at = now() + make_interval(secs => $2)
FROM due WHERE o.id = due.id
RETURNING o.id, o.deal_id, o.seq, o.recipient, o.kind, o.message, o.payload, o.created_at,
	o.attempts, o.channels_done, o.last_error`

	sqlMarkDelivered = `
UPDATE outbox SET delivered_at = now(), last_error = ''
WHERE id = $1 AND delivered_at IS NULL`

	sqlMarkChannelsDone = `
UPDATE outbox SET channels_done = ARRAY(SELECT DISTINCT unnest(channels_done || $2::text[]) ORDER BY 1)
WHERE id = $1`

	// A NULL next attempt gives up at once; so does the last allowed attempt.
	sqlMarkFailed = `
UPDATE outbox SET
	attempts = attempts + 1,
	last_error = $2,
	next_attempt_at = COALESCE($3::timestamptz, next_attempt_at),
	failed_at = CASE WHEN $3::timestamptz IS NULL OR attempts + 1 >= $4 THEN now() END
WHERE id = $1 AND delivered_at IS NULL AND failed_at IS NULL`

	sqlReleaseNotifications = `
UPDATE outbox SET next_attempt_at = now()
WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL AND failed_at IS NULL`
)

const maxErrorText = 2000

// ClaimNotifications claims up to limit due, undelivered notifications for
// lease: no other caller gets them until the lease ends, so several relays
// can share the outbox. Mark each one delivered or failed before the lease
// ends (or release it); one that is not comes due again after it.
func (s *Store) ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]Notification, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease < time.Second {
		lease = time.Second
	}
	var rows []notificationRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlClaimNotifications, limit, lease.Seconds()); err != nil {
		return nil, fmt.Errorf("store: claiming notifications: %w", err)
	}
	slices.SortFunc(rows, func(a, b notificationRow) int { return int(a.ID - b.ID) })
	out := make([]Notification, 0, len(rows))
	for _, r := range rows {
		n := Notification{ID: r.ID, DealID: r.DealID, Seq: r.Seq, Recipient: r.Recipient, Kind: r.Kind,
			Message: r.Message, CreatedAt: r.CreatedAt, Attempts: r.Attempts, LastError: r.LastError}
		if len(r.ChannelsDone) > 0 {
			n.ChannelsDone = r.ChannelsDone
		}
		if err := json.Unmarshal(r.Payload, &n.Payload); err != nil {
			return nil, fmt.Errorf("store: notification %d: payload does not decode: %w", r.ID, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// MarkDelivered records that a notification reached every channel.
func (s *Store) MarkDelivered(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, sqlMarkDelivered, id); err != nil {
		return fmt.Errorf("store: marking notification %d delivered: %w", id, err)
	}
	return nil
}

// MarkChannelsDone records channels that must not be tried again for this
// notification, after a partial failure (some channels sent, others to be
// retried).
func (s *Store) MarkChannelsDone(ctx context.Context, id int64, channels []string) error {
	if len(channels) == 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, sqlMarkChannelsDone, id, pq.StringArray(channels)); err != nil {
		return fmt.Errorf("store: recording channels of notification %d: %w", id, err)
	}
	return nil
}

// MarkFailed records a failed attempt: attempts + 1, the error, and when to
// try again. A zero nextAttempt gives up now (a permanent error), and so
// does the MaxDeliveryAttempts-th failure: both set failed_at, after which
// the notification is never claimed again.
func (s *Store) MarkFailed(ctx context.Context, id int64, cause error, nextAttempt time.Time) error {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	if len(msg) > maxErrorText {
		msg = strings.ToValidUTF8(msg[:maxErrorText], "")
	}
	if _, err := s.db.ExecContext(ctx, sqlMarkFailed, id, msg, nullTime(nextAttempt), MaxDeliveryAttempts); err != nil {
		return fmt.Errorf("store: marking notification %d failed: %w", id, err)
	}
	return nil
}

// ReleaseNotifications ends the lease of claimed notifications that were
// not attempted (the relay is stopping), so they are due again at once.
func (s *Store) ReleaseNotifications(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, sqlReleaseNotifications, pq.Array(ids)); err != nil {
		return fmt.Errorf("store: releasing notifications: %w", err)
	}
	return nil
}
