// Package bench is `dealflow bench`: it measures dealflow, and a bare
// Temporal baseline beside it, on a stack of its own, and reports every
// figure as a table and as JSON. Its parts: lifecycle (deals driven through
// the HTTP API), baseline (a workflow of its own, BenchBaseline, driven
// through the SDK), list (GET /v1/deals over a large read model), memory
// (the worker's cache of open deals) and reports (the store's funnel and
// coverage reports over the data of package benchdata, which the store's
// own report benchmarks load too).
//
// It may import the store (activities/store and activities/store/benchdata),
// the workflows (workflows, workflows/deal),
// deploy/localstack for the servers it starts, the Temporal SDK, sqlx and
// Prometheus' client; not the API, the console or the activities. It
// reaches dealflow's API and worker only through a Dealflow, which
// cmd/dealflow provides (package main cannot be imported): the binary's
// own ways to open the store, dial Temporal and serve the API and the
// worker, so that what is measured is what the other subcommands run.
// Nothing imports it but cmd/dealflow, whose bench subcommand parses the
// flags and settings into Options and calls Run.
package bench

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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"dealflow/activities/store"
	"dealflow/deploy/localstack"
	"dealflow/workflows"
)

// About is the bench subcommand's description, for its help.
const About = `Measures dealflow, and Temporal itself beside it, prints one table with every
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

// Parts are the parts of the benchmark, in the order they run.
var Parts = []string{"baseline", "lifecycle", "list", "memory", "reports"}

// Options are the bench's own flags and the settings it reads.
type Options struct {
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
	// Skip names the parts left out.
	Skip []string
	// Flags are the flags as given, for the table.
	Flags []string

	// DatabaseURL is the Postgres server to make the bench's database on;
	// "": the bench starts a Postgres of its own.
	DatabaseURL string
	// TemporalAddress is the Temporal frontend; "": the bench starts a
	// Temporal dev server of its own.
	TemporalAddress string
	Namespace       string
	// TemporalCLI runs the dev server; "": localstack.FindTemporalCLI.
	TemporalCLI string
	// ShutdownTimeout bounds the baseline worker's stop, as the deal
	// worker's.
	ShutdownTimeout time.Duration
}

func (o *Options) runs(phase string) bool { return !slices.Contains(o.Skip, phase) }

// Check validates the sizes and the parts skipped; its error lists every
// problem.
func (o *Options) Check() error {
	var errs []string
	for name, v := range map[string]int{"deals": o.Deals, "concurrency": o.Concurrency, "list-deals": o.ListDeals,
		"list-requests": o.ListRequests, "mem-deals": o.MemDeals, "funnel-rows": o.FunnelRows, "report-runs": o.ReportRuns} {
		if v < 1 {
			errs = append(errs, fmt.Sprintf("-%s must be at least 1, not %d", name, v))
		}
	}
	for _, p := range o.Skip {
		if !slices.Contains(Parts, p) {
			errs = append(errs, fmt.Sprintf("-skip: unknown part %q (parts: %s)", p, strings.Join(Parts, ", ")))
		}
	}
	if o.Out == "" {
		errs = append(errs, "-out is empty")
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// UsageError is a setting the bench cannot work with; cmd/dealflow reports
// it as a mistake in the configuration.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Dealflow is dealflow itself as cmd/dealflow runs it: the bench measures
// this binary's own store, Temporal client, API and worker, not copies.
type Dealflow struct {
	// Logger is the process's logger.
	Logger *slog.Logger
	// Metrics gathers the process's metrics, the Temporal SDK's among
	// them; the SDK's reach it every MetricsInterval.
	Metrics         prometheus.Gatherer
	MetricsInterval time.Duration

	// OpenStore connects to the database at url.
	OpenStore func(ctx context.Context, url string) (*store.Store, error)
	// DialTemporal connects to the Temporal frontend at address, in
	// Options.Namespace, the SDK reporting its metrics into Metrics.
	DialTemporal func(ctx context.Context, address string) (client.Client, error)
	// RegisterSearchAttributes registers the deal search attributes on
	// the namespace of the server at address.
	RegisterSearchAttributes func(ctx context.Context, address string) error
	// ServeAPI serves the HTTP API on ln, starting deals on taskQueue,
	// until ctx ends; the channel is closed once it has shut down.
	ServeAPI func(ctx context.Context, g *errgroup.Group, ln net.Listener, taskQueue string, tc client.Client, st *store.Store) (stopped <-chan struct{})
	// ServeWorker runs the deal worker on taskQueue, and the notification
	// relay, until ctx ends; the channel is closed once the worker polls.
	ServeWorker func(ctx context.Context, g *errgroup.Group, taskQueue string, tc client.Client, st *store.Store) (started <-chan struct{})
}

// benchEnv is the running stack the parts measure.
type benchEnv struct {
	opts     *Options
	df       *Dealflow
	log      *slog.Logger
	progress io.Writer
	run      string // distinguishes this run's ids and task queues

	// The servers, as given or as started by the bench.
	databaseURL     string
	temporalAddress string

	st      *store.Store
	tc      client.Client
	metrics prometheus.Gatherer
	apiURL  string
	tokens  map[string]string // user id → API token

	taskQueue     string // the deals'
	baselineQueue string
	localTemporal bool
	stack         string // how the servers were provided, for the table
	cliPath       string // the temporal CLI that runs the local server
}

// progressf reports a step on stderr; the table goes to stdout.
func (e *benchEnv) progressf(format string, args ...any) {
	fmt.Fprintf(e.progress, "bench: "+format+"\n", args...)
}

// Run runs the parts of the benchmark that o does not skip (o must pass
// Check) on dealflow as df runs it, prints the table on stdout and writes
// the JSON file; progress goes to stderr. A part that fails ends the run,
// and the figures so far are still reported. A setting it cannot work with
// is a *UsageError.
func Run(ctx context.Context, o Options, df Dealflow, stdout, stderr io.Writer) error {
	started := time.Now()
	e := &benchEnv{
		opts: &o, df: &df, log: df.Logger, progress: stderr, metrics: df.Metrics,
		run:             strconv.FormatInt(started.UnixNano()/1e6, 36),
		databaseURL:     o.DatabaseURL,
		temporalAddress: o.TemporalAddress,
		tokens:          map[string]string{},
	}
	e.taskQueue = "dealflow-bench-" + e.run
	e.baselineQueue = e.taskQueue + "-baseline"

	stop, err := e.startServers(ctx)
	defer stop()
	if err != nil {
		return err
	}

	// Every deal of the memory part and of the lifecycle stays in the one
	// process-wide cache; set before any worker exists.
	worker.SetStickyWorkflowCacheSize(max(10_000, o.MemDeals+2*o.Deals+2*o.Concurrency+1_000))

	if e.st, err = df.OpenStore(ctx, e.databaseURL); err != nil {
		return err
	}
	defer e.st.Close()
	if err := e.st.Migrate(ctx); err != nil {
		return err
	}
	if e.tc, err = df.DialTemporal(ctx, e.temporalAddress); err != nil {
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
	e.apiURL = "http://" + ln.Addr().String()

	// The API, the deal worker and the baseline's worker run until the
	// parts are done; the deal worker outlives the API as in dev.
	sctx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	g, gctx := errgroup.WithContext(sctx)
	apiStopped := df.ServeAPI(gctx, g, ln, e.taskQueue, e.tc, e.st)
	wctx, stopWorker := context.WithCancel(context.WithoutCancel(gctx))
	defer stopWorker()
	go func() {
		<-apiStopped
		stopWorker()
	}()
	workerStarted := df.ServeWorker(wctx, g, e.taskQueue, e.tc, e.st)
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
func (e *benchEnv) runParts(ctx context.Context) (*Result, error) {
	res := &Result{}
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
		run  func(context.Context, *Result) error
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
	var undo []func()
	stop = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	startPG, startTemporal := e.databaseURL == "", e.temporalAddress == ""
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
			e.cliPath = e.opts.TemporalCLI
			if e.cliPath == "" {
				if e.cliPath, err = localstack.FindTemporalCLI(); err != nil {
					return stop, err
				}
			}
			g.Go(func() (err error) {
				tp, err = localstack.StartTemporal(gctx, localstack.TemporalOptions{
					BinPath: e.cliPath, UIPort: -1,
					Namespace: e.opts.Namespace, SearchAttributes: workflows.SearchAttributes(),
					LogPath: filepath.Join(dir, "temporal.log"), Logger: e.log.With("component", "temporal"),
				})
				return err
			})
		}
		err = g.Wait()
		// Stopped after everything that uses them (undo runs backwards).
		if pg != nil {
			undo = append(undo, func() { _ = pg.Stop(context.Background()) })
			e.databaseURL = pg.URL()
			stack = append(stack, "Postgres started by the bench (temporary directory, default settings)")
		}
		if tp != nil {
			undo = append(undo, func() { _ = tp.Stop() })
			e.temporalAddress = tp.Address()
			e.localTemporal = true
			stack = append(stack, "Temporal dev server started by the bench (in-memory SQLite)")
		}
		if err != nil {
			return stop, fmt.Errorf("starting the servers: %w", err)
		}
	}
	if !startPG {
		base := e.databaseURL
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return stop, &UsageError{"bench needs DATABASE_URL as a postgres:// URL, to make a database of its own beside it"}
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
		e.databaseURL = u.String()
		stack = append(stack, "Postgres from DATABASE_URL (database "+name+", dropped afterwards)")
	}
	if !startTemporal {
		if err := e.df.RegisterSearchAttributes(ctx, e.temporalAddress); err != nil {
			return stop, err
		}
		stack = append(stack, "Temporal from TEMPORAL_ADDRESS "+e.temporalAddress)
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
