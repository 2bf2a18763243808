package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// matrixUsers holds, for every role, a user assigned to the test deal and
// one who is not (viewers and admins are never on a deal's team).
var matrixUsers = []struct{ id, role string }{
	{"pat", "pmo"}, {"pam", "pmo"},
	{"cora", "commercial"}, {"carl", "commercial"},
	{"sol", "solution"}, {"sam", "solution"},
	{"ann", "approver"}, {"avi", "approver"},
	{"dina", "director"}, {"dan", "director"},
	{"vic", "viewer"},
}

// TestAuthorizationMatrix tries every route as every role, assigned to the
// deal or not, each on a fresh deal in the state the route needs: only the
// listed users succeed; every other answer is 403 (or 401 without a token).
func TestAuthorizationMatrix(t *testing.T) {
	s := newStack(t)
	for _, u := range matrixUsers {
		s.user(u.id, u.role)
	}
	everyone := []string{"root"}
	for _, u := range matrixUsers {
		everyone = append(everyone, u.id)
	}
	prepare := map[string]func(id string){
		"review": func(id string) {
			for _, step := range [][2]string{{"cora", "prospect"}, {"cora", "needs-analysis"}, {"sol", "solution-design"}} {
				s.submit(step[0], id, step[1])
			}
		},
		"resume": func(id string) { s.act("pat", id, "/pause", map[string]any{"reason": "audit"}) },
	}
	n := 0
	newDeal := func(kind string) string {
		n++
		id := fmt.Sprintf("m%d", n)
		s.must("pat", "POST", "/v1/deals", map[string]any{"id": id, "name": id, "customer": "Initech", "template": "project",
			"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}}, http.StatusCreated, nil)
		if p := prepare[kind]; p != nil {
			p(id)
		}
		return id
	}
	submitBody := map[string]any{"checklist": []string{"Customer background researched", "Contact plan agreed with the PMO"}}
	routes := []struct {
		name, method, path string
		body               func(id string) any
		fresh              bool     // needs a deal of its own per attempt
		allowed            []string // everyone else gets 403
		ok                 int
	}{
		{"submit", "POST", "/v1/deals/%s/milestones/prospect/submit", func(string) any { return submitBody }, true, []string{"cora", "pat"}, 200},
		{"review", "POST", "/v1/deals/%s/milestones/solution-design/review", func(string) any { return map[string]any{"decision": "approve"} }, true, []string{"ann"}, 200},
		{"plan", "POST", "/v1/deals/%s/plan", func(string) any {
			return map[string]any{"ops": []map[string]any{{"op": "redate", "key": "quotation", "due": "30d"}}}
		}, true, []string{"pat"}, 200},
		{"pause", "POST", "/v1/deals/%s/pause", func(string) any { return map[string]any{"reason": "audit"} }, true, []string{"pat"}, 200},
		{"resume", "POST", "/v1/deals/%s/resume", func(string) any { return nil }, true, []string{"pat"}, 200},
		{"buyer-stage", "POST", "/v1/deals/%s/buyer-stage", func(string) any { return map[string]any{"stage": "contact_added"} }, true, []string{"pat", "cora", "sol"}, 200},
		{"close", "POST", "/v1/deals/%s/close", func(string) any { return map[string]any{"outcome": "lost", "reason": "r"} }, true, []string{"pat"}, 200},
		{"start", "POST", "/v1/deals", func(string) any {
			n++
			return map[string]any{"id": fmt.Sprintf("start-%d", n), "name": "n", "customer": "c", "template": "project",
				"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}}
		}, false, []string{"root", "pat", "pam"}, 201},
		{"save template", "POST", "/v1/templates", func(string) any {
			n++
			return map[string]any{"name": fmt.Sprintf("t%d", n), "milestones": []map[string]any{{"key": "a", "title": "A", "role": "pmo", "due": "1d"}}}
		}, false, []string{"root", "pat", "pam"}, 201},
		{"create user", "POST", "/v1/users", func(string) any {
			n++
			return map[string]any{"id": fmt.Sprintf("u%d", n), "name": "U", "roles": []string{"viewer"}}
		}, false, []string{"root"}, 201},
		{"list users", "GET", "/v1/users", func(string) any { return nil }, false, []string{"root"}, 200},
		{"parked recordings", "GET", "/v1/admin/recordings", func(string) any { return nil }, false, []string{"root"}, 200},
		{"replay recordings", "POST", "/v1/admin/recordings/%s/retry", func(string) any { return nil }, false, []string{"root"}, 200},
		{"list deals", "GET", "/v1/deals", func(string) any { return nil }, false, everyone, 200},
		{"get deal", "GET", "/v1/deals/%s", func(string) any { return nil }, false, everyone, 200},
		{"events", "GET", "/v1/deals/%s/events", func(string) any { return nil }, false, everyone, 200},
		{"inbox", "GET", "/v1/inbox", func(string) any { return nil }, false, everyone, 200},
		{"templates", "GET", "/v1/templates", func(string) any { return nil }, false, everyone, 200},
		{"me", "GET", "/v1/me", func(string) any { return nil }, false, everyone, 200},
	}
	shared := newDeal("")
	cases := 0
	for _, r := range routes {
		for _, who := range append([]string{""}, everyone...) {
			id := shared
			if r.fresh {
				id = newDeal(r.name)
			}
			path := r.path
			if slices.Contains([]rune(path), '%') {
				path = fmt.Sprintf(r.path, id)
			}
			want := http.StatusForbidden
			switch {
			case who == "":
				want = http.StatusUnauthorized
			case slices.Contains(r.allowed, who):
				want = r.ok
			}
			if got, raw := s.call(who, r.method, path, r.body(id)); got != want {
				t.Errorf("%s as %q: %d %s, want %d", r.name, who, got, raw, want)
			}
			cases++
		}
	}
	t.Logf("%d authorization cases over %d routes and %d users", cases, len(routes), len(everyone))
}
