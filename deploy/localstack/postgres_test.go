package localstack

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

// serverDir returns a directory for a server's files that the postgres user
// can reach when we run as root (t.TempDir's parent is root-only 0700).
func serverDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dealflow-localstack-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func startPG(t *testing.T, opts PostgresOptions) *Postgres {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := StartPostgres(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop(context.Background()) })
	return pg
}

func stopPG(t *testing.T, pg *Postgres) {
	t.Helper()
	pid := pg.proc.pid()
	if err := pg.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if alive(pid) {
		t.Fatalf("postgres pid %d still running after Stop", pid)
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

func TestPostgresStartQueryRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(serverDir(t), "pg")
	pg := startPG(t, PostgresOptions{Dir: dir})

	if !strings.HasPrefix(pg.URL(), "postgres://postgres@127.0.0.1:") || !strings.HasSuffix(pg.URL(), "/dealflow?sslmode=disable") {
		t.Errorf("URL() = %q", pg.URL())
	}
	db := sqlx.MustConnect("postgres", pg.URL())
	var one int
	if err := db.Get(&one, "select 1"); err != nil || one != 1 {
		t.Fatalf("select 1 = %d, %v", one, err)
	}
	var enc string
	if err := db.Get(&enc, "show server_encoding"); err != nil || enc != "UTF8" {
		t.Errorf("server_encoding = %q, %v", enc, err)
	}
	db.MustExec("create table deals (id text primary key)")
	db.MustExec("insert into deals values ('acme')")
	db.Close()
	stopPG(t, pg)

	// Same directory, another port: the cluster and its data are reused.
	pg2 := startPG(t, PostgresOptions{Dir: dir})
	db = sqlx.MustConnect("postgres", pg2.URL())
	defer db.Close()
	var id string
	if err := db.Get(&id, "select id from deals"); err != nil || id != "acme" {
		t.Fatalf("after restart: id = %q, %v", id, err)
	}
	stopPG(t, pg2)
}

// A server killed outright (as by SIGKILL of `make run`) leaves
// postmaster.pid behind, and in a container its PID is soon reused; neither
// may stop the next start.
func TestPostgresStartsAfterKillAndPIDReuse(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(serverDir(t), "pg")
	pg := startPG(t, PostgresOptions{Dir: dir, Ephemeral: true})
	_ = syscall.Kill(-pg.proc.pid(), syscall.SIGKILL)
	<-pg.proc.done

	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("expected a stale postmaster.pid: %v", err)
	}
	// Pretend the PID now belongs to a live unrelated process: us.
	lines := strings.SplitN(string(b), "\n", 2)
	lines[0] = strconv.Itoa(os.Getpid())
	if err := os.WriteFile(pidFile, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}

	pg2 := startPG(t, PostgresOptions{Dir: dir, Ephemeral: true})
	db := sqlx.MustConnect("postgres", pg2.URL())
	defer db.Close()
	var one int
	if err := db.Get(&one, "select 1"); err != nil {
		t.Fatal(err)
	}
	stopPG(t, pg2)
}

func TestPostgresRefusesSecondServerOnSameDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(serverDir(t), "pg")
	pg := startPG(t, PostgresOptions{Dir: dir, Ephemeral: true})
	_, err := StartPostgres(context.Background(), PostgresOptions{Dir: dir, Ephemeral: true})
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second start: err = %v, want 'already running'", err)
	}
	// The first one is unharmed.
	db := sqlx.MustConnect("postgres", pg.URL())
	db.Close()
	stopPG(t, pg)
}

func TestPostgresCreatesNamedDatabase(t *testing.T) {
	t.Parallel()
	pg := startPG(t, PostgresOptions{Dir: filepath.Join(serverDir(t), "pg"), Database: "other-db", Ephemeral: true})
	if !strings.Contains(pg.URL(), "/other-db?") {
		t.Fatalf("URL() = %q", pg.URL())
	}
	db := sqlx.MustConnect("postgres", pg.URL())
	var name string
	if err := db.Get(&name, "select current_database()"); err != nil || name != "other-db" {
		t.Fatalf("current_database() = %q, %v", name, err)
	}
	db.Close()

	ctx := context.Background()
	if err := CreateDatabase(ctx, pg.URL(), "scratch"); err != nil {
		t.Fatal(err)
	}
	if err := CreateDatabase(ctx, pg.URL(), "scratch"); err != nil {
		t.Fatalf("second CreateDatabase must be a no-op: %v", err)
	}
	keep := sqlx.MustConnect("postgres", pg.URLFor("scratch")) // an open connection must not block the drop
	defer keep.Close()
	if err := keep.Ping(); err != nil {
		t.Fatal(err)
	}
	if err := DropDatabase(ctx, pg.URL(), "scratch"); err != nil {
		t.Fatal(err)
	}
	stopPG(t, pg)
}

func TestPostgresMissingBinariesSaysWhatToInstall(t *testing.T) {
	t.Parallel()
	_, err := StartPostgres(context.Background(), PostgresOptions{Dir: filepath.Join(serverDir(t), "pg"), BinDir: "/nonexistent/bin"})
	if err == nil || !strings.Contains(err.Error(), "postgresql-15") {
		t.Fatalf("err = %v, want a hint naming postgresql-15", err)
	}
}
