package localstack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lib/pq"
)

// PostgresOptions configures StartPostgres.
type PostgresOptions struct {
	// Dir holds everything of this instance: data/ (the cluster), run/ (the
	// unix socket, kept here rather than in /var/run/postgresql so no system
	// setup is needed) and postgres.log (server output of the latest run).
	// It is created if missing and reused if it already holds a cluster.
	Dir string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// Database is created if missing; "" means "dealflow".
	Database string
	// BinDir overrides where initdb and postgres are looked for.
	BinDir string
	// Ephemeral trades durability for speed (no fsync): for throwaway test
	// clusters only, never for .data/ that a developer keeps.
	Ephemeral bool
	// Logger gets progress messages; nil discards them.
	Logger *slog.Logger
}

// Postgres is a PostgreSQL server run as our child process, listening only on
// 127.0.0.1, with trust authentication for the "postgres" superuser.
//
// It exists so that `make run` and the integration tests get a real
// PostgreSQL without Docker or any system service: the server binaries of
// the Debian package are enough.
type Postgres struct {
	dir      string
	dataDir  string
	port     int
	database string
	bin      *pgBinaries
	proc     *child
	log      *slog.Logger
}

const (
	postgresStartTimeout = 60 * time.Second
	postgresSuperuser    = "postgres"
)

// StartPostgres starts (initialising on first use) the cluster in opts.Dir and
// returns once it accepts connections and opts.Database exists.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Dir == "" {
		return nil, errors.New("localstack: PostgresOptions.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.Database == "" {
		opts.Database = "dealflow"
	}
	p := &Postgres{dir: dir, dataDir: filepath.Join(dir, "data"), database: opts.Database, log: log}

	p.bin, err = findPostgres(opts.BinDir, dataDirMajor(p.dataDir))
	if err != nil {
		return nil, err
	}
	who, err := postgresRunAs()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	if err := who.checkTraversable(dir); err != nil {
		return nil, err
	}
	if err := who.chownTree(dir); err != nil {
		return nil, fmt.Errorf("localstack: handing %s to user %s: %w", dir, postgresUser, err)
	}
	if err := p.initdb(ctx, who, opts.Ephemeral); err != nil {
		return nil, err
	}
	if err := p.clearStaleLocks(); err != nil {
		return nil, err
	}

	// A port we picked ourselves may be grabbed by someone else before the
	// server binds it; pick again in that case.
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		p.port = port
		err = p.start(ctx, who, opts.Ephemeral)
		if err == nil {
			break
		}
		if opts.Port != 0 || attempt == 3 || !errors.Is(err, errPortInUse) {
			return nil, err
		}
		log.Info("postgres port taken, retrying", "port", port)
	}

	if err := p.CreateDatabase(ctx, p.database); err != nil {
		_ = p.Stop(context.Background())
		return nil, err
	}
	log.Info("postgres ready", "url", p.URL(), "dir", dir, "pid", p.proc.pid())
	return p, nil
}

// URL is the lib/pq connection URL of the main database.
func (p *Postgres) URL() string { return p.URLFor(p.database) }

// URLFor is the connection URL of another database on the same server.
func (p *Postgres) URLFor(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(postgresSuperuser),
		Host:     "127.0.0.1:" + strconv.Itoa(p.port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port is the TCP port on 127.0.0.1.
func (p *Postgres) Port() int { return p.port }

// LogPath is the server's output file for the current run.
func (p *Postgres) LogPath() string { return filepath.Join(p.dir, "postgres.log") }

// CreateDatabase creates a database unless it exists.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	return CreateDatabase(ctx, p.URLFor("postgres"), name)
}

// Stop shuts the server down the way `pg_ctl stop -m fast` does (SIGINT:
// roll back open transactions, checkpoint, exit) and waits for it. If ctx
// ends first the server is killed; the next start then runs crash recovery.
// Stop may be called more than once.
func (p *Postgres) Stop(ctx context.Context) error {
	if p == nil || p.proc == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	err := p.proc.stop(ctx, syscall.SIGINT)
	p.log.Info("postgres stopped", "dir", p.dir, "err", err)
	return err
}

// initdb creates the cluster on first use. It initialises into data.tmp and
// renames it into place, so a run interrupted half way leaves no half-made
// cluster that later starts would trip over.
func (p *Postgres) initdb(ctx context.Context, who *runAs, ephemeral bool) error {
	if dataDirMajor(p.dataDir) != 0 {
		return nil
	}
	if _, err := os.Stat(p.dataDir); err == nil {
		return fmt.Errorf("localstack: %s exists but is not a PostgreSQL data directory (no PG_VERSION); move it away", p.dataDir)
	}
	tmp := p.dataDir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	args := []string{
		"-D", tmp,
		"-U", postgresSuperuser,
		"--auth-local=trust", "--auth-host=trust",
		"--encoding=UTF8", "--locale=C",
	}
	if ephemeral {
		args = append(args, "--no-sync")
	}
	p.log.Info("initialising postgres cluster", "dir", p.dataDir, "version", p.bin.major)
	cmd := exec.CommandContext(ctx, p.bin.initdb, args...)
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: who.credential()}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("localstack: initdb failed: %w\n%s", err, indent(string(out)))
	}
	if err := os.Rename(tmp, p.dataDir); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	return nil
}

// clearStaleLocks removes postmaster.pid and socket lock files left by a
// server that was killed. PostgreSQL checks whether the recorded PID is
// alive, but in containers PIDs are reused quickly, and a live unrelated
// process with that PID makes it refuse to start. We only remove the files
// when the PID is not a postgres running on this data directory; if it is,
// another `make run` owns the cluster and we say so.
func (p *Postgres) clearStaleLocks() error {
	pidFile := filepath.Join(p.dataDir, "postmaster.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		first, _, _ := strings.Cut(string(b), "\n")
		pid, _ := strconv.Atoi(strings.TrimSpace(first))
		if pid > 0 && isPostmasterOf(pid, p.dataDir) {
			return fmt.Errorf("localstack: PostgreSQL is already running on %s (pid %d), probably "+
				"started by another `make run`; stop that one first (kill -INT %d)", p.dataDir, pid, pid)
		}
		p.log.Info("removing stale postmaster.pid", "pid", pid)
		if err := os.Remove(pidFile); err != nil {
			return fmt.Errorf("localstack: removing stale %s: %w", pidFile, err)
		}
	}
	// run/ only ever holds our socket and its lock file; start it afresh.
	runDir := filepath.Join(p.dir, "run")
	if err := os.RemoveAll(runDir); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	return nil
}

// isPostmasterOf reports whether pid is a live postgres whose working
// directory (a postmaster chdirs into its data directory) is dataDir.
func isPostmasterOf(pid int, dataDir string) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false // no such process
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		// Without /proc we cannot tell; assume it is (the safe answer).
		return true
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return filepath.Clean(cwd) == filepath.Clean(dataDir) && strings.Contains(filepath.Base(exe), "postgres")
}

var errPortInUse = errors.New("port in use")

// start runs the postmaster and waits until it accepts connections.
func (p *Postgres) start(ctx context.Context, who *runAs, ephemeral bool) error {
	runDir := filepath.Join(p.dir, "run")
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	if err := who.chownTree(runDir); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	// A unix socket path is limited to 107 bytes; with a deep Dir we serve
	// TCP only rather than fail (nothing of ours uses the socket).
	sockDirs := runDir
	if len(runDir)+len("/.s.PGSQL.65535") > 100 {
		sockDirs = ""
	}
	args := []string{
		"-D", p.dataDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port=" + strconv.Itoa(p.port),
		"-c", "unix_socket_directories=" + sockDirs,
		"-c", "logging_collector=off",
	}
	if ephemeral {
		args = append(args,
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "shared_buffers=32MB",
		)
	}
	logPath := p.LogPath()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	defer logFile.Close() // the child has its own copy of the descriptor
	proc, err := startChild(childSpec{
		name:      "postgres",
		path:      p.bin.postgre,
		args:      args,
		dir:       p.dataDir,
		cred:      who.credential(),
		pdeathSig: syscall.SIGINT, // fast shutdown if we die
		stdout:    logFile,
	})
	if err != nil {
		return err
	}
	p.proc = proc

	ctx, cancel := context.WithTimeout(ctx, postgresStartTimeout)
	defer cancel()
	admin := p.URLFor("postgres")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if proc.exited() {
			tail := fileTail(logPath, 4096)
			err := fmt.Errorf("localstack: postgres exited during startup (%v); %s:\n%s", proc.err, logPath, indent(tail))
			if strings.Contains(tail, "could not bind") || strings.Contains(tail, "already in use") {
				err = fmt.Errorf("%w: %w", errPortInUse, err)
			}
			return err
		}
		if pingErr := ping(ctx, admin); pingErr == nil {
			return nil
		} else if ctx.Err() != nil {
			_ = proc.stop(context.Background(), syscall.SIGQUIT)
			return fmt.Errorf("localstack: postgres did not accept connections on port %d in time (%v); %s:\n%s",
				p.port, pingErr, logPath, indent(fileTail(logPath, 4096)))
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

func ping(ctx context.Context, dsn string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// CreateDatabase creates database name on the server that serverURL (any
// database on it, with a user allowed to CREATEDB) points at, unless it
// exists already.
func CreateDatabase(ctx context.Context, serverURL, name string) error {
	db, err := sql.Open("postgres", serverURL)
	if err != nil {
		return err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("localstack: checking database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42P04" { // duplicate_database: lost a race, fine
		return nil
	}
	if err != nil {
		return fmt.Errorf("localstack: creating database %q: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name on the server that serverURL points at,
// closing its open connections first (tests that leak a pool must not block
// cleanup).
func DropDatabase(ctx context.Context, serverURL, name string) error {
	db, err := sql.Open("postgres", serverURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("localstack: dropping database %q: %w", name, err)
	}
	return nil
}
