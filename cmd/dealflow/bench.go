package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"dealflow/activities/store"
	"dealflow/deploy/localstack"
	"dealflow/workflows"
)

const benchAbout = `Measures dealflow, and Temporal itself beside it, prints one table with every
figure and its conditions, and writes the same figures as JSON (-out):

  lifecycle  -deals deals of the project template driven from start to won
             through the HTTP API by -concurrency clients: every milestone
             submitted, solution design rejected once, resubmitted, approved
  baseline   as many workflows of a minimal kind, each taking as many updates
             (trivial handlers) through the Temporal SDK, by as many clients
  list       GET /v1/deals with a mix of filters and sorts over -list-deals deals
  memory     the process's resident memory with -mem-deals open deals cached
  reports    a funnel report over -funnel-rows activities; a coverage report
             over 10,000 named accounts

It starts its own Postgres and Temporal dev server in a temporary directory
(removed afterwards) unless DATABASE_URL or TEMPORAL_ADDRESS is set, and runs
the worker and the API in this process, as dev does. Given DATABASE_URL it
works in a new database on that server, dropped afterwards (the user needs
CREATEDB); given TEMPORAL_ADDRESS it uses a task queue of its own and
terminates the deals it leaves open. Defaults finish in about ten minutes on
two cores; the size flags scale each part, -skip leaves parts out. It logs at
warn unless DEALFLOW_LOG_LEVEL or -log-level says otherwise.`

// benchPhases are the parts of the benchmark, in the order they run.
var benchPhases = []string{"baseline", "lifecycle", "list", "memory", "reports"}

// benchOptions are the bench's own flags.
type benchOptions struct {
	Deals        int
	Concurrency  int
	ListDeals    int
	ListRequests int
	MemDeals     int
	FunnelRows   int
	ReportRuns   int
	Out          string
	CPUProfile   string
	MemProfile   string
	skip         map[string]bool
	flags        []string // as given, for the table
}

func (o *benchOptions) runs(phase string) bool { return !o.skip[phase] }

func runBench(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("bench", "[flags]", benchAbout, stderr,
		"database-url", "temporal-address", "namespace", "temporal-cli", "shutdown-timeout", "log-level", "log-format")
	var o benchOptions
	var skip string
	b.fs.IntVar(&o.Deals, "deals", 200, "deals driven from start to won (and baseline workflows)")
	b.fs.IntVar(&o.Concurrency, "concurrency", 16, "concurrent clients driving deals and baseline workflows")
	b.fs.IntVar(&o.ListDeals, "list-deals", 100_000, "deals in the read model for the list benchmark")
	b.fs.IntVar(&o.ListRequests, "list-requests", 500, "GET /v1/deals requests timed, one at a time")
	b.fs.IntVar(&o.MemDeals, "mem-deals", 10_000, "open deals held in the worker's cache for the memory figure")
	b.fs.IntVar(&o.FunnelRows, "funnel-rows", 1_000_000, "activity rows under the funnel report")
	b.fs.IntVar(&o.ReportRuns, "report-runs", 3, "times each report is computed (the median is judged)")
	b.fs.StringVar(&o.Out, "out", "bench.json", "where the figures are written as JSON")
	b.fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of this process during the lifecycle part to this file (go tool pprof)")
	b.fs.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile of this process with the memory part's deals cached to this file (go tool pprof)")
	b.fs.StringVar(&skip, "skip", "", "parts to leave out, comma-separated: "+strings.Join(benchPhases, ", "))
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	if b.fs.NArg() > 0 {
		return usageErrorf("bench takes no arguments, got %q", b.fs.Args())
	}
	if err := o.check(skip); err != nil {
		return err
	}
	o.flags = benchFlagsUsed(b.fs)
	if !cfg.IsSet("DEALFLOW_LOG_LEVEL") {
		// Every request logged at info would be thousands of lines around
		// the table, and logging is not what is measured.
		cfg.LogLevel = slog.LevelWarn
	}
	log := newLogger(cfg, stderr)
	return bench(ctx, cfg, &o, log, stdout, stderr)
}

// check validates the flags and parses -skip.
func (o *benchOptions) check(skip string) error {
	var errs []string
	for name, v := range map[string]int{"deals": o.Deals, "concurrency": o.Concurrency, "list-deals": o.ListDeals,
		"list-requests": o.ListRequests, "mem-deals": o.MemDeals, "funnel-rows": o.FunnelRows, "report-runs": o.ReportRuns} {
		if v < 1 {
			errs = append(errs, fmt.Sprintf("-%s must be at least 1, not %d", name, v))
		}
	}
	o.skip = map[string]bool{}
	for p := range strings.SplitSeq(skip, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !slices.Contains(benchPhases, p) {
			errs = append(errs, fmt.Sprintf("-skip: unknown part %q (parts: %s)", p, strings.Join(benchPhases, ", ")))
		}
		o.skip[p] = true
	}
	if o.Out == "" {
		errs = append(errs, "-out is empty")
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return usageErrorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// benchEnv is the running stack the parts measure.
type benchEnv struct {
	cfg      *Config
	opts     *benchOptions
	log      *slog.Logger
	progress io.Writer
	run      string // distinguishes this run's ids and task queues

	st      *store.Store
	tc      client.Client
	metrics *metrics
	apiURL  string
	tokens  map[string]string // user id → API token

	baselineQueue string
	localTemporal bool
	stack         string // how the servers were provided, for the table
	cliPath       string // the temporal CLI that runs the local server
}

// progressf reports a step on stderr; the table goes to stdout.
func (e *benchEnv) progressf(format string, args ...any) {
	fmt.Fprintf(e.progress, "bench: "+format+"\n", args...)
}

func bench(ctx context.Context, cfg *Config, o *benchOptions, log *slog.Logger, stdout, stderr io.Writer) error {
	started := time.Now()
	e := &benchEnv{
		cfg: cfg, opts: o, log: log, progress: stderr,
		run:    strconv.FormatInt(started.UnixNano()/1e6, 36),
		tokens: map[string]string{},
	}
	cfg.TaskQueue = "dealflow-bench-" + e.run
	e.baselineQueue = cfg.TaskQueue + "-baseline"

	stop, err := e.startServers(ctx)
	defer stop()
	if err != nil {
		return err
	}

	// Every deal of the memory part and of the lifecycle stays in the one
	// process-wide cache; set before any worker exists.
	worker.SetStickyWorkflowCacheSize(max(10_000, o.MemDeals+2*o.Deals+2*o.Concurrency+1_000))

	if e.st, err = openStore(ctx, cfg); err != nil {
		return err
	}
	defer e.st.Close()
	if err := e.st.Migrate(ctx); err != nil {
		return err
	}
	e.metrics = newMetrics(log)
	defer e.metrics.Close()
	if e.tc, err = dialTemporal(ctx, cfg, log, e.metrics); err != nil {
		return err
	}
	defer e.tc.Close()
	if err := e.createUsers(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.apiURL = apiBaseURL(ln)

	// The API, the deal worker and the baseline's worker run until the
	// parts are done; the deal worker outlives the API as in dev.
	sctx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	g, gctx := errgroup.WithContext(sctx)
	apiStopped := serveAPI(gctx, g, cfg, ln, e.tc, e.st, e.metrics, log)
	wctx, stopWorker := context.WithCancel(context.WithoutCancel(gctx))
	defer stopWorker()
	go func() {
		<-apiStopped
		stopWorker()
	}()
	workerStarted := serveWorker(wctx, g, cfg, e.tc, e.st, e.metrics, log)
	baselineStarted := e.serveBaselineWorker(gctx, g)
	for _, started := range []<-chan struct{}{workerStarted, baselineStarted} {
		select {
		case <-started:
		case <-gctx.Done():
			return g.Wait()
		}
	}

	res, runErr := e.runParts(gctx)
	stopServing()
	if err := g.Wait(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil && res.Conditions.Cores == 0 {
		return runErr
	}
	res.Conditions.Seconds = time.Since(started).Seconds()
	res.judge()
	res.printTable(stdout)
	if err := res.writeJSON(o.Out); err != nil {
		return errors.Join(runErr, err)
	}
	e.progressf("figures written to %s", o.Out)
	return runErr
}

// runParts runs each part that is not skipped, in order. A part that fails
// ends the run; the figures so far are still reported.
func (e *benchEnv) runParts(ctx context.Context) (*benchResult, error) {
	res := &benchResult{}
	var err error
	if res.Conditions, err = e.conditions(ctx); err != nil {
		return res, err
	}
	if e.opts.runs("baseline") || e.opts.runs("lifecycle") {
		if err := e.warmUp(ctx); err != nil {
			return res, fmt.Errorf("warming up: %w", err)
		}
	}
	parts := []struct {
		name string
		run  func(context.Context, *benchResult) error
	}{
		{"baseline", e.baseline},
		{"lifecycle", e.lifecycle},
		{"list", e.list},
		{"memory", e.memory},
		{"reports", e.reports},
	}
	for _, p := range parts {
		if !e.opts.runs(p.name) {
			continue
		}
		start := time.Now()
		e.progressf("%s: starting", p.name)
		if err := p.run(ctx, res); err != nil {
			return res, fmt.Errorf("%s: %w", p.name, err)
		}
		e.progressf("%s: done in %v", p.name, time.Since(start).Round(100*time.Millisecond))
	}
	return res, nil
}

// startServers starts Postgres and the Temporal dev server unless the
// configuration names servers. stop undoes whatever was done.
func (e *benchEnv) startServers(ctx context.Context) (stop func(), err error) {
	cfg := e.cfg
	var undo []func()
	stop = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	startPG, startTemporal := !cfg.IsSet("DATABASE_URL"), !cfg.IsSet("TEMPORAL_ADDRESS")
	var stack []string
	if startPG || startTemporal {
		dir, err := os.MkdirTemp("", "dealflow-bench-")
		if err != nil {
			return stop, err
		}
		undo = append(undo, func() { _ = os.RemoveAll(dir) })
		// As root, Postgres runs as the postgres account and must reach
		// its directory below this one.
		if err := os.Chmod(dir, 0o755); err != nil {
			return stop, err
		}
		g, gctx := errgroup.WithContext(ctx)
		var pg *localstack.Postgres
		var tp *localstack.Temporal
		if startPG {
			g.Go(func() (err error) {
				pg, err = localstack.StartPostgres(gctx, localstack.PostgresOptions{
					Dir: filepath.Join(dir, "postgres"), Database: "dealflow",
					Logger: e.log.With("component", "postgres"),
				})
				return err
			})
		}
		if startTemporal {
			e.cliPath = temporalCLI(cfg)
			if e.cliPath == "" {
				if e.cliPath, err = localstack.FindTemporalCLI(); err != nil {
					return stop, err
				}
			}
			g.Go(func() (err error) {
				tp, err = localstack.StartTemporal(gctx, localstack.TemporalOptions{
					BinPath: e.cliPath, UIPort: -1,
					Namespace: cfg.Namespace, SearchAttributes: workflows.SearchAttributes(),
					LogPath: filepath.Join(dir, "temporal.log"), Logger: e.log.With("component", "temporal"),
				})
				return err
			})
		}
		err = g.Wait()
		// Stopped after everything that uses them (undo runs backwards).
		if pg != nil {
			undo = append(undo, func() { _ = pg.Stop(context.Background()) })
			cfg.DatabaseURL = pg.URL()
			stack = append(stack, "Postgres started by the bench (temporary directory, default settings)")
		}
		if tp != nil {
			undo = append(undo, func() { _ = tp.Stop() })
			cfg.TemporalAddress = tp.Address()
			e.localTemporal = true
			stack = append(stack, "Temporal dev server started by the bench (in-memory SQLite)")
		}
		if err != nil {
			return stop, fmt.Errorf("starting the servers: %w", err)
		}
	}
	if !startPG {
		base := cfg.DatabaseURL
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return stop, usageErrorf("bench needs DATABASE_URL as a postgres:// URL, to make a database of its own beside it")
		}
		name := "dealflow_bench_" + e.run
		if err := localstack.CreateDatabase(ctx, base, name); err != nil {
			return stop, fmt.Errorf("bench works in a database of its own on the DATABASE_URL server: %w", err)
		}
		undo = append(undo, func() {
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := localstack.DropDatabase(dctx, base, name); err != nil {
				e.log.Warn("dropping the bench database", "database", name, "error", err)
			}
		})
		u.Path = "/" + name
		cfg.DatabaseURL = u.String()
		stack = append(stack, "Postgres from DATABASE_URL (database "+name+", dropped afterwards)")
	}
	if !startTemporal {
		if err := registerSearchAttributes(ctx, cfg); err != nil {
			return stop, err
		}
		stack = append(stack, "Temporal from TEMPORAL_ADDRESS "+cfg.TemporalAddress)
	}
	e.stack = strings.Join(stack, "; ")
	return stop, nil
}

// benchUsers are the team of every bench deal: id → role.
var benchUsers = [][2]string{
	{"pat", "pmo"}, {"cora", "commercial"}, {"sol", "solution"},
	{"ann", "approver"}, {"abe", "approver"}, {"dina", "director"},
}

func (e *benchEnv) createUsers(ctx context.Context) error {
	for _, u := range benchUsers {
		_, err := e.st.CreateUser(ctx, store.User{ID: u[0], Name: strings.ToUpper(u[0][:1]) + u[0][1:], Roles: []store.Role{store.Role(u[1])}})
		if err != nil && !errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("creating user %s: %w", u[0], err)
		}
		if e.tokens[u[0]], err = e.st.CreateToken(ctx, u[0], "bench"); err != nil {
			return fmt.Errorf("issuing a token for %s: %w", u[0], err)
		}
	}
	return nil
}

// benchFlagsUsed lists the flags given on the command line, for the table.
func benchFlagsUsed(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) { out = append(out, "-"+f.Name+"="+f.Value.String()) })
	return out
}
