package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunTests(m)) }

// runOK runs a subcommand to completion and returns its stdout.
func runOK(t *testing.T, env envMap, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, args, env.lookup, &stdout, &stderr); err != nil {
		t.Fatalf("dealflow %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

var printedToken = regexp.MustCompile(`(?m)^\s+(dfl_\S+)$`)

func TestMigrateAndUsers(t *testing.T) {
	t.Parallel()
	env := envMap{"DATABASE_URL": testenv.Postgres(t)}

	status := runOK(t, env, "migrate", "-status")
	if !strings.Contains(status, "pending") {
		t.Errorf("status of a new database shows nothing pending:\n%s", status)
	}
	out := runOK(t, env, "migrate")
	if strings.Contains(out, "pending") || !strings.Contains(out, "0001") {
		t.Errorf("after migrate:\n%s", out)
	}
	if again := runOK(t, env, "migrate"); again != out {
		t.Errorf("a second migrate changed the status:\n%s\nthen\n%s", out, again)
	}

	out = runOK(t, env, "users", "create", "-id", "pat", "-name", "Pat Lee", "-email", "pat@example.com", "-roles", "pmo, approver")
	m := printedToken.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "roles pmo,approver") {
		t.Fatalf("users create printed:\n%s", out)
	}
	out = runOK(t, env, "users", "token", "-id", "pat", "-name", "laptop")
	m2 := printedToken.FindStringSubmatch(out)
	if m2 == nil || m2[1] == m[1] {
		t.Fatalf("users token printed:\n%s", out)
	}
	out = runOK(t, env, "users", "list")
	if !regexp.MustCompile(`pat\s+Pat Lee\s+pat@example.com\s+pmo,approver\s+active`).MatchString(out) {
		t.Errorf("users list:\n%s", out)
	}

	// Mistakes the store finds come back as such.
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"users", "create", "-id", "pat", "-name", "Again"}, env.lookup, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("duplicate user: %v", err)
	}
	err = run(context.Background(), []string{"users", "create", "-id", "Bad Id", "-name", "X"}, env.lookup, io.Discard, &stderr)
	if code := exitCode(err, io.Discard); code != 2 {
		t.Errorf("bad user id: exit %d (%v), want 2", code, err)
	}
	err = run(context.Background(), []string{"users", "token", "-id", "nobody"}, env.lookup, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("token for an unknown user: %v", err)
	}

	// Cutting a leaver off: tokens listed, one revoked, roles changed, the
	// user disabled (every token refused) and enabled again.
	out = runOK(t, env, "users", "token", "-id", "pat", "-name", "ci", "-ttl", "7d")
	ci := printedToken.FindStringSubmatch(out)
	if ci == nil || !strings.Contains(out, "expires 20") {
		t.Fatalf("users token -ttl printed:\n%s", out)
	}
	out = runOK(t, env, "users", "tokens", "-id", "pat")
	if strings.Contains(out, "dfl_") || !regexp.MustCompile(`(?m)^tok_\S+\s+laptop\s.*\sactive$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^tok_\S+\s+ci\s.*\s20\S+\s+active$`).MatchString(out) {
		t.Errorf("users tokens:\n%s", out)
	}
	st, err := store.Open(t.Context(), store.Config{URL: env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ciID := store.TokenID(ci[1])
	if !strings.Contains(runOK(t, env, "users", "revoke", "-token", ciID), "revoked") {
		t.Error("users revoke printed nothing")
	}
	if _, err := st.Authenticate(t.Context(), ci[1]); !errors.Is(err, store.ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
	if out := runOK(t, env, "users", "tokens", "-id", "pat"); !regexp.MustCompile(`(?m)^` + ciID + `\s.*revoked$`).MatchString(out) {
		t.Errorf("users tokens after revoke:\n%s", out)
	}
	if out := runOK(t, env, "users", "roles", "-id", "pat", "-roles", "viewer"); !strings.Contains(out, "roles viewer") {
		t.Errorf("users roles printed:\n%s", out)
	}
	if out := runOK(t, env, "users", "disable", "-id", "pat"); !strings.Contains(out, "is disabled") {
		t.Errorf("users disable printed:\n%s", out)
	}
	if _, err := st.Authenticate(t.Context(), m2[1]); !errors.Is(err, store.ErrUnauthenticated) {
		t.Errorf("a disabled user's token: %v", err)
	}
	if out := runOK(t, env, "users", "list"); !regexp.MustCompile(`pat\s+Pat Lee\s+pat@example.com\s+viewer\s+disabled`).MatchString(out) {
		t.Errorf("users list after disable:\n%s", out)
	}
	runOK(t, env, "users", "enable", "-id", "pat")
	if u, err := st.Authenticate(t.Context(), m2[1]); err != nil || u.ID != "pat" {
		t.Errorf("the token after enable: %v %v", u, err)
	}
	for _, args := range [][]string{
		{"users", "disable", "-id", "nobody"},
		{"users", "tokens", "-id", "nobody"},
		{"users", "revoke", "-token", "tok_nope"},
	} {
		if err := run(context.Background(), args, env.lookup, io.Discard, &stderr); err == nil || !strings.Contains(err.Error(), "no such") {
			t.Errorf("%v: %v", args, err)
		}
	}
	for _, args := range [][]string{
		{"users", "roles", "-id", "pat", "-roles", "king"},
		{"users", "roles", "-id", "pat"},
		{"users", "token", "-id", "pat", "-ttl", "soon"},
	} {
		if code := exitCode(run(context.Background(), args, env.lookup, io.Discard, &stderr), io.Discard); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestWorkerAndAPI runs the production shape: register-search-attributes,
// migrate, then `dealflow worker` and `dealflow api` side by side, both
// stopping cleanly when their context ends.
func TestWorkerAndAPI(t *testing.T) {
	t.Parallel()
	workerPort, apiPort := freePort(t), freePort(t)
	env := envMap{
		"DATABASE_URL":              testenv.Postgres(t),
		"TEMPORAL_ADDRESS":          testenv.Temporal(t, nil),
		"DEALFLOW_TASK_QUEUE":       "cmd-test-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"DEALFLOW_WORKER_LISTEN":    "127.0.0.1:" + strconv.Itoa(workerPort),
		"DEALFLOW_LISTEN":           "127.0.0.1:" + strconv.Itoa(apiPort),
		"DEALFLOW_SHUTDOWN_TIMEOUT": "10s",
	}
	out := runOK(t, env, "register-search-attributes")
	for name := range workflows.SearchAttributes() {
		if !strings.Contains(out, name) {
			t.Errorf("register-search-attributes did not list %s:\n%s", name, out)
		}
	}
	runOK(t, env, "migrate")
	m := printedToken.FindStringSubmatch(runOK(t, env, "users", "create", "-id", "ops", "-name", "Ops", "-roles", "admin"))
	if m == nil {
		t.Fatal("no token printed")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		name string
		err  error
	}
	done := make(chan result, 2)
	var logs syncBuffer
	for _, name := range []string{"worker", "api"} {
		go func() { done <- result{name, run(ctx, []string{name}, env.lookup, io.Discard, &logs)} }()
	}
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	}()

	worker := "http://127.0.0.1:" + strconv.Itoa(workerPort)
	api := "http://127.0.0.1:" + strconv.Itoa(apiPort)
	waitHTTP(t, worker+"/healthz", done)
	waitHTTP(t, api+"/healthz", done)
	if code := getJSON(t, worker+"/readyz", "", nil); code != http.StatusOK {
		t.Errorf("worker /readyz = %d", code)
	}
	if code := getJSON(t, api+"/v1/me", m[1], nil); code != http.StatusOK {
		t.Errorf("api /v1/me = %d", code)
	}
	// The SDK's metrics reach the worker's /metrics once the worker polls.
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := getBody(t, worker+"/metrics")
		if strings.Contains(body, "temporal_") && strings.Contains(body, "go_goroutines") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker /metrics has no temporal_ metrics:\n%.2000s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	cancel()
	for range 2 {
		select {
		case r := <-done:
			if r.err != nil {
				t.Errorf("dealflow %s: %v", r.name, r.err)
			}
		case <-time.After(time.Minute):
			t.Fatal("worker or api did not stop within a minute")
		}
	}
	assertPortsFree(t, map[string]int{"worker": workerPort, "api": apiPort})
}

// waitHTTP polls url until it answers 200, failing if a process in done
// exits first.
func waitHTTP[T any](t *testing.T, url string, done chan T) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case r := <-done:
			t.Fatalf("exited while waiting for %s: %+v", url, r)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not answering: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
