package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"dealflow/activities/store"
	"dealflow/deploy/localstack/testenv"
)

// sqlBenchCoverage fills program $1 with 10,000 accounts and a year of
// their teams' work before $2: 70% of the accounts touched by SDR (about
// ten touches each, at every stage), BD visits on a third, signings on one
// in twelve, and presales solutions on a sixth (round 1 reviewed, a second
// round after each rejection): about 85,000 events. random() is seeded, so every run
// loads the same data.
var sqlBenchCoverage = []string{
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

// loadCoverageBench makes a store with two programs, "bench" and "other",
// each of 10,000 accounts and a year of events before asOf.
func loadCoverageBench(b testing.TB, asOf time.Time) *store.Store {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{URL: testenv.Postgres(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	coverageUsers(b, s)
	for _, id := range []string{"bench", "other"} {
		createProgram(b, s, testProgram(id))
		// One transaction: one session, so the seed holds for every insert.
		err := s.InTx(ctx, func(tx *sqlx.Tx) error {
			for _, stmt := range sqlBenchCoverage {
				var args []any
				switch {
				case strings.Contains(stmt, "$2"):
					args = []any{id, asOf}
				case strings.Contains(stmt, "$1"):
					args = []any{id}
				}
				if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
					return fmt.Errorf("%s: %w", stmt, err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkCoverageReport10k times one coverage report of a program of
// 10,000 named accounts and a year of events, next to another program as
// large (which the report must not read).
func BenchmarkCoverageReport10k(b *testing.B) {
	ctx := context.Background()
	asOf := time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)
	s := loadCoverageBench(b, asOf)
	var events int
	if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM coverage_events WHERE program_id = 'bench'`).Scan(&events); err != nil {
		b.Fatal(err)
	}
	var rep *store.CoverageReport
	var err error
	for i := 0; b.Loop(); i++ {
		if rep, err = s.ComputeCoverageReport(ctx, "bench", fmt.Sprintf("bench-%d", i), "manual", asOf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
	b.ReportMetric(float64(events), "events")
	if rep.Counts.Accounts != 10000 {
		b.Fatalf("report of %d accounts", rep.Counts.Accounts)
	}
	b.Logf("%d events; counts %+v; untouched %d", events, rep.Counts, rep.Untouched.Total)
}
