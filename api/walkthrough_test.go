package api_test

import (
	"net/http"
	"slices"
	"testing"

	"dealflow/activities/store"
	"dealflow/api/apitest"
	"dealflow/workflows/deal"
)

// TestWalkthrough is the walk-through of docs/deals.md, end to end on real
// servers.
func TestWalkthrough(t *testing.T) {
	s := newStack(t)
	for _, u := range []struct{ id, role string }{{"pat", "pmo"}, {"cora", "commercial"}, {"sol", "solution"},
		{"ann", "approver"}, {"abe", "approver"}, {"dina", "director"}, {"vic", "viewer"}} {
		s.User(u.id, store.Role(u.role))
	}
	var me store.User
	s.Must("pat", "GET", "/v1/me", nil, http.StatusOK, &me)
	if me.ID != "pat" || !me.HasRole(store.RolePMO) {
		t.Fatalf("me = %+v", me)
	}

	start := map[string]any{"id": "acme-erp", "name": "ACME ERP rollout", "customer": "ACME Manufacturing",
		"amount": 1200000, "currency": "CNY", "template": "project",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann", "abe"}, "director": "dina"}}
	var d apitest.DealView
	s.Must("pat", "POST", "/v1/deals", start, http.StatusCreated, &d)
	if d.Status != deal.DealActive || !slices.Equal(d.ActiveKeys(), []string{"prospect"}) || d.TemporalURL == "" {
		t.Fatalf("started: %s %v %q", d.Status, d.ActiveKeys(), d.TemporalURL)
	}
	// Sending the same start again (a client retrying) is the same deal; a
	// different deal under a taken id is a conflict.
	s.Must("pat", "POST", "/v1/deals", start, http.StatusCreated, nil)
	start["name"] = "Another deal"
	s.Fails("pat", "POST", "/v1/deals", start, http.StatusConflict, "already exists")

	s.Submit("cora", "acme-erp", "prospect")
	s.Projected("acme-erp")
	s.Submit("cora", "acme-erp", "needs-analysis")
	d = s.Submit("sol", "acme-erp", "solution-design")
	if m := d.Milestone("solution-design"); m.State != deal.StateSubmitted {
		t.Fatalf("solution-design %s", m.State)
	}
	var inbox store.Inbox
	s.Must("ann", "GET", "/v1/inbox", nil, http.StatusOK, &inbox)
	s.Eventually("ann's review in her inbox", func() bool {
		s.Must("ann", "GET", "/v1/inbox", nil, http.StatusOK, &inbox)
		return len(inbox.Reviews) == 1 && inbox.Reviews[0].Milestone == "solution-design"
	})
	d = s.Act("ann", "acme-erp", "/milestones/solution-design/review", map[string]any{"decision": "reject", "comment": "add integration costs"})
	if m := d.Milestone("solution-design"); m.State != deal.StateActive || m.Round != 2 {
		t.Fatalf("after rejection: %s round %d", m.State, m.Round)
	}
	s.Submit("sol", "acme-erp", "solution-design")
	d = s.Act("abe", "acme-erp", "/milestones/solution-design/review", map[string]any{"decision": "approve"})
	if d.Milestone("solution-design").State != deal.StateDone {
		t.Fatalf("solution-design %s", d.Milestone("solution-design").State)
	}
	s.Act("cora", "acme-erp", "/buyer-stage", map[string]any{"stage": "met_decision_maker", "note": "CIO joined the demo"})
	stored := s.Projected("acme-erp")
	if stored.Metrics.ReworkRounds != 1 {
		t.Errorf("read model metrics %+v", stored.Metrics)
	}

	var page struct {
		Deals []struct {
			ID    string   `json:"id"`
			Stage []string `json:"stage"`
		} `json:"deals"`
	}
	s.Must("vic", "GET", "/v1/deals?status=active&stage=solution-submission&pmo=pat", nil, http.StatusOK, &page)
	if len(page.Deals) != 1 || page.Deals[0].ID != "acme-erp" {
		t.Errorf("list: %+v", page.Deals)
	}

	// An escalation, with a saved template measured in seconds.
	fast := map[string]any{"name": "fast", "title": "Fast demo plan",
		"escalations": []map[string]any{{"offset": "0", "target": "pmo", "message": "due now"}, {"offset": "2s", "target": "director", "message": "late: analyse the cause"}},
		"milestones":  []map[string]any{{"key": "qualify", "title": "Qualify", "role": "commercial", "due": "2s", "checklist": []string{"Budget confirmed"}}}}
	s.Must("pat", "POST", "/v1/templates", fast, http.StatusCreated, nil)
	s.Must("pat", "POST", "/v1/deals", map[string]any{"id": "globex-pilot", "name": "Globex pilot", "customer": "Globex", "template": "fast",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "director": "dina"}}, http.StatusCreated, nil)
	s.Eventually("the director's escalation", func() bool {
		s.Must("dina", "GET", "/v1/inbox", nil, http.StatusOK, &inbox)
		return len(inbox.Escalations) == 1 && inbox.Escalations[0].DealID == "globex-pilot"
	})
	d = *s.Deal("pat", "globex-pilot")
	if m := d.Milestone("qualify"); !m.Overdue || m.Escalation != 2 {
		t.Errorf("qualify overdue %v level %d", m.Overdue, m.Escalation)
	}
	s.Must("pat", "GET", "/v1/deals?overdue=true", nil, http.StatusOK, &page)
	if len(page.Deals) != 1 || page.Deals[0].ID != "globex-pilot" {
		t.Errorf("overdue list: %+v", page.Deals)
	}
	d = s.Act("pat", "globex-pilot", "/close", map[string]any{"outcome": "lost", "reason": "went with a competitor"})
	if d.Status != deal.DealLost {
		t.Errorf("closed as %s", d.Status)
	}
	s.Projected("globex-pilot")
	if got := s.Deal("vic", "globex-pilot"); got.Source != "read-model" || got.Status != deal.DealLost {
		t.Errorf("closed deal served from %s as %s", got.Source, got.Status)
	}
	s.Fails("pat", "POST", "/v1/deals/globex-pilot/close", map[string]any{"outcome": "won", "reason": "x"}, http.StatusConflict, "closed")

	// Finish the first deal.
	for _, step := range []struct{ who, key string }{{"sol", "solution-submission"}, {"cora", "quotation"}, {"pat", "contract"}} {
		d = s.Submit(step.who, "acme-erp", step.key)
	}
	if d.Status != deal.DealWon {
		t.Fatalf("acme-erp %s after the last milestone", d.Status)
	}
	final := s.Projected("acme-erp")
	if final.Status != deal.DealWon || len(final.Warnings) == 0 {
		t.Errorf("final read model %s warnings %v", final.Status, final.Warnings)
	}
}
