package api_test

import (
	"bytes"
	"dealflow/api/apitest"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// fuzzRoutes are the routes that take a JSON body, each with the user who
// may call it and a valid body as a seed.
var fuzzRoutes = []struct {
	as, path, seed string
}{
	{"pat", "/v1/deals", `{"id": "fz", "name": "n", "customer": "c", "template": "project", "team": {"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": ["ann"], "director": "dina"}}`},
	{"cora", "/v1/deals/fuzz/milestones/prospect/submit", `{"checklist": ["Customer background researched", "Contact plan agreed with the PMO"], "evidence": ["https://x"], "note": "n"}`},
	{"ann", "/v1/deals/fuzz/milestones/solution-design/review", `{"decision": "reject", "comment": "redo"}`},
	{"pat", "/v1/deals/fuzz/plan", `{"ops": [{"op": "redate", "key": "quotation", "due": "20d"}, {"op": "add", "milestone": {"key": "x", "title": "X", "role": "pmo", "due": "1d"}}]}`},
	{"pat", "/v1/deals/fuzz/pause", `{"reason": "audit", "until": "2030-01-01T00:00:00Z"}`},
	{"pat", "/v1/deals/fuzz/resume", ``},
	{"cora", "/v1/deals/fuzz/buyer-stage", `{"stage": "negotiating", "note": "n"}`},
	{"pat", "/v1/deals/fuzz/close", `{"outcome": "cancelled", "reason": "r"}`},
	{"pat", "/v1/templates", `{"name": "t", "milestones": [{"key": "a", "title": "A", "role": "pmo", "due": "1d", "depends_on": ["a"]}]}`},
	{"root", "/v1/users", `{"id": "u", "name": "U", "roles": ["viewer"]}`},
}

// FuzzRequestBodies sends arbitrary bodies to every route that takes one, on
// a real stack: the answer is never a 5xx, and every 4xx has the error shape
// with a code and a message.
func FuzzRequestBodies(f *testing.F) {
	s := newStack(f)
	s.standardUsers()
	s.teamDeal("fuzz")
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), []byte(r.seed))
		f.Add(uint8(i), []byte(`{"`))
		f.Add(uint8(i), []byte(`{"unknown": 1}`))
		f.Add(uint8(i), []byte(`[]`))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req, err := http.NewRequest("POST", s.Server.URL+r.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.Tokens[r.as])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s with %q: %d %s", r.path, body, resp.StatusCode, raw)
		}
		if resp.StatusCode >= 400 {
			var e apitest.ErrorAnswer
			if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s with %q: %d without the error shape: %s", r.path, body, resp.StatusCode, raw)
			}
			return
		}
		followAccepted(t, s, r.path, raw)
	})
}

// followAccepted follows an accepted input to where it must land: a deal's
// change to its read model, audit trail and outbox (a recording that fails
// after a 2xx is a failure, not only a 5xx); a template or user to the
// lists that show it.
func followAccepted(t *testing.T, s *stack, path string, raw []byte) {
	ts := s.on(t)
	switch {
	case strings.HasPrefix(path, "/v1/deals"):
		var d struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &d); err != nil || d.ID == "" {
			t.Fatalf("%s answered %.300s, not a deal", path, raw)
		}
		ts.Projected(d.ID)
		ts.OutboxComplete(d.ID)
	case path == "/v1/templates":
		ts.Must("pat", "GET", "/v1/templates", nil, http.StatusOK, nil)
	case path == "/v1/users":
		ts.Must("root", "GET", "/v1/users", nil, http.StatusOK, nil)
	}
}
