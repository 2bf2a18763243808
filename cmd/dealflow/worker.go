package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"dealflow/activities"
	"dealflow/activities/store"
	"dealflow/api"
	"dealflow/workflows"
)

func runWorker(ctx context.Context, args []string, env lookupEnvFunc, _, stderr io.Writer) error {
	b := newFlagSet("worker", "[flags]",
		"Runs the deal workflows and their activities from the task queue, and delivers\n"+
			"queued notifications (the outbox relay). Run as many as you like on one task queue.\n"+
			"Serves /metrics, /healthz and /readyz on -worker-listen.",
		stderr, "database-url", "temporal-address", "namespace", "task-queue", "notify", "link-base", "worker-listen",
		"shutdown-timeout", "log-level", "log-format")
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	if err := cfg.requireDatabaseURL(); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	// Bind the metrics port first: a busy port is reported before anything
	// connects anywhere.
	var ln net.Listener
	if cfg.WorkerListen != "" {
		if ln, err = listen(cfg.WorkerListen, "worker metrics", "DEALFLOW_WORKER_LISTEN"); err != nil {
			return err
		}
		defer ln.Close()
	}
	m := newMetrics(log)
	defer m.Close()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	tc, err := dialTemporal(ctx, cfg, log, m)
	if err != nil {
		return err
	}
	defer tc.Close()

	// The worker and the relay stop when ctx ends (or either fails); the
	// metrics server stays up until they have stopped, so that the drain
	// can be watched, with /readyz answering 503 from the start of it.
	g, gctx := errgroup.WithContext(ctx)
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	if ln != nil {
		srv := newHTTPServer(workerHTTPHandler(m, st, tc, gctx.Done(), log), log)
		serveHTTP(httpCtx, g, srv, ln, "worker metrics", 0, cfg.ShutdownTimeout, log)
	}
	wg, wctx := errgroup.WithContext(gctx)
	serveWorker(wctx, wg, cfg, tc, st, m, log)
	g.Go(func() error {
		defer stopHTTP()
		return wg.Wait()
	})
	return g.Wait()
}

// serveWorker runs the Temporal worker and the notification relay until
// ctx ends. Stopping the worker waits up to cfg.ShutdownTimeout for the
// activities in flight; workflow tasks are short and simply finish. The
// returned channel is closed once the worker polls.
func serveWorker(ctx context.Context, g *errgroup.Group, cfg *Config, tc client.Client, st *store.Store, m *metrics, log *slog.Logger) <-chan struct{} {
	started := make(chan struct{})
	g.Go(func() error {
		fatal := make(chan error, 1)
		w := worker.New(tc, cfg.TaskQueue, worker.Options{
			WorkerStopTimeout: cfg.ShutdownTimeout,
			OnFatalError: func(err error) {
				select {
				case fatal <- err:
				default:
				}
			},
		})
		workflows.Register(w,
			&activities.Activities{Recorder: st, Logger: log.With("component", "activities"), Parked: m.recordings(st, log)},
			&activities.Reports{Store: st, Logger: log.With("component", "reports")})
		if err := w.Start(); err != nil {
			return fmt.Errorf("starting the worker on task queue %q of namespace %q: %w", cfg.TaskQueue, cfg.Namespace, err)
		}
		log.Info("worker started", "task_queue", cfg.TaskQueue, "namespace", cfg.Namespace)
		close(started)
		select {
		case <-ctx.Done():
		case err := <-fatal:
			w.Stop()
			return fmt.Errorf("worker stopped: %w", err)
		}
		log.Info("stopping worker", "timeout", cfg.ShutdownTimeout)
		start := time.Now()
		w.Stop()
		log.Info("worker stopped", "took", time.Since(start).Round(time.Millisecond))
		return nil
	})
	g.Go(func() error {
		return runRelay(ctx, cfg, st, log)
	})
	return started
}

// workerHTTPHandler serves the worker's metrics and health checks; once
// stopping is closed, /readyz answers 503. Like the API's, /readyz says
// only ok or unavailable per dependency; the cause goes to log.
func workerHTTPHandler(m *metrics, st *store.Store, tc client.Client, stopping <-chan struct{}, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	ready := api.NewReadiness(log)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, body := http.StatusServiceUnavailable, map[string]string{"status": "shutting down"}
		select {
		case <-stopping:
		default:
			status, body = ready.Check(ctx,
				api.ReadyCheck{Name: "postgres", Check: st.Ping},
				api.ReadyCheck{Name: "temporal", Check: func(ctx context.Context) error {
					_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
					return err
				}})
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	})
	return mux
}
