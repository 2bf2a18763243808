package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/plan"
)

const (
	// sqlUpsertDeal writes the projection only when it moves forward: on
	// conflict the WHERE clause keeps a stored row of equal or newer version,
	// and the statement then affects no row.
	sqlUpsertDeal = `
INSERT INTO deals (id, name, customer, amount, currency, status, template, pmo, stage,
	buyer_stage, overdue, next_deadline, started_at, updated_at, closed_at, version, state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (id) DO UPDATE SET
	name = EXCLUDED.name, customer = EXCLUDED.customer, amount = EXCLUDED.amount,
	currency = EXCLUDED.currency, status = EXCLUDED.status, template = EXCLUDED.template,
	pmo = EXCLUDED.pmo, stage = EXCLUDED.stage, buyer_stage = EXCLUDED.buyer_stage,
	overdue = EXCLUDED.overdue, next_deadline = EXCLUDED.next_deadline,
	started_at = EXCLUDED.started_at, updated_at = EXCLUDED.updated_at,
	closed_at = EXCLUDED.closed_at, version = EXCLUDED.version, state = EXCLUDED.state
WHERE deals.version < EXCLUDED.version`

	sqlDeleteMilestones = `DELETE FROM milestones WHERE deal_id = $1`

	sqlInsertMilestonesHead = `
INSERT INTO milestones (deal_id, key, title, role, owner, state, round, due_at, activated_at,
	done_at, overdue, escalation_level, position, reviewers, pending_reviewers)`

	sqlInsertEventsHead = `
INSERT INTO audit_events (deal_id, seq, kind, at, actor, milestone, message, notify, data)`

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

// RecordChange stores one change of a deal in one transaction:
//
//   - the projection (deal row and its milestone rows), only if deal.Version
//     is newer than the stored one: an older or repeated snapshot is ignored;
//   - the audit events, each once per (deal, seq);
//   - one outbox row per (event, recipient) for events that name recipients,
//     each once.
//
// Calling it again with the same input changes nothing, so the activity may
// be retried freely. A change that can never be stored returns an error
// wrapping ErrInvalidChange.
func (s *Store) RecordChange(ctx context.Context, deal *plan.Deal, events []plan.Event) error {
	if err := checkChange(deal, events); err != nil {
		return err
	}
	row, err := newDealRow(deal)
	if err != nil {
		return err
	}
	err = s.InTx(ctx, func(tx *sqlx.Tx) error {
		advanced, err := upsertDeal(ctx, tx, row)
		if err != nil {
			return fmt.Errorf("upserting deal: %w", err)
		}
		if advanced {
			if err := replaceMilestones(ctx, tx, deal); err != nil {
				return fmt.Errorf("writing milestones: %w", err)
			}
		}
		if err := insertEvents(ctx, tx, deal.ID, events); err != nil {
			return fmt.Errorf("writing audit events: %w", err)
		}
		if err := insertOutbox(ctx, tx, deal, events); err != nil {
			return fmt.Errorf("writing outbox: %w", err)
		}
		if err := recordProgramReviews(ctx, tx, deal, events); err != nil {
			return fmt.Errorf("counting reviews for coverage programs: %w", err)
		}
		return nil
	})
	if err == nil {
		return nil
	}
	// Data Postgres refuses (class 22: bad values such as a NUL byte in a
	// string; class 23: constraint violations) will be refused every time.
	if pe := pq.As(err); pe != nil && (pe.Code.Class() == "22" || pe.Code.Class() == "23") {
		return fmt.Errorf("store: recording deal %s: %w: %w", deal.ID, ErrInvalidChange, err)
	}
	return fmt.Errorf("store: recording deal %s: %w", deal.ID, err)
}

func checkChange(deal *plan.Deal, events []plan.Event) error {
	if deal == nil || deal.ID == "" {
		return fmt.Errorf("store: %w: no deal or no deal id", ErrInvalidChange)
	}
	if deal.Version <= 0 {
		return fmt.Errorf("store: %w: deal %s has version %d; versions start at 1", ErrInvalidChange, deal.ID, deal.Version)
	}
	seen := make(map[int64]bool, len(events))
	for _, e := range events {
		if e.Seq <= 0 {
			return fmt.Errorf("store: %w: deal %s: event %s has sequence %d; sequences start at 1", ErrInvalidChange, deal.ID, e.Kind, e.Seq)
		}
		if seen[e.Seq] {
			return fmt.Errorf("store: %w: deal %s: sequence %d appears twice in one change", ErrInvalidChange, deal.ID, e.Seq)
		}
		seen[e.Seq] = true
	}
	return nil
}

// dealRow is the deals table's row.
type dealRow struct {
	ID           string         `db:"id"`
	Name         string         `db:"name"`
	Customer     string         `db:"customer"`
	Amount       float64        `db:"amount"`
	Currency     string         `db:"currency"`
	Status       string         `db:"status"`
	Template     string         `db:"template"`
	PMO          string         `db:"pmo"`
	Stage        pq.StringArray `db:"stage"`
	BuyerStage   string         `db:"buyer_stage"`
	Overdue      bool           `db:"overdue"`
	NextDeadline *time.Time     `db:"next_deadline"`
	StartedAt    time.Time      `db:"started_at"`
	UpdatedAt    time.Time      `db:"updated_at"`
	ClosedAt     *time.Time     `db:"closed_at"`
	Version      int64          `db:"version"`
	State        string         `db:"state"` // jsonb, written as text
}

func newDealRow(d *plan.Deal) (*dealRow, error) {
	state, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("store: %w: deal %s does not encode: %w", ErrInvalidChange, d.ID, err)
	}
	r := &dealRow{
		ID: d.ID, Name: d.Name, Customer: d.Customer, Amount: d.Amount, Currency: d.Currency,
		Status: string(d.Status), Template: d.Template, PMO: d.Team.PMO,
		Stage: pq.StringArray(d.ActiveKeys()), BuyerStage: string(d.BuyerStage), Overdue: d.Overdue(),
		StartedAt: d.StartedAt, UpdatedAt: d.UpdatedAt, Version: d.Version, State: string(state),
	}
	if d.Next != nil {
		r.NextDeadline = nullTime(d.Next.At)
	}
	if d.Status.Final() {
		r.ClosedAt = &r.UpdatedAt
		if d.Outcome != nil && !d.Outcome.At.IsZero() {
			r.ClosedAt = nullTime(d.Outcome.At)
		}
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.StartedAt
	}
	return r, nil
}

// upsertDeal writes the projection and reports whether it advanced.
func upsertDeal(ctx context.Context, q sqlx.ExtContext, r *dealRow) (bool, error) {
	res, err := q.ExecContext(ctx, sqlUpsertDeal,
		r.ID, r.Name, r.Customer, r.Amount, r.Currency, r.Status, r.Template, r.PMO, r.Stage,
		r.BuyerStage, r.Overdue, r.NextDeadline, r.StartedAt, r.UpdatedAt, r.ClosedAt, r.Version, r.State)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// replaceMilestones rewrites the deal's milestone rows from the snapshot.
func replaceMilestones(ctx context.Context, q sqlx.ExtContext, d *plan.Deal) error {
	if _, err := q.ExecContext(ctx, sqlDeleteMilestones, d.ID); err != nil {
		return err
	}
	rows := make([][]any, 0, len(d.Milestones))
	for i, m := range d.Milestones {
		owner := m.Owner
		if owner == "" {
			owner = d.Team.Holder(m.Role)
		}
		rows = append(rows, []any{
			d.ID, m.Key, m.Title, string(m.Role), owner, string(m.State), m.Round,
			nullTime(m.DueAt), nullTime(m.ActivatedAt), nullTime(m.DoneAt), m.Overdue, m.Escalation, i,
			stringArray(m.Reviewers), stringArray(pendingReviewers(m)),
		})
	}
	return bulkInsert(ctx, q, sqlInsertMilestonesHead, "", rows)
}

// pendingReviewers returns this round's reviewers who have not voted yet,
// while the milestone waits for review.
func pendingReviewers(m *plan.Milestone) []string {
	if m.State != plan.StateSubmitted && m.State != plan.StateInReview {
		return nil
	}
	return slices.DeleteFunc(slices.Clone(m.Reviewers), func(u string) bool {
		return slices.ContainsFunc(m.Reviews, func(r plan.Review) bool { return r.Round == m.Round && r.By == u })
	})
}

func insertEvents(ctx context.Context, q sqlx.ExtContext, dealID string, events []plan.Event) error {
	rows := make([][]any, 0, len(events))
	for _, e := range events {
		data, err := jsonText(e.Data)
		if err != nil {
			return err
		}
		rows = append(rows, []any{dealID, e.Seq, string(e.Kind), e.At, e.Actor, e.Milestone, e.Message,
			stringArray(e.Notify), data})
	}
	return bulkInsert(ctx, q, sqlInsertEventsHead, sqlOnConflictNothing, rows)
}

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

func insertOutbox(ctx context.Context, q sqlx.ExtContext, d *plan.Deal, events []plan.Event) error {
	var rows [][]any
	for _, e := range events {
		if len(e.Notify) == 0 {
			continue
		}
		payload, err := jsonText(NotificationPayload{DealName: d.Name, Customer: d.Customer,
			Milestone: e.Milestone, Actor: e.Actor, At: e.At, Data: e.Data})
		if err != nil {
			return err
		}
		var seen []string
		for _, r := range e.Notify {
			if r == "" || slices.Contains(seen, r) {
				continue
			}
			seen = append(seen, r)
			rows = append(rows, []any{d.ID, e.Seq, r, string(e.Kind), e.Message, payload})
		}
	}
	return bulkInsert(ctx, q, sqlInsertOutboxHead, sqlOnConflictNothing, rows)
}

// GetDeal returns the latest projected state of a deal, or ErrNotFound.
func (s *Store) GetDeal(ctx context.Context, id string) (*plan.Deal, error) {
	var state []byte
	if err := s.db.QueryRowxContext(ctx, sqlGetDealState, id).Scan(&state); err != nil {
		return nil, mapErr(err, "deal "+id)
	}
	var d plan.Deal
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
func (s *Store) ListEvents(ctx context.Context, dealID string, afterSeq int64, limit int) ([]plan.Event, error) {
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
	out := make([]plan.Event, len(rows))
	for i, r := range rows {
		e := plan.Event{Seq: r.Seq, Kind: plan.EventKind(r.Kind), At: r.At, Actor: r.Actor,
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

// stringArray encodes a text[] that is never NULL.
func stringArray(s []string) pq.StringArray {
	if s == nil {
		return pq.StringArray{}
	}
	return pq.StringArray(s)
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
