package workflows

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"dealflow/activities"
	"dealflow/deploy/localstack"
	"dealflow/workflows/deal"
)

// TestRealServerContinueAsNew runs a deal on a server told to suggest
// continue-as-new after 40 history events: the deal crosses into new runs,
// ends intact, and every run's history replays. With -update-histories the
// first two runs are kept in testdata/ for the replay tests.
func TestRealServerContinueAsNew(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := continueAsNewServer(ctx, t)
	rec := &recorder{}
	w := worker.New(c, "can-test", worker.Options{})
	Register(w, &activities.Activities{Recorder: rec}, &activities.Reports{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	s := spec(t, "project")
	s.ID = "continued"
	if _, err := StartDeal(ctx, c, "can-test", s, time.Now()); err != nil {
		t.Fatal(err)
	}
	l := &liveDeal{t: t, c: c, id: s.ID}
	stages := []deal.BuyerStage{deal.BuyerContactAdded, deal.BuyerMetDecisionMaker}
	for i := range 12 {
		l.act(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: stages[i%2]})
	}
	l.act(UpdateSubmit, submit("cora", "prospect", l.state()))
	l.act(UpdateClose, deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealLost, Reason: "budget cut"})
	final := l.result()
	if final.Status != deal.DealLost || len(final.Buyer) != 12 || final.Milestone("prospect").State != deal.StateDone {
		t.Fatalf("final %s, %d buyer entries, prospect %s", final.Status, len(final.Buyer), final.Milestone("prospect").State)
	}
	for i, e := range rec.events {
		if e.Seq != int64(i+1) {
			t.Fatalf("recorded event %d has seq %d", i, e.Seq)
		}
	}

	resp, err := c.ListWorkflow(ctx, listRuns(DealWorkflowID(s.ID)))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Executions) < 2 {
		t.Fatalf("%d run(s): the deal never continued as new", len(resp.Executions))
	}
	continued := 0
	for _, e := range resp.Executions {
		hist := fetchRunHistory(t, c, DealWorkflowID(s.ID), e.Execution.RunId)
		if err := replay(hist); err != nil {
			t.Errorf("run %s does not replay: %v", e.Execution.RunId, err)
		}
		if e.Status != enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW || continued >= 2 || !*updateHistories {
			continue
		}
		continued++
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join("testdata", fmt.Sprintf("continued-as-new-%d.json", continued))
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// continueAsNewServer starts a Temporal dev server of the test's own, told to
// suggest continue-as-new after 40 history events, and connects to it.
func continueAsNewServer(ctx context.Context, t *testing.T) client.Client {
	t.Helper()
	cli, err := localstack.FindTemporalCLI()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := localstack.StartTemporal(ctx, localstack.TemporalOptions{
		BinPath: cli, UIPort: -1, SearchAttributes: SearchAttributes(),
		DynamicConfig: map[string]any{"limit.historyCount.suggestContinueAsNew": 40},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestRealServerClosedDealBehindContinuesAsNew: a closed deal whose record
// stays behind retries for as long as it takes, continuing as new when its
// history grows long; the next run carries on retrying, and ends once the
// store takes the changes.
func TestRealServerClosedDealBehindContinuesAsNew(t *testing.T) {
	backoff := ParkedRetryBackoff
	ParkedRetryBackoff.First, ParkedRetryBackoff.Max = 50*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { ParkedRetryBackoff = backoff })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := continueAsNewServer(ctx, t)
	rec := &recorder{}
	w := worker.New(c, "can-behind-test", worker.Options{})
	Register(w, &activities.Activities{Recorder: rec}, &activities.Reports{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	s := spec(t, "project")
	s.ID = "closed-behind"
	initial, err := StartDeal(ctx, c, "can-behind-test", s, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l := &liveDeal{t: t, c: c, id: s.ID, rec: rec}
	// The start is recorded in the background: only the close is to be
	// refused, so the store refuses once the start is in.
	l.waitRecorded(initial.Version)
	rec.refuse.Store(true)
	l.act(UpdateClose, deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealLost, Reason: "budget cut"})
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := c.ListWorkflow(ctx, listRuns(DealWorkflowID(s.ID)))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Executions) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs: the closed deal waiting for its record never continued as new", len(resp.Executions))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := rec.parkedNow(); n != 1 {
		t.Errorf("parked %d, want the closing change", n)
	}
	rec.refuse.Store(false)
	if final := l.result(); final.Status != deal.DealLost {
		t.Fatalf("final %s", final.Status)
	}
	if n := rec.parkedNow(); n != 0 {
		t.Errorf("still parked: %d", n)
	}
	for i, e := range rec.events {
		if e.Seq != int64(i+1) {
			t.Fatalf("recorded event %d has seq %d", i, e.Seq)
		}
	}
	resp, err := c.ListWorkflow(ctx, listRuns(DealWorkflowID(s.ID)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range resp.Executions {
		if err := replay(fetchRunHistory(t, c, DealWorkflowID(s.ID), e.Execution.RunId)); err != nil {
			t.Errorf("run %s does not replay: %v", e.Execution.RunId, err)
		}
	}
}
