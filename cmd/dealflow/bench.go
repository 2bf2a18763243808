package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"strings"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"dealflow/activities/store"
	"dealflow/cmd/dealflow/internal/bench"
)

// runBench parses the bench's flags and settings and runs the benchmark
// (package bench) on this binary's own store, Temporal client, API and
// worker.
func runBench(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("bench", "[flags]", bench.About, stderr,
		"database-url", "temporal-address", "namespace", "temporal-cli", "shutdown-timeout", "log-level", "log-format")
	var o bench.Options
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
	b.fs.StringVar(&skip, "skip", "", "parts to leave out, comma-separated: "+strings.Join(bench.Parts, ", "))
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	if b.fs.NArg() > 0 {
		return usageErrorf("bench takes no arguments, got %q", b.fs.Args())
	}
	for p := range strings.SplitSeq(skip, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.Skip = append(o.Skip, p)
		}
	}
	if err := o.Check(); err != nil {
		return usageErrorf("%v", err)
	}
	o.Flags = benchFlagsUsed(b.fs)
	if !cfg.IsSet("DEALFLOW_LOG_LEVEL") {
		// Every request logged at info would be thousands of lines around
		// the table, and logging is not what is measured.
		cfg.LogLevel = slog.LevelWarn
	}
	// Servers not configured are started by the bench.
	if cfg.IsSet("DATABASE_URL") {
		o.DatabaseURL = cfg.DatabaseURL
	}
	if cfg.IsSet("TEMPORAL_ADDRESS") {
		o.TemporalAddress = cfg.TemporalAddress
	}
	o.Namespace = cfg.Namespace
	o.TemporalCLI = temporalCLI(cfg)
	o.ShutdownTimeout = cfg.ShutdownTimeout
	log := newLogger(cfg, stderr)
	m := newMetrics(log)
	defer m.Close()

	err = bench.Run(ctx, o, benchDealflow(cfg, m, log), stdout, stderr)
	var ue *bench.UsageError
	if errors.As(err, &ue) {
		return usageErrorf("%s", ue.Msg)
	}
	return err
}

// benchDealflow is this binary's dealflow as the bench runs it: cfg with
// the servers and task queue the bench gives each call, reporting to m.
func benchDealflow(cfg *Config, m *metrics, log *slog.Logger) bench.Dealflow {
	with := func(edit func(c *Config)) *Config {
		c := *cfg
		edit(&c)
		return &c
	}
	return bench.Dealflow{
		Logger:          log,
		Metrics:         m.Registry,
		MetricsInterval: sdkMetricsInterval,
		OpenStore: func(ctx context.Context, url string) (*store.Store, error) {
			return openStore(ctx, with(func(c *Config) { c.DatabaseURL = url }))
		},
		DialTemporal: func(ctx context.Context, address string) (client.Client, error) {
			return dialTemporal(ctx, with(func(c *Config) { c.TemporalAddress = address }), log, m)
		},
		RegisterSearchAttributes: func(ctx context.Context, address string) error {
			return registerSearchAttributes(ctx, with(func(c *Config) { c.TemporalAddress = address }))
		},
		ServeAPI: func(ctx context.Context, g *errgroup.Group, ln net.Listener, taskQueue string, tc client.Client, st *store.Store) <-chan struct{} {
			return serveAPI(ctx, g, with(func(c *Config) { c.TaskQueue = taskQueue }), ln, tc, st, m, log)
		},
		ServeWorker: func(ctx context.Context, g *errgroup.Group, taskQueue string, tc client.Client, st *store.Store) <-chan struct{} {
			return serveWorker(ctx, g, with(func(c *Config) { c.TaskQueue = taskQueue }), tc, st, m, log)
		},
	}
}

// benchFlagsUsed lists the flags given on the command line, for the table.
func benchFlagsUsed(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) { out = append(out, "-"+f.Name+"="+f.Value.String()) })
	return out
}
