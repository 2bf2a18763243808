package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

// BenchmarkRecordChange times RecordChange as the deal workflow calls it on
// every action: a project deal's snapshot, its milestones, the action's
// audit events and their notifications, from 16 concurrent deals, each
// recording its start and its first submit. It reports the latency a
// recording adds to an action: "sequential" from one deal a core (with
// -cpu 1, one at a time), "concurrent" from 8 a core, as a busy worker.
func BenchmarkRecordChange(b *testing.B) {
	s := benchStore(b)
	b.Run("sequential", func(b *testing.B) { benchRecordChange(b, s, 1) })
	b.Run("concurrent", func(b *testing.B) { benchRecordChange(b, s, 8) })
}

func benchRecordChange(b *testing.B, s *store.Store, parallelism int) {
	ctx := context.Background()
	tmpl, _ := deal.Builtin("project")
	var (
		mu        sync.Mutex
		latencies []time.Duration
		next      int
	)
	prefix := fmt.Sprintf("bench-%d-", parallelism)
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			mu.Lock()
			next++
			id := fmt.Sprintf("%s%d", prefix, next)
			mu.Unlock()
			// A deal's start, then its first submit: what a new deal and a
			// typical action record.
			spec := deal.DealSpec{ID: id, Name: "Bench", Customer: "ACME", Amount: 1, Currency: "CNY", Team: team, Plan: tmpl}
			d, evs, err := deal.NewDeal(spec, t0)
			if err != nil {
				b.Error(err)
				return
			}
			for step := range 2 {
				if step == 1 {
					m := d.Milestone("prospect")
					if evs, err = d.Apply(deal.Submit{Acting: deal.Acting{Actor: "carol"}, Milestone: m.Key, Checklist: m.Checklist}, t0.Add(time.Hour)); err != nil {
						b.Error(err)
						return
					}
				}
				start := time.Now()
				if err := s.RecordChange(ctx, d, evs); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(latencies)
	if len(latencies) == 0 {
		return
	}
	q := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(len(latencies))/b.Elapsed().Seconds(), "changes/s")
}
