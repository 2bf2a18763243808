package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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

// serveHTTP serves on ln until ctx ends, then shuts down gracefully: it
// stops accepting, lets open requests finish for up to timeout, and then
// closes what is left. The returned channel is closed once it has.
func serveHTTP(ctx context.Context, g *errgroup.Group, srv *http.Server, ln net.Listener, name string, timeout time.Duration, log *slog.Logger) <-chan struct{} {
	stopped := make(chan struct{})
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
