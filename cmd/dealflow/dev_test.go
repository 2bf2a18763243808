package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dealflow/deploy/localstack"
)

// syncBuffer is a bytes.Buffer that run's goroutines and the test can
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// devDataDir returns a directory the postgres account can reach when the
// test runs as root (t.TempDir's parent is root-only).
func devDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dealflow-cmd-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "data")
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var tokenRE = regexp.MustCompile(`export TOKEN=(dfl_\S+)`)

// devRun is one `dealflow dev` running in this process.
type devRun struct {
	cancel context.CancelFunc
	done   chan error
	stdout *syncBuffer
	stderr *syncBuffer
}

func startDev(t *testing.T, env envMap) *devRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &devRun{cancel: cancel, done: make(chan error, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	go func() { r.done <- run(ctx, []string{"dev"}, env.lookup, r.stdout, r.stderr) }()
	// Whatever happens, stop it before the test ends, and show its logs
	// if the test failed.
	t.Cleanup(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(2 * time.Minute):
			t.Errorf("dealflow dev did not stop")
		}
		if t.Failed() {
			t.Logf("dealflow dev stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
	})
	return r
}

// waitToken waits for the banner and returns the admin token it shows.
func (r *devRun) waitToken(t *testing.T) string {
	t.Helper()
	deadline := time.After(3 * time.Minute)
	for {
		if m := tokenRE.FindStringSubmatch(r.stdout.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-r.done:
			r.done <- err // for the cleanup
			t.Fatalf("dealflow dev returned before printing its banner: %v", err)
		case <-deadline:
			t.Fatal("no banner after 3 minutes")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop interrupts dev the way Ctrl-C does and waits for it.
func (r *devRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Fatalf("dealflow dev: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("dealflow dev did not stop within 2 minutes of its context ending")
	}
}

func getJSON(t *testing.T, url, token string, into any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return resp.StatusCode
}

func assertPortsFree(t *testing.T, ports map[string]int) {
	t.Helper()
	for name, port := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Errorf("%s port %d still taken after dev stopped: %v", name, port, err)
			continue
		}
		l.Close()
	}
}

// TestDevStack runs `dealflow dev` twice on one data directory: the stack
// comes up, serves the API with the printed token, stops completely when
// its context ends (as on Ctrl-C), and the second run finds the first
// run's data.
func TestDevStack(t *testing.T) {
	dataDir := devDataDir(t)
	ports := map[string]int{
		"postgres": freePort(t), "temporal": freePort(t), "temporal ui": freePort(t), "api": freePort(t),
	}
	api := "http://127.0.0.1:" + strconv.Itoa(ports["api"])
	env := envMap{
		"DEALFLOW_DATA_DIR":         dataDir,
		"DEALFLOW_POSTGRES_PORT":    strconv.Itoa(ports["postgres"]),
		"TEMPORAL_PORT":             strconv.Itoa(ports["temporal"]),
		"TEMPORAL_UI_PORT":          strconv.Itoa(ports["temporal ui"]),
		"DEALFLOW_LISTEN":           "127.0.0.1:" + strconv.Itoa(ports["api"]),
		"DEALFLOW_SHUTDOWN_TIMEOUT": "10s",
	}

	type me struct {
		ID        string    `json:"id"`
		Roles     []string  `json:"roles"`
		CreatedAt time.Time `json:"created_at"`
	}
	var first me
	for round := 1; round <= 2; round++ {
		r := startDev(t, env)
		token := r.waitToken(t)
		out := r.stdout.String()
		for _, want := range []string{api, "postgres://postgres@127.0.0.1:" + env["DEALFLOW_POSTGRES_PORT"] + "/dealflow",
			"http://127.0.0.1:" + env["TEMPORAL_UI_PORT"] + "/namespaces/default/workflows",
			`curl -H "Authorization: Bearer $TOKEN" ` + api + "/v1/me", api + "/console/"} {
			if !strings.Contains(out, want) {
				t.Errorf("round %d: banner lacks %q:\n%s", round, want, out)
			}
		}
		if b, err := os.ReadFile(filepath.Join(dataDir, "admin-token")); err != nil || strings.TrimSpace(string(b)) != token {
			t.Errorf("round %d: admin-token file = %q, %v; want the printed token", round, b, err)
		}

		if code := getJSON(t, api+"/healthz", "", nil); code != http.StatusOK {
			t.Fatalf("round %d: /healthz = %d", round, code)
		}
		if code := getJSON(t, api+"/readyz", "", nil); code != http.StatusOK {
			t.Errorf("round %d: /readyz = %d", round, code)
		}
		var got me
		if code := getJSON(t, api+"/v1/me", token, &got); code != http.StatusOK {
			t.Fatalf("round %d: /v1/me with the printed token = %d", round, code)
		}
		if got.ID != "admin" || strings.Join(got.Roles, ",") != "admin,pmo" {
			t.Errorf("round %d: /v1/me = %+v", round, got)
		}
		if code := getJSON(t, api+"/console/login", "", nil); code != http.StatusOK {
			t.Errorf("round %d: the web console's sign-in page = %d", round, code)
		}
		if code := getJSON(t, api+"/v1/me", "dfl_not-a-token", nil); code != http.StatusUnauthorized {
			t.Errorf("round %d: /v1/me with a bad token = %d, want 401", round, code)
		}
		if round == 1 {
			first = got
		} else if !got.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("the admin user was created again (%v, first %v): data did not survive the restart", got.CreatedAt, first.CreatedAt)
		}

		r.stop(t)
		assertPortsFree(t, ports)
		if _, err := os.Stat(filepath.Join(dataDir, "postgres", "data", "postmaster.pid")); !os.IsNotExist(err) {
			t.Errorf("round %d: postmaster.pid still there after stop (err %v): postgres did not shut down cleanly", round, err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// A taken port stops dev before it starts anything, naming the variable
// that moves it.
func TestDevReportsBusyPorts(t *testing.T) {
	t.Parallel()
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	busy := strconv.Itoa(held.Addr().(*net.TCPAddr).Port)
	env := envMap{
		"DEALFLOW_DATA_DIR":      devDataDir(t),
		"DEALFLOW_POSTGRES_PORT": busy,
		"TEMPORAL_PORT":          strconv.Itoa(freePort(t)),
		"TEMPORAL_UI_PORT":       strconv.Itoa(freePort(t)),
		"DEALFLOW_LISTEN":        "127.0.0.1:" + busy,
	}
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"dev"}, env.lookup, &stdout, &stderr)
	if err == nil {
		t.Fatal("dev started with its ports taken")
	}
	for _, want := range []string{"port " + busy, "DEALFLOW_POSTGRES_PORT", "DEALFLOW_LISTEN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(env["DEALFLOW_DATA_DIR"], "postgres")); !os.IsNotExist(err) {
		t.Errorf("dev touched Postgres despite the busy ports")
	}
}
