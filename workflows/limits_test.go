package workflows

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"dealflow/workflows/deal"
)

// TestSearchAttributesFitSQLVisibility: a namespace on SQL visibility holds
// at most 10 Keyword and 3 of each other type of custom attribute.
func TestSearchAttributesFitSQLVisibility(t *testing.T) {
	limits := map[string]int{"Keyword": 10, "KeywordList": 3, "Text": 3, "Bool": 3, "Double": 3, "Int": 3, "Datetime": 3}
	used := map[string]int{}
	for name, typ := range SearchAttributes() {
		if _, ok := limits[typ]; !ok {
			t.Errorf("%s has unknown type %s", name, typ)
		}
		used[typ]++
	}
	for typ, n := range used {
		if n > limits[typ] {
			t.Errorf("%d %s attributes, the limit is %d", n, typ, limits[typ])
		}
	}
}

// faultTestsEnv enables the reliability tests that take minutes; CI runs
// them through make test-faults.
const faultTestsEnv = "DEALFLOW_FAULT_TESTS"

// bigPlan is a plan of n independent milestones, all active at once.
func bigPlan(n int) deal.Template {
	p := deal.Template{Name: "big"}
	for i := range n {
		p.Milestones = append(p.Milestones, deal.MilestoneSpec{
			Key: fmt.Sprintf("m%03d", i), Title: fmt.Sprintf("Milestone %d", i), Role: deal.Roles[i%3],
			Due: deal.Due{After: deal.Duration(90 * deal.Day)}, Checklist: []string{"Output checked"},
			Escalations: []deal.EscalationStep{{Offset: 0, Target: deal.PartyPMO, Message: "due"}},
		})
	}
	return p
}

// TestLongDealContinuesAsNew drives a deal of 200 milestones through 1,500
// actions on a real server: it continues as new when the server suggests
// it, every run stays far below Temporal's history limits (51,200 events,
// 50 MB), and the deal ends intact with its events contiguous across runs.
func TestLongDealContinuesAsNew(t *testing.T) {
	if os.Getenv(faultTestsEnv) == "" {
		t.Skipf("takes minutes on two cores: run with %s=1 (make test-faults does)", faultTestsEnv)
	}
	const milestones, actions = 200, 1500
	c, queue, rec := liveWorker(t)
	s := spec(t, "project")
	s.ID = fmt.Sprintf("long-%d", time.Now().UnixNano())
	s.Plan = bigPlan(milestones)
	if _, err := StartDeal(context.Background(), c, queue, s, time.Now()); err != nil {
		t.Fatal(err)
	}
	l := &liveDeal{t: t, c: c, id: s.ID}
	stages := []deal.BuyerStage{deal.BuyerContactAdded, deal.BuyerMetNonDecisionMaker}
	for i := range actions - milestones {
		l.act(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: stages[i%2]})
	}
	for i := range milestones {
		key := fmt.Sprintf("m%03d", i)
		owner := map[deal.Role]string{deal.RolePMO: "pat", deal.RoleCommercial: "cora", deal.RoleSolution: "sol"}[deal.Roles[i%3]]
		l.act(UpdateSubmit, deal.Submit{Acting: deal.Acting{Actor: owner}, Milestone: key, Checklist: []string{"Output checked"}})
	}
	final := l.result()
	if final.Status != deal.DealWon || len(final.Buyer) != actions-milestones {
		t.Fatalf("final %s with %d buyer entries", final.Status, len(final.Buyer))
	}
	rec.mu.Lock()
	for i, e := range rec.events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: events lost or out of order across runs", i, e.Seq)
		}
	}
	if len(rec.stale) > 0 {
		t.Errorf("versions %v were recorded after newer ones", rec.stale)
	}
	rec.mu.Unlock()

	runs := runsOf(t, c, DealWorkflowID(s.ID))
	if len(runs) < 2 {
		t.Errorf("%d run(s): the deal never continued as new", len(runs))
	}
	for _, r := range runs {
		if r.events > 10_000 || r.bytes > 10<<20 {
			t.Errorf("run %s: %d events, %d bytes of history", r.id, r.events, r.bytes)
		}
	}
	t.Logf("%d milestones, %d actions: %d runs; history per run (events/bytes): %v", milestones, actions, len(runs), runs)
}

// listRuns asks visibility for every run of a workflow.
func listRuns(workflowID string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = %q", workflowID)}
}

type runSize struct {
	id            string
	events, bytes int64
}

func (r runSize) String() string { return fmt.Sprintf("%d/%d", r.events, r.bytes) }

// runsOf lists every run of a workflow with its history length and size.
func runsOf(t *testing.T, c client.Client, workflowID string) []runSize {
	t.Helper()
	resp, err := c.ListWorkflow(context.Background(), listRuns(workflowID))
	if err != nil {
		t.Fatal(err)
	}
	var out []runSize
	for _, e := range resp.Executions {
		out = append(out, runSize{id: e.Execution.RunId, events: e.HistoryLength, bytes: e.HistorySizeBytes})
		if e.Status != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED && e.Status != enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			t.Errorf("run %s is %s", e.Execution.RunId, e.Status)
		}
	}
	return out
}
