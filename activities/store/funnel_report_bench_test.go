package store_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"dealflow/activities/store"
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
	in := store.FunnelTargetInput{
		ID: "bench", Name: "Bench", Scope: "all", Manager: "mona",
		Reps:        []string{"rep0", "rep1", "rep2", "rep3", "rep4", "rep5", "rep6", "rep7", "rep8", "rep9"},
		PeriodStart: "2026-03-01", PeriodEnd: "2026-03-31", RevenueTarget: 50_000_000, AvgDealSize: 100_000,
		ConversionRate: 0.2, LeadsPerActivity: 0.1, TimeZone: "Asia/Shanghai",
	}
	tg, err := store.NewFunnelTarget(in)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateFunnelTarget(ctx, tg, "bench", nil); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, q := range []string{
		// Spread over March in Shanghai: one row every ~2.7 s of the month.
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
	} {
		if _, err := s.DB().ExecContext(ctx, q, rows); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []string{`VACUUM ANALYZE funnel_activities`, `VACUUM ANALYZE funnel_leads`} {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d activities and %d leads in %v", rows, rows/10, time.Since(start).Round(time.Millisecond))
	asOf := time.Date(2026, 4, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	b.ResetTimer()
	for i := range b.N {
		r, err := s.ComputeFunnelReport(ctx, store.FunnelReportRequest{TargetID: "bench", RunKey: fmt.Sprint("bench/", i), Trigger: "manual", AsOf: asOf})
		if err != nil {
			b.Fatal(err)
		}
		if r.Activities != int64(rows) {
			b.Fatalf("the report counted %d activities, want %d", r.Activities, rows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
}

// benchStore is newStore for a benchmark.
func benchStore(b *testing.B) *store.Store {
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
