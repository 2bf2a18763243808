package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/coverage"
	"dealflow/workflows/deal"
)

// sqlRecordChange records one change of a deal in a single statement, so in
// one round trip and atomically (see RecordChange). The rows come as JSON
// arrays ($18–$21), unpacked by jsonb_to_recordset. Every part but the
// events, notifications and review counts applies only when the deal row
// advanced (the deal CTE returns a row). Nothing at all is written while the
// deal has parked changes (see RecordOrPark), unless $23 says to ignore them;
// the statement answers whether it was blocked so.
const sqlRecordChange = `
WITH blocked AS (
	SELECT 1 FROM parked_changes WHERE deal_id = $1 AND NOT $23::boolean LIMIT 1
),
deal AS (
	INSERT INTO deals (id, name, customer, amount, currency, status, template, pmo, stage,
		buyer_stage, overdue, next_deadline, started_at, updated_at, closed_at, version, state)
	SELECT $1::text, $2::text, $3::text, $4::numeric, $5::text, $6::text, $7::text, $8::text,
		$9::text[], $10::text, $11::boolean, $12::timestamptz, $13::timestamptz, $14::timestamptz,
		$15::timestamptz, $16::bigint, $17::jsonb
	WHERE NOT EXISTS (SELECT FROM blocked)
	ON CONFLICT (id) DO UPDATE SET
		name = EXCLUDED.name, customer = EXCLUDED.customer, amount = EXCLUDED.amount,
		currency = EXCLUDED.currency, status = EXCLUDED.status, template = EXCLUDED.template,
		pmo = EXCLUDED.pmo, stage = EXCLUDED.stage, buyer_stage = EXCLUDED.buyer_stage,
		overdue = EXCLUDED.overdue, next_deadline = EXCLUDED.next_deadline,
		started_at = EXCLUDED.started_at, updated_at = EXCLUDED.updated_at,
		closed_at = EXCLUDED.closed_at, version = EXCLUDED.version, state = EXCLUDED.state
	WHERE deals.version < EXCLUDED.version
	RETURNING id
),
ms AS (
	SELECT * FROM jsonb_to_recordset($18::jsonb) AS m (key text, title text, role text, owner text,
		state text, round integer, due_at timestamptz, activated_at timestamptz, done_at timestamptz,
		overdue boolean, escalation_level integer, position integer, reviewers text[],
		pending_reviewers text[])
),
dropped AS (
	DELETE FROM milestones
	WHERE deal_id = $1 AND EXISTS (SELECT FROM deal) AND key NOT IN (SELECT key FROM ms)
),
-- Only milestones that changed are written: most actions touch one or two.
kept AS (
	INSERT INTO milestones (deal_id, key, title, role, owner, state, round, due_at, activated_at,
		done_at, overdue, escalation_level, position, reviewers, pending_reviewers)
	SELECT $1, key, title, role, owner, state, round, due_at, activated_at, done_at, overdue,
		escalation_level, position, coalesce(reviewers, '{}'), coalesce(pending_reviewers, '{}')
	FROM ms
	WHERE EXISTS (SELECT FROM deal)
	ON CONFLICT (deal_id, key) DO UPDATE SET
		title = EXCLUDED.title, role = EXCLUDED.role, owner = EXCLUDED.owner, state = EXCLUDED.state,
		round = EXCLUDED.round, due_at = EXCLUDED.due_at, activated_at = EXCLUDED.activated_at,
		done_at = EXCLUDED.done_at, overdue = EXCLUDED.overdue,
		escalation_level = EXCLUDED.escalation_level, position = EXCLUDED.position,
		reviewers = EXCLUDED.reviewers, pending_reviewers = EXCLUDED.pending_reviewers
	WHERE (milestones.title, milestones.role, milestones.owner, milestones.state, milestones.round,
		milestones.due_at, milestones.activated_at, milestones.done_at, milestones.overdue,
		milestones.escalation_level, milestones.position, milestones.reviewers,
		milestones.pending_reviewers)
	IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.role, EXCLUDED.owner, EXCLUDED.state, EXCLUDED.round,
		EXCLUDED.due_at, EXCLUDED.activated_at, EXCLUDED.done_at, EXCLUDED.overdue,
		EXCLUDED.escalation_level, EXCLUDED.position, EXCLUDED.reviewers,
		EXCLUDED.pending_reviewers)
),
events AS (
	INSERT INTO audit_events (deal_id, seq, kind, at, actor, milestone, message, notify, data)
	SELECT $1, seq, kind, at, actor, coalesce(milestone, ''), message, coalesce(notify, '{}'),
		coalesce(data, '{}')
	FROM jsonb_to_recordset($19::jsonb) AS e (seq bigint, kind text, at timestamptz, actor text,
		milestone text, message text, notify text[], data jsonb)
	WHERE NOT EXISTS (SELECT FROM blocked)
	ON CONFLICT DO NOTHING
),
notices AS (
	INSERT INTO outbox (deal_id, seq, recipient, kind, message, payload)
	SELECT $1, seq, recipient, kind, message, payload
	FROM jsonb_to_recordset($20::jsonb) AS o (seq bigint, recipient text, kind text, message text,
		payload jsonb)
	WHERE NOT EXISTS (SELECT FROM blocked)
	ON CONFLICT DO NOTHING
),
` + sqlCountDealReviews + `
SELECT EXISTS (SELECT FROM blocked)`

// RecordChange stores one change of a deal atomically:
//
//   - the projection (deal row and its milestone rows), only if deal.Version
//     is newer than the stored one: an older or repeated snapshot is ignored;
//   - the audit events, each once per (deal, seq);
//   - one outbox row per (event, recipient) for events that name recipients,
//     each once;
//   - the solution reviews that coverage programs count (see
//     sqlCountDealReviews).
//
// It is one statement: recording runs after every action of every deal,
// and on a busy machine each round trip to Postgres costs more than the
// work.
// Calling it again with the same input changes nothing, so it may be
// retried freely. A change that can never be stored returns an error
// wrapping ErrInvalidChange. It records directly, whether or not the deal
// has parked changes; the deal workflow records through RecordOrPark.
//
// Texts are written so that Postgres can always hold them: U+0000 (which
// neither text nor jsonb can hold) and invalid UTF-8 become U+FFFD in the
// read model, the audit trail and the outbox (see cleanText). The deal
// model refuses such input; this is for state from before it did.
func (s *Store) RecordChange(ctx context.Context, d *deal.Deal, events []deal.Event) error {
	_, err := s.recordChange(ctx, s.db, d, events, true)
	return err
}

// recordChange runs sqlRecordChange on q; unless ignoreParked, it writes
// nothing and answers blocked when the deal has parked changes. A refusal
// (see refused) wraps ErrInvalidChange.
func (s *Store) recordChange(ctx context.Context, q sqlx.QueryerContext, d *deal.Deal, events []deal.Event, ignoreParked bool) (blocked bool, err error) {
	if err := checkChange(d, events); err != nil {
		return false, err
	}
	args, err := recordChangeArgs(d, events)
	if err == nil {
		err = q.QueryRowxContext(ctx, sqlRecordChange, append(args, ignoreParked)...).Scan(&blocked)
	}
	switch {
	case err == nil:
		return blocked, nil
	case errors.Is(err, ErrInvalidChange):
		return false, err
	case refused(err):
		return false, fmt.Errorf("store: recording deal %s: %w: %w", d.ID, ErrInvalidChange, err)
	}
	return false, fmt.Errorf("store: recording deal %s: %w", d.ID, err)
}

// refused reports whether Postgres refused data it will refuse every time:
// class 22 (bad values), class 23 (constraint violations) and class 54
// (program limits, such as a value too long for an index) — except a
// foreign-key violation, which a concurrent delete causes (a coverage
// program deleted while its review counts are written, say): the retry
// reads the parent's absence and writes nothing for it.
func refused(err error) bool {
	pe := pq.As(err)
	if pe == nil || pe.Code == codeForeignKeyViolation {
		return false
	}
	switch pe.Code.Class() {
	case "22", "23", "54":
		return true
	}
	return false
}

func checkChange(d *deal.Deal, events []deal.Event) error {
	if d == nil || d.ID == "" {
		return fmt.Errorf("store: %w: no deal or no deal id", ErrInvalidChange)
	}
	if d.Version <= 0 {
		return fmt.Errorf("store: %w: deal %s has version %d; versions start at 1", ErrInvalidChange, d.ID, d.Version)
	}
	seen := make(map[int64]bool, len(events))
	for _, e := range events {
		if e.Seq <= 0 {
			return fmt.Errorf("store: %w: deal %s: event %s has sequence %d; sequences start at 1", ErrInvalidChange, d.ID, e.Kind, e.Seq)
		}
		if seen[e.Seq] {
			return fmt.Errorf("store: %w: deal %s: sequence %d appears twice in one change", ErrInvalidChange, d.ID, e.Seq)
		}
		seen[e.Seq] = true
	}
	return nil
}

// recordChangeArgs are sqlRecordChange's parameters, in order.
func recordChangeArgs(d *deal.Deal, events []deal.Event) ([]any, error) {
	state, err := json.Marshal(d)
	if err == nil {
		state = cleanJSON(state)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w: deal %s does not encode: %w", ErrInvalidChange, d.ID, err)
	}
	updatedAt := d.UpdatedAt
	if updatedAt.IsZero() {
		updatedAt = d.StartedAt
	}
	var next, closed *time.Time
	if d.Next != nil {
		next = nullTime(d.Next.At)
	}
	if d.Status.Final() {
		closed = &updatedAt
		if d.Outcome != nil && !d.Outcome.At.IsZero() {
			closed = nullTime(d.Outcome.At)
		}
	}
	rows := []any{milestoneRows(d), eventRows(events), outboxRows(d, events), coverage.DealReviews(d, events)}
	stage := d.ActiveKeys()
	for i := range stage {
		stage[i] = cleanText(stage[i])
	}
	args := []any{cleanText(d.ID), cleanText(d.Name), cleanText(d.Customer), d.Amount, cleanText(d.Currency),
		cleanText(string(d.Status)), cleanText(d.Template), cleanText(d.Team.PMO), pq.StringArray(stage),
		cleanText(string(d.BuyerStage)), d.Overdue(), next, d.StartedAt, updatedAt, closed, d.Version, string(state)}
	for _, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("store: %w: deal %s: rows do not encode: %w", ErrInvalidChange, d.ID, err)
		}
		args = append(args, string(cleanJSON(b))) // text, for a jsonb parameter (lib/pq sends []byte as bytea)
	}
	return append(args, cleanText(strings.TrimSpace(d.Customer))), nil
}

// milestoneRow is one row of the milestones table, as JSON.
type milestoneRow struct {
	Key              string     `json:"key"`
	Title            string     `json:"title"`
	Role             string     `json:"role"`
	Owner            string     `json:"owner"`
	State            string     `json:"state"`
	Round            int        `json:"round"`
	DueAt            *time.Time `json:"due_at,omitempty"`
	ActivatedAt      *time.Time `json:"activated_at,omitempty"`
	DoneAt           *time.Time `json:"done_at,omitempty"`
	Overdue          bool       `json:"overdue"`
	EscalationLevel  int        `json:"escalation_level"`
	Position         int        `json:"position"`
	Reviewers        []string   `json:"reviewers"`
	PendingReviewers []string   `json:"pending_reviewers"`
}

func milestoneRows(d *deal.Deal) []milestoneRow {
	rows := make([]milestoneRow, 0, len(d.Milestones))
	for i, m := range d.Milestones {
		owner := m.Owner
		if owner == "" {
			owner = d.Team.Holder(m.Role)
		}
		rows = append(rows, milestoneRow{
			Key: m.Key, Title: m.Title, Role: string(m.Role), Owner: owner, State: string(m.State), Round: m.Round,
			DueAt: nullTime(m.DueAt), ActivatedAt: nullTime(m.ActivatedAt), DoneAt: nullTime(m.DoneAt),
			Overdue: m.Overdue, EscalationLevel: m.Escalation, Position: i,
			Reviewers: m.Reviewers, PendingReviewers: pendingReviewers(m),
		})
	}
	return rows
}

// pendingReviewers returns this round's reviewers who have not voted yet,
// while the milestone waits for review.
func pendingReviewers(m *deal.Milestone) []string {
	if m.State != deal.StateSubmitted && m.State != deal.StateInReview {
		return nil
	}
	return slices.DeleteFunc(slices.Clone(m.Reviewers), func(u string) bool {
		return slices.ContainsFunc(m.Reviews, func(r deal.Review) bool { return r.Round == m.Round && r.By == u })
	})
}

// eventRow is one audit event, as JSON.
type eventRow struct {
	Seq       int64             `json:"seq"`
	Kind      string            `json:"kind"`
	At        time.Time         `json:"at"`
	Actor     string            `json:"actor"`
	Milestone string            `json:"milestone"`
	Message   string            `json:"message"`
	Notify    []string          `json:"notify"`
	Data      map[string]string `json:"data"`
}

func eventRows(events []deal.Event) []eventRow {
	rows := make([]eventRow, 0, len(events))
	for _, e := range events {
		rows = append(rows, eventRow{Seq: e.Seq, Kind: string(e.Kind), At: e.At, Actor: e.Actor,
			Milestone: e.Milestone, Message: e.Message, Notify: e.Notify, Data: e.Data})
	}
	return rows
}

// outboxRow is one notification to one recipient, as JSON.
type outboxRow struct {
	Seq       int64               `json:"seq"`
	Recipient string              `json:"recipient"`
	Kind      string              `json:"kind"`
	Message   string              `json:"message"`
	Payload   NotificationPayload `json:"payload"`
}

// outboxRows has one row per recipient (named once) of every event that
// names some.
func outboxRows(d *deal.Deal, events []deal.Event) []outboxRow {
	rows := []outboxRow{}
	for _, e := range events {
		payload := NotificationPayload{DealName: d.Name, Customer: d.Customer,
			Milestone: e.Milestone, Actor: e.Actor, At: e.At, Data: e.Data}
		var seen []string
		for _, r := range e.Notify {
			if r == "" || slices.Contains(seen, r) {
				continue
			}
			seen = append(seen, r)
			rows = append(rows, outboxRow{Seq: e.Seq, Recipient: r, Kind: string(e.Kind), Message: e.Message, Payload: payload})
		}
	}
	return rows
}
