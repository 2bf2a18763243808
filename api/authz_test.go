package api_test

import (
	"dealflow/activities/store"
	"dealflow/api/apitest"
	"net/http"
	"testing"
)

// teamDeal starts a project deal with the standard test team.
func (s *stack) teamDeal(id string) {
	s.T.Helper()
	s.StartTeamDeal(apitest.TeamDeal{ID: id, Name: "Deal " + id, Customer: "Initech", Amount: 500000, Approvers: []string{"ann"}})
}

func (s *stack) standardUsers() {
	for _, u := range []struct{ id, role string }{{"pat", "pmo"}, {"pam", "pmo"}, {"cora", "commercial"}, {"sol", "solution"},
		{"ann", "approver"}, {"dina", "director"}, {"vic", "viewer"}} {
		s.User(u.id, store.Role(u.role))
	}
}

// TestAuthorization checks each mutating route with a user who may and
// users who may not: the API refuses roles that can never act, the deal's
// workflow refuses people not assigned to the deal.
func TestAuthorization(t *testing.T) {
	s := newStack(t)
	s.standardUsers()
	s.teamDeal("authz")
	checklist := func(key string) map[string]any {
		d := s.Deal("root", "authz")
		return map[string]any{"checklist": d.Milestone(key).Checklist}
	}
	type attempt struct {
		as     string
		status int
	}
	cases := []struct {
		name   string
		method string
		path   string
		body   func() any
		denied []attempt // tried first, each must fail and change nothing
		may    string
		want   int
	}{
		{"start deal", "POST", "/v1/deals", func() any {
			return map[string]any{"id": "authz-2", "name": "n", "customer": "c", "template": "project",
				"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}}
		}, []attempt{{"cora", 403}, {"vic", 403}, {"", 401}}, "pat", 201},
		{"submit", "POST", "/v1/deals/authz/milestones/prospect/submit", func() any { return checklist("prospect") },
			[]attempt{{"sol", 403}, {"pam", 403}, {"vic", 403}}, "cora", 200},
		{"submit needs-analysis as PMO", "POST", "/v1/deals/authz/milestones/needs-analysis/submit", func() any { return checklist("needs-analysis") },
			[]attempt{{"ann", 403}}, "pat", 200},
		{"submit design", "POST", "/v1/deals/authz/milestones/solution-design/submit", func() any { return checklist("solution-design") },
			[]attempt{{"cora", 403}}, "sol", 200},
		{"review", "POST", "/v1/deals/authz/milestones/solution-design/review", func() any { return map[string]any{"decision": "approve"} },
			[]attempt{{"cora", 403}, {"dina", 403}, {"vic", 403}}, "ann", 200},
		{"buyer stage", "POST", "/v1/deals/authz/buyer-stage", func() any { return map[string]any{"stage": "contact_added"} },
			[]attempt{{"ann", 403}, {"pam", 403}}, "cora", 200},
		{"plan", "POST", "/v1/deals/authz/plan", func() any {
			return map[string]any{"ops": []map[string]any{{"op": "redate", "key": "solution-submission", "due": "20d"}}}
		}, []attempt{{"cora", 403}, {"pam", 403}}, "pat", 200},
		{"pause", "POST", "/v1/deals/authz/pause", func() any { return map[string]any{"reason": "customer audit"} },
			[]attempt{{"sol", 403}, {"vic", 403}}, "pat", 200},
		{"resume", "POST", "/v1/deals/authz/resume", func() any { return nil },
			[]attempt{{"cora", 403}}, "pat", 200},
		{"close", "POST", "/v1/deals/authz/close", func() any { return map[string]any{"outcome": "cancelled", "reason": "test"} },
			[]attempt{{"sol", 403}, {"dina", 403}, {"", 401}}, "pat", 200},
		{"save template", "POST", "/v1/templates", func() any {
			return map[string]any{"name": "mine", "milestones": []map[string]any{{"key": "a", "title": "A", "role": "pmo", "due": "1d"}}}
		}, []attempt{{"cora", 403}, {"vic", 403}}, "pat", 201},
		{"create user", "POST", "/v1/users", func() any { return map[string]any{"id": "newbie", "name": "New", "roles": []string{"viewer"}} },
			[]attempt{{"pat", 403}, {"vic", 403}}, "root", 201},
		{"token for someone else", "POST", "/v1/users/cora/tokens", func() any { return nil },
			[]attempt{{"pat", 403}}, "root", 201},
		{"token for oneself", "POST", "/v1/users/vic/tokens", func() any { return nil }, []attempt{{"vic", 403}}, "root", 201},
		{"list users", "GET", "/v1/users", func() any { return nil }, []attempt{{"pat", 403}}, "root", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := s.Deal("root", "authz").Version
			for _, a := range c.denied {
				if status, raw := s.Call(a.as, c.method, c.path, c.body()); status != a.status {
					t.Errorf("as %q: %d %s, want %d", a.as, status, raw, a.status)
				}
			}
			if after := s.Deal("root", "authz").Version; after != before {
				t.Errorf("denied attempts changed the deal: v%d → v%d", before, after)
			}
			if status, raw := s.Call(c.may, c.method, c.path, c.body()); status != c.want {
				t.Errorf("as %q: %d %s, want %d", c.may, status, raw, c.want)
			}
		})
	}
}

// TestTokens: a bad or revoked token is refused; revoking is for admins.
func TestTokens(t *testing.T) {
	s := newStack(t)
	s.User("pat", "pmo")
	s.Must("pat", "GET", "/v1/me", nil, http.StatusOK, nil)
	s.Fails("", "GET", "/v1/me", nil, http.StatusUnauthorized, "missing bearer token")
	s.Tokens["mallory"] = "dfl_not-a-real-token"
	s.Fails("mallory", "GET", "/v1/me", nil, http.StatusUnauthorized, "invalid token")

	tokens, err := s.Store.ListTokens(t.Context(), "pat")
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens %v %v", tokens, err)
	}
	s.Fails("pat", "DELETE", "/v1/tokens/"+tokens[0].ID, nil, http.StatusForbidden, "admin")
	s.Must("root", "DELETE", "/v1/tokens/"+tokens[0].ID, nil, http.StatusNoContent, nil)
	s.Fails("pat", "GET", "/v1/me", nil, http.StatusUnauthorized, "invalid token")
}
