package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// FunnelIngest says what an ingestion did: of Received records, Stored were
// new or changed; the rest were already stored as sent.
type FunnelIngest struct {
	Received  int `json:"received"`
	Stored    int `json:"stored"`
	Unchanged int `json:"unchanged"`
}

// funnelIngestBatch rows go in one statement: each column is one array
// parameter (unnest), so a batch costs one round trip whatever its size,
// and the batch bounds the memory a statement holds.
const funnelIngestBatch = 5000

const (
	// An activity is a fact: the first copy stored stands.
	sqlIngestFunnelActivities = `
INSERT INTO funnel_activities (id, rep, kind, at, outcome)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
ON CONFLICT (id) DO NOTHING`
	// A lead moves on: a later copy replaces it, an identical one is left
	// alone (no write, not counted as stored).
	sqlIngestFunnelLeads = `
INSERT INTO funnel_leads AS l (id, rep, created_at, qualified_at, converted_at, amount)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::numeric[])
ON CONFLICT (id) DO UPDATE SET rep = EXCLUDED.rep, created_at = EXCLUDED.created_at,
	qualified_at = EXCLUDED.qualified_at, converted_at = EXCLUDED.converted_at,
	amount = EXCLUDED.amount, updated_at = now()
WHERE (l.rep, l.created_at, l.qualified_at, l.converted_at, l.amount)
	IS DISTINCT FROM (EXCLUDED.rep, EXCLUDED.created_at, EXCLUDED.qualified_at, EXCLUDED.converted_at, EXCLUDED.amount)`
)

// IngestFunnelActivities stores activities parsed by FunnelActivityInput,
// all or none, in one transaction. Ids already stored are skipped.
func (s *Store) IngestFunnelActivities(ctx context.Context, acts []FunnelActivity) (*FunnelIngest, error) {
	return s.ingestFunnel(ctx, len(acts), func(tx *sqlx.Tx, from, to int) (sql.Result, error) {
		ids, reps, kinds, ats, outcomes := make(pq.StringArray, 0, to-from), make(pq.StringArray, 0, to-from),
			make(pq.StringArray, 0, to-from), make(pq.StringArray, 0, to-from), make(pq.StringArray, 0, to-from)
		for _, a := range acts[from:to] {
			ids, reps, kinds = append(ids, a.ID), append(reps, a.Rep), append(kinds, a.Kind)
			ats, outcomes = append(ats, a.At.Format(time.RFC3339Nano)), append(outcomes, a.Outcome)
		}
		return tx.ExecContext(ctx, sqlIngestFunnelActivities, ids, reps, kinds, ats, outcomes)
	})
}

// IngestFunnelLeads stores leads parsed by FunnelLeadInput, all or none, in
// one transaction. A lead already stored is replaced by a different copy.
func (s *Store) IngestFunnelLeads(ctx context.Context, leads []FunnelLead) (*FunnelIngest, error) {
	return s.ingestFunnel(ctx, len(leads), func(tx *sqlx.Tx, from, to int) (sql.Result, error) {
		n := to - from
		ids, reps, created := make(pq.StringArray, 0, n), make(pq.StringArray, 0, n), make(pq.StringArray, 0, n)
		qualified, converted, amounts := make([]sql.NullString, 0, n), make([]sql.NullString, 0, n), make([]sql.NullString, 0, n)
		for _, l := range leads[from:to] {
			ids, reps, created = append(ids, l.ID), append(reps, l.Rep), append(created, l.CreatedAt.Format(time.RFC3339Nano))
			qualified, converted = append(qualified, funnelNullTime(l.QualifiedAt)), append(converted, funnelNullTime(l.ConvertedAt))
			amount := sql.NullString{}
			if l.Amount != nil {
				amount = sql.NullString{String: strconv.FormatFloat(*l.Amount, 'f', -1, 64), Valid: true}
			}
			amounts = append(amounts, amount)
		}
		return tx.ExecContext(ctx, sqlIngestFunnelLeads, ids, reps, created, pq.Array(qualified), pq.Array(converted), pq.Array(amounts))
	})
}

func funnelNullTime(t *time.Time) sql.NullString {
	if t == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: t.Format(time.RFC3339Nano), Valid: true}
}

// ingestFunnel runs batch over [from, to) slices of n records in one
// transaction and counts the rows written.
func (s *Store) ingestFunnel(ctx context.Context, n int, batch func(tx *sqlx.Tx, from, to int) (sql.Result, error)) (*FunnelIngest, error) {
	out := &FunnelIngest{Received: n}
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		for from := 0; from < n; from += funnelIngestBatch {
			res, err := batch(tx, from, min(from+funnelIngestBatch, n))
			if err != nil {
				return fmt.Errorf("store: ingesting funnel records: %w", err)
			}
			stored, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("store: ingesting funnel records: %w", err)
			}
			out.Stored += int(stored)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Unchanged = out.Received - out.Stored
	return out, nil
}
