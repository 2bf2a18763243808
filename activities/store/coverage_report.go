package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"dealflow/workflows/coverage"
)

// countsRow and ratesRow are a report's coverage.Counts and
// coverage.Rates as columns.
type countsRow struct {
	Accounts           int `db:"accounts"`
	AccountsCovered    int `db:"accounts_covered"`
	AccountsTouched    int `db:"accounts_touched"`
	AccountsQualified  int `db:"accounts_qualified"`
	AccountsSigned     int `db:"accounts_signed"`
	SolutionsSubmitted int `db:"solutions_submitted"`
	SolutionsReviewed  int `db:"solutions_reviewed"`
	SolutionsFirstPass int `db:"solutions_first_pass"`
}

type ratesRow struct {
	CoverageRate    *float64 `db:"coverage_rate"`
	TouchRate       *float64 `db:"touch_rate"`
	PenetrationRate *float64 `db:"penetration_rate"`
	SigningRate     *float64 `db:"signing_rate"`
	FirstPassRate   *float64 `db:"first_pass_rate"`
}

type reportRow struct {
	ID             int64     `db:"id"`
	ProgramID      string    `db:"program_id"`
	Trigger        string    `db:"trigger"`
	AsOf           time.Time `db:"as_of"`
	CreatedAt      time.Time `db:"created_at"`
	UntouchedDays  int       `db:"untouched_days"`
	UntouchedTotal int       `db:"untouched_total"`
	UntouchedList  []byte    `db:"untouched"`
	Leads          []byte    `db:"leads"`
	countsRow
	ratesRow
	TargetCoverage  float64 `db:"target_coverage"`
	TargetSigning   float64 `db:"target_signing"`
	TargetFirstPass float64 `db:"target_first_pass"`
}

func (r *reportRow) report() (*coverage.Report, error) {
	out := &coverage.Report{ID: r.ID, ProgramID: r.ProgramID, Trigger: r.Trigger, AsOf: r.AsOf, CreatedAt: r.CreatedAt,
		UntouchedDays: r.UntouchedDays, Counts: coverage.Counts(r.countsRow), Rates: coverage.Rates(r.ratesRow),
		Targets:   coverage.ReportTargets{CoverageRate: r.TargetCoverage, SigningRate: r.TargetSigning, FirstPassRate: r.TargetFirstPass},
		Untouched: coverage.Untouched{Total: r.UntouchedTotal}}
	if len(r.UntouchedList) > 0 {
		if err := json.Unmarshal(r.UntouchedList, &out.Untouched.Accounts); err != nil {
			return nil, fmt.Errorf("store: report %d: untouched list does not decode: %w", r.ID, err)
		}
	}
	if err := json.Unmarshal(r.Leads, &out.Leads); err != nil {
		return nil, fmt.Errorf("store: report %d: leads do not decode: %w", r.ID, err)
	}
	return out, nil
}

const (
	// sqlComputeCoverageReport computes every figure of a program as of $3
	// in one statement and stores it under run key $2, unless that run
	// already stored its report. Accounts are grouped once (per_account),
	// solutions once (per account and solution); the window is the
	// program's untouched_days before $3, counted on the program's calendar
	// (time zone). $4 caps the untouched list; $5 is the trigger.
	sqlComputeCoverageReport = `
WITH prog AS (
	SELECT id, untouched_days, target_coverage, target_signing, target_first_pass,
		-- N days back on the program's calendar, whatever the session's zone.
		(($3::timestamptz AT TIME ZONE time_zone) - make_interval(days => untouched_days)) AT TIME ZONE time_zone AS since
	FROM coverage_programs WHERE id = $1
), per_account AS (
	SELECT account_id,
		bool_or(kind = 'sdr_touch') AS covered,
		bool_or(kind = 'sdr_touch' AND stage = 'value_confirmed') AS qualified,
		bool_or(kind = 'bd_signing') AS signed,
		max(at) FILTER (WHERE kind IN ('sdr_touch', 'bd_visit', 'bd_signing')) AS last_touch
	FROM coverage_events
	WHERE program_id = $1 AND at <= $3
	GROUP BY account_id
), accounts AS (
	SELECT a.id, a.name, a.owner, pa.last_touch,
		COALESCE(pa.covered, false) AS covered,
		COALESCE(pa.qualified, false) AS qualified,
		COALESCE(pa.signed, false) AS signed,
		COALESCE(pa.last_touch > prog.since, false) AS touched
	FROM coverage_accounts a CROSS JOIN prog
	LEFT JOIN per_account pa ON pa.account_id = a.id
	WHERE a.program_id = $1
), account_counts AS (
	SELECT count(*) AS accounts,
		count(*) FILTER (WHERE covered) AS covered,
		count(*) FILTER (WHERE touched) AS touched,
		count(*) FILTER (WHERE qualified) AS qualified,
		count(*) FILTER (WHERE signed) AS signed,
		count(*) FILTER (WHERE NOT touched) AS untouched
	FROM accounts
), solutions AS (
	SELECT bool_or(kind = 'solution_reviewed') AS reviewed,
		COALESCE(bool_or(kind = 'solution_reviewed' AND round = 1 AND result = 'approved'), false)
			AND NOT COALESCE(bool_or(kind = 'solution_reviewed' AND round = 1 AND result = 'rejected'), false) AS first_pass
	FROM coverage_events
	WHERE program_id = $1 AND at <= $3 AND kind IN ('solution_submitted', 'solution_reviewed')
	GROUP BY account_id, solution
), solution_counts AS (
	SELECT count(*) AS submitted,
		count(*) FILTER (WHERE reviewed) AS reviewed,
		count(*) FILTER (WHERE reviewed AND first_pass) AS first_pass
	FROM solutions
), untouched AS (
	SELECT COALESCE(jsonb_agg(jsonb_build_object('id', id, 'name', name, 'owner', owner, 'last_touch', last_touch)
		ORDER BY last_touch NULLS FIRST, id), '[]') AS list
	FROM (SELECT * FROM accounts WHERE NOT touched ORDER BY last_touch NULLS FIRST, id LIMIT $4) u
), leads AS (
	SELECT COALESCE(jsonb_object_agg(team, user_id), '{}') AS leads
	FROM coverage_team_members WHERE program_id = $1 AND lead
)
INSERT INTO coverage_reports (program_id, run_key, trigger, as_of, untouched_days,
	accounts, accounts_covered, accounts_touched, accounts_qualified, accounts_signed,
	solutions_submitted, solutions_reviewed, solutions_first_pass,
	target_coverage, target_signing, target_first_pass, untouched_total, untouched, leads)
SELECT prog.id, $2, $5, $3, prog.untouched_days,
	ac.accounts, ac.covered, ac.touched, ac.qualified, ac.signed,
	sc.submitted, sc.reviewed, sc.first_pass,
	prog.target_coverage, prog.target_signing, prog.target_first_pass, ac.untouched, u.list, l.leads
FROM prog, account_counts ac, solution_counts sc, untouched u, leads l
ON CONFLICT (run_key) DO NOTHING
RETURNING id`

	sqlReportIDByRunKey = `SELECT id FROM coverage_reports WHERE run_key = $1`

	sqlReportSummaryColumns = `id, program_id, trigger, as_of, created_at, untouched_days, untouched_total, leads,
	accounts, accounts_covered, accounts_touched, accounts_qualified, accounts_signed,
	solutions_submitted, solutions_reviewed, solutions_first_pass,
	coverage_rate, touch_rate, penetration_rate, signing_rate, first_pass_rate,
	target_coverage, target_signing, target_first_pass`
	sqlGetCoverageReport   = `SELECT ` + sqlReportSummaryColumns + `, untouched FROM coverage_reports WHERE id = $1`
	sqlListCoverageReports = `
SELECT ` + sqlReportSummaryColumns + ` FROM coverage_reports
WHERE program_id = $1 AND ($2 = 0 OR id < $2)
ORDER BY id DESC LIMIT $3`
)

// ComputeCoverageReport computes a program's coverage report as of asOf,
// in SQL, and stores it under runKey (the report workflow's run), in one
// transaction: calling it again for the same run returns the report stored
// the first time. The program is held (FOR SHARE) while its report is
// computed, so a program deleted meanwhile waits for the report or leaves
// none behind; an unknown or deleted program returns ErrNotFound.
func (s *Store) ComputeCoverageReport(ctx context.Context, programID, runKey, trigger string, asOf time.Time) (*coverage.Report, error) {
	if runKey == "" {
		return nil, fmt.Errorf("store: coverage report of %s: %w: no run key", programID, ErrInvalidChange)
	}
	var id int64
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, sqlReportIDByRunKey, runKey).Scan(&id)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := lockProgram(ctx, tx, programID); err != nil {
			return err
		}
		err = tx.QueryRowxContext(ctx, sqlComputeCoverageReport, programID, runKey, asOf, coverage.UntouchedListCap, trigger).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// Another attempt with the same key stored it meanwhile.
			err = tx.QueryRowxContext(ctx, sqlReportIDByRunKey, runKey).Scan(&id)
		}
		if err != nil {
			return fmt.Errorf("store: coverage report of %s: %w", programID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetCoverageReport(ctx, id)
}

// GetCoverageReport returns one report with its untouched accounts, or
// ErrNotFound.
func (s *Store) GetCoverageReport(ctx context.Context, id int64) (*coverage.Report, error) {
	var row reportRow
	if err := sqlx.GetContext(ctx, s.db, &row, sqlGetCoverageReport, id); err != nil {
		return nil, mapErr(err, fmt.Sprintf("coverage report %d", id))
	}
	return row.report()
}

// ListCoverageReports returns a program's reports, newest first, without
// their untouched lists (GetCoverageReport has them): at most limit
// (default 20, at most 200), older than report id before when before > 0.
func (s *Store) ListCoverageReports(ctx context.Context, programID string, before int64, limit int) ([]coverage.Report, error) {
	switch {
	case limit < 0:
		return nil, inputErr("limit", "limit cannot be negative")
	case limit == 0:
		limit = DefaultReportPage
	case limit > MaxReportPage:
		limit = MaxReportPage
	}
	var rows []reportRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlListCoverageReports, programID, before, limit); err != nil {
		return nil, fmt.Errorf("store: listing coverage reports of %s: %w", programID, err)
	}
	out := make([]coverage.Report, 0, len(rows))
	for i := range rows {
		r, err := rows[i].report()
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}
