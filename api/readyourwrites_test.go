package api_test

import (
	"net/http"
	"testing"

	"dealflow/activities/store"
)

// TestActionsAreReadableWhenAnswered: the read model holds an action's
// change by the time the action is answered (the workflow records it inside
// the workflow task that applied it), so the next read — an inbox, the deal
// list — shows it with no waiting.
func TestActionsAreReadableWhenAnswered(t *testing.T) {
	s := newStack(t)
	for _, u := range []struct{ id, role string }{{"pat", "pmo"}, {"cora", "commercial"}, {"sol", "solution"},
		{"ann", "approver"}, {"dina", "director"}} {
		s.user(u.id, u.role)
	}
	inbox := func(who string) store.Inbox {
		var in store.Inbox
		s.must(who, "GET", "/v1/inbox", nil, http.StatusOK, &in)
		return in
	}
	s.must("pat", "POST", "/v1/deals", map[string]any{"id": "ryw", "name": "Read your writes", "customer": "Initech",
		"amount": 100000, "currency": "CNY", "template": "project",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}},
		http.StatusCreated, nil)
	// Submitted with the whole checklist, and not waited for (stack.submit
	// waits for the projection).
	submit := func(who, key string) {
		s.must(who, "POST", "/v1/deals/ryw/milestones/"+key+"/submit",
			map[string]any{"checklist": s.deal(who, "ryw").Milestone(key).Checklist}, http.StatusOK, nil)
	}
	// The start is answered before the workflow's first task; its first
	// action waits for that task, and is answered after its recording.
	submit("cora", "prospect")
	if in := inbox("cora"); len(in.Tasks) != 1 || in.Tasks[0].Milestone != "needs-analysis" {
		t.Errorf("cora's inbox right after submitting prospect: %+v", in.Tasks)
	}
	submit("cora", "needs-analysis")
	submit("sol", "solution-design")
	if in := inbox("ann"); len(in.Reviews) != 1 || in.Reviews[0].Milestone != "solution-design" {
		t.Errorf("ann's inbox right after the submit: %+v", in.Reviews)
	}
	var d dealResp
	s.must("ann", "POST", "/v1/deals/ryw/milestones/solution-design/review", map[string]any{"decision": "approve"}, http.StatusOK, &d)
	if in := inbox("ann"); len(in.Reviews) != 0 {
		t.Errorf("ann's inbox right after approving: %+v", in.Reviews)
	}
	var list struct {
		Deals []struct {
			ID      string   `json:"id"`
			Stage   []string `json:"stage"`
			Version int64    `json:"version"`
		} `json:"deals"`
	}
	s.must("pat", "GET", "/v1/deals?pmo=pat", nil, http.StatusOK, &list)
	if len(list.Deals) != 1 || list.Deals[0].Version != d.Version {
		t.Errorf("list right after the approval: %+v, want version %d", list.Deals, d.Version)
	}
}
