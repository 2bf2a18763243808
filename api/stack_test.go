package api_test

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
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows"
)

// stack is the whole product on real servers: a fresh Postgres database, a
// Temporal dev server, a worker on its own task queue, and the API.
type stack struct {
	t        testing.TB
	store    *store.Store
	temporal client.Client
	queue    string
	worker   worker.Worker
	server   *httptest.Server
	tokens   map[string]string
}

// testLog shows only errors: a 5xx in a test prints its cause.
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
	s := &stack{t: t, store: st, temporal: c, queue: fmt.Sprintf("api-test-%d", time.Now().UnixNano()), tokens: map[string]string{}}
	s.startWorker()
	t.Cleanup(func() { s.worker.Stop() })
	s.server = httptest.NewServer(api.New(api.Config{TaskQueue: s.queue, TemporalUIURL: "http://ui.test"}, api.Deps{Temporal: c, Store: st, Logger: testLog}))
	t.Cleanup(s.server.Close)

	if _, err := st.CreateUser(ctx, store.User{ID: "root", Name: "Root", Roles: []store.Role{store.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	tok, err := st.CreateToken(ctx, "root", "test")
	if err != nil {
		t.Fatal(err)
	}
	s.tokens["root"] = tok
	return s
}

func (s *stack) startWorker() {
	s.worker = worker.New(s.temporal, s.queue, worker.Options{})
	workflows.Register(s.worker, &activities.Activities{Recorder: s.store, Logger: testLog}, &activities.Reports{Store: s.store, Logger: testLog})
	if err := s.worker.Start(); err != nil {
		s.t.Fatal(err)
	}
}

// user creates a user through the API and keeps their token.
func (s *stack) user(id string, roles ...string) {
	s.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	s.must("root", "POST", "/v1/users", map[string]any{"id": id, "name": strings.ToUpper(id[:1]) + id[1:], "roles": roles}, http.StatusCreated, &out)
	s.tokens[id] = out.Token
}

// call sends a request as user ("" for none) and returns the status and raw body.
func (s *stack) call(as, method, path string, body any) (int, []byte) {
	s.t.Helper()
	return s.callWithType(as, method, path, "application/json", body)
}

// callWithType is call with a chosen content type.
func (s *stack) callWithType(as, method, path, contentType string, body any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.server.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[as])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// must sends a request that must answer want, decoding the body into out.
func (s *stack) must(as, method, path string, body any, want int, out any) {
	s.t.Helper()
	status, raw := s.call(as, method, path, body)
	if status != want {
		s.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, as, status, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

// fails sends a request that must fail with status and an error message
// containing want.
func (s *stack) fails(as, method, path string, body any, status int, want string) {
	s.t.Helper()
	got, raw := s.call(as, method, path, body)
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Message == "" || e.Error.Code == "" {
		s.t.Errorf("%s %s as %s: %d, body %s is not the error shape", method, path, as, got, raw)
		return
	}
	if got != status || !strings.Contains(strings.ToLower(e.Error.Message), strings.ToLower(want)) {
		s.t.Errorf("%s %s as %s: %d %q, want %d mentioning %q", method, path, as, got, e.Error.Message, status, want)
	}
}

// eventually polls cond until it holds or 15 s pass.
func (s *stack) eventually(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
