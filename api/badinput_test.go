package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"dealflow/api/apitest"
	"dealflow/workflows/deal"
)

// TestBadInput: every mistake a client can make gets a 4xx in the one error
// shape, with a message that says what is wrong, and changes nothing.
func TestBadInput(t *testing.T) {
	s := newStack(t)
	s.standardUsers()
	s.teamDeal("bad")
	team := map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}

	// Transport-level mistakes.
	s.Fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{"checklist": [`, 400, "malformed JSON")
	s.Fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{"checklist": [], "colour": "red"}`, 400, `unknown field "colour"`)
	s.Fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{"checklist": "all"}`, 400, "checklist must be an array")
	s.Fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{} {}`, 400, "single JSON object")
	s.Fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", `{"note": "`+strings.Repeat("x", 2<<20)+`"}`, 413, "exceeds")
	s.Fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", "", 400, "empty")
	s.Fails("pat", "GET", "/v1/nope", nil, 404, "no such route")
	s.Fails("pat", "POST", "/healthz", nil, 405, "method not allowed")
	status, raw := s.CallWithType("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", "text/plain", `{"checklist": []}`)
	if status != http.StatusUnsupportedMediaType || !strings.Contains(string(raw), "application/json") {
		t.Errorf("text/plain body: %d %s", status, raw)
	}

	// Domain mistakes, named precisely.
	s.Fails("cora", "POST", "/v1/deals/bad/milestones/prospect/submit", map[string]any{"checklist": []string{"Customer background researched"}}, 422, "Contact plan agreed with the PMO")
	s.Fails("cora", "POST", "/v1/deals/bad/milestones/nope/submit", map[string]any{}, 404, `no milestone "nope"`)
	s.Fails("cora", "POST", "/v1/deals/nosuch/milestones/prospect/submit", map[string]any{}, 404, `no deal with id "nosuch"`)
	s.Fails("pat", "GET", "/v1/deals/nosuch", nil, 404, "no deal")
	s.Fails("pat", "GET", "/v1/deals/nosuch/events", nil, 404, "no deal")
	s.Fails("pat", "POST", "/v1/deals/bad/close", map[string]any{"outcome": "won"}, 422, "reason is required")
	s.Fails("pat", "POST", "/v1/deals/bad/pause", map[string]any{"reason": "x", "until": "tomorrow"}, 400, `until "tomorrow" is not an RFC 3339 time`)
	s.Fails("cora", "POST", "/v1/deals/bad/buyer-stage", map[string]any{"stage": "signed"}, 422, "unknown buyer stage")
	s.Fails("pat", "GET", "/v1/deals?overdue=maybe", nil, 400, "overdue must be true or false")
	s.Fails("pat", "GET", "/v1/deals?sort=colour", nil, 400, "sort")
	s.Fails("pat", "GET", "/v1/deals?limit=-1", nil, 400, "limit")
	s.Fails("pat", "GET", "/v1/deals?cursor=garbage", nil, 400, "cursor")
	s.Fails("pat", "GET", "/v1/templates/nope", nil, 404, "no template")

	start := func(extra map[string]any) map[string]any {
		body := map[string]any{"id": "new-deal", "name": "New", "customer": "Hooli", "team": team, "template": "project"}
		for k, v := range extra {
			body[k] = v
		}
		return body
	}
	s.Fails("pat", "POST", "/v1/deals", start(map[string]any{"template": ""}), 400, "template is required")
	s.Fails("pat", "POST", "/v1/deals", start(map[string]any{"template": "nope"}), 404, "no template")
	s.Fails("pat", "POST", "/v1/deals", start(map[string]any{"amount": -5}), 422, "amount cannot be negative")
	s.Fails("pat", "POST", "/v1/deals", start(map[string]any{"id": "has space"}), 422, "may hold only letters")
	s.Fails("pat", "POST", "/v1/deals", start(map[string]any{"team": map[string]any{"pmo": "pat", "commercial": "ghost", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}}), 422, "ghost")
	s.Fails("pat", "POST", "/v1/deals", start(map[string]any{"team": map[string]any{"pmo": "pat", "commercial": "cora", "approvers": []string{"ann"}, "director": "dina"}}), 422, "milestones[solution-design].owner")
	cyclic := map[string]any{"name": "loop", "milestones": []map[string]any{
		{"key": "a", "title": "A", "role": "pmo", "due": "1d", "depends_on": []string{"b"}},
		{"key": "b", "title": "B", "role": "pmo", "due": "1d", "depends_on": []string{"a"}}}}
	s.Fails("pat", "POST", "/v1/deals", start(map[string]any{"template": "", "plan": cyclic}), 422, "a → b → a")
	s.Fails("pat", "POST", "/v1/templates", cyclic, 422, "dependency cycle")
	s.Fails("pat", "POST", "/v1/templates", map[string]any{"name": "x", "milestones": []map[string]any{{"key": "a", "title": "A", "role": "pmo", "due": "ten days"}}}, 422, "bad due")
	s.Fails("pat", "POST", "/v1/templates", map[string]any{"name": "project", "milestones": []map[string]any{{"key": "a", "title": "A", "role": "pmo", "due": "1d"}}}, 409, "built-in")
	s.Fails("root", "POST", "/v1/users", map[string]any{"id": "x", "name": "X", "roles": []string{"king"}}, 422, "unknown role")
	s.Fails("root", "POST", "/v1/users", map[string]any{"id": "pat", "name": "Pat again", "roles": []string{"pmo"}}, 409, "already exists")

	// None of it touched the deal.
	d := s.Deal("root", "bad")
	if d.Seq != 2 || d.Milestone("prospect").State != "active" {
		t.Errorf("bad input changed the deal: seq %d, prospect %s", d.Seq, d.Milestone("prospect").State)
	}
}

// problems sends a request that must fail with status, its error naming
// every given field in problems.
func (s *stack) problems(as, method, path string, body any, status int, fields ...string) {
	s.T.Helper()
	got, raw := s.Call(as, method, path, body)
	var e apitest.ErrorAnswer
	if err := json.Unmarshal(raw, &e); err != nil || got != status {
		s.T.Errorf("%s %s: %d %.300s, want %d naming %v", method, path, got, raw, status, fields)
		return
	}
	for _, f := range fields {
		found := false
		for _, p := range e.Error.Problems {
			found = found || p.Field == f
		}
		if !found {
			s.T.Errorf("%s %s: %d problems %+v, want one on %s", method, path, got, e.Error.Problems, f)
		}
	}
	if len(raw) > 20000 {
		s.T.Errorf("%s %s: an answer of %d bytes echoes the input", method, path, len(raw))
	}
}

// TestBoundsAtTheBoundary: the model's bounds reach the HTTP answers. Text
// that is not text, text over its limit and numbers out of range are 422
// naming the field; a change that would take a deal over MaxStateBytes is
// 413; none of it breaks the deal or any listing afterwards.
func TestBoundsAtTheBoundary(t *testing.T) {
	s := newStack(t)
	s.standardUsers()
	s.teamDeal("lim")
	team := map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}

	// Issue 1: a NUL in a buyer note is refused before it reaches history.
	s.problems("cora", "POST", "/v1/deals/lim/buyer-stage", `{"stage":"contact_added","note":"x\u0000y"}`, 422, "note")
	s.problems("cora", "POST", "/v1/deals/lim/buyer-stage", `{"stage":"contact_added","note":"x\u0085y"}`, 422, "note")
	// Issue 2: a 600 KB note of '<' is refused by its limit, not by Temporal.
	s.problems("cora", "POST", "/v1/deals/lim/buyer-stage", `{"stage":"contact_added","note":"`+strings.Repeat("<", 600<<10)+`"}`, 422, "note")
	s.problems("cora", "POST", "/v1/deals/lim/milestones/prospect/submit", map[string]any{"checklist": []string{"x\x00"}, "evidence": []string{"https://a\nb"}, "note": strings.Repeat("n", 4001)},
		422, "checklist[0]", "evidence[0]", "note")
	s.problems("pat", "POST", "/v1/deals/lim/plan", map[string]any{"ops": []map[string]any{{"op": "skip", "key": "prospect", "reason": "a\x00"}, {"op": "reassign", "key": "prospect", "owner": "o\x00"}}},
		422, "ops[0].reason", "ops[1].owner")
	s.problems("pat", "POST", "/v1/deals/lim/pause", map[string]any{"reason": strings.Repeat("r", 4001)}, 422, "reason")
	s.problems("pat", "POST", "/v1/deals/lim/close", map[string]any{"outcome": "lost", "reason": "\x1b"}, 422, "reason")
	// CRLF from a browser form is text.
	s.Must("cora", "POST", "/v1/deals/lim/buyer-stage", map[string]any{"stage": "contact_added", "note": "met the CFO\r\nnext: the CTO"}, http.StatusOK, nil)

	// Issue 3: a number of seconds is bounded like a string, and the bad
	// template is never stored, so the listing keeps working.
	s.problems("pat", "POST", "/v1/templates", `{"name": "far", "escalations": [{"offset": 4000000000, "target": "pmo"}], "milestones": [{"key": "a", "title": "A", "role": "pmo", "due": "1d"}]}`,
		422, "escalations[0].offset")
	s.Must("pat", "GET", "/v1/templates", nil, http.StatusOK, nil)
	s.Must("pat", "POST", "/v1/templates", `{"name": "near", "escalations": [{"offset": 86400, "target": "pmo"}], "milestones": [{"key": "a", "title": "A", "role": "pmo", "due": "1d"}]}`, http.StatusCreated, nil)
	var near deal.Template
	s.Must("pat", "GET", "/v1/templates/near", nil, http.StatusOK, &near)
	if len(near.Escalations) != 1 || near.Escalations[0].Offset != deal.Duration(deal.Day) {
		t.Errorf("saved escalations %+v, want one at 1d", near.Escalations)
	}

	// Issue 11: every problem of a template in one 422, bad durations too;
	// malformed JSON stays a 400.
	s.problems("pat", "POST", "/v1/templates", `{"name": "many", "title": "t\u0000", "milestones": [{"key": "a", "title": "A", "role": "boss", "due": "ten days"}, {"key": "b", "title": "B", "role": "pmo", "due": "1d", "escalations": [{"offset": "1.5d", "target": "nobody"}]}]}`,
		422, "title", "milestones[a].role", "milestones[a].due", "milestones[b].escalations[0].offset", "milestones[b].escalations[0].target")
	s.Fails("pat", "POST", "/v1/templates", `{"name": "x", "milestones": [`, 400, "malformed JSON")

	// Issue 4: deal ids are identifiers; lookups of impossible ids are 404.
	start := func(id string) map[string]any {
		return map[string]any{"id": id, "name": "N", "customer": "C", "team": team, "template": "project"}
	}
	for _, id := range []string{"a\x00b", "a?b", "a#b", "..", "a%2Fb", "a/b", strings.Repeat("x", 65)} {
		s.problems("pat", "POST", "/v1/deals", start(id), 422, "id")
	}
	s.Fails("pat", "GET", "/v1/deals/a%00b", nil, 404, "")
	s.Fails("pat", "GET", "/v1/deals/a%00b/events", nil, 404, "")
	s.Fails("cora", "POST", "/v1/deals/a%00b/buyer-stage", map[string]any{"stage": "contact_added"}, 404, "")
	s.Fails("pat", "GET", "/v1/deals/a%2Fb", nil, 404, "")
	s.Fails("pat", "GET", "/v1/templates/a%00b", nil, 404, "")
	s.Fails("pat", "GET", "/v1/deals?q=a%00b", nil, 400, "query parameter q contains the control character U+0000")
	s.Fails("pat", "GET", "/v1/deals?customer=%FF", nil, 400, "query parameter customer is not valid UTF-8")
	s.problems("pat", "POST", "/v1/deals", map[string]any{"id": "big", "name": "N", "customer": "C\x00", "amount": 1e308, "team": team, "template": "project"},
		422, "customer", "amount")
	// A plan whose deal would start over the state bound: 413 at start.
	huge := map[string]any{"name": "huge", "escalations": []map[string]any{{"offset": "0", "target": "pmo", "message": strings.Repeat("<", 4000)}}}
	var ms []map[string]any
	for i := range 40 {
		ms = append(ms, map[string]any{"key": fmt.Sprintf("m%d", i), "title": "M", "role": "pmo", "due": "1d"})
	}
	huge["milestones"] = ms
	s.Fails("pat", "POST", "/v1/deals", map[string]any{"id": "huge", "name": "N", "customer": "C", "team": team, "plan": huge}, 413, "MaxStateBytes")
	var view struct {
		TemporalURL string `json:"temporal_url"`
	}
	s.Must("pat", "GET", "/v1/deals/lim", nil, http.StatusOK, &view)
	if !strings.HasSuffix(view.TemporalURL, "/workflows/deal%2Flim") {
		t.Errorf("temporal_url %s", view.TemporalURL)
	}

	// The state bound: the longest notes of the costliest character, again
	// and again, until the deal is full: 413 naming the limit, and the deal
	// still answers and can be closed.
	note := strings.Repeat("<", 4000)
	stages := []string{"met_non_decision_maker", "contact_added"}
	full := false
	for i := 0; i < 40 && !full; i++ {
		status, raw := s.Call("cora", "POST", "/v1/deals/lim/buyer-stage", map[string]any{"stage": stages[i%2], "note": note})
		switch status {
		case http.StatusOK:
		case http.StatusRequestEntityTooLarge:
			full = true
			if !strings.Contains(string(raw), "too_large") || !strings.Contains(string(raw), fmt.Sprint(deal.MaxStateBytes)) {
				t.Errorf("413 body %s", raw)
			}
		default:
			t.Fatalf("note %d: %d %s", i, status, raw)
		}
	}
	if !full {
		t.Fatal("the deal never filled up")
	}
	d := s.Deal("pat", "lim")
	if n := len(mustJSON(t, d)); n > deal.MaxStateBytes {
		t.Errorf("deal of %d bytes", n)
	}
	s.Must("pat", "GET", "/v1/deals/lim/events", nil, http.StatusOK, nil)
	s.Must("pat", "POST", "/v1/deals/lim/close", map[string]any{"outcome": "lost", "reason": "budget cut"}, http.StatusOK, nil)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
