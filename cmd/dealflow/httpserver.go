package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// listen binds addr now, so that a busy port is reported before anything
// else starts, naming the setting that moves it.
func listen(addr, what, envVar string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s: %s is already in use; set %s to another address", what, addr, envVar)
		}
		return nil, fmt.Errorf("%s: cannot listen on %s (%s): %w", what, addr, envVar, err)
	}
	return ln, nil
}

// newHTTPServer returns a server with timeouts that keep a slow or
// malicious client from holding connections forever. Writes are allowed
// longer than reads: a deal action waits for the workflow's update.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serveHTTP serves on ln until ctx ends, then shuts down gracefully. First
// it drains for drainDelay: it keeps serving, but /readyz answers 503 and
// connections are not kept alive, so that a load balancer checking /readyz
// stops sending requests here. Then it stops accepting (new connections
// are refused), lets open requests finish for up to timeout, and closes
// what is left. The returned channel is closed once it has stopped.
func serveHTTP(ctx context.Context, g *errgroup.Group, srv *http.Server, ln net.Listener, name string, drainDelay, timeout time.Duration, log *slog.Logger) <-chan struct{} {
	stopped := make(chan struct{})
	var draining atomic.Bool
	srv.Handler = drainingReadyz(srv.Handler, &draining)
	g.Go(func() error {
		log.Info(name+" listening", "addr", ln.Addr().String())
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	g.Go(func() error {
		defer close(stopped)
		<-ctx.Done()
		draining.Store(true)
		srv.SetKeepAlivesEnabled(false)
		if drainDelay > 0 {
			log.Info("draining "+name+": /readyz answers 503", "for", drainDelay)
			time.Sleep(drainDelay)
		}
		log.Info("stopping "+name, "timeout", timeout)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
			return fmt.Errorf("%s: graceful shutdown: %w", name, err)
		}
		log.Info(name + " stopped")
		return nil
	})
	return stopped
}

// drainingReadyz answers GET /readyz with 503 once draining is set, and
// passes every other request (and /readyz before that) to h.
func drainingReadyz(h http.Handler, draining *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() && r.URL.Path == "/readyz" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"shutting down"}`+"\n")
			return
		}
		h.ServeHTTP(w, r)
	})
}
