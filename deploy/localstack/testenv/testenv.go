// Package testenv gives other packages' tests a real PostgreSQL and
// Temporal, started by package localstack.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dealflow/deploy/localstack"
)

// Starting servers costs a second or two, so one of each is started lazily
// per test binary and shared; isolation comes from a fresh database per
// Postgres call and from tests using their own task queues and workflow IDs
// on the shared Temporal namespace. The servers stop when RunTests returns,
// on Ctrl-C, and (through the parent-death signal) even when the binary
// crashes or hits `go test -timeout`, so `go test` leaves nothing running.
//
// Use it from a package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.RunTests(m)) }
//
// Without that TestMain every Postgres/Temporal call starts and stops its
// own servers, which works but is slow.
//
// TEST_DATABASE_URL and TEST_TEMPORAL_ADDRESS point the helpers at servers
// that are already running instead (a test database is still created per
// call, so that URL's user needs CREATEDB).

// Environment variables that replace the throwaway servers.
const (
	EnvTestDatabaseURL     = "TEST_DATABASE_URL"
	EnvTestTemporalAddress = "TEST_TEMPORAL_ADDRESS"
)

// tempDirPrefix names our temporary directories so that ones left by a
// crashed test binary can be recognised and removed by the next run.
const tempDirPrefix = "dealflow-localstack-"

var env struct {
	mu       sync.Mutex
	managed  bool // inside RunTests: servers live until it returns
	pg       *sharedServer[*localstack.Postgres]
	temporal *sharedServer[*localstack.Temporal]
}

// sharedServer is a server started at most once; a failed start is
// remembered so every later test fails fast with the same message.
type sharedServer[T any] struct {
	once sync.Once
	srv  T
	err  error
	stop func()
}

// RunTests runs the tests and then stops the servers they started. Call it
// from TestMain: os.Exit(testenv.RunTests(m)).
func RunTests(m *testing.M) int {
	env.mu.Lock()
	env.managed = true
	env.mu.Unlock()
	sweepStaleTempDirs()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "testenv: %v: stopping test servers\n", s)
		stopShared()
		os.Exit(1)
	}()

	code := m.Run()
	signal.Stop(sigs)
	close(sigs)
	stopShared()
	return code
}

// stopShared stops the servers RunTests owns and removes their files.
func stopShared() {
	env.mu.Lock()
	pg, tp := env.pg, env.temporal
	env.pg, env.temporal = nil, nil
	env.mu.Unlock()
	// Temporal first: it may be mid-request to nothing of ours, but keep the
	// same order as the dev stack.
	for _, s := range []func(){sharedStop(tp), sharedStop(pg)} {
		s()
	}
}

func sharedStop[T any](s *sharedServer[T]) func() {
	return func() {
		if s == nil {
			return
		}
		s.once.Do(func() {}) // a start in progress finishes first
		if s.stop != nil {
			s.stop()
		}
	}
}

// Postgres returns the URL of a new, empty database for this test, dropped
// when the test ends. The server is started on first use (see RunTests) or
// taken from TEST_DATABASE_URL. It fails the test, with instructions, when
// PostgreSQL is not installed: skipping would let CI pass without testing.
func Postgres(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(EnvTestDatabaseURL)
	if admin == "" {
		pg, err := testPostgres(tb)
		if err != nil {
			tb.Fatalf("testenv.Postgres: cannot start a test PostgreSQL: %v\n"+
				"(or set %s to the URL of a running server)", err, EnvTestDatabaseURL)
		}
		admin = pg.URLFor("postgres")
	}
	u, err := freshDatabase(tb, admin)
	if err != nil {
		tb.Fatalf("testenv.Postgres: %v", err)
	}
	return u
}

// Temporal returns the host:port of a Temporal frontend whose "default"
// namespace has searchAttrs (name → type) registered. The server is shared
// by the test binary (see RunTests) or taken from TEST_TEMPORAL_ADDRESS; use
// a unique task queue per test.
func Temporal(tb testing.TB, searchAttrs map[string]string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if addr := os.Getenv(EnvTestTemporalAddress); addr != "" {
		if err := localstack.EnsureSearchAttributes(ctx, addr, "default", searchAttrs); err != nil {
			tb.Fatalf("testenv.Temporal: %s=%s: %v", EnvTestTemporalAddress, addr, err)
		}
		return addr
	}
	t, err := testTemporal(tb, searchAttrs)
	if err != nil {
		tb.Fatalf("testenv.Temporal: cannot start a test Temporal dev server: %v\n"+
			"(or set %s to the host:port of a running server)", err, EnvTestTemporalAddress)
	}
	// The shared server was started with the first caller's attributes.
	if err := localstack.EnsureSearchAttributes(ctx, t.Address(), t.Namespace(), searchAttrs); err != nil {
		tb.Fatalf("testenv.Temporal: %v", err)
	}
	return t.Address()
}

func testPostgres(tb testing.TB) (*localstack.Postgres, error) {
	start := func() (*localstack.Postgres, func(), error) {
		dir, err := newTempDir()
		if err != nil {
			return nil, nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		pg, err := localstack.StartPostgres(ctx, localstack.PostgresOptions{Dir: filepath.Join(dir, "pg"), Database: "postgres", Ephemeral: true})
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, nil, err
		}
		stop := func() {
			_ = pg.Stop(context.Background())
			_ = os.RemoveAll(dir)
		}
		return pg, stop, nil
	}
	return shared(tb, &env.pg, start)
}

func testTemporal(tb testing.TB, searchAttrs map[string]string) (*localstack.Temporal, error) {
	start := func() (*localstack.Temporal, func(), error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		t, err := localstack.StartTemporal(ctx, localstack.TemporalOptions{UIPort: -1, SearchAttributes: searchAttrs})
		if err != nil {
			return nil, nil, err
		}
		return t, func() { _ = t.Stop() }, nil
	}
	return shared(tb, &env.temporal, start)
}

// shared returns the binary-wide server in *slot, starting it on first use.
// Outside RunTests there is no point at which the binary is known to be
// done, so each call gets its own server, stopped by tb.Cleanup.
func shared[T any](tb testing.TB, slot **sharedServer[T], start func() (T, func(), error)) (T, error) {
	env.mu.Lock()
	managed := env.managed
	if managed && *slot == nil {
		*slot = &sharedServer[T]{}
	}
	s := *slot
	env.mu.Unlock()

	if !managed {
		tb.Logf("testenv: no TestMain calling testenv.RunTests; starting a server for this test only")
		srv, stop, err := start()
		if err == nil {
			tb.Cleanup(stop)
		}
		return srv, err
	}
	s.once.Do(func() {
		s.srv, s.stop, s.err = start()
	})
	return s.srv, s.err
}

// freshDatabase creates test_<random> on the server adminURL points at and
// returns its URL; the database is dropped (connections and all) when the
// test ends.
func freshDatabase(tb testing.TB, adminURL string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("bad database URL %q: %w", adminURL, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := localstack.CreateDatabase(ctx, adminURL, name); err != nil {
		return "", err
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := localstack.DropDatabase(ctx, adminURL, name); err != nil {
			tb.Logf("testenv: dropping test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String(), nil
}

// newTempDir makes a directory for a throwaway server. It is world-
// searchable (0755) because, as root, the server runs as the postgres user
// and must reach its data directory below it; it records our PID so that
// sweepStaleTempDirs can tell abandoned directories from live ones.
func newTempDir() (string, error) {
	dir, err := os.MkdirTemp("", tempDirPrefix)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// sweepStaleTempDirs removes temporary directories of test binaries that
// died without cleaning up (their servers died with them).
func sweepStaleTempDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	for _, dir := range matches {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || err == syscall.EPERM {
			continue // owner still running
		}
		_ = os.RemoveAll(dir)
	}
}
