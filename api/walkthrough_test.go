package api_test

import (
	"net/http"
	"slices"
	"testing"

	"dealflow/activities/store"
	"dealflow/workflows/plan"
)

type dealResp struct {
	plan.Deal
	TemporalURL string `json:"temporal_url"`
	Source      string `json:"source"`
}

func (s *stack) deal(as, id string) *dealResp {
	s.t.Helper()
	var d dealResp
	s.must(as, "GET", "/v1/deals/"+id, nil, http.StatusOK, &d)
	return &d
}

// act posts an action on a deal and returns the new state, once the read
// model and the audit trail have caught up with it and agree.
func (s *stack) act(as, id, path string, body any) dealResp {
	s.t.Helper()
	var d dealResp
	s.must(as, "POST", "/v1/deals/"+id+path, body, http.StatusOK, &d)
	s.projected(id)
	return d
}

func (s *stack) submit(as, id, key string) dealResp {
	s.t.Helper()
	d := s.deal(as, id)
	return s.act(as, id, "/milestones/"+key+"/submit", map[string]any{"checklist": d.Milestone(key).Checklist, "evidence": []string{"https://docs.example/" + key}})
}

// projected waits until the read model holds the live state's version, then
// checks that it agrees with the workflow and that the audit trail holds
// every event exactly once, in order.
func (s *stack) projected(id string) *plan.Deal {
	s.t.Helper()
	// Under load the state query can time out and the API then answers from
	// the read model (source "read-model"); only a live answer is the
	// workflow's state to compare with.
	var live *dealResp
	s.eventually("a live answer for "+id, func() bool {
		live = s.deal("root", id)
		return live.Source == "workflow" || live.Status.Final()
	})
	var stored *plan.Deal
	s.eventually("projection of "+id, func() bool {
		d, err := s.store.GetDeal(s.t.Context(), id)
		stored = d
		return err == nil && d.Version >= live.Version
	})
	if stored.Version != live.Version || stored.Status != live.Status || !slices.Equal(stored.ActiveKeys(), live.ActiveKeys()) {
		s.t.Errorf("read model v%d %s %v, workflow v%d %s %v", stored.Version, stored.Status, stored.ActiveKeys(), live.Version, live.Status, live.ActiveKeys())
	}
	var events struct {
		Events []plan.Event `json:"events"`
	}
	s.must("root", "GET", "/v1/deals/"+id+"/events?limit=1000", nil, http.StatusOK, &events)
	if int64(len(events.Events)) != live.Seq {
		s.t.Errorf("audit trail has %d events, the workflow %d", len(events.Events), live.Seq)
	}
	for i, e := range events.Events {
		if e.Seq != int64(i+1) {
			s.t.Fatalf("audit event %d has seq %d", i, e.Seq)
		}
	}
	return stored
}

// TestWalkthrough is the walk-through of docs/deals.md, end to end on real
// servers.
func TestWalkthrough(t *testing.T) {
	s := newStack(t)
	for _, u := range []struct{ id, role string }{{"pat", "pmo"}, {"cora", "commercial"}, {"sol", "solution"},
		{"ann", "approver"}, {"abe", "approver"}, {"dina", "director"}, {"vic", "viewer"}} {
		s.user(u.id, u.role)
	}
	var me store.User
	s.must("pat", "GET", "/v1/me", nil, http.StatusOK, &me)
	if me.ID != "pat" || !me.HasRole(store.RolePMO) {
		t.Fatalf("me = %+v", me)
	}

	start := map[string]any{"id": "acme-erp", "name": "ACME ERP rollout", "customer": "ACME Manufacturing",
		"amount": 1200000, "currency": "CNY", "template": "project",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann", "abe"}, "director": "dina"}}
	var d dealResp
	s.must("pat", "POST", "/v1/deals", start, http.StatusCreated, &d)
	if d.Status != plan.DealActive || !slices.Equal(d.ActiveKeys(), []string{"prospect"}) || d.TemporalURL == "" {
		t.Fatalf("started: %s %v %q", d.Status, d.ActiveKeys(), d.TemporalURL)
	}
	// Sending the same start again (a client retrying) is the same deal; a
	// different deal under a taken id is a conflict.
	s.must("pat", "POST", "/v1/deals", start, http.StatusCreated, nil)
	start["name"] = "Another deal"
	s.fails("pat", "POST", "/v1/deals", start, http.StatusConflict, "already exists")

	s.submit("cora", "acme-erp", "prospect")
	s.projected("acme-erp")
	s.submit("cora", "acme-erp", "needs-analysis")
	d = s.submit("sol", "acme-erp", "solution-design")
	if m := d.Milestone("solution-design"); m.State != plan.StateSubmitted {
		t.Fatalf("solution-design %s", m.State)
	}
	var inbox store.Inbox
	s.must("ann", "GET", "/v1/inbox", nil, http.StatusOK, &inbox)
	s.eventually("ann's review in her inbox", func() bool {
		s.must("ann", "GET", "/v1/inbox", nil, http.StatusOK, &inbox)
		return len(inbox.Reviews) == 1 && inbox.Reviews[0].Milestone == "solution-design"
	})
	d = s.act("ann", "acme-erp", "/milestones/solution-design/review", map[string]any{"decision": "reject", "comment": "add integration costs"})
	if m := d.Milestone("solution-design"); m.State != plan.StateActive || m.Round != 2 {
		t.Fatalf("after rejection: %s round %d", m.State, m.Round)
	}
	s.submit("sol", "acme-erp", "solution-design")
	d = s.act("abe", "acme-erp", "/milestones/solution-design/review", map[string]any{"decision": "approve"})
	if d.Milestone("solution-design").State != plan.StateDone {
		t.Fatalf("solution-design %s", d.Milestone("solution-design").State)
	}
	s.act("cora", "acme-erp", "/buyer-stage", map[string]any{"stage": "met_decision_maker", "note": "CIO joined the demo"})
	stored := s.projected("acme-erp")
	if stored.Metrics.ReworkRounds != 1 {
		t.Errorf("read model metrics %+v", stored.Metrics)
	}

	var page struct {
		Deals []struct {
			ID    string   `json:"id"`
			Stage []string `json:"stage"`
		} `json:"deals"`
	}
	s.must("vic", "GET", "/v1/deals?status=active&stage=solution-submission&pmo=pat", nil, http.StatusOK, &page)
	if len(page.Deals) != 1 || page.Deals[0].ID != "acme-erp" {
		t.Errorf("list: %+v", page.Deals)
	}

	// An escalation, with a saved template measured in seconds.
	fast := map[string]any{"name": "fast", "title": "Fast demo plan",
		"escalations": []map[string]any{{"offset": "0", "target": "pmo", "message": "due now"}, {"offset": "2s", "target": "director", "message": "late: analyse the cause"}},
		"milestones":  []map[string]any{{"key": "qualify", "title": "Qualify", "role": "commercial", "due": "2s", "checklist": []string{"Budget confirmed"}}}}
	s.must("pat", "POST", "/v1/templates", fast, http.StatusCreated, nil)
	s.must("pat", "POST", "/v1/deals", map[string]any{"id": "globex-pilot", "name": "Globex pilot", "customer": "Globex", "template": "fast",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "director": "dina"}}, http.StatusCreated, nil)
	s.eventually("the director's escalation", func() bool {
		s.must("dina", "GET", "/v1/inbox", nil, http.StatusOK, &inbox)
		return len(inbox.Escalations) == 1 && inbox.Escalations[0].DealID == "globex-pilot"
	})
	d = *s.deal("pat", "globex-pilot")
	if m := d.Milestone("qualify"); !m.Overdue || m.Escalation != 2 {
		t.Errorf("qualify overdue %v level %d", m.Overdue, m.Escalation)
	}
	s.must("pat", "GET", "/v1/deals?overdue=true", nil, http.StatusOK, &page)
	if len(page.Deals) != 1 || page.Deals[0].ID != "globex-pilot" {
		t.Errorf("overdue list: %+v", page.Deals)
	}
	d = s.act("pat", "globex-pilot", "/close", map[string]any{"outcome": "lost", "reason": "went with a competitor"})
	if d.Status != plan.DealLost {
		t.Errorf("closed as %s", d.Status)
	}
	s.projected("globex-pilot")
	if got := s.deal("vic", "globex-pilot"); got.Source != "read-model" || got.Status != plan.DealLost {
		t.Errorf("closed deal served from %s as %s", got.Source, got.Status)
	}
	s.fails("pat", "POST", "/v1/deals/globex-pilot/close", map[string]any{"outcome": "won", "reason": "x"}, http.StatusConflict, "closed")

	// Finish the first deal.
	for _, step := range []struct{ who, key string }{{"sol", "solution-submission"}, {"cora", "quotation"}, {"pat", "contract"}} {
		d = s.submit(step.who, "acme-erp", step.key)
	}
	if d.Status != plan.DealWon {
		t.Fatalf("acme-erp %s after the last milestone", d.Status)
	}
	final := s.projected("acme-erp")
	if final.Status != plan.DealWon || len(final.Warnings) == 0 {
		t.Errorf("final read model %s warnings %v", final.Status, final.Warnings)
	}
}
