package api_test

import (
	"cmp"
	"dealflow/activities/store"
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
		s.User(u.id, store.Role(u.role))
	}
	everyone := []string{"root"}
	for _, u := range matrixUsers {
		everyone = append(everyone, u.id)
	}
	prepare := map[string]func(id string){
		"review": func(id string) {
			for _, step := range [][2]string{{"cora", "prospect"}, {"cora", "needs-analysis"}, {"sol", "solution-design"}} {
				s.Submit(step[0], id, step[1])
			}
		},
		"resume": func(id string) { s.Act("pat", id, "/pause", map[string]any{"reason": "audit"}) },
	}
	n := 0
	newDeal := func(kind string) string {
		n++
		id := fmt.Sprintf("m%d", n)
		s.Must("pat", "POST", "/v1/deals", map[string]any{"id": id, "name": id, "customer": "Initech", "template": "project",
			"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}}, http.StatusCreated, nil)
		if p := prepare[kind]; p != nil {
			p(id)
		}
		return id
	}
	submitBody := map[string]any{"checklist": []string{"Customer background researched", "Contact plan agreed with the PMO"}}

	// A coverage program: cora leads SDR with carl; carl leads BD; sol
	// leads presales. sam (solution) and every other user are off it.
	s.Must("pat", "POST", "/v1/coverage/programs", map[string]any{
		"id": "mx", "name": "Matrix",
		"targets": map[string]any{"coverage_rate": 0.8, "signing_rate": 0.1, "first_pass_rate": 0.6},
		"teams": map[string]any{"sdr": map[string]any{"lead": "cora", "members": []string{"carl"}},
			"bd": map[string]any{"lead": "carl"}, "presales": map[string]any{"lead": "sol"}},
	}, http.StatusCreated, nil)
	s.Must("pat", "POST", "/v1/coverage/programs/mx/accounts", []map[string]any{{"id": "acc-1", "name": "Initech"}}, http.StatusOK, nil)
	event := func(kind, by string) []map[string]any {
		n++
		e := map[string]any{"id": fmt.Sprintf("ev-%d", n), "account": "acc-1", "kind": kind, "by": by}
		if kind == "sdr_touch" {
			e["stage"] = "contact_established"
		}
		return []map[string]any{e}
	}
	// managers run programs: they post in any member's name.
	managers := []string{"root", "pat", "pam", "dina", "dan"}

	routes := []struct {
		name, method, path string
		body               func(id string) any
		fresh              bool     // needs a deal of its own per attempt
		allowed            []string // everyone else gets 403
		ok                 int
		// Optional: the path for this attempt (else path with the deal's
		// id), the body as a function of the caller, and statuses other
		// than ok and 403 for some callers.
		pathFor func(who string) string
		bodyAs  func(who string) any
		other   map[string]int
	}{
		{"submit", "POST", "/v1/deals/%s/milestones/prospect/submit", func(string) any { return submitBody }, true, []string{"cora", "pat"}, 200, nil, nil, nil},
		{"review", "POST", "/v1/deals/%s/milestones/solution-design/review", func(string) any { return map[string]any{"decision": "approve"} }, true, []string{"ann"}, 200, nil, nil, nil},
		{"plan", "POST", "/v1/deals/%s/plan", func(string) any {
			return map[string]any{"ops": []map[string]any{{"op": "redate", "key": "quotation", "due": "30d"}}}
		}, true, []string{"pat"}, 200, nil, nil, nil},
		{"pause", "POST", "/v1/deals/%s/pause", func(string) any { return map[string]any{"reason": "audit"} }, true, []string{"pat"}, 200, nil, nil, nil},
		{"resume", "POST", "/v1/deals/%s/resume", func(string) any { return nil }, true, []string{"pat"}, 200, nil, nil, nil},
		{"buyer-stage", "POST", "/v1/deals/%s/buyer-stage", func(string) any { return map[string]any{"stage": "contact_added"} }, true, []string{"pat", "cora", "sol"}, 200, nil, nil, nil},
		{"close", "POST", "/v1/deals/%s/close", func(string) any { return map[string]any{"outcome": "lost", "reason": "r"} }, true, []string{"pat"}, 200, nil, nil, nil},
		{"start", "POST", "/v1/deals", func(string) any {
			n++
			return map[string]any{"id": fmt.Sprintf("start-%d", n), "name": "n", "customer": "c", "template": "project",
				"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}}
		}, false, []string{"root", "pat", "pam"}, 201, nil, nil, nil},
		{"save template", "POST", "/v1/templates", func(string) any {
			n++
			return map[string]any{"name": fmt.Sprintf("t%d", n), "milestones": []map[string]any{{"key": "a", "title": "A", "role": "pmo", "due": "1d"}}}
		}, false, []string{"root", "pat", "pam"}, 201, nil, nil, nil},
		{"create user", "POST", "/v1/users", func(string) any {
			n++
			return map[string]any{"id": fmt.Sprintf("u%d", n), "name": "U", "roles": []string{"viewer"}}
		}, false, []string{"root"}, 201, nil, nil, nil},
		{"list users", "GET", "/v1/users", func(string) any { return nil }, false, []string{"root"}, 200, nil, nil, nil},
		{"parked recordings", "GET", "/v1/admin/recordings", func(string) any { return nil }, false, []string{"root"}, 200, nil, nil, nil},
		{"replay recordings", "POST", "/v1/admin/recordings/%s/retry", func(string) any { return nil }, false, []string{"root"}, 200, nil, nil, nil},
		{"list deals", "GET", "/v1/deals", func(string) any { return nil }, false, everyone, 200, nil, nil, nil},
		{"get deal", "GET", "/v1/deals/%s", func(string) any { return nil }, false, everyone, 200, nil, nil, nil},
		{"events", "GET", "/v1/deals/%s/events", func(string) any { return nil }, false, everyone, 200, nil, nil, nil},
		{"inbox", "GET", "/v1/inbox", func(string) any { return nil }, false, everyone, 200, nil, nil, nil},
		{"templates", "GET", "/v1/templates", func(string) any { return nil }, false, everyone, 200, nil, nil, nil},
		{"me", "GET", "/v1/me", func(string) any { return nil }, false, everyone, 200, nil, nil, nil},

		// Users and tokens: admins only, but a user lists their own tokens.
		{"patch user", "PATCH", "/v1/users/vic", func(string) any { return map[string]any{"name": "Vic Viewer"} }, false, []string{"root"}, 200, nil, nil, nil},
		{"list tokens", "GET", "/v1/users/cora/tokens", func(string) any { return nil }, false, []string{"root", "cora"}, 200, nil, nil, nil},
		{"create token", "POST", "/v1/users/cora/tokens", func(string) any { return map[string]any{"ttl": "1d"} }, false, []string{"root"}, 201, nil, nil, nil},
		// Users do not mint their own tokens: only admins issue tokens.
		{"create own token", "POST", "", func(string) any { return nil }, false, []string{"root"}, 201,
			func(who string) string { return "/v1/users/" + cmp.Or(who, "vic") + "/tokens" }, nil, nil},
		{"revoke", "DELETE", "", func(string) any { return nil }, false, []string{"root"}, 204, func(string) string {
			var tok struct{ ID string }
			s.Must("root", "POST", "/v1/users/vic/tokens", nil, http.StatusCreated, &tok)
			return "/v1/tokens/" + tok.ID
		}, nil, nil},

		// Coverage authorship: an SDR touch by carl (an SDR member) is
		// posted by carl, by cora (SDR lead) or by a manager; sol is on the
		// program but not in carl's name; sam is off the program.
		{"coverage event for a member", "POST", "/v1/coverage/programs/mx/events", func(string) any { return event("sdr_touch", "carl") },
			false, append([]string{"carl", "cora"}, managers...), 200, nil, nil, nil},
		// A signing by carl (BD lead): cora leads another team, so not.
		{"coverage signing for another team's lead", "POST", "/v1/coverage/programs/mx/events", func(string) any { return event("bd_signing", "carl") },
			false, append([]string{"carl"}, managers...), 200, nil, nil, nil},
		// Everyone in their own name: members of the SDR team succeed;
		// sol (presales) and the managers may post but are not on the SDR
		// team (422); sam, off the program, and the other roles get 403.
		{"coverage event in one's own name", "POST", "/v1/coverage/programs/mx/events", nil,
			false, []string{"carl", "cora"}, 200, nil, func(who string) any { return event("sdr_touch", who) },
			map[string]int{"sol": 422, "root": 422, "pat": 422, "pam": 422, "dina": 422, "dan": 422}},
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
			switch {
			case r.pathFor != nil:
				path = r.pathFor(who)
			case slices.Contains([]rune(path), '%'):
				path = fmt.Sprintf(r.path, id)
			}
			want := http.StatusForbidden
			switch {
			case who == "":
				want = http.StatusUnauthorized
			case slices.Contains(r.allowed, who):
				want = r.ok
			case r.other[who] != 0:
				want = r.other[who]
			}
			var body any
			if r.bodyAs != nil {
				body = r.bodyAs(who)
			} else {
				body = r.body(id)
			}
			if got, raw := s.Call(who, r.method, path, body); got != want {
				t.Errorf("%s as %q: %d %s, want %d", r.name, who, got, raw, want)
			}
			cases++
		}
	}
	t.Logf("%d authorization cases over %d routes and %d users", cases, len(routes), len(everyone))
}
