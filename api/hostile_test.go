package api_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"dealflow/api"
	"dealflow/api/apitest"
	"dealflow/workflows/deal"
	"dealflow/workflows/problem"
)

// The hostile-input suite: each input that once broke a deal or the
// service, sent through the real stack (API, workflow, Postgres). Each case
// checks the answer, then that the deal is intact: it still answers from
// its workflow, still takes actions, and its audit trail, read model and
// outbox hold every event exactly once.

// refused sends a request that must be refused with status, naming field
// (in a problem's field or in the message), and returns the message.
func (s *stack) refused(as, method, path string, body any, status int, field string) string {
	s.T.Helper()
	got, raw := s.Call(as, method, path, body)
	var e apitest.ErrorAnswer
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		s.T.Fatalf("%s %s: %d, body %.300s is not the error shape", method, path, got, raw)
	}
	named := strings.Contains(e.Error.Message, field)
	for _, p := range e.Error.Problems {
		named = named || strings.Contains(p.Field, field)
	}
	if got != status || !named {
		s.T.Errorf("%s %s: %d %.300q, want %d naming %q", method, path, got, e.Error.Message, status, field)
	}
	return e.Error.Message
}

func TestHostileInput(t *testing.T) {
	st := newStack(t)
	st.standardUsers()

	t.Run("control characters and bad UTF-8 in notes", func(t *testing.T) {
		s := st.on(t)
		s.teamDeal("nul")
		for _, note := range []string{"x\u0000y", "bell\u0007", "esc\u001b[31m", "del\u007f", "c1\u0085"} {
			s.refused("cora", "POST", "/v1/deals/nul/buyer-stage", map[string]any{"stage": "contact_added", "note": note}, 422, "note")
		}
		// Invalid UTF-8 as sent (encoding/json would mend it on either side).
		s.refused("cora", "POST", "/v1/deals/nul/buyer-stage", "{\"stage\": \"contact_added\", \"note\": \"bad \xff utf-8\"}", 422, "note")
		d := s.Deal("root", "nul")
		s.refused("cora", "POST", "/v1/deals/nul/milestones/prospect/submit", map[string]any{
			"checklist": d.Milestone("prospect").Checklist, "note": "a\u0000b"}, 422, "note")
		s.refused("cora", "POST", "/v1/deals/nul/milestones/prospect/submit", map[string]any{
			"checklist": d.Milestone("prospect").Checklist, "evidence": []string{"https://x/\u0000"}}, 422, "evidence")
		s.refused("pat", "POST", "/v1/deals/nul/pause", map[string]any{"reason": "r\u0000"}, 422, "reason")
		s.Intact("nul")
	})

	t.Run("a note too long, then growth up to the deal's bound", func(t *testing.T) {
		s := st.on(t)
		s.teamDeal("long")
		// 600 KB of '<' as sent (a raw body: encoding/json would escape each).
		s.refused("cora", "POST", "/v1/deals/long/buyer-stage", `{"stage": "contact_added", "note": "`+strings.Repeat("<", 600_000)+`"}`, 422, "note")
		// Notes at the limit, as often as the deal takes them: each one is
		// kept in the buyer's history, so the deal grows until its bound
		// refuses more, and it never dies.
		stages := []deal.BuyerStage{deal.BuyerContactAdded, deal.BuyerMetNonDecisionMaker}
		full := strings.Repeat("<", problem.MaxText)
		bounded := false
		for i := 0; i < 400 && !bounded; i++ {
			status, raw := s.Call("cora", "POST", "/v1/deals/long/buyer-stage", map[string]any{"stage": stages[i%2], "note": full})
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
		s.Projected("long")
		s.OutboxComplete("long")
		// The PMO can still close it.
		s.Act("pat", "long", "/close", map[string]any{"outcome": "lost", "reason": "budget cut"})
		s.Projected("long")
	})

	t.Run("a numeric escalation offset far out of range", func(t *testing.T) {
		s := st.on(t)
		tmpl := `{"name": "numeric-offset", "milestones": [{"key": "a", "title": "A", "role": "pmo", "due": "1d",
			"escalations": [{"offset": 4000000000, "target": "pmo"}]}]}`
		status, raw := s.Call("pat", "POST", "/v1/templates", tmpl)
		if status < 400 || status >= 500 {
			t.Errorf("a 4e9 offset: %d %s", status, raw)
		}
		s.Must("pat", "GET", "/v1/templates", nil, http.StatusOK, nil)
	})

	t.Run("deal ids that break links", func(t *testing.T) {
		s := st.on(t)
		team := map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}
		for _, id := range []string{"a\u0000b", "a?b", "a#b", "..", "a%2Fb", "a/b", "a b", strings.Repeat("x", 65)} {
			s.refused("pat", "POST", "/v1/deals", map[string]any{"id": id, "name": "N", "customer": "C", "template": "project", "team": team}, 422, "id")
		}
		s.Must("pat", "POST", "/v1/deals", map[string]any{"id": "Q3.acme_v2", "name": "N", "customer": "C", "template": "project", "team": team}, http.StatusCreated, nil)
		if u := s.Deal("pat", "Q3.acme_v2").TemporalURL; !strings.HasSuffix(u, "/workflows/deal%2FQ3.acme_v2") {
			t.Errorf("Temporal UI link %q", u)
		}
	})

	t.Run("the longest names a deal takes", func(t *testing.T) {
		s := st.on(t)
		team := map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann"}, "director": "dina"}
		long := strings.Repeat("长", problem.MaxName)
		s.Must("pat", "POST", "/v1/deals", map[string]any{"id": strings.Repeat("L", problem.MaxKey), "name": long, "customer": long,
			"template": "project", "team": team}, http.StatusCreated, nil)
		s.Intact(strings.Repeat("L", problem.MaxKey))
	})

	t.Run("every problem of a template at once", func(t *testing.T) {
		s := st.on(t)
		bad := map[string]any{"name": "many-problems", "milestones": []map[string]any{
			{"key": "a", "title": "A", "role": "pmo", "due": "ten days"},
			{"key": "b", "title": "", "role": "sales", "due": "1d"}}}
		got, raw := s.Call("pat", "POST", "/v1/templates", bad)
		var e apitest.ErrorAnswer
		_ = json.Unmarshal(raw, &e)
		if got != http.StatusUnprocessableEntity || len(e.Error.Problems) < 3 {
			t.Errorf("a template with three problems: %d %s", got, raw)
		}
	})

	t.Run("a template is its owner's", func(t *testing.T) {
		s := st.on(t)
		gated := map[string]any{"name": "gated", "milestones": []map[string]any{
			{"key": "a", "title": "A", "role": "pmo", "due": "1d", "review": map[string]any{"reviewers": []string{"approvers"}}}}}
		s.Must("pat", "POST", "/v1/templates", gated, http.StatusCreated, nil)
		open := map[string]any{"name": "gated", "milestones": []map[string]any{{"key": "a", "title": "A", "role": "pmo", "due": "1d"}}}
		s.refused("pam", "POST", "/v1/templates", open, http.StatusForbidden, "pat")
		var got struct {
			deal.Template
			Version   int    `json:"version"`
			CreatedBy string `json:"created_by"`
		}
		s.Must("pam", "GET", "/v1/templates/gated", nil, http.StatusOK, &got)
		if got.Version != 1 || got.CreatedBy != "pat" || got.Milestones[0].Review == nil {
			t.Errorf("after another PMO's attempt: version %d by %s, review gate %v", got.Version, got.CreatedBy, got.Milestones[0].Review)
		}
	})

	t.Run("coverage events in another's name", func(t *testing.T) {
		s := st.on(t)
		for _, u := range []string{"lena", "sid", "sue", "bo", "ben", "oz"} {
			s.User(u, "commercial")
		}
		s.User("pia", "solution")
		s.User("pete", "solution")
		s.Must("pat", "POST", "/v1/coverage/programs", programBody("hx"), http.StatusCreated, nil)
		s.Must("pat", "POST", "/v1/coverage/programs/hx/accounts", []map[string]any{{"id": "acc-1", "name": "Initech"}}, http.StatusOK, nil)
		n := 0
		event := func(kind, by string, extra map[string]any) []map[string]any {
			n++
			e := map[string]any{"id": fmt.Sprintf("hx-%d", n), "account": "acc-1", "kind": kind, "by": by}
			maps.Copy(e, extra)
			return []map[string]any{e}
		}
		post := "/v1/coverage/programs/hx/events"
		s.refused("oz", "POST", post, event("bd_signing", "ben", nil), http.StatusForbidden, "oz")
		s.refused("sid", "POST", post, event("sdr_touch", "sue", map[string]any{"stage": "contact_established"}), http.StatusForbidden, "sue")
		s.refused("pete", "POST", post, event("solution_reviewed", "pia", map[string]any{"solution": "s1", "round": 1, "result": "approved"}), http.StatusForbidden, "pia")
		s.Must("sid", "POST", post, event("sdr_touch", "sid", map[string]any{"stage": "contact_established"}), http.StatusOK, nil)
		s.Must("lena", "POST", post, event("sdr_touch", "sue", map[string]any{"stage": "needs_probed"}), http.StatusOK, nil)
		if got := s.Count(`SELECT count(*) FROM coverage_events WHERE program_id = 'hx'`); got != 2 {
			t.Errorf("%d events stored, want the 2 posted by their authors or their lead", got)
		}
	})

	t.Run("a leaver is cut off at once", func(t *testing.T) {
		s := st.on(t)
		s.User("lev", "commercial")
		s.Must("lev", "GET", "/v1/me", nil, http.StatusOK, nil)
		s.refused("lev", "POST", "/v1/users/lev/tokens", nil, http.StatusForbidden, "admin")
		var issued struct {
			ID, Token string
			ExpiresAt *time.Time `json:"expires_at"`
		}
		s.Must("root", "POST", "/v1/users/lev/tokens", map[string]any{"ttl": "30d"}, http.StatusCreated, &issued)
		if issued.ID == "" || issued.Token == "" || issued.ExpiresAt == nil {
			t.Errorf("token answer %+v lacks its id, secret or expiry", issued)
		}
		_, list := s.Call("lev", "GET", "/v1/users/lev/tokens", nil)
		if strings.Contains(string(list), issued.Token) || strings.Contains(string(list), s.Tokens["lev"]) || !strings.Contains(string(list), issued.ID) {
			t.Errorf("token list shows a secret or misses the new token: %s", list)
		}
		s.Must("root", "PATCH", "/v1/users/lev", map[string]any{"disabled": true}, http.StatusOK, nil)
		s.refused("lev", "GET", "/v1/me", nil, http.StatusUnauthorized, "disabled")
		s.Tokens["lev2"] = issued.Token
		s.refused("lev2", "GET", "/v1/me", nil, http.StatusUnauthorized, "disabled")
	})

	t.Run("an upload over the row limit", func(t *testing.T) {
		s := st.on(t)
		var b strings.Builder
		b.WriteString("id,account,kind,by\n")
		for i := range api.DefaultMaxImportRows + 1 {
			fmt.Fprintf(&b, "u%d,acc-1,bd_visit,ben\n", i)
		}
		status, raw := s.CallWithType("pat", "POST", "/v1/coverage/programs/hx/events", "text/csv", b.String())
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), fmt.Sprint(api.DefaultMaxImportRows)) {
			t.Errorf("%d rows: %d %.300s", api.DefaultMaxImportRows+1, status, raw)
		}
		if got := s.Count(`SELECT count(*) FROM coverage_events WHERE id LIKE 'u%'`); got != 0 {
			t.Errorf("%d rows of a refused upload stored", got)
		}
	})

	t.Run("chat mentions in a comment are kept verbatim in the record", func(t *testing.T) {
		s := st.on(t)
		s.teamDeal("chat")
		reason := "<!channel> <https://evil.example|Open dealflow> <at user_id=\"all\">"
		s.Act("pat", "chat", "/pause", map[string]any{"reason": reason})
		var msg string
		if err := s.Store.DB().QueryRowContext(t.Context(), `SELECT message FROM outbox WHERE deal_id = 'chat' ORDER BY id DESC LIMIT 1`).Scan(&msg); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg, reason) {
			t.Errorf("the outbox holds %q, not the reason as written (each channel escapes it when it posts; see activities/notify)", msg)
		}
		s.Act("pat", "chat", "/resume", nil)
		s.Intact("chat")
	})

	t.Run("readiness tells nothing of the backends", func(t *testing.T) {
		s := st.on(t)
		status, raw := s.Call("", "GET", "/readyz", nil)
		var body map[string]string
		if err := json.Unmarshal(raw, &body); status != http.StatusOK || err != nil {
			t.Fatalf("/readyz: %d %s", status, raw)
		}
		for k, v := range body {
			if v != "ok" && v != "ready" {
				t.Errorf("/readyz says %s: %q; only ok, ready or unavailable belong there", k, v)
			}
		}
	})
}
