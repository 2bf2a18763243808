package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dealflow/cmd/dealflow/internal/bench"
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows"
)

// TestBenchSmall runs every part of `dealflow bench` at a tiny size on the
// test servers (the DATABASE_URL and TEMPORAL_ADDRESS path: a database of
// its own, a task queue of its own, open deals terminated), and checks that
// the table and the JSON carry every figure and target (the route labels
// and the 14 list queries as internal/bench writes them). `make bench` runs
// the real sizes on a stack of its own.
func TestBenchSmall(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "bench.json")
	env := envMap{
		"DATABASE_URL":     testenv.Postgres(t),
		"TEMPORAL_ADDRESS": testenv.Temporal(t, workflows.SearchAttributes()),
	}
	table := runOK(t, env, "bench", "-deals", "2", "-concurrency", "2", "-list-deals", "300", "-list-requests", "14",
		"-mem-deals", "3", "-funnel-rows", "1000", "-report-runs", "1", "-out", out)

	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Conditions.Cores < 1 || r.Conditions.TemporalServer == "" || r.Conditions.Postgres == "" || r.Conditions.TemporalSDK == "" {
		t.Errorf("conditions: %+v", r.Conditions)
	}
	if l := r.Lifecycle; l == nil || l.Completed != 2 || l.Failed != 0 || l.ActionsPerDeal != 9 || l.History == nil || l.History.MeanEvents < 20 ||
		l.Routes["POST /v1/deals"].Count != 2 || l.Routes["actions (submit + review)"].Count != 18 {
		t.Errorf("lifecycle: %s", jsonOf(r.Lifecycle))
	}
	if b := r.Baseline; b == nil || b.Completed != 2 || b.Failed != 0 || b.Update.Count != 18 || b.History == nil || b.History.MeanEvents < 20 {
		t.Errorf("baseline: %s", jsonOf(r.Baseline))
	}
	if r.Ratios == nil || r.Ratios.Throughput <= 0 || r.Ratios.UpdateP99 <= 0 {
		t.Errorf("ratios: %s", jsonOf(r.Ratios))
	}
	if l := r.List; l == nil || l.Overall.Count != 14 || len(l.Queries) != 14 || l.TableRows < 300 {
		t.Errorf("list: %s", jsonOf(r.List))
	}
	if m := r.Memory; m == nil || m.CachedWorkflows < 3 || m.RSSAfter <= 0 || m.HeapAfter <= 0 {
		t.Errorf("memory: %s", jsonOf(r.Memory))
	}
	if p := r.Reports; p == nil || len(p.FunnelMs) != 1 || len(p.CoverageMs) != 1 || p.CoverageEvents < 80_000 {
		t.Errorf("reports: %s", jsonOf(r.Reports))
	}
	if len(r.Targets) != 6 {
		t.Errorf("targets: %s", jsonOf(r.Targets))
	}
	for _, tg := range r.Targets {
		if !strings.Contains(table, tg.Target) {
			t.Errorf("the table lacks target %q:\n%s", tg.Target, table)
		}
	}
	for _, want := range []string{"| figure", "lifecycle throughput", "baseline throughput", "POST /v1/deals/{id}/milestones/{key}/submit", "GET /v1/deals",
		"worker memory (RSS)", "funnel report", "coverage report", "History of one deal"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
