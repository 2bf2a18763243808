package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// UntouchedListCap bounds the untouched accounts a report lists; the report
// always has their total.
const UntouchedListCap = 100

// CoverageCounts are what a report's figures are computed from.
type CoverageCounts struct {
	Accounts           int `json:"accounts" db:"accounts"`
	AccountsCovered    int `json:"accounts_covered" db:"accounts_covered"`
	AccountsTouched    int `json:"accounts_touched" db:"accounts_touched"`
	AccountsQualified  int `json:"accounts_qualified" db:"accounts_qualified"`
	AccountsSigned     int `json:"accounts_signed" db:"accounts_signed"`
	SolutionsSubmitted int `json:"solutions_submitted" db:"solutions_submitted"`
	SolutionsReviewed  int `json:"solutions_reviewed" db:"solutions_reviewed"`
	SolutionsFirstPass int `json:"solutions_first_pass" db:"solutions_first_pass"`
}

// CoverageRates are the report's figures; nil when the denominator is 0
// (no accounts, no solution reviewed yet).
type CoverageRates struct {
	CoverageRate    *float64 `json:"coverage_rate" db:"coverage_rate"`
	TouchRate       *float64 `json:"touch_rate" db:"touch_rate"`
	PenetrationRate *float64 `json:"penetration_rate" db:"penetration_rate"`
	SigningRate     *float64 `json:"signing_rate" db:"signing_rate"`
	FirstPassRate   *float64 `json:"first_pass_rate" db:"first_pass_rate"`
}

// ReportTargets are the program's targets when the report ran.
type ReportTargets struct {
	CoverageRate  float64 `json:"coverage_rate"`
	SigningRate   float64 `json:"signing_rate"`
	FirstPassRate float64 `json:"first_pass_rate"`
}

// UntouchedAccount is an account nobody touched in the report's window.
type UntouchedAccount struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"`
	// LastTouch is nil for an account never touched.
	LastTouch *time.Time `json:"last_touch"`
}

// Untouched is the report's list of untouched accounts: the longest
// untouched first (never touched before anything else), at most
// UntouchedListCap of them, and how many there are in all.
type Untouched struct {
	Total    int                `json:"total"`
	Accounts []UntouchedAccount `json:"accounts,omitempty"`
}

// CoverageReport is one stored run of a program's coverage report.
type CoverageReport struct {
	ID            int64                   `json:"id"`
	ProgramID     string                  `json:"program_id"`
	Trigger       string                  `json:"trigger"`
	AsOf          time.Time               `json:"as_of"`
	CreatedAt     time.Time               `json:"created_at"`
	UntouchedDays int                     `json:"untouched_days"`
	Counts        CoverageCounts          `json:"counts"`
	Rates         CoverageRates           `json:"rates"`
	Targets       ReportTargets           `json:"targets"`
	Untouched     Untouched               `json:"untouched"`
	Leads         map[CoverageTeam]string `json:"leads"`
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
	CoverageCounts
	CoverageRates
	TargetCoverage  float64 `db:"target_coverage"`
	TargetSigning   float64 `db:"target_signing"`
	TargetFirstPass float64 `db:"target_first_pass"`
}

func (r *reportRow) report() (*CoverageReport, error) {
	out := &CoverageReport{ID: r.ID, ProgramID: r.ProgramID, Trigger: r.Trigger, AsOf: r.AsOf, CreatedAt: r.CreatedAt,
		UntouchedDays: r.UntouchedDays, Counts: r.CoverageCounts, Rates: r.CoverageRates,
		Targets:   ReportTargets{CoverageRate: r.TargetCoverage, SigningRate: r.TargetSigning, FirstPassRate: r.TargetFirstPass},
		Untouched: Untouched{Total: r.UntouchedTotal}}
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
// in SQL, and stores it under runKey (the report workflow's run): calling
// it again for the same run returns the report stored the first time. An
// unknown program returns ErrNotFound.
func (s *Store) ComputeCoverageReport(ctx context.Context, programID, runKey, trigger string, asOf time.Time) (*CoverageReport, error) {
	if runKey == "" {
		return nil, fmt.Errorf("store: coverage report of %s: %w: no run key", programID, ErrInvalidChange)
	}
	var id int64
	err := s.db.QueryRowxContext(ctx, sqlComputeCoverageReport, programID, runKey, asOf, UntouchedListCap, trigger).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Either this run stored its report already, or the program is gone.
		err = s.db.QueryRowxContext(ctx, sqlReportIDByRunKey, runKey).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("program %s: %w", programID, ErrNotFound)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: coverage report of %s: %w", programID, err)
	}
	return s.GetCoverageReport(ctx, id)
}

// GetCoverageReport returns one report with its untouched accounts, or
// ErrNotFound.
func (s *Store) GetCoverageReport(ctx context.Context, id int64) (*CoverageReport, error) {
	var row reportRow
	if err := sqlx.GetContext(ctx, s.db, &row, sqlGetCoverageReport, id); err != nil {
		return nil, mapErr(err, fmt.Sprintf("coverage report %d", id))
	}
	return row.report()
}

// Report list limits.
const (
	DefaultReportLimit = 20
	MaxReportLimit     = 200
)

// ListCoverageReports returns a program's reports, newest first, without
// their untouched lists (GetCoverageReport has them): at most limit
// (default 20, at most 200), older than report id before when before > 0.
func (s *Store) ListCoverageReports(ctx context.Context, programID string, before int64, limit int) ([]CoverageReport, error) {
	switch {
	case limit < 0:
		return nil, inputErr("limit", "limit cannot be negative")
	case limit == 0:
		limit = DefaultReportLimit
	case limit > MaxReportLimit:
		limit = MaxReportLimit
	}
	var rows []reportRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlListCoverageReports, programID, before, limit); err != nil {
		return nil, fmt.Errorf("store: listing coverage reports of %s: %w", programID, err)
	}
	out := make([]CoverageReport, 0, len(rows))
	for i := range rows {
		r, err := rows[i].report()
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}
