package workflows

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"dealflow/activities"
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows/deal"
)

// -update-histories rewrites workflows/testdata from a real run. Do it when
// the workflow changes on purpose, after guarding the change with
// workflow.GetVersion so the old histories still replay.
var updateHistories = flag.Bool("update-histories", false, "record fresh histories into testdata/")

// liveDeal drives one deal on a real Temporal server.
type liveDeal struct {
	t   *testing.T
	c   client.Client
	id  string
	rec *recorder // the worker's, where a scenario needs it
}

// waitParked waits until the fake store holds n parked changes.
func (l *liveDeal) waitParked(n int) {
	l.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for l.rec.parkedNow() != n {
		if time.Now().After(deadline) {
			l.t.Fatalf("parked changes: %d, want %d", l.rec.parkedNow(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRecorded waits until the fake store holds the deal at version v or
// later: the deal's recordings run in the background.
func (l *liveDeal) waitRecorded(v int64) {
	l.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		l.rec.mu.Lock()
		done := l.rec.recorded[l.id] >= v
		l.rec.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("deal version %d not recorded", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *liveDeal) act(update string, a any) *deal.Deal {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := UpdateDeal(ctx, l.c, l.id, "", update, a.(deal.Action))
	if err != nil {
		l.t.Fatalf("%s: %v", update, err)
	}
	return d
}

func (l *liveDeal) state() *deal.Deal {
	l.t.Helper()
	v, err := l.c.QueryWorkflow(context.Background(), DealWorkflowID(l.id), "", QueryState)
	if err != nil {
		l.t.Fatal(err)
	}
	var d deal.Deal
	if err := v.Get(&d); err != nil {
		l.t.Fatal(err)
	}
	return &d
}

func (l *liveDeal) result() *deal.Deal {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var d deal.Deal
	if err := l.c.GetWorkflow(ctx, DealWorkflowID(l.id), "").Get(ctx, &d); err != nil {
		l.t.Fatal(err)
	}
	return &d
}

// shortPlan is a two-milestone plan with an escalation chain measured in
// seconds, so a real server fires it within a test.
func shortPlan() deal.Template {
	steps := []deal.EscalationStep{
		{Offset: deal.Duration(-time.Second), Target: deal.PartyOwner, Message: "due in a second"},
		{Offset: 0, Target: deal.PartyPMO, Message: "due now"},
		{Offset: deal.Duration(time.Second), Target: deal.PartyDirector, Message: "late"},
	}
	return deal.Template{Name: "short", Escalations: steps, Milestones: []deal.MilestoneSpec{
		{Key: "qualify", Title: "Qualify", Role: deal.RoleCommercial, Due: deal.Due{After: deal.Duration(3 * time.Second)}, Checklist: []string{"Budget confirmed"}},
		{Key: "design", Title: "Design", Role: deal.RoleSolution, DependsOn: []string{"qualify"}, Due: deal.Due{After: deal.Duration(time.Hour)},
			Review: &deal.ReviewGate{Reviewers: []deal.Party{deal.PartyApprovers}, Policy: deal.PolicyAll}},
	}}
}

// scenarios are the paths whose histories are kept for replay.
var scenarios = []struct {
	name string
	plan func(t *testing.T) deal.Template
	run  func(l *liveDeal)
	want deal.DealStatus
}{
	{"won-with-rework", func(t *testing.T) deal.Template { return spec(t, "project").Plan }, func(l *liveDeal) {
		for _, step := range []struct{ who, key string }{{"cora", "prospect"}, {"cora", "needs-analysis"}, {"sol", "solution-design"}} {
			l.act(UpdateSubmit, submit(step.who, step.key, l.state()))
		}
		l.act(UpdateReview, review("ann", "solution-design", deal.Reject, "add integration costs"))
		l.act(UpdateSubmit, submit("sol", "solution-design", l.state()))
		l.act(UpdateReview, review("abe", "solution-design", deal.Approve, ""))
		l.act(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerNegotiating})
		for _, step := range []struct{ who, key string }{{"sol", "solution-submission"}, {"cora", "quotation"}, {"pat", "contract"}} {
			l.act(UpdateSubmit, submit(step.who, step.key, l.state()))
		}
	}, deal.DealWon},
	{"lost", func(t *testing.T) deal.Template { return spec(t, "project").Plan }, func(l *liveDeal) {
		l.act(UpdateSubmit, submit("cora", "prospect", l.state()))
		l.act(UpdateClose, deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealLost, Reason: "budget cut"})
	}, deal.DealLost},
	{"escalated", func(*testing.T) deal.Template { return shortPlan() }, func(l *liveDeal) {
		deadline := time.Now().Add(20 * time.Second)
		for l.state().Milestone("qualify").Escalation < 3 {
			if time.Now().After(deadline) {
				l.t.Fatalf("escalations did not fire: %+v", l.state().Milestone("qualify"))
			}
			time.Sleep(200 * time.Millisecond)
		}
		l.act(UpdateSubmit, submit("cora", "qualify", l.state()))
		l.act(UpdateSubmit, submit("sol", "design", l.state()))
		l.act(UpdateReview, review("ann", "design", deal.Approve, ""))
		l.act(UpdateReview, review("abe", "design", deal.Approve, ""))
	}, deal.DealWon},
	{"paused-and-replanned", func(t *testing.T) deal.Template { return spec(t, "project").Plan }, func(l *liveDeal) {
		l.act(UpdatePause, deal.PauseAction{Acting: deal.Acting{Actor: "pat"}, Reason: "customer reorganisation"})
		l.act(UpdateResume, deal.ResumeAction{Acting: deal.Acting{Actor: "pat"}})
		l.act(UpdatePlan, deal.PlanChange{Acting: deal.Acting{Actor: "pat"}, Ops: []deal.PlanOp{
			{Op: deal.OpReassign, Key: "prospect", Owner: "carl"},
			{Op: deal.OpSkip, Key: "quotation", Reason: "framework price"},
		}})
		l.act(UpdateSubmit, submit("carl", "prospect", l.state()))
		l.act(UpdateClose, deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealCancelled, Reason: "merged into another deal"})
	}, deal.DealCancelled},
	// The store refuses (parks) the deal's changes twice: the workflow
	// retries on its timer until they are taken; the second time, after
	// the deal closed (settle waits for the record), an operator replays
	// them and signals the workflow.
	{"parked-and-retried", func(t *testing.T) deal.Template { return spec(t, "project").Plan }, func(l *liveDeal) {
		l.rec.refuse.Store(true)
		l.act(UpdateSubmit, submit("cora", "prospect", l.state()))
		l.waitParked(1)
		time.Sleep(time.Second) // refused retries
		l.rec.refuse.Store(false)
		l.waitParked(0)
		l.rec.refuse.Store(true)
		l.act(UpdateClose, deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealLost, Reason: "budget cut"})
		l.waitParked(1)
		time.Sleep(time.Second)
		l.rec.refuse.Store(false)
		if err := l.rec.replayNow(context.Background()); err != nil {
			l.t.Fatal(err)
		}
		if err := l.c.SignalWorkflow(context.Background(), DealWorkflowID(l.id), "", SignalRecordingReplayed, nil); err != nil {
			l.t.Fatal(err)
		}
	}, deal.DealLost},
}

// recordedSince is the recording version (see recordingChange) a
// scenario's histories start at; the others have one per version from 0.
var recordedSince = map[string]workflow.Version{"parked-and-retried": versionParkedRetry}

// legacyHistories are the files of a scenario recorded under earlier
// versions: <scenario>.v<N>.json.
func legacyHistories(name string) []string {
	var out []string
	for v := recordedSince[name]; v < versionParkedRetry; v++ {
		out = append(out, fmt.Sprintf("%s.v%d.json", name, v))
	}
	return out
}

// TestRealServerHistoriesReplay runs every scenario on a real Temporal dev
// server, checks its outcome, and replays the history it produced. With
// -update-histories it also stores the histories in testdata/.
func TestRealServerHistoriesReplay(t *testing.T) {
	backoff := ParkedRetryBackoff
	ParkedRetryBackoff.First, ParkedRetryBackoff.Max = 200*time.Millisecond, 3*time.Second
	t.Cleanup(func() { ParkedRetryBackoff = backoff })
	c, queue, rec := liveWorker(t)

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			s := spec(t, "project")
			s.ID = fmt.Sprintf("%s-%d", sc.name, time.Now().UnixNano())
			s.Plan = sc.plan(t)
			initial, err := StartDeal(context.Background(), c, queue, s, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			l := &liveDeal{t: t, c: c, id: s.ID, rec: rec}
			// A scenario that makes the store refuse means its own
			// changes, not the start's, which is recorded in the
			// background.
			l.waitRecorded(initial.Version)
			sc.run(l)
			if got := l.result(); got.Status != sc.want {
				t.Fatalf("ended %s, want %s", got.Status, sc.want)
			}
			hist := fetchHistory(t, c, DealWorkflowID(s.ID))
			if err := replay(hist); err != nil {
				t.Fatalf("fresh history does not replay: %v", err)
			}
			if *updateHistories {
				b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join("testdata", sc.name+".json"), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// liveWorker connects to the real test server and runs a worker on a task
// queue of its own, recording changes with a fake recorder.
func liveWorker(t *testing.T) (client.Client, string, *recorder) {
	t.Helper()
	hostPort := testenv.Temporal(t, SearchAttributes())
	c, err := client.Dial(client.Options{HostPort: hostPort, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	queue := fmt.Sprintf("live-test-%d", time.Now().UnixNano())
	rec := &recorder{}
	w := worker.New(c, queue, worker.Options{})
	Register(w, &activities.Activities{Recorder: rec}, &activities.Reports{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c, queue, rec
}

// TestReplayRecordedHistories replays the histories kept in testdata/: a
// change to the workflow that would break a running deal fails here.
// <scenario>.json is the current code's history; <scenario>.v0.json to
// .v2.json were recorded under earlier versions of the recording change
// (see recordingChange) and prove that deals started then still replay.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		for _, name := range append([]string{sc.name + ".json"}, legacyHistories(sc.name)...) {
			if !slices.Contains(files, filepath.Join("testdata", name)) {
				t.Errorf("no recorded history testdata/%s: run go test ./workflows -run TestRealServer -update-histories", name)
			}
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := newReplayer().ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// replay replays a copy of hist: the replayer merges search-attribute
// upserts into the start event it is given, and a history saved after that
// would start with the deal's final attributes.
func replay(hist *historypb.History) error {
	return newReplayer().ReplayWorkflowHistory(nil, proto.Clone(hist).(*historypb.History))
}

func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	RegisterWorkflows(r)
	return r
}

func fetchHistory(t *testing.T, c client.Client, workflowID string) *historypb.History {
	t.Helper()
	return fetchRunHistory(t, c, workflowID, "")
}

// fetchRunHistory returns one run's history ("" for the latest run).
func fetchRunHistory(t *testing.T, c client.Client, workflowID, runID string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	if len(h.Events) == 0 {
		t.Fatal(errors.New("empty history"))
	}
	return h
}
