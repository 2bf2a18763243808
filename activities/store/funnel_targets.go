package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/funnel"
)

// funnelTargetRow is the funnel_targets table's row.
type funnelTargetRow struct {
	ID          string         `db:"id"`
	Name        string         `db:"name"`
	Scope       string         `db:"scope"`
	Manager     string         `db:"manager"`
	Reps        pq.StringArray `db:"reps"`
	PeriodStart time.Time      `db:"period_start"`
	PeriodEnd   time.Time      `db:"period_end"`
	funnelAssumptionsRow
	TimeZone    string         `db:"time_zone"`
	WorkingDays pq.Int64Array  `db:"working_days"`
	Holidays    pq.StringArray `db:"holidays"`
	RunAt       string         `db:"run_at"`
	Paused      bool           `db:"paused"`
	CreatedBy   string         `db:"created_by"`
	CreatedAt   time.Time      `db:"created_at"`
	UpdatedAt   time.Time      `db:"updated_at"`
}

// funnelAssumptionsRow are the columns of a target's funnel assumptions,
// in funnel_targets and (as they were) in funnel_reports.
type funnelAssumptionsRow struct {
	RevenueTarget    float64 `db:"revenue_target"`
	AvgDealSize      float64 `db:"avg_deal_size"`
	ConversionRate   float64 `db:"conversion_rate"`
	LeadsPerActivity float64 `db:"leads_per_activity"`
}

func (r funnelTargetRow) target() (*funnel.Target, error) {
	t := &funnel.Target{
		ID: r.ID, Name: r.Name, Scope: r.Scope, Manager: r.Manager, Reps: []string(r.Reps),
		PeriodStart: dateOf(r.PeriodStart), PeriodEnd: dateOf(r.PeriodEnd),
		Assumptions: funnel.Assumptions(r.funnelAssumptionsRow), TimeZone: r.TimeZone,
		WorkingDays: funnel.Weekdays{}, Holidays: []funnel.Date{}, RunAt: r.RunAt, Paused: r.Paused,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	for _, d := range r.WorkingDays {
		t.WorkingDays = append(t.WorkingDays, time.Weekday(d))
	}
	for _, s := range r.Holidays {
		d, err := funnel.ParseDate(s)
		if err != nil {
			return nil, fmt.Errorf("store: funnel target %s: holiday: %w", r.ID, err)
		}
		t.Holidays = append(t.Holidays, d)
	}
	return t, nil
}

// funnelTargetArgs are the columns a client sets, in the order of the
// insert and update statements ($1 is the id).
func funnelTargetArgs(t *funnel.Target) []any {
	days := make(pq.Int64Array, len(t.WorkingDays))
	for i, w := range t.WorkingDays {
		days[i] = int64(w)
	}
	holidays := make(pq.StringArray, len(t.Holidays))
	for i, d := range t.Holidays {
		holidays[i] = d.String()
	}
	return []any{t.ID, t.Name, t.Scope, t.Manager, pq.StringArray(t.Reps), dateArg(t.PeriodStart), dateArg(t.PeriodEnd),
		t.RevenueTarget, t.AvgDealSize, t.ConversionRate, t.LeadsPerActivity, t.TimeZone, days, holidays, t.RunAt}
}

const (
	sqlFunnelTargetColumns = `id, name, scope, manager, reps, period_start, period_end,
	revenue_target, avg_deal_size, conversion_rate, leads_per_activity, time_zone,
	working_days, holidays::text[] AS holidays, run_at, paused, created_by, created_at, updated_at`
	sqlInsertFunnelTarget = `
INSERT INTO funnel_targets (id, name, scope, manager, reps, period_start, period_end,
	revenue_target, avg_deal_size, conversion_rate, leads_per_activity, time_zone,
	working_days, holidays, run_at, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::smallint[], $14::date[], $15, $16)
RETURNING ` + sqlFunnelTargetColumns
	sqlUpdateFunnelTarget = `
UPDATE funnel_targets SET name = $2, scope = $3, manager = $4, reps = $5, period_start = $6,
	period_end = $7, revenue_target = $8, avg_deal_size = $9, conversion_rate = $10,
	leads_per_activity = $11, time_zone = $12, working_days = $13::smallint[], holidays = $14::date[],
	run_at = $15, updated_at = now()
WHERE id = $1
RETURNING ` + sqlFunnelTargetColumns
	sqlPauseFunnelTarget = `
UPDATE funnel_targets SET paused = $2, updated_at = now() WHERE id = $1
RETURNING ` + sqlFunnelTargetColumns
	sqlDeleteFunnelTarget = `DELETE FROM funnel_targets WHERE id = $1`
	sqlGetFunnelTarget    = `SELECT ` + sqlFunnelTargetColumns + ` FROM funnel_targets WHERE id = $1`
	// A report reads its target FOR SHARE: an edit waits for the report, and
	// the report sees one version of the target throughout.
	sqlGetFunnelTargetForShare = sqlGetFunnelTarget + ` FOR SHARE`
	sqlListFunnelTargets       = `SELECT ` + sqlFunnelTargetColumns + ` FROM funnel_targets ORDER BY id`
)

// CreateFunnelTarget stores a new target (validated by funnel.NewTarget) and
// then calls then with it inside the same transaction: when then fails (its
// Temporal schedule could not be saved), nothing is stored. A taken id
// returns ErrDuplicate.
func (s *Store) CreateFunnelTarget(ctx context.Context, t *funnel.Target, by string, then func(*funnel.Target) error) (*funnel.Target, error) {
	args := append(funnelTargetArgs(t), by)
	return s.writeFunnelTarget(ctx, t.ID, sqlInsertFunnelTarget, args, then)
}

// UpdateFunnelTarget replaces a target's fields (not its paused state), then
// calls then inside the transaction. Unknown ids return ErrNotFound.
func (s *Store) UpdateFunnelTarget(ctx context.Context, t *funnel.Target, then func(*funnel.Target) error) (*funnel.Target, error) {
	return s.writeFunnelTarget(ctx, t.ID, sqlUpdateFunnelTarget, funnelTargetArgs(t), then)
}

// SetFunnelTargetPaused pauses or resumes a target's schedule, then calls
// then inside the transaction. Unknown ids return ErrNotFound.
func (s *Store) SetFunnelTargetPaused(ctx context.Context, id string, paused bool, then func(*funnel.Target) error) (*funnel.Target, error) {
	return s.writeFunnelTarget(ctx, id, sqlPauseFunnelTarget, []any{id, paused}, then)
}

func (s *Store) writeFunnelTarget(ctx context.Context, id, query string, args []any, then func(*funnel.Target) error) (*funnel.Target, error) {
	var out *funnel.Target
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		var row funnelTargetRow
		if err := tx.QueryRowxContext(ctx, query, args...).StructScan(&row); err != nil {
			return mapErr(err, "funnel target "+id)
		}
		t, err := row.target()
		if err != nil {
			return err
		}
		out = t
		if then != nil {
			return then(t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteFunnelTarget removes a target and its reports, calling then (which
// deletes its schedule) inside the transaction. Unknown ids return
// ErrNotFound.
func (s *Store) DeleteFunnelTarget(ctx context.Context, id string, then func() error) error {
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, sqlDeleteFunnelTarget, id)
		if err != nil {
			return fmt.Errorf("store: deleting funnel target %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("funnel target %s: %w", id, ErrNotFound)
		}
		if then != nil {
			return then()
		}
		return nil
	})
}

// GetFunnelTarget returns a target, or ErrNotFound.
func (s *Store) GetFunnelTarget(ctx context.Context, id string) (*funnel.Target, error) {
	return getFunnelTarget(ctx, s.db, sqlGetFunnelTarget, id)
}

func getFunnelTarget(ctx context.Context, q sqlx.QueryerContext, query, id string) (*funnel.Target, error) {
	var row funnelTargetRow
	if err := q.QueryRowxContext(ctx, query, id).StructScan(&row); err != nil {
		return nil, mapErr(err, "funnel target "+id)
	}
	return row.target()
}

// ListFunnelTargets returns every target, by id.
func (s *Store) ListFunnelTargets(ctx context.Context) ([]funnel.Target, error) {
	var rows []funnelTargetRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlListFunnelTargets); err != nil {
		return nil, fmt.Errorf("store: listing funnel targets: %w", err)
	}
	return fromRows(rows, funnelTargetRow.target)
}

// fromRows converts each row to the model's type, in order.
func fromRows[R, T any](rows []R, model func(R) (*T, error)) ([]T, error) {
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		m, err := model(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, nil
}

// dateOf is the day of a Postgres date, which lib/pq reads as a time at
// midnight.
func dateOf(t time.Time) funnel.Date { return funnel.DateOf(t, t.Location()) }

// dateArg is a day as a Postgres date parameter: NULL for no date.
func dateArg(d funnel.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}
