package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"dealflow/activities/store"
	"dealflow/deploy/localstack"
	"dealflow/workflows"
)

const devAbout = `Runs the whole stack in this one process, for development: a local Postgres
(under DATA_DIR/postgres; initdb on first run) unless DATABASE_URL is set, the
Temporal dev server (SQLite file DATA_DIR/temporal.db) unless TEMPORAL_ADDRESS
is set, then migrates, registers the search attributes, makes sure an "admin"
user exists, prints a fresh API token for it, and runs the worker, the
notification relay and the API. Ctrl-C stops all of it; the next run reuses the
data.`

// devAdminID is the user dev creates and prints a token for.
const devAdminID = "admin"

func runDev(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("dev", "[flags]", devAbout, stderr,
		"data-dir", "postgres-port", "temporal-port", "temporal-ui-port", "temporal-cli",
		"database-url", "temporal-address", "namespace", "task-queue", "listen", "temporal-ui-url",
		"notify", "link-base", "session-key", "shutdown-timeout", "log-level", "log-format")
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	if b.fs.NArg() > 0 {
		return usageErrorf("dev takes no arguments, got %q", b.fs.Args())
	}
	log := newLogger(cfg, stderr)
	err = dev(ctx, cfg, log, stdout)
	if err != nil && ctx.Err() != nil {
		// Ctrl-C while starting up is a normal way to stop.
		log.Info("interrupted during startup; stopped", "cause", err)
		return nil
	}
	if err == nil {
		log.Info("dealflow dev stopped")
	}
	return err
}

// devStack is what dev started, for the banner.
type devStack struct {
	pg    *localstack.Postgres // nil when DATABASE_URL was given
	tp    *localstack.Temporal // nil when TEMPORAL_ADDRESS was given
	token string
	api   string // base URL
}

func dev(ctx context.Context, cfg *Config, log *slog.Logger, stdout io.Writer) error {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	// World-searchable: as root, Postgres runs as the postgres user and
	// must reach its directory below this one.
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("creating the data directory (DEALFLOW_DATA_DIR): %w", err)
	}
	startPG, startTemporal := !cfg.IsSet("DATABASE_URL"), !cfg.IsSet("TEMPORAL_ADDRESS")

	// Every port first, so that one message names all that are taken. The
	// API's is held from now on; the servers bind theirs themselves.
	ln, err := checkDevPorts(cfg, startPG, startTemporal)
	if err != nil {
		return err
	}
	defer ln.Close()

	var stack devStack
	stack.api = apiBaseURL(ln)
	if !cfg.IsSet("DEALFLOW_LINK_BASE") {
		// Notifications link to the deal in this API.
		cfg.LinkBase = stack.api + "/v1"
	}
	// The servers are stopped after everything that uses them (defers run
	// last-in first-out); Stop is a no-op on a server that never started.
	defer func() { _ = stack.pg.Stop(context.Background()) }()
	defer func() { _ = stack.tp.Stop() }()
	if err := startDevServers(ctx, cfg, dataDir, startPG, startTemporal, &stack, log); err != nil {
		return err
	}
	if !startTemporal {
		if err := registerSearchAttributes(ctx, cfg); err != nil {
			return err
		}
	}

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	log.Info("database migrated", "database", redactURL(cfg.DatabaseURL))
	if stack.token, err = devAdminToken(ctx, st); err != nil {
		return err
	}
	tokenFile := filepath.Join(dataDir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(stack.token+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", tokenFile, err)
	}

	m := newMetrics(log)
	defer m.Close()
	tc, err := dialTemporal(ctx, cfg, log, m)
	if err != nil {
		return err
	}
	defer tc.Close()

	g, gctx := errgroup.WithContext(ctx)
	apiStopped := serveAPI(gctx, g, cfg, ln, tc, st, m, log)
	// The worker outlives the API by the API's drain: a request waiting on
	// a deal's update needs the worker to complete it.
	wctx, stopWorker := context.WithCancel(context.WithoutCancel(gctx))
	defer stopWorker()
	go func() {
		<-apiStopped
		stopWorker()
	}()
	workerStarted := serveWorker(wctx, g, cfg, tc, st, m, log)

	// The banner comes last, below the start-up logs, and only once the
	// stack works.
	select {
	case <-workerStarted:
		printDevBanner(stdout, cfg, &stack, dataDir, tokenFile)
		log.Info("dealflow dev ready; Ctrl-C stops it", "api", stack.api)
	case <-gctx.Done():
	}
	err = g.Wait()
	log.Info("stopping temporal and postgres")
	return err
}

// checkDevPorts binds the API's address and checks that the ports of the
// servers dev is about to start are free.
func checkDevPorts(cfg *Config, startPG, startTemporal bool) (net.Listener, error) {
	var errs []error
	busy := func(port int, what, envVar string) {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: port %d is already in use; set %s to a free port", what, port, envVar))
			return
		}
		l.Close()
	}
	if startPG {
		busy(cfg.PostgresPort, "Postgres", "DEALFLOW_POSTGRES_PORT")
	}
	if startTemporal {
		busy(cfg.TemporalPort, "Temporal", "TEMPORAL_PORT")
		busy(cfg.TemporalUIPort, "Temporal UI", "TEMPORAL_UI_PORT")
	}
	ln, err := listen(cfg.Listen, "API", "DEALFLOW_LISTEN")
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		if ln != nil {
			ln.Close()
		}
		msg := "cannot start: ports are taken (is another `dealflow dev` running?):"
		for _, e := range errs {
			msg += "\n  " + e.Error()
		}
		return nil, errors.New(msg)
	}
	return ln, nil
}

// startDevServers starts Postgres and Temporal side by side, and points cfg
// at them.
func startDevServers(ctx context.Context, cfg *Config, dataDir string, startPG, startTemporal bool, stack *devStack, log *slog.Logger) error {
	g, gctx := errgroup.WithContext(ctx)
	if startPG {
		g.Go(func() error {
			pg, err := localstack.StartPostgres(gctx, localstack.PostgresOptions{
				Dir:      filepath.Join(dataDir, "postgres"),
				Port:     cfg.PostgresPort,
				Database: "dealflow",
				Logger:   log.With("component", "postgres"),
			})
			if err != nil {
				return fmt.Errorf("starting Postgres: %w", err)
			}
			stack.pg = pg
			cfg.DatabaseURL = pg.URL()
			return nil
		})
	}
	if startTemporal {
		g.Go(func() error {
			tp, err := localstack.StartTemporal(gctx, localstack.TemporalOptions{
				BinPath:          temporalCLI(cfg),
				DBFile:           filepath.Join(dataDir, "temporal.db"),
				Port:             cfg.TemporalPort,
				UIPort:           cfg.TemporalUIPort,
				Namespace:        cfg.Namespace,
				SearchAttributes: workflows.SearchAttributes(),
				LogPath:          filepath.Join(dataDir, "temporal.log"),
				Logger:           log.With("component", "temporal"),
			})
			if err != nil {
				return fmt.Errorf("starting the Temporal dev server: %w", err)
			}
			stack.tp = tp
			cfg.TemporalAddress = tp.Address()
			if !cfg.IsSet("TEMPORAL_UI_URL") {
				cfg.TemporalUIURL = tp.UIURL()
			}
			return nil
		})
	}
	return g.Wait()
}

// temporalCLI picks the temporal CLI: TEMPORAL_CLI, else one next to this
// binary (bin/temporal beside bin/dealflow), else "" to let localstack look
// in the module's bin/ and on PATH.
func temporalCLI(cfg *Config) string {
	if cfg.TemporalCLI != "" {
		return cfg.TemporalCLI
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "temporal")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// devAdminToken makes sure the admin user exists and issues a new token
// for it: only token hashes are stored, so an old one cannot be shown.
func devAdminToken(ctx context.Context, st *store.Store) (string, error) {
	_, err := st.GetUser(ctx, devAdminID)
	if errors.Is(err, store.ErrNotFound) {
		_, err = st.CreateUser(ctx, store.User{
			ID: devAdminID, Name: "Admin",
			Roles: []store.Role{store.RoleAdmin, store.RolePMO},
		})
		if errors.Is(err, store.ErrDuplicate) {
			err = nil // created meanwhile by another process
		}
	}
	if err != nil {
		return "", fmt.Errorf("creating the %s user: %w", devAdminID, err)
	}
	token, err := st.CreateToken(ctx, devAdminID, "dealflow dev "+time.Now().Format(time.DateTime))
	if err != nil {
		return "", fmt.Errorf("issuing a token for %s: %w", devAdminID, err)
	}
	return token, nil
}

func printDevBanner(w io.Writer, cfg *Config, s *devStack, dataDir, tokenFile string) {
	temporal := cfg.TemporalAddress + " (namespace " + cfg.Namespace + ", task queue " + cfg.TaskQueue + ")"
	ui := cfg.TemporalUIURL + "/namespaces/" + url.PathEscape(cfg.Namespace) + "/workflows"
	db := redactURL(cfg.DatabaseURL)
	if s.pg == nil {
		db += " (DATABASE_URL)"
	}
	if s.tp == nil {
		temporal += " (TEMPORAL_ADDRESS)"
	}
	fmt.Fprintf(w, `
dealflow dev is running. Ctrl-C stops everything; the next run keeps the data.

  API          %s
  Console      %s/console/ (sign in with the admin token below)
  Temporal UI  %s
  Temporal     %s
  Postgres     %s
  Data         %s

Admin token (new at every start; also in %s):

  %s

Try:

  export TOKEN=%s
  curl -H "Authorization: Bearer $TOKEN" %s/v1/me

`, s.api, s.api, ui, temporal, db, dataDir, tokenFile, s.token, s.token, s.api)
}
