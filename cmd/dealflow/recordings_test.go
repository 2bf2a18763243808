package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"dealflow/activities"
	"dealflow/activities/store"
	"dealflow/api/apitest"
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows"
	"dealflow/workflows/deal"
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

	tmpl, _ := deal.Builtin("project")
	d, evs, err := deal.NewDeal(deal.DealSpec{ID: "refused", Name: "Refused", Customer: "ACME", Currency: "CNY",
		Team: deal.Team{PMO: "pat", Commercial: "cora", Solution: "sol", Approvers: []string{"ann"}, Director: "dina"}, Plan: tmpl}, time.Now())
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

// plainRecorder is a store without parking, as workers were before it: a
// refused change fails the activity for good and the workflow drops it.
type plainRecorder struct{ activities.ChangeRecorder }

// TestRecordingsRecover: a deal silenced the old way (a refused recording
// dropped, later ones recorded, so the audit trail has a gap) is repaired
// from its workflow history by `dealflow recordings recover`: every event
// once, each notification once.
func TestRecordingsRecover(t *testing.T) {
	t.Parallel()
	s := apitest.New(t, apitest.WithActivities(func(a *activities.Activities) { a.Recorder = plainRecorder{a.Recorder} }))
	env := envMap{"DATABASE_URL": s.DatabaseURL, "TEMPORAL_ADDRESS": s.TemporalAddress}
	runOK(t, env, "migrate")
	ctx := t.Context()
	st, tc, queue := s.Store, s.Temporal, s.Queue

	tmpl, _ := deal.Builtin("project")
	id := fmt.Sprintf("silenced-%d", time.Now().UnixNano())
	spec := deal.DealSpec{ID: id, Name: "Silenced", Customer: "ACME", Currency: "CNY",
		Team: deal.Team{PMO: "pat", Commercial: "cora", Solution: "sol", Approvers: []string{"ann"}, Director: "dina"}, Plan: tmpl}
	if _, err := workflows.StartDeal(ctx, tc, queue, spec, time.Now()); err != nil {
		t.Fatal(err)
	}
	auditCount := func() int { return s.Count(`SELECT count(*) FROM audit_events WHERE deal_id = $1`, id) }
	s.Eventually("the start recorded", func() bool { return auditCount() > 0 })
	started := auditCount()

	// Refused: the old way drops the change.
	if _, err := st.DB().ExecContext(ctx, `ALTER TABLE audit_events ADD CONSTRAINT test_refusal CHECK (kind <> 'buyer_stage_recorded')`); err != nil {
		t.Fatal(err)
	}
	act := func(name string, a deal.Action) *deal.Deal {
		t.Helper()
		d, err := workflows.UpdateDeal(ctx, tc, id, "", name, a)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := act(workflows.UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerContactAdded})
	s.Eventually("the refused recording to fail", func() bool {
		changes, err := workflows.DroppedChanges(ctx, tc, id)
		return err == nil && len(changes) == 1
	})
	if _, err := st.DB().ExecContext(ctx, `ALTER TABLE audit_events DROP CONSTRAINT test_refusal`); err != nil {
		t.Fatal(err)
	}
	d = act(workflows.UpdateSubmit, deal.Submit{Acting: deal.Acting{Actor: "cora"}, Milestone: "prospect", Checklist: d.Milestone("prospect").Checklist})
	s.Eventually("the later change recorded", func() bool { return auditCount() == int(d.Seq)-1 })
	if started >= int(d.Seq)-1 {
		t.Fatalf("no gap to recover: %d events recorded at start, %d in all", started, d.Seq)
	}

	out := runOK(t, env, "recordings", "recover", id)
	if !strings.Contains(out, id+": 1 dropped changes (1 events) found and recorded") {
		t.Errorf("recover:\n%s", out)
	}
	seqs := s.Count(`SELECT count(DISTINCT seq) FROM audit_events WHERE deal_id = $1 AND seq BETWEEN 1 AND $2`, id, d.Seq)
	if int64(seqs) != d.Seq || auditCount() != int(d.Seq) {
		t.Errorf("audit trail: %d events, %d of seq 1..%d", auditCount(), seqs, d.Seq)
	}
	s.OutboxComplete(id)
	// Again: nothing more.
	runOK(t, env, "recordings", "recover", id)
	if auditCount() != int(d.Seq) {
		t.Errorf("a second recover changed the audit trail: %d events", auditCount())
	}
}
