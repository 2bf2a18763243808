package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"dealflow/activities"
	"dealflow/activities/store"
	"dealflow/api"
	"dealflow/console"
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows"
)

// stack is the product on real servers, as in the API's tests: a fresh
// Postgres database, a Temporal dev server, a worker on its own task
// queue, and the API with the console mounted on it.
type stack struct {
	t      testing.TB
	store  *store.Store
	server *httptest.Server
	tokens map[string]string
}

var testLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

func newStack(t testing.TB) *stack {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: testenv.Postgres(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: testenv.Temporal(t, workflows.SearchAttributes()), Logger: sdklog.NewStructuredLogger(testLog)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	queue := fmt.Sprintf("console-test-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w, &activities.Activities{Recorder: st, Logger: testLog}, &activities.Reports{Store: st, Logger: testLog})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	con, err := console.New(console.Config{Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, store: st, tokens: map[string]string{}}
	s.server = httptest.NewServer(api.New(api.Config{TaskQueue: queue, TemporalUIURL: "http://temporal-ui.test"},
		api.Deps{Temporal: c, Store: st, Logger: testLog, Console: con}))
	t.Cleanup(s.server.Close)
	return s
}

// user creates a user with roles and keeps a token for them.
func (s *stack) user(id, name string, roles ...store.Role) {
	s.t.Helper()
	ctx := context.Background()
	if _, err := s.store.CreateUser(ctx, store.User{ID: id, Name: name, Roles: roles}); err != nil {
		s.t.Fatal(err)
	}
	tok, err := s.store.CreateToken(ctx, id, "console test")
	if err != nil {
		s.t.Fatal(err)
	}
	s.tokens[id] = tok
}

// team creates the walk-through's team.
func (s *stack) team() {
	s.user("pat", "Pat Chen", store.RolePMO)
	s.user("cora", "Cora Li", store.RoleCommercial)
	s.user("sol", "Sol Wang", store.RoleSolution)
	s.user("ann", "Ann Zhao", store.RoleApprover)
	s.user("abe", "Abe Sun", store.RoleApprover)
	s.user("dina", "Dina Xu", store.RoleDirector)
}

// api sends a JSON request to the API as user and decodes a 2xx answer.
func (s *stack) api(as, method, path string, body, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.server.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+s.tokens[as])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		s.t.Fatalf("%s %s as %s: %d %s", method, path, as, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

// startDeal starts a deal of the project template with the whole team.
// A deal's id is its workflow's id on the Temporal server that the
// package's tests share: each test uses ids of its own.
func (s *stack) startDeal(id, name, customer string) {
	s.t.Helper()
	s.api("pat", "POST", "/v1/deals", map[string]any{
		"id": id, "name": name, "customer": customer, "amount": 1200000, "currency": "CNY", "template": "project",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann", "abe"}, "director": "dina"},
	}, nil)
}

// submitAll submits a milestone with its whole checklist, as user.
func (s *stack) submitAll(as, deal, key string) {
	s.t.Helper()
	var d struct {
		Milestones []struct {
			Key       string   `json:"key"`
			Checklist []string `json:"checklist"`
		} `json:"milestones"`
	}
	s.api(as, "GET", "/v1/deals/"+deal, nil, &d)
	for _, m := range d.Milestones {
		if m.Key == key {
			s.api(as, "POST", "/v1/deals/"+deal+"/milestones/"+key+"/submit", map[string]any{"checklist": m.Checklist}, nil)
			return
		}
	}
	s.t.Fatalf("deal %s has no milestone %s", deal, key)
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
	s.t.Helper()
	day := func(d int) string { return time.Now().AddDate(0, 0, d).UTC().Format("2006-01-02") }
	s.api("pat", "POST", "/v1/funnel/targets", map[string]any{
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
	s.api("pat", "POST", "/v1/funnel/activities", acts, nil)
	s.api("pat", "POST", "/v1/funnel/leads", []map[string]any{
		{"id": id + "-lead-1", "rep": "cora", "created_at": time.Now().AddDate(0, 0, -9).UTC().Format(time.RFC3339),
			"qualified_at": time.Now().AddDate(0, 0, -6).UTC().Format(time.RFC3339),
			"converted_at": time.Now().AddDate(0, 0, -2).UTC().Format(time.RFC3339), "amount": 180000},
	}, nil)
}
