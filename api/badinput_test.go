package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestBadInput: every mistake a client can make gets a 4xx in the one error
// shape, with a message that says what is wrong, and changes nothing.
func TestBadInput(t *testing.T) {
	s := newStack(t)
	s.standardUsers()
	s.teamDeal("bad")
	team := map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}

	// Transport-level mistakes.
	s.fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{"checklist": [`, 400, "malformed JSON")
	s.fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{"checklist": [], "colour": "red"}`, 400, `unknown field "colour"`)
	s.fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{"checklist": "all"}`, 400, "checklist must be an array")
	s.fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{} {}`, 400, "single JSON object")
	s.fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{"note": "`+strings.Repeat("x", 2<<20)+`"}`, 413, "exceeds")
	s.fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", "", 400, "empty")
	s.fails("pat", "GET", "/v1/nope", nil, 404, "no such route")
	s.fails("pat", "POST", "/healthz", nil, 405, "method not allowed")
	status, raw := s.callWithType("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", "text/plain", `{"checklist": []}`)
	if status != http.StatusUnsupportedMediaType || !strings.Contains(string(raw), "application/json") {
		t.Errorf("text/plain body: %d %s", status, raw)
	}

	// Domain mistakes, named precisely.
	s.fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", map[string]any{"checklist": []string{"Customer background researched"}}, 422, "Contact plan agreed with the PMO")
	s.fails("cora", "POST", "/v1/deals/bad/milestones/nope/submit", map[string]any{}, 404, `no milestone "nope"`)
	s.fails("cora", "POST", "/v1/deals/nosuch/milestones/prospect/submit", map[string]any{}, 404, `no deal with id "nosuch"`)
	s.fails("pat", "GET", "/v1/deals/nosuch", nil, 404, "no deal")
	s.fails("pat", "GET", "/v1/deals/nosuch/events", nil, 404, "no deal")
	s.fails("pat", "POST", "/v1/deals/bad/close", map[string]any{"outcome": "won"}, 422, "reason is required")
	s.fails("pat", "POST", "/v1/deals/bad/pause", map[string]any{"reason": "x", "until": "tomorrow"}, 400, `until "tomorrow" is not an RFC 3339 time`)
	s.fails("cora", "POST", "/v1/deals/bad/buyer-stage", map[string]any{"stage": "signed"}, 422, "unknown buyer stage")
	s.fails("pat", "GET", "/v1/deals?overdue=maybe", nil, 400, "overdue must be true or false")
	s.fails("pat", "GET", "/v1/deals?sort=colour", nil, 400, "sort")
	s.fails("pat", "GET", "/v1/deals?limit=-1", nil, 400, "limit")
	s.fails("pat", "GET", "/v1/deals?cursor=garbage", nil, 400, "cursor")
	s.fails("pat", "GET", "/v1/templates/nope", nil, 404, "no template")

	start := func(extra map[string]any) map[string]any {
		body := map[string]any{"id": "new-deal", "name": "New", "customer": "Hooli", "team": team, "template": "project"}
		for k, v := range extra {
			body[k] = v
		}
		return body
	}
	s.fails("pat", "POST", "/v1/deals", start(map[string]any{"template": ""}), 400, "template is required")
	s.fails("pat", "POST", "/v1/deals", start(map[string]any{"template": "nope"}), 404, "no template")
	s.fails("pat", "POST", "/v1/deals", start(map[string]any{"amount": -5}), 422, "amount cannot be negative")
	s.fails("pat", "POST", "/v1/deals", start(map[string]any{"id": "has space"}), 422, "no spaces")
	s.fails("pat", "POST", "/v1/deals", start(map[string]any{"team": map[string]any{"pmo": "pat", "commercial": "ghost", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}}), 422, "ghost")
	s.fails("pat", "POST", "/v1/deals", start(map[string]any{"team": map[string]any{"pmo": "pat", "commercial": "cora", "approvers": []string{"ann"}, "director": "dina"}}), 422, "milestones[solution-design].owner")
	cyclic := map[string]any{"name": "loop", "milestones": []map[string]any{
		{"key": "a", "title": "A", "role": "pmo", "due": "1d", "depends_on": []string{"b"}},
		{"key": "b", "title": "B", "role": "pmo", "due": "1d", "depends_on": []string{"a"}}}}
	s.fails("pat", "POST", "/v1/deals", start(map[string]any{"template": "", "plan": cyclic}), 422, "a → b → a")
	s.fails("pat", "POST", "/v1/templates", cyclic, 422, "dependency cycle")
	s.fails("pat", "POST", "/v1/templates", map[string]any{"name": "x", "milestones": []map[string]any{{"key": "a", "title": "A", "role": "pmo", "due": "ten days"}}}, 400, "bad due")
	s.fails("pat", "POST", "/v1/templates", map[string]any{"name": "project", "milestones": []map[string]any{{"key": "a", "title": "A", "role": "pmo", "due": "1d"}}}, 409, "built-in")
	s.fails("root", "POST", "/v1/users", map[string]any{"id": "x", "name": "X", "roles": []string{"king"}}, 422, "unknown role")
	s.fails("root", "POST", "/v1/users", map[string]any{"id": "pat", "name": "Pat again", "roles": []string{"pmo"}}, 409, "already exists")

	// None of it touched the deal.
	d := s.deal("root", "bad")
	if d.Seq != 2 || d.Milestone("prospect").State != "active" {
		t.Errorf("bad input changed the deal: seq %d, prospect %s", d.Seq, d.Milestone("prospect").State)
	}
}
