// Package benchdata fills a store with the data the report benchmarks run
// over: a funnel target with a million activities, coverage programs of
// 10,000 named accounts. Both the store's own benchmarks
// (BenchmarkFunnelReport, BenchmarkCoverageReport10k) and dealflow bench's
// reports part load it from here, so the two measure the same thing.
// Production code never imports it; it imports only the store.
package benchdata

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
	"dealflow/workflows/coverage/coveragetest"
	"dealflow/workflows/funnel"
)

// The data is made inside Postgres by generate_series, so that loading a
// million rows takes seconds, through the store's public methods and its DB.

// FunnelTargetID is the funnel target LoadFunnel fills.
const FunnelTargetID = "bench"

// FunnelAsOf is when the bench funnel report runs: the morning after
// the target's period, so every generated activity is in its window.
var FunnelAsOf = time.Date(2026, 4, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

// funnelTarget is one target of ten reps over March 2026 in Shanghai.
var funnelTarget = funnel.TargetInput{
	ID: FunnelTargetID, Name: "Bench", Scope: "all", Manager: "mona",
	Reps:        []string{"rep0", "rep1", "rep2", "rep3", "rep4", "rep5", "rep6", "rep7", "rep8", "rep9"},
	PeriodStart: "2026-03-01", PeriodEnd: "2026-03-31", RevenueTarget: 50_000_000, AvgDealSize: 100_000,
	ConversionRate: 0.2, LeadsPerActivity: 0.1, TimeZone: "Asia/Shanghai",
}

// sqlFunnel makes $1 activities spread over March in Shanghai (one
// every ~2.7 s of the month for a million) and $1/10 leads.
var sqlFunnel = []string{
	`INSERT INTO funnel_activities (id, rep, kind, at, outcome)
	 SELECT 'a' || g, 'rep' || (g % 10), (ARRAY['call', 'visit', 'demo'])[1 + g % 3],
	        timestamptz '2026-03-01 00:00:00+08' + ((g - 1)::float8 / $1 * 31 * 86400) * interval '1 second', 'ok'
	 FROM generate_series(1, $1) g`,
	`INSERT INTO funnel_leads (id, rep, created_at, qualified_at, converted_at, amount)
	 SELECT 'l' || g, 'rep' || (g % 10), c,
	        CASE WHEN g % 2 = 0 THEN c + interval '2 days' END,
	        CASE WHEN g % 5 = 0 THEN c + interval '4 days' END,
	        CASE WHEN g % 5 = 0 THEN 50000 + (g % 100) * 1000 END
	 FROM generate_series(1, $1 / 10) g,
	      LATERAL (SELECT timestamptz '2026-03-01 00:00:00+08' + (g::float8 / ($1 / 10) * 25 * 86400) * interval '1 second' AS c) x`,
}

// LoadFunnel creates the funnel target FunnelTargetID and fills
// an empty database with rows activities and rows/10 leads in its period,
// then vacuums and analyses both tables, as autovacuum would have done by
// the time a scheduled report runs. A report as of FunnelAsOf counts
// every activity.
func LoadFunnel(ctx context.Context, s *store.Store, rows int) error {
	if rows <= 0 {
		return errors.New("LoadFunnel needs a positive number of rows")
	}
	tg, err := funnel.NewTarget(funnelTarget)
	if err != nil {
		return err
	}
	if _, err := s.CreateFunnelTarget(ctx, tg, "bench", nil); err != nil {
		return fmt.Errorf("store: creating the bench funnel target: %w", err)
	}
	for _, q := range sqlFunnel {
		if _, err := s.DB().ExecContext(ctx, q, rows); err != nil {
			return fmt.Errorf("store: loading the bench funnel: %w", err)
		}
	}
	for _, q := range []string{`VACUUM ANALYZE funnel_activities`, `VACUUM ANALYZE funnel_leads`} {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: %s: %w", q, err)
		}
	}
	return nil
}

// CoverageAsOf is when the bench coverage report runs: the events end
// there.
var CoverageAsOf = time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)

// coverageUsers are the people of the bench programs (coveragetest.Program):
// an SDR team (lena leads sid and sue), a BD team (bo leads ben), presales
// (pia leads pete).
var coverageUsers = []string{"lena", "sid", "sue", "bo", "ben", "pia", "pete"}

// sqlCoverage fills program $1 with 10,000 accounts and a year of
// their teams' work before $2: 70% of the accounts touched by SDR (about
// ten touches each, at every stage), BD visits on a third, signings on one
// in twelve, and presales solutions on a sixth (round 1 reviewed, a second
// round after each rejection): about 85,000 events. random() is seeded, so
// every run loads the same data.
var sqlCoverage = []string{
	`SELECT setseed(0.42)`,
	`INSERT INTO coverage_accounts (program_id, id, name, industry, region)
SELECT $1, 'acc-' || lpad(a::text, 5, '0'), 'Customer ' || $1 || ' ' || a,
	(ARRAY['manufacturing', 'retail', 'energy', 'finance'])[1 + a % 4], (ARRAY['east', 'west', 'north'])[1 + a % 3]
FROM generate_series(1, 10000) a`,
	`INSERT INTO coverage_events (program_id, id, account_id, kind, stage, actor, at)
SELECT $1, 't-' || a || '-' || k, 'acc-' || lpad(a::text, 5, '0'), 'sdr_touch',
	(ARRAY['contact_established', 'needs_probed', 'value_confirmed'])[1 + floor(random() * 3)::int],
	(ARRAY['lena', 'sid', 'sue'])[1 + floor(random() * 3)::int], $2::timestamptz - random() * interval '365 days'
FROM generate_series(1, 10000) a, generate_series(1, 15) k
WHERE a % 10 < 7 AND random() < 0.7`,
	`INSERT INTO coverage_events (program_id, id, account_id, kind, actor, at)
SELECT $1, 'v-' || a || '-' || k, 'acc-' || lpad(a::text, 5, '0'), 'bd_visit', 'ben', $2::timestamptz - random() * interval '365 days'
FROM generate_series(1, 10000) a, generate_series(1, 3) k
WHERE a % 3 = 0 AND random() < 0.7`,
	`INSERT INTO coverage_events (program_id, id, account_id, kind, actor, at)
SELECT $1, 'g-' || a, 'acc-' || lpad(a::text, 5, '0'), 'bd_signing', 'bo', $2::timestamptz - random() * interval '365 days'
FROM generate_series(1, 10000) a
WHERE a % 12 = 0`,
	`INSERT INTO coverage_events (program_id, id, account_id, kind, solution, round, result, actor, at)
SELECT $1, x.kind || '-' || a || '-1', 'acc-' || lpad(a::text, 5, '0'), x.kind, 'proposal', 1, x.result, 'pete',
	$2::timestamptz - interval '30 days' - random() * interval '300 days'
FROM generate_series(1, 10000) a,
	-- a in the CASE makes it run once per account, not once in all.
	LATERAL (VALUES ('solution_submitted', ''), ('solution_reviewed', CASE WHEN a > 0 AND random() < 0.4 THEN 'rejected' ELSE 'approved' END)) x (kind, result)
WHERE a % 6 = 0`,
	`INSERT INTO coverage_events (program_id, id, account_id, kind, solution, round, result, actor, at)
SELECT $1, 'r2-' || account_id, account_id, 'solution_reviewed', solution, 2, 'approved', 'pia', at + interval '7 days'
FROM coverage_events WHERE program_id = $1 AND kind = 'solution_reviewed' AND result = 'rejected'`,
	`ANALYZE coverage_accounts`,
	`ANALYZE coverage_events`,
}

// LoadCoverage creates coverage program programID (and its team's
// users, when missing) with 10,000 named accounts and a year of events
// before asOf, about 85,000 of them. Loading two programs gives a report
// one that it must not read.
func LoadCoverage(ctx context.Context, s *store.Store, programID string, asOf time.Time) error {
	for _, id := range coverageUsers {
		_, err := s.CreateUser(ctx, store.User{ID: id, Name: strings.ToUpper(id), Roles: []store.Role{store.RoleCommercial}})
		if err != nil && !errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("store: creating bench user %s: %w", id, err)
		}
	}
	p := coveragetest.Program(programID)
	if _, err := s.CreateProgram(ctx, p, "bench", func(*coverage.Program) error { return nil }); err != nil {
		return fmt.Errorf("store: creating bench program %s: %w", programID, err)
	}
	// One transaction: one session, so the seed holds for every insert.
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		for _, stmt := range sqlCoverage {
			var args []any
			switch {
			case strings.Contains(stmt, "$2"):
				args = []any{programID, asOf}
			case strings.Contains(stmt, "$1"):
				args = []any{programID}
			}
			if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
				return fmt.Errorf("store: loading bench program %s: %w", programID, err)
			}
		}
		return nil
	})
}
