package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"dealflow/workflows/plan"
	"dealflow/workflows/problem"
)

// The hostile-input suite: each input that once broke a deal or the
// service, sent through the real stack (API, workflow, Postgres). Each case
// checks the answer, then that the deal is intact: it still answers from
// its workflow, still takes actions, and its audit trail, read model and
// outbox hold every event exactly once.

// intact checks that deal id survived whatever was sent to it: a live
// answer, a further action taken, the read model equal to the workflow, the
// audit trail complete and every notification queued once.
func (s *stack) intact(id string) {
	s.t.Helper()
	d := s.deal("root", id)
	if d.Source != "workflow" && !d.Status.Final() {
		s.t.Fatalf("%s answers from %s, not its workflow", id, d.Source)
	}
	if !d.Status.Final() {
		next := plan.BuyerContactAdded
		if d.BuyerStage == next {
			next = plan.BuyerMetNonDecisionMaker
		}
		s.act("cora", id, "/buyer-stage", map[string]any{"stage": next, "note": "still working"})
	}
	s.projected(id)
	s.outboxComplete(id)
}

// outboxComplete checks that every recipient of every audit event has one
// outbox row, that nothing else is queued for the deal, and that the store
// parked none of its changes.
func (s *stack) outboxComplete(id string) {
	s.t.Helper()
	var want, got int
	db := s.store.DB()
	if err := db.QueryRowContext(s.t.Context(), `SELECT count(DISTINCT (seq, r)) FROM audit_events, unnest(notify) AS r
		WHERE deal_id = $1 AND r <> ''`, id).Scan(&want); err != nil {
		s.t.Fatal(err)
	}
	if err := db.QueryRowContext(s.t.Context(), `SELECT count(*) FROM outbox WHERE deal_id = $1`, id).Scan(&got); err != nil {
		s.t.Fatal(err)
	}
	if got != want {
		s.t.Errorf("%s: %d outbox rows for %d notified recipients", id, got, want)
	}
	var parked int
	if err := db.QueryRowContext(s.t.Context(), `SELECT count(*) FROM parked_changes WHERE deal_id = $1`, id).Scan(&parked); err != nil {
		s.t.Fatal(err)
	}
	if parked != 0 {
		s.t.Errorf("%s: %d changes parked: the store refused what the deal accepted", id, parked)
	}
}

// refused sends a request that must be refused with status, naming field
// (in a problem's field or in the message), and returns the message.
func (s *stack) refused(as, method, path string, body any, status int, field string) string {
	s.t.Helper()
	got, raw := s.call(as, method, path, body)
	var e struct {
		Error struct {
			Code     string            `json:"code"`
			Message  string            `json:"message"`
			Problems []problem.Problem `json:"problems"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		s.t.Fatalf("%s %s: %d, body %.300s is not the error shape", method, path, got, raw)
	}
	named := strings.Contains(e.Error.Message, field)
	for _, p := range e.Error.Problems {
		named = named || strings.Contains(p.Field, field)
	}
	if got != status || !named {
		s.t.Errorf("%s %s: %d %.300q, want %d naming %q", method, path, got, e.Error.Message, status, field)
	}
	return e.Error.Message
}

// on is the stack reporting to t, for subtests.
func (s *stack) on(t *testing.T) *stack {
	c := *s
	c.t = t
	return &c
}

func TestHostileInput(t *testing.T) {
	st := newStack(t)
	st.standardUsers()

	t.Run("control characters and bad UTF-8 in notes", func(t *testing.T) {
		s := st.on(t)
		s.teamDeal("nul")
		for _, note := range []string{"x\u0000y", "bell\u0007", "esc\u001b[31m", "bad \xff utf-8"} {
			s.refused("cora", "POST", "/v1/deals/nul/buyer-stage", map[string]any{"stage": "contact_added", "note": note}, 422, "note")
		}
		d := s.deal("root", "nul")
		s.refused("cora", "POST", "/v1/deals/nul/milestones/prospect/submit", map[string]any{
			"checklist": d.Milestone("prospect").Checklist, "note": "a\u0000b"}, 422, "note")
		s.refused("cora", "POST", "/v1/deals/nul/milestones/prospect/submit", map[string]any{
			"checklist": d.Milestone("prospect").Checklist, "evidence": []string{"https://x/\u0000"}}, 422, "evidence")
		s.refused("pat", "POST", "/v1/deals/nul/pause", map[string]any{"reason": "r\u0000"}, 422, "reason")
		s.intact("nul")
	})

	t.Run("a note too long, then growth up to the deal's bound", func(t *testing.T) {
		s := st.on(t)
		s.teamDeal("long")
		// 600 KB of '<' as sent (a raw body: encoding/json would escape each).
		s.refused("cora", "POST", "/v1/deals/long/buyer-stage", `{"stage": "contact_added", "note": "`+strings.Repeat("<", 600_000)+`"}`, 422, "note")
		// Notes at the limit, as often as the deal takes them: each one is
		// kept in the buyer's history, so the deal grows until its bound
		// refuses more, and it never dies.
		stages := []plan.BuyerStage{plan.BuyerContactAdded, plan.BuyerMetNonDecisionMaker}
		full := strings.Repeat("<", problem.MaxText)
		bounded := false
		for i := 0; i < 400 && !bounded; i++ {
			status, raw := s.call("cora", "POST", "/v1/deals/long/buyer-stage", map[string]any{"stage": stages[i%2], "note": full})
			switch status {
			case http.StatusOK:
			case http.StatusRequestEntityTooLarge:
				bounded = true
				if !strings.Contains(string(raw), "limit") {
					t.Errorf("the bound's answer does not name the limit: %s", raw)
				}
			default:
				t.Fatalf("note %d: %d %s", i, status, raw)
			}
		}
		if !bounded {
			t.Fatal("400 notes at the limit were all taken: the deal's state has no bound")
		}
		s.projected("long")
		s.outboxComplete("long")
		// The PMO can still close it.
		s.act("pat", "long", "/close", map[string]any{"outcome": "lost", "reason": "budget cut"})
		s.projected("long")
	})

	t.Run("a numeric escalation offset far out of range", func(t *testing.T) {
		s := st.on(t)
		tmpl := `{"name": "numeric-offset", "milestones": [{"key": "a", "title": "A", "role": "pmo", "due": "1d",
			"escalations": [{"offset": 4000000000, "target": "pmo"}]}]}`
		status, raw := s.call("pat", "POST", "/v1/templates", tmpl)
		if status < 400 || status >= 500 {
			t.Errorf("a 4e9 offset: %d %s", status, raw)
		}
		s.must("pat", "GET", "/v1/templates", nil, http.StatusOK, nil)
	})

	t.Run("deal ids that break links", func(t *testing.T) {
		s := st.on(t)
		team := map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}
		for _, id := range []string{"a\u0000b", "a?b", "a#b", "..", "a%2Fb", "a/b", "a b", strings.Repeat("x", 65)} {
			s.refused("pat", "POST", "/v1/deals", map[string]any{"id": id, "name": "N", "customer": "C", "template": "project", "team": team}, 422, "id")
		}
		s.must("pat", "POST", "/v1/deals", map[string]any{"id": "Q3.acme_v2", "name": "N", "customer": "C", "template": "project", "team": team}, http.StatusCreated, nil)
		if u := s.deal("pat", "Q3.acme_v2").TemporalURL; !strings.HasSuffix(u, "/workflows/deal%2FQ3.acme_v2") {
			t.Errorf("Temporal UI link %q", u)
		}
	})

	t.Run("every problem of a template at once", func(t *testing.T) {
		s := st.on(t)
		bad := map[string]any{"name": "many-problems", "milestones": []map[string]any{
			{"key": "a", "title": "A", "role": "pmo", "due": "ten days"},
			{"key": "b", "title": "", "role": "sales", "due": "1d"}}}
		got, raw := s.call("pat", "POST", "/v1/templates", bad)
		var e struct {
			Error struct {
				Problems []problem.Problem `json:"problems"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		if got != http.StatusUnprocessableEntity || len(e.Error.Problems) < 3 {
			t.Errorf("a template with three problems: %d %s", got, raw)
		}
	})

	t.Run("readiness tells nothing of the backends", func(t *testing.T) {
		s := st.on(t)
		status, raw := s.call("", "GET", "/readyz", nil)
		if status != http.StatusOK || strings.Contains(string(raw), "127.0.0.1") || strings.Contains(string(raw), ":") && strings.Count(string(raw), ":") > 2 {
			t.Errorf("/readyz: %d %s", status, raw)
		}
	})
}
