package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/api/apitest"
	"dealflow/console"
)

// stack is the harness's stack with the console mounted on the API.
type stack struct{ *apitest.Stack }

func newStack(t testing.TB) *stack {
	t.Helper()
	con, err := console.New(console.Config{Logger: apitest.Log})
	if err != nil {
		t.Fatal(err)
	}
	return &stack{apitest.New(t, apitest.WithConsole(con))}
}

// team creates the walk-through's team.
func (s *stack) team() {
	s.NamedUser("pat", "Pat Chen", store.RolePMO)
	s.NamedUser("cora", "Cora Li", store.RoleCommercial)
	s.NamedUser("sol", "Sol Wang", store.RoleSolution)
	s.NamedUser("ann", "Ann Zhao", store.RoleApprover)
	s.NamedUser("abe", "Abe Sun", store.RoleApprover)
	s.NamedUser("dina", "Dina Xu", store.RoleDirector)
}

// startDeal starts a deal of the project template with the whole team.
// A deal's id is its workflow's id on the Temporal server that the
// package's tests share: each test uses ids of its own.
func (s *stack) startDeal(id, name, customer string) {
	s.T.Helper()
	s.StartTeamDeal(apitest.TeamDeal{ID: id, Name: name, Customer: customer, Amount: 1200000, Currency: "CNY", Approvers: []string{"ann", "abe"}})
}

// contains reports whether s holds every one of wants.
func contains(s string, wants ...string) bool {
	for _, w := range wants {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// funnelTarget creates a funnel target for cora and sol that started 14
// days ago and loads ten days of activities: cora calls 6 times a day, sol
// visits once (below pace).
func (s *stack) funnelTarget(id string) {
	s.T.Helper()
	day := func(d int) string { return time.Now().AddDate(0, 0, d).UTC().Format("2006-01-02") }
	s.Succeeds("pat", "POST", "/v1/funnel/targets", map[string]any{
		"id": id, "name": "Q4 East new customers", "scope": "east", "manager": "dina", "reps": []string{"cora", "sol"},
		"period_start": day(-14), "period_end": day(16), "revenue_target": 1200000, "avg_deal_size": 100000,
		"conversion_rate": 0.2, "leads_per_activity": 0.25, "time_zone": "UTC",
	}, nil)
	var acts []map[string]any
	for d := 1; d <= 10; d++ {
		at := time.Now().AddDate(0, 0, -d).UTC().Format(time.RFC3339)
		for i := range 6 {
			acts = append(acts, map[string]any{"id": fmt.Sprintf("%s-c-%d-%d", id, d, i), "rep": "cora", "kind": "call", "at": at})
		}
		acts = append(acts, map[string]any{"id": fmt.Sprintf("%s-s-%d", id, d), "rep": "sol", "kind": "visit", "at": at})
	}
	s.Succeeds("pat", "POST", "/v1/funnel/activities", acts, nil)
	s.Succeeds("pat", "POST", "/v1/funnel/leads", []map[string]any{
		{"id": id + "-lead-1", "rep": "cora", "created_at": time.Now().AddDate(0, 0, -9).UTC().Format(time.RFC3339),
			"qualified_at": time.Now().AddDate(0, 0, -6).UTC().Format(time.RFC3339),
			"converted_at": time.Now().AddDate(0, 0, -2).UTC().Format(time.RFC3339), "amount": 180000},
	}, nil)
}
