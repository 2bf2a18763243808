package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"dealflow/activities/store"
	"dealflow/api"
	"dealflow/console"
)

func runAPI(ctx context.Context, args []string, env lookupEnvFunc, _, stderr io.Writer) error {
	b := newFlagSet("api", "[flags]",
		"Serves the HTTP API. It starts deal workflows on Temporal and reads the Postgres\n"+
			"read model; run `dealflow worker` next to it, and `dealflow migrate` first.",
		stderr, "database-url", "temporal-address", "namespace", "task-queue", "listen", "temporal-ui-url",
		"drain-delay", "session-key", "shutdown-timeout", "log-level", "log-format")
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	if err := cfg.requireDatabaseURL(); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	ln, err := listen(cfg.Listen, "API", "DEALFLOW_LISTEN")
	if err != nil {
		return err
	}
	defer ln.Close()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	m := newMetrics(log)
	defer m.Close()
	tc, err := dialTemporal(ctx, cfg, log, m)
	if err != nil {
		return err
	}
	defer tc.Close()

	g, gctx := errgroup.WithContext(ctx)
	serveAPI(gctx, g, cfg, ln, tc, st, m, log)
	return g.Wait()
}

// serveAPI runs the HTTP API on ln until ctx ends; the returned channel is
// closed once it has shut down.
func serveAPI(ctx context.Context, g *errgroup.Group, cfg *Config, ln net.Listener, tc client.Client, st *store.Store, m *metrics, log *slog.Logger) <-chan struct{} {
	deps := api.Deps{
		Temporal:       tc,
		Store:          st,
		Logger:         log.With("component", "api"),
		Metrics:        m.Registry,
		MetricsHandler: m.Handler,
	}
	// The web console, on the same server under /console/.
	con, err := console.New(console.Config{SessionKey: cfg.SessionKey, Logger: log.With("component", "console")})
	if err != nil {
		g.Go(func() error { return err })
	} else {
		deps.Console = con
	}
	h := api.New(api.Config{
		TaskQueue:     cfg.TaskQueue,
		Namespace:     cfg.Namespace,
		TemporalUIURL: cfg.TemporalUIURL,
	}, deps)
	return serveHTTP(ctx, g, newHTTPServer(h, log), ln, "API", cfg.DrainDelay, cfg.ShutdownTimeout, log)
}

// apiBaseURL is how people reach the API: a wildcard listen address is
// shown as 127.0.0.1.
func apiBaseURL(ln net.Listener) string {
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}
