package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"dealflow/activities/store"
	"dealflow/activities/store/benchdata"
)

// The reports part loads the data of the store's own report benchmarks
// (package benchdata) and times the store's
// computation of each report: what the report workflows' activity runs.

func (e *benchEnv) reports(ctx context.Context, res *Result) error {
	r := &reportsResult{FunnelRows: e.opts.FunnelRows, CoverageAccounts: 10_000, Runs: e.opts.ReportRuns}
	res.Reports = r

	start := time.Now()
	if err := benchdata.LoadFunnel(ctx, e.st, e.opts.FunnelRows); err != nil {
		return err
	}
	r.FunnelLoadSeconds = time.Since(start).Seconds()
	e.progressf("reports: %d activities and %d leads loaded in %.1fs", e.opts.FunnelRows, e.opts.FunnelRows/10, r.FunnelLoadSeconds)
	for i := range e.opts.ReportRuns {
		start := time.Now()
		rep, err := e.st.ComputeFunnelReport(ctx, store.FunnelReportRequest{TargetID: benchdata.FunnelTargetID,
			RunKey: fmt.Sprintf("bench/%s/%d", e.run, i), Trigger: "manual", AsOf: benchdata.FunnelAsOf})
		if err != nil {
			return err
		}
		r.FunnelMs = append(r.FunnelMs, ms(time.Since(start)))
		if rep.Activities != int64(e.opts.FunnelRows) {
			return fmt.Errorf("the funnel report counted %d activities, want %d", rep.Activities, e.opts.FunnelRows)
		}
	}
	r.FunnelMedianMs = median(r.FunnelMs)

	start = time.Now()
	// Two programs, so the report has one beside it that it must not read.
	for _, id := range []string{"bench", "other"} {
		if err := benchdata.LoadCoverage(ctx, e.st, id, benchdata.CoverageAsOf); err != nil {
			return err
		}
	}
	r.CoverageLoadSeconds = time.Since(start).Seconds()
	if err := e.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM coverage_events WHERE program_id = 'bench'`).Scan(&r.CoverageEvents); err != nil {
		return err
	}
	e.progressf("reports: 2 programs of 10,000 accounts (%d events each) loaded in %.1fs", r.CoverageEvents, r.CoverageLoadSeconds)
	for i := range e.opts.ReportRuns {
		start := time.Now()
		rep, err := e.st.ComputeCoverageReport(ctx, "bench", fmt.Sprintf("bench/%s/%d", e.run, i), "manual", benchdata.CoverageAsOf)
		if err != nil {
			return err
		}
		r.CoverageMs = append(r.CoverageMs, ms(time.Since(start)))
		if rep.Counts.Accounts != 10_000 {
			return fmt.Errorf("the coverage report counted %d accounts, want 10000", rep.Counts.Accounts)
		}
	}
	r.CoverageMedianMs = median(r.CoverageMs)
	e.progressf("reports: funnel %.0f ms, coverage %.0f ms (medians)", r.FunnelMedianMs, r.CoverageMedianMs)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
