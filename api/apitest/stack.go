// Package apitest is test-only support: the one harness that runs the whole
// product on real servers, for the tests of package api (its external test
// package api_test), package console and cmd/dealflow.
//
// It holds the Stack (a fresh Postgres database, the Temporal dev server, a
// worker on its own task queue, and the API as an httptest.Server, with the
// console mounted if asked); users with their tokens (root, an admin, from
// the start; User and NamedUser through the API; StoreUser straight in a
// store); the calls a test sends (Call, Must, Succeeds, Fails) and the
// API's ErrorAnswer; Eventually with one timeout; and the deal helpers
// several packages need (StartTeamDeal, Deal, Act, Submit, Events,
// Projected, Intact, OutboxComplete, Count).
//
// It imports package testing and starts servers: production code never
// imports it.
package apitest

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
	"dealflow/workflows/problem"
)

// TemporalUIURL is the Temporal UI address the stack's API links to.
const TemporalUIURL = "http://temporal-ui.test"

// EventuallyTimeout is how long Eventually waits for a condition.
const EventuallyTimeout = 20 * time.Second

// Log shows only errors: a 5xx in a test prints its cause.
var Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// Stack is the whole product on real servers: a fresh Postgres database, a
// Temporal dev server, a worker on its own task queue, and the API. A user
// "root" (an admin) exists from the start.
type Stack struct {
	T               testing.TB
	DatabaseURL     string
	Store           *store.Store
	TemporalAddress string
	Temporal        client.Client
	Queue           string
	Worker          worker.Worker
	Server          *httptest.Server
	// Tokens holds each user's API token by user id.
	Tokens map[string]string

	adjust func(*activities.Activities)
}

// Option changes how New builds the stack.
type Option func(*options)

type options struct {
	console api.Mounter
	adjust  func(*activities.Activities)
}

// WithConsole mounts the console on the API server.
func WithConsole(c api.Mounter) Option { return func(o *options) { o.console = c } }

// WithActivities has adjust change the worker's activities (recording
// through the store, logging errors) before each start.
func WithActivities(adjust func(*activities.Activities)) Option {
	return func(o *options) { o.adjust = adjust }
}

// New starts a stack that stops when t's test ends.
func New(t testing.TB, opts ...Option) *Stack {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	s := &Stack{T: t, DatabaseURL: testenv.Postgres(t), Queue: fmt.Sprintf("apitest-%d", time.Now().UnixNano()), Tokens: map[string]string{}}
	st, err := store.Open(ctx, store.Config{URL: s.DatabaseURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.Store = st
	s.adjust = o.adjust
	s.TemporalAddress = testenv.Temporal(t, workflows.SearchAttributes())
	c, err := client.Dial(client.Options{HostPort: s.TemporalAddress, Logger: sdklog.NewStructuredLogger(Log)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s.Temporal = c
	s.StartWorker()
	t.Cleanup(func() { s.Worker.Stop() })
	s.Server = httptest.NewServer(api.New(api.Config{TaskQueue: s.Queue, TemporalUIURL: TemporalUIURL},
		api.Deps{Temporal: c, Store: st, Logger: Log, Console: o.console}))
	t.Cleanup(s.Server.Close)
	s.Tokens["root"] = StoreUser(t, st, "root", "Root", store.RoleAdmin)
	return s
}

// StartWorker starts a worker on the stack's task queue (again, after a
// test stopped it).
func (s *Stack) StartWorker() {
	s.Worker = worker.New(s.Temporal, s.Queue, worker.Options{})
	acts := &activities.Activities{Recorder: s.Store, Logger: Log}
	if s.adjust != nil {
		s.adjust(acts)
	}
	workflows.Register(s.Worker, acts, &activities.Reports{Store: s.Store, Logger: Log})
	if err := s.Worker.Start(); err != nil {
		s.T.Fatal(err)
	}
}

// On is the stack reporting to t, for subtests.
func (s *Stack) On(t testing.TB) *Stack {
	c := *s
	c.T = t
	return &c
}

// StoreUser creates a user straight in the store, for tests without an API
// to create them through (and for the stack's root), and returns a token.
func StoreUser(t testing.TB, st *store.Store, id, name string, roles ...store.Role) string {
	t.Helper()
	ctx := context.Background()
	if _, err := st.CreateUser(ctx, store.User{ID: id, Name: name, Roles: roles}); err != nil {
		t.Fatal(err)
	}
	tok, err := st.CreateToken(ctx, id, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// User creates a user through the API, named after their id ("pat" is
// "Pat"), and keeps their token.
func (s *Stack) User(id string, roles ...store.Role) {
	s.T.Helper()
	s.NamedUser(id, strings.ToUpper(id[:1])+id[1:], roles...)
}

// NamedUser creates a user with a name through the API and keeps their
// token.
func (s *Stack) NamedUser(id, name string, roles ...store.Role) {
	s.T.Helper()
	var out struct {
		Token string `json:"token"`
	}
	s.Must("root", "POST", "/v1/users", map[string]any{"id": id, "name": name, "roles": roles}, http.StatusCreated, &out)
	s.Tokens[id] = out.Token
}

// Call sends a request as user ("" for none) and returns the status and raw
// body. A string body is sent as it is, anything else as JSON.
func (s *Stack) Call(as, method, path string, body any) (int, []byte) {
	s.T.Helper()
	return s.CallWithType(as, method, path, "application/json", body)
}

// CallWithType is Call with a chosen content type.
func (s *Stack) CallWithType(as, method, path, contentType string, body any) (int, []byte) {
	s.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.T.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.Server.URL+path, rd)
	if err != nil {
		s.T.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+s.Tokens[as])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// Must sends a request that must answer want, decoding the body into out
// (unless nil).
func (s *Stack) Must(as, method, path string, body any, want int, out any) {
	s.T.Helper()
	status, raw := s.Call(as, method, path, body)
	if status != want {
		s.T.Fatalf("%s %s as %s: %d %s, want %d", method, path, as, status, raw, want)
	}
	s.decode(method, path, raw, out)
}

// Succeeds sends a request that must answer 2xx, decoding the body into out
// (unless nil).
func (s *Stack) Succeeds(as, method, path string, body, out any) {
	s.T.Helper()
	status, raw := s.Call(as, method, path, body)
	if status < 200 || status >= 300 {
		s.T.Fatalf("%s %s as %s: %d %s", method, path, as, status, raw)
	}
	s.decode(method, path, raw, out)
}

func (s *Stack) decode(method, path string, raw []byte, out any) {
	s.T.Helper()
	if out == nil {
		return
	}
	if err := json.Unmarshal(raw, out); err != nil {
		s.T.Fatalf("%s %s: %v in %s", method, path, err, raw)
	}
}

// ErrorAnswer is the body of the API's error answers.
type ErrorAnswer struct {
	Error struct {
		Code     string            `json:"code"`
		Message  string            `json:"message"`
		Problems []problem.Problem `json:"problems"`
	} `json:"error"`
}

// Fails sends a request that must fail with status and an error message
// containing want.
func (s *Stack) Fails(as, method, path string, body any, status int, want string) {
	s.T.Helper()
	got, raw := s.Call(as, method, path, body)
	var e ErrorAnswer
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Message == "" || e.Error.Code == "" {
		s.T.Errorf("%s %s as %s: %d, body %s is not the error shape", method, path, as, got, raw)
		return
	}
	if got != status || !strings.Contains(strings.ToLower(e.Error.Message), strings.ToLower(want)) {
		s.T.Errorf("%s %s as %s: %d %q, want %d mentioning %q", method, path, as, got, e.Error.Message, status, want)
	}
}

// Eventually polls cond until it holds or EventuallyTimeout passes.
func (s *Stack) Eventually(what string, cond func() bool) {
	s.T.Helper()
	Eventually(s.T, what, cond)
}

// Eventually polls cond until it holds or EventuallyTimeout passes.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(EventuallyTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
