package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"dealflow/workflows/deal"
)

// A change the store refuses for good (see refused) is parked rather than
// dropped: the whole batch goes into parked_changes, the deal's later
// changes are parked behind it (so the audit trail and the outbox stay in
// order), and every later recording of the deal first replays what is
// parked, oldest first. Once an operator repairs the cause, the next
// recording or replay (the workflow retries on a timer; `dealflow
// recordings retry`; POST /v1/admin/recordings/{deal}/retry) writes every
// parked change, each once, since recording is idempotent.

// RecordOutcome says what became of a recording.
type RecordOutcome struct {
	// Parked counts the deal's changes still parked afterwards; 0 means the
	// deal's record is complete.
	Parked int `json:"parked"`
	// Since is when the oldest of them was first refused; Error the last
	// refusal.
	Since time.Time `json:"since,omitzero"`
	Error string    `json:"error,omitempty"`
	// Replayed counts parked changes this call recorded.
	Replayed int `json:"replayed"`
	// ParkedNow is set when this call parked the change it was given.
	ParkedNow bool `json:"parked_now,omitempty"`
}

// ParkedChange is one row of parked_changes.
type ParkedChange struct {
	DealID        string    `json:"deal_id" db:"deal_id"`
	Version       int64     `json:"version" db:"version"`
	Events        int       `json:"events" db:"events"`
	FirstFailedAt time.Time `json:"first_failed_at" db:"first_failed_at"`
	LastFailedAt  time.Time `json:"last_failed_at" db:"last_failed_at"`
	Attempts      int       `json:"attempts" db:"attempts"`
	Error         string    `json:"error" db:"error"`
	// Change is the batch itself (deal snapshot and events), in ParkedChangeOf.
	Change json.RawMessage `json:"change,omitempty" db:"-"`
}

// RecordingStatus is what a deal's answer shows while changes are parked.
type RecordingStatus struct {
	Parked int       `json:"parked" db:"parked"`
	Since  time.Time `json:"since" db:"since"`
	Error  string    `json:"error" db:"error"`
}

// parkedBatch is how a change is kept in parked_changes.change.
type parkedBatch struct {
	Deal   deal.Deal    `json:"deal"`
	Events []deal.Event `json:"events"`
}

// AdminNoticeKind is the kind of the notification every admin gets when a
// deal's first change is parked.
const AdminNoticeKind = "recording_parked"

const (
	// sqlParkedOfDeal lists (and locks) a deal's parked changes without
	// their batches, which sqlParkedBatch reads one at a time: a deal
	// parked for long may hold many.
	sqlParkedOfDeal = `
SELECT deal_id, version, events, first_failed_at, last_failed_at, attempts, error
FROM parked_changes WHERE deal_id = $1 ORDER BY version FOR UPDATE`

	sqlParkedBatch = `SELECT change FROM parked_changes WHERE deal_id = $1 AND version = $2`

	sqlParkedWithBatches = `
SELECT deal_id, version, events, change, first_failed_at, last_failed_at, attempts, error
FROM parked_changes WHERE deal_id = $1 ORDER BY version`

	sqlLockDealRecording = `SELECT pg_advisory_xact_lock(hashtextextended('dealflow/record/' || $1, 0))`

	sqlUnparkChange = `DELETE FROM parked_changes WHERE deal_id = $1 AND version = $2`

	sqlRefusedAgain = `
UPDATE parked_changes SET attempts = attempts + 1, last_failed_at = now(), error = $3
WHERE deal_id = $1 AND version = $2`

	sqlParkChange = `
INSERT INTO parked_changes (deal_id, version, events, change, error)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (deal_id, version) DO UPDATE SET
	attempts = parked_changes.attempts + 1, last_failed_at = now(), error = EXCLUDED.error`

	sqlRecordingStatus = `
SELECT count(*) AS parked, coalesce(min(first_failed_at), 'epoch') AS since,
	coalesce((array_agg(error ORDER BY last_failed_at DESC))[1], '') AS error
FROM parked_changes WHERE deal_id = $1`

	sqlListParked = `
SELECT deal_id, version, events, first_failed_at, last_failed_at, attempts, error
FROM parked_changes ORDER BY deal_id, version`

	sqlParkedDeals = `SELECT DISTINCT deal_id FROM parked_changes ORDER BY deal_id`

	sqlCountParked = `SELECT count(*) FROM parked_changes`
)

// RecordOrPark records one change of a deal like RecordChange, but never
// throws a refused change away: if the deal has parked changes, they are
// replayed first, oldest first; a change Postgres refuses for good, or one
// that would come after a parked change still refused, is parked. Parking
// the deal's first change queues a notification to every admin. Errors that
// may pass (Postgres down, a foreign-key race with a delete) are returned,
// to be retried. In the usual case — nothing parked — it is the one
// statement RecordChange runs.
func (s *Store) RecordOrPark(ctx context.Context, d *deal.Deal, events []deal.Event) (RecordOutcome, error) {
	if d == nil || d.ID == "" {
		return RecordOutcome{}, fmt.Errorf("store: %w: no deal or no deal id", ErrInvalidChange)
	}
	blocked, err := s.recordChange(ctx, s.db, d, events, false)
	if err == nil && !blocked {
		return RecordOutcome{}, nil
	}
	if err != nil && !errors.Is(err, ErrInvalidChange) {
		return RecordOutcome{}, err
	}
	return s.replayParked(ctx, cleanText(d.ID), &parkedBatch{Deal: *d, Events: events})
}

// ReplayParked records a deal's parked changes, oldest first, and reports
// what is still parked: those from the first one still refused on.
func (s *Store) ReplayParked(ctx context.Context, dealID string) (RecordOutcome, error) {
	return s.replayParked(ctx, dealID, nil)
}

// replayParked does the work of RecordOrPark and ReplayParked in one
// transaction, holding the deal's recording lock (so a replay by an
// operator and the workflow's own recording take turns). Each attempt runs
// under a savepoint, so a refusal leaves the transaction usable.
func (s *Store) replayParked(ctx context.Context, dealID string, next *parkedBatch) (out RecordOutcome, err error) {
	err = s.InTx(ctx, func(tx *sqlx.Tx) error {
		out = RecordOutcome{}
		if _, err := tx.ExecContext(ctx, sqlLockDealRecording, dealID); err != nil {
			return fmt.Errorf("store: locking deal %s: %w", dealID, err)
		}
		var rows []ParkedChange
		if err := sqlx.SelectContext(ctx, tx, &rows, sqlParkedOfDeal, dealID); err != nil {
			return fmt.Errorf("store: reading parked changes of deal %s: %w", dealID, err)
		}
		hadParked := len(rows) > 0
		stuck := false
		for _, r := range rows {
			var raw []byte
			if err := tx.GetContext(ctx, &raw, sqlParkedBatch, dealID, r.Version); err != nil {
				return fmt.Errorf("store: reading parked change of deal %s v%d: %w", dealID, r.Version, err)
			}
			var b parkedBatch
			if err := json.Unmarshal(raw, &b); err != nil {
				// Cannot happen (we wrote it); keep it parked and say so.
				stuck = true
				if _, err := tx.ExecContext(ctx, sqlRefusedAgain, dealID, r.Version, cleanText("parked change does not decode: "+err.Error())); err != nil {
					return err
				}
				break
			}
			refusal, err := s.tryRecord(ctx, tx, &b)
			if err != nil {
				return err
			}
			if refusal != "" {
				stuck = true
				if _, err := tx.ExecContext(ctx, sqlRefusedAgain, dealID, r.Version, refusal); err != nil {
					return fmt.Errorf("store: noting refusal of deal %s v%d: %w", dealID, r.Version, err)
				}
				break
			}
			if _, err := tx.ExecContext(ctx, sqlUnparkChange, dealID, r.Version); err != nil {
				return fmt.Errorf("store: unparking deal %s v%d: %w", dealID, r.Version, err)
			}
			out.Replayed++
		}
		if next != nil && !slices.ContainsFunc(rows, func(r ParkedChange) bool { return r.Version == next.Deal.Version }) {
			refusal := "parked behind an earlier change of the deal that is still refused"
			if !stuck {
				var err error
				if refusal, err = s.tryRecord(ctx, tx, next); err != nil {
					return err
				}
			}
			// A change without events while older ones stay parked adds
			// nothing they do not hold (it is the workflow's retry).
			if refusal != "" && (!stuck || len(next.Events) > 0) {
				if err := park(ctx, tx, dealID, next, refusal); err != nil {
					return err
				}
				out.ParkedNow = true
				if !hadParked {
					if err := noticeAdmins(ctx, tx, dealID, next.Deal.Version, refusal); err != nil {
						return err
					}
				}
			}
		}
		var st RecordingStatus
		if err := sqlx.GetContext(ctx, tx, &st, sqlRecordingStatus, dealID); err != nil {
			return fmt.Errorf("store: reading parked changes of deal %s: %w", dealID, err)
		}
		out.Parked = st.Parked
		if st.Parked > 0 {
			out.Since, out.Error = st.Since, st.Error
		}
		return nil
	})
	return out, err
}

type parkedRow struct {
	ParkedChange
	Change []byte `db:"change"`
}

// tryRecord records b inside tx under a savepoint. It answers the refusal
// text if Postgres refused it for good (the savepoint rolled back), an
// error if it failed otherwise (the transaction is to be abandoned).
func (s *Store) tryRecord(ctx context.Context, tx *sqlx.Tx, b *parkedBatch) (refusal string, err error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT record_change`); err != nil {
		return "", fmt.Errorf("store: savepoint: %w", err)
	}
	_, err = s.recordChange(ctx, tx, &b.Deal, b.Events, true)
	if err == nil {
		_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT record_change`)
		return "", err
	}
	if !errors.Is(err, ErrInvalidChange) {
		return "", err
	}
	if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT record_change`); rerr != nil {
		return "", fmt.Errorf("store: rollback to savepoint: %w", rerr)
	}
	return errorText(err), nil
}

func park(ctx context.Context, tx *sqlx.Tx, dealID string, b *parkedBatch, refusal string) error {
	raw, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("store: %w: deal %s v%d does not encode: %w", ErrInvalidChange, dealID, b.Deal.Version, err)
	}
	if _, err := tx.ExecContext(ctx, sqlParkChange, dealID, b.Deal.Version, len(b.Events), raw, refusal); err != nil {
		return fmt.Errorf("store: parking deal %s v%d: %w", dealID, b.Deal.Version, err)
	}
	return nil
}

// noticeAdmins tells every active admin that a deal's record is behind,
// once per episode (keyed by the first parked version).
func noticeAdmins(ctx context.Context, tx *sqlx.Tx, dealID string, version int64, refusal string) error {
	var admins []string
	if err := sqlx.SelectContext(ctx, tx, &admins, sqlActiveAdmins); err != nil {
		return fmt.Errorf("store: finding admins: %w", err)
	}
	notices := make([]Notice, 0, len(admins))
	for _, a := range admins {
		notices = append(notices, Notice{
			Subject: "recording/" + dealID, Seq: version, Recipient: a, Kind: AdminNoticeKind,
			Message: fmt.Sprintf("deal %s: change v%d was refused by the store and is parked, with every later change of the deal, until repaired (dealflow recordings show %s): %s",
				dealID, version, dealID, refusal),
			Link: "/admin/recordings",
			Data: map[string]string{"deal": dealID, "version": fmt.Sprint(version)},
		})
	}
	return QueueNotices(ctx, tx, notices)
}

// RecordingStatusOf answers the deal's parked changes, or nil when its
// record is complete.
func (s *Store) RecordingStatusOf(ctx context.Context, dealID string) (*RecordingStatus, error) {
	var st RecordingStatus
	if err := sqlx.GetContext(ctx, s.db, &st, sqlRecordingStatus, dealID); err != nil {
		return nil, fmt.Errorf("store: reading parked changes of deal %s: %w", dealID, err)
	}
	if st.Parked == 0 {
		return nil, nil
	}
	return &st, nil
}

// ListParked lists every parked change (without the batches), by deal and
// version.
func (s *Store) ListParked(ctx context.Context) ([]ParkedChange, error) {
	out := []ParkedChange{}
	if err := sqlx.SelectContext(ctx, s.db, &out, sqlListParked); err != nil {
		return nil, fmt.Errorf("store: listing parked changes: %w", err)
	}
	return out, nil
}

// ParkedChangesOf lists one deal's parked changes with their batches.
func (s *Store) ParkedChangesOf(ctx context.Context, dealID string) ([]ParkedChange, error) {
	var rows []parkedRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlParkedWithBatches, dealID); err != nil {
		return nil, fmt.Errorf("store: reading parked changes of deal %s: %w", dealID, err)
	}
	out := make([]ParkedChange, 0, len(rows))
	for _, r := range rows {
		c := r.ParkedChange
		c.Change = json.RawMessage(r.Change)
		out = append(out, c)
	}
	return out, nil
}

// ParkedDeals lists the deals with parked changes.
func (s *Store) ParkedDeals(ctx context.Context) ([]string, error) {
	out := []string{}
	if err := sqlx.SelectContext(ctx, s.db, &out, sqlParkedDeals); err != nil {
		return nil, fmt.Errorf("store: listing parked changes: %w", err)
	}
	return out, nil
}

// CountParked counts parked changes of all deals (a gauge).
func (s *Store) CountParked(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, sqlCountParked); err != nil {
		return 0, fmt.Errorf("store: counting parked changes: %w", err)
	}
	return n, nil
}

// errorText is an error as a text Postgres can hold, not too long.
func errorText(err error) string {
	msg := cleanText(err.Error())
	if len(msg) > maxErrorText {
		msg = strings.ToValidUTF8(msg[:maxErrorText], "")
	}
	return msg
}

// cleanText makes s a text Postgres can hold: invalid UTF-8 and U+0000
// become U+FFFD.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// cleanJSON makes encoded JSON (as encoding/json writes it: valid UTF-8)
// acceptable to jsonb, which refuses the escape \u0000: it becomes \ufffd.
// Escapes are read pairwise, so an escaped backslash followed by "u0000"
// is left alone.
func cleanJSON(b []byte) []byte {
	nul := []byte(`\u0000`)
	if !bytes.Contains(b, nul) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if bytes.HasPrefix(b[i:], nul) {
			out = append(out, `\ufffd`...)
			i += len(nul) - 1
			continue
		}
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}

// ReplayReport is what a replay did for one deal.
type ReplayReport struct {
	DealID string `json:"deal_id"`
	RecordOutcome
	// Failed is set when the replay itself failed (Postgres unreachable,
	// say); the changes stay parked.
	Failed string `json:"failed,omitempty"`
}

// ReplayDeals replays the parked changes of the deals named, or of every
// deal with some when none is named, and reports on each.
func (s *Store) ReplayDeals(ctx context.Context, dealIDs ...string) ([]ReplayReport, error) {
	if len(dealIDs) == 0 {
		var err error
		if dealIDs, err = s.ParkedDeals(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]ReplayReport, 0, len(dealIDs))
	for _, id := range dealIDs {
		o, err := s.ReplayParked(ctx, id)
		r := ReplayReport{DealID: id, RecordOutcome: o}
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			r.Failed = err.Error()
		}
		out = append(out, r)
	}
	return out, nil
}
