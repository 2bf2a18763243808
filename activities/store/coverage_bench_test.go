package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/activities/store/benchdata"
	"dealflow/workflows/coverage"
)

// loadCoverageBench makes a store with two programs, "bench" and "other",
// each of 10,000 accounts and a year of events before asOf (the data
// `dealflow bench` uses too; see package benchdata).
func loadCoverageBench(b testing.TB, asOf time.Time) *store.Store {
	ctx := context.Background()
	s := benchStore(b)
	for _, id := range []string{"bench", "other"} {
		if err := benchdata.LoadCoverage(ctx, s, id, asOf); err != nil {
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
	var rep *coverage.Report
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
