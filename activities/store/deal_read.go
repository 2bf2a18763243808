package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/deal"
)

const (
	sqlInsertOutboxHead = `
INSERT INTO outbox (deal_id, seq, recipient, kind, message, payload)`

	sqlOnConflictNothing = `ON CONFLICT DO NOTHING`

	sqlGetDealState = `SELECT state FROM deals WHERE id = $1`

	sqlListEvents = `
SELECT seq, kind, at, actor, milestone, message, notify, data
FROM audit_events
WHERE deal_id = $1 AND seq > $2
ORDER BY seq
LIMIT $3`
)

// NotificationPayload is the context a notification carries besides its
// message, so a channel can format it without reading the deal.
type NotificationPayload struct {
	DealName  string            `json:"deal_name"`
	Customer  string            `json:"customer"`
	Milestone string            `json:"milestone,omitempty"`
	Actor     string            `json:"actor,omitempty"`
	At        time.Time         `json:"at"`
	Data      map[string]string `json:"data,omitempty"`
	// Link, when set, is the API path the message points to (relative to
	// the relay's link base); deal events link to their deal.
	Link string `json:"link,omitempty"`
}

// GetDeal returns the latest projected state of a deal, or ErrNotFound.
func (s *Store) GetDeal(ctx context.Context, id string) (*deal.Deal, error) {
	var state []byte
	if err := s.db.QueryRowxContext(ctx, sqlGetDealState, id).Scan(&state); err != nil {
		return nil, mapErr(err, "deal "+id)
	}
	var d deal.Deal
	if err := json.Unmarshal(state, &d); err != nil {
		return nil, fmt.Errorf("store: deal %s: stored state does not decode: %w", id, err)
	}
	return &d, nil
}

// Event limits for ListEvents.
const (
	DefaultEventLimit = 100
	MaxEventLimit     = 1000
)

// ListEvents returns a deal's audit events with sequence numbers above
// afterSeq, in order, at most limit (default 100, at most 1000). Page on by
// passing the last Seq received. An unknown deal has no events.
func (s *Store) ListEvents(ctx context.Context, dealID string, afterSeq int64, limit int) ([]deal.Event, error) {
	switch {
	case limit < 0:
		return nil, inputErr("limit", "limit cannot be negative")
	case limit == 0:
		limit = DefaultEventLimit
	case limit > MaxEventLimit:
		limit = MaxEventLimit
	}
	var rows []struct {
		Seq       int64          `db:"seq"`
		Kind      string         `db:"kind"`
		At        time.Time      `db:"at"`
		Actor     string         `db:"actor"`
		Milestone string         `db:"milestone"`
		Message   string         `db:"message"`
		Notify    pq.StringArray `db:"notify"`
		Data      []byte         `db:"data"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlListEvents, dealID, afterSeq, limit); err != nil {
		return nil, fmt.Errorf("store: listing events of %s: %w", dealID, err)
	}
	out := make([]deal.Event, len(rows))
	for i, r := range rows {
		e := deal.Event{Seq: r.Seq, Kind: deal.EventKind(r.Kind), At: r.At, Actor: r.Actor,
			Milestone: r.Milestone, Message: r.Message}
		if len(r.Notify) > 0 {
			e.Notify = r.Notify
		}
		if err := json.Unmarshal(r.Data, &e.Data); err != nil {
			return nil, fmt.Errorf("store: event %s/%d: data does not decode: %w", dealID, r.Seq, err)
		}
		if len(e.Data) == 0 {
			e.Data = nil
		}
		out[i] = e
	}
	return out, nil
}

// --- helpers ---

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// jsonText encodes v for a jsonb parameter (as text: lib/pq would send a
// []byte as bytea). A nil map becomes {}.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidChange, err)
	}
	if string(b) == "null" {
		return "{}", nil
	}
	return string(b), nil
}
