package store_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/activities/store/benchdata"
	"dealflow/deploy/localstack/testenv"
)

// BenchmarkFunnelReport times one funnel report over DEALFLOW_BENCH_ROWS
// activities (default 1,000,000), all in the window of one target of ten
// reps, with 100,000 leads:
//
//	go test ./activities/store -run '^$' -bench FunnelReport -benchtime 5x
//
// The rows are made by generate_series inside Postgres, so loading takes
// seconds, not minutes; the table is vacuumed and analysed, as autovacuum
// would have done by the time a scheduled report runs.
func BenchmarkFunnelReport(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("DEALFLOW_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("DEALFLOW_BENCH_ROWS=%q: want a positive number", v)
		}
		rows = n
	}
	s := benchStore(b)
	ctx := b.Context()
	start := time.Now()
	if err := benchdata.LoadFunnel(ctx, s, rows); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d activities and %d leads in %v", rows, rows/10, time.Since(start).Round(time.Millisecond))
	asOf := benchdata.FunnelAsOf
	b.ResetTimer()
	for i := range b.N {
		r, err := s.ComputeFunnelReport(ctx, store.FunnelReportRequest{TargetID: benchdata.FunnelTargetID, RunKey: fmt.Sprint("bench/", i), Trigger: "manual", AsOf: asOf})
		if err != nil {
			b.Fatal(err)
		}
		if r.Activities != int64(rows) {
			b.Fatalf("the report counted %d activities, want %d", r.Activities, rows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
}

// benchStore is newStore for a benchmark (or a test sharing its data).
func benchStore(b testing.TB) *store.Store {
	b.Helper()
	s, err := store.Open(b.Context(), store.Config{URL: testenv.Postgres(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s
}
