package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows/plan"
)

// TestRecordingsCommand: a change the store refused is parked; `dealflow
// recordings` lists and shows it, a retry before the repair says it is
// still refused (exit 1), and after the repair records it; the gauge
// follows.
func TestRecordingsCommand(t *testing.T) {
	t.Parallel()
	env := envMap{"DATABASE_URL": testenv.Postgres(t)}
	runOK(t, env, "migrate")
	ctx := t.Context()
	st, err := store.Open(ctx, store.Config{URL: env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := newMetrics(slog.New(slog.DiscardHandler))
	defer m.Close()
	counter := m.recordings(st, slog.New(slog.DiscardHandler))
	if counter == nil {
		t.Fatal("no counter")
	}

	tmpl, _ := plan.Builtin("project")
	d, evs, err := plan.NewDeal(plan.DealSpec{ID: "refused", Name: "Refused", Customer: "ACME", Currency: "CNY",
		Team: plan.Team{PMO: "pat", Commercial: "cora", Solution: "sol", Approvers: []string{"ann"}, Director: "dina"}, Plan: tmpl}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, `ALTER TABLE audit_events ADD CONSTRAINT test_refusal CHECK (deal_id <> 'refused')`); err != nil {
		t.Fatal(err)
	}
	if out, err := st.RecordOrPark(ctx, d, evs); err != nil || out.Parked != 1 {
		t.Fatalf("RecordOrPark: %+v, %v", out, err)
	}
	if v := gathered(t, m, "dealflow_parked_changes"); v != 1 {
		t.Errorf("gauge %v, want 1", v)
	}

	if out := runOK(t, env, "recordings", "list"); !strings.Contains(out, "refused") || !strings.Contains(out, "test_refusal") {
		t.Errorf("list:\n%s", out)
	}
	var shown []store.ParkedChange
	if err := json.Unmarshal([]byte(runOK(t, env, "recordings", "show", "refused")), &shown); err != nil || len(shown) != 1 ||
		shown[0].Events != len(evs) || !bytes.Contains(shown[0].Change, []byte(`"events"`)) {
		t.Errorf("show: %+v, %v", shown, err)
	}
	var stdout bytes.Buffer
	err = run(context.Background(), []string{"recordings", "retry"}, env.lookup, &stdout, io.Discard)
	if err == nil || !strings.Contains(stdout.String(), "0 recorded, 1 still parked") {
		t.Errorf("retry before the repair: %v\n%s", err, stdout.String())
	}

	if _, err := st.DB().ExecContext(ctx, `ALTER TABLE audit_events DROP CONSTRAINT test_refusal`); err != nil {
		t.Fatal(err)
	}
	if out := runOK(t, env, "recordings", "retry", "refused"); !strings.Contains(out, "refused: 1 recorded, record complete") {
		t.Errorf("retry after the repair:\n%s", out)
	}
	if out := runOK(t, env, "recordings", "list"); !strings.Contains(out, "no parked recordings") {
		t.Errorf("list after the retry:\n%s", out)
	}
	var n int
	if err := st.DB().GetContext(ctx, &n, `SELECT count(*) FROM audit_events WHERE deal_id = 'refused'`); err != nil || n != len(evs) {
		t.Errorf("audit events %d (%v), want %d", n, err, len(evs))
	}
	if v := gathered(t, m, "dealflow_parked_changes"); v != 0 {
		t.Errorf("gauge %v, want 0", v)
	}
}

// gathered is a gauge's value as /metrics would show it.
func gathered(t *testing.T, m *metrics, name string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
