package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
)

// TemporalOptions configures StartTemporal.
type TemporalOptions struct {
	// BinPath is the temporal CLI; "" means FindTemporalCLI().
	BinPath string
	// DBFile is the SQLite file that keeps workflows across restarts;
	// "" keeps everything in memory (tests).
	DBFile string
	// Port is the gRPC frontend port on 127.0.0.1; 0 picks a free one.
	Port int
	// UIPort is the web UI port; 0 picks a free one, < 0 runs headless.
	UIPort int
	// Namespace is created at start (besides "default"); "" means "default".
	Namespace string
	// SearchAttributes to register, name → type (Keyword, Text, Int, Double,
	// Bool, Datetime, KeywordList), e.g. {"DealId": "Keyword"}.
	SearchAttributes map[string]string
	// DynamicConfig sets server dynamic-config values, e.g.
	// {"limit.historyCount.suggestContinueAsNew": 40} to make a test's
	// workflows continue as new early.
	DynamicConfig map[string]any
	// LogPath, if set, receives the server's output (warn level and up).
	LogPath string
	// Logger gets progress messages; nil discards them.
	Logger *slog.Logger
}

// Temporal is a `temporal server start-dev` process: a complete Temporal
// server with SQLite persistence in one binary, listening on 127.0.0.1.
//
// The dev server is what we run locally and in tests because it needs no
// Docker, Cassandra or separate database, starts in about two seconds, and is
// the same server code the SDK talks to in production.
type Temporal struct {
	address   string
	uiURL     string
	namespace string
	proc      *child
	log       *slog.Logger
}

const temporalStartTimeout = 60 * time.Second

// StartTemporal starts the dev server and returns once its frontend answers
// health checks and the search attributes are registered.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bin := opts.BinPath
	if bin == "" {
		var err error
		if bin, err = FindTemporalCLI(); err != nil {
			return nil, err
		}
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.DBFile != "" {
		abs, err := filepath.Abs(opts.DBFile)
		if err != nil {
			return nil, err
		}
		opts.DBFile = abs
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			return nil, fmt.Errorf("localstack: %w", err)
		}
	}

	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		t, err := startTemporalOnce(ctx, bin, opts, log)
		if err == nil {
			return t, nil
		}
		lastErr = err
		pickedPorts := opts.Port == 0 || opts.UIPort == 0
		if !pickedPorts || !errors.Is(err, errPortInUse) {
			break
		}
		log.Info("temporal port taken, retrying", "err", err)
	}
	return nil, lastErr
}

func startTemporalOnce(ctx context.Context, bin string, opts TemporalOptions, log *slog.Logger) (*Temporal, error) {
	port, err := portOrFree(opts.Port)
	if err != nil {
		return nil, err
	}
	t := &Temporal{
		address:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		namespace: opts.Namespace,
		log:       log,
	}
	args := []string{
		"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--log-level", "warn",
	}
	if opts.UIPort < 0 {
		args = append(args, "--headless")
	} else {
		uiPort, err := portOrFree(opts.UIPort)
		if err != nil {
			return nil, err
		}
		args = append(args, "--ui-port", strconv.Itoa(uiPort))
		t.uiURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(uiPort))
	}
	if opts.DBFile != "" {
		args = append(args, "--db-filename", opts.DBFile)
	}
	if opts.Namespace != "default" {
		args = append(args, "--namespace", opts.Namespace)
	}
	for _, name := range sortedKeys(opts.SearchAttributes) {
		args = append(args, "--search-attribute", name+"="+opts.SearchAttributes[name])
	}
	for _, key := range sortedKeys(opts.DynamicConfig) {
		v, err := json.Marshal(opts.DynamicConfig[key])
		if err != nil {
			return nil, fmt.Errorf("localstack: dynamic config %s: %w", key, err)
		}
		args = append(args, "--dynamic-config-value", key+"="+string(v))
	}

	out := newTailBuffer(16 << 10)
	var sink io.Writer = out
	var closers []io.Closer
	if opts.LogPath != "" {
		f, err := os.OpenFile(opts.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("localstack: %w", err)
		}
		sink = io.MultiWriter(out, f)
		closers = append(closers, f)
	}
	cwd, _ := os.Getwd()
	proc, err := startChild(childSpec{
		name:      "temporal",
		path:      bin,
		args:      args,
		dir:       cwd,
		pdeathSig: syscall.SIGTERM,
		stdout:    sink,
		// Output goes through a pipe that exec copies; the file must stay
		// open as long as the server runs.
		closeOnExit: closers,
	})
	if err != nil {
		return nil, err
	}
	t.proc = proc

	if err := t.waitReady(ctx, out); err != nil {
		_ = proc.stop(context.Background(), syscall.SIGKILL)
		return nil, err
	}
	if err := EnsureSearchAttributes(ctx, t.address, t.namespace, opts.SearchAttributes); err != nil {
		_ = t.Stop()
		return nil, err
	}
	log.Info("temporal ready", "address", t.address, "ui", t.uiURL, "namespace", t.namespace, "pid", proc.pid())
	return t, nil
}

// waitReady polls the frontend until its health check passes.
func (t *Temporal) waitReady(ctx context.Context, out *tailBuffer) error {
	ctx, cancel := context.WithTimeout(ctx, temporalStartTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if t.proc.exited() {
			err := fmt.Errorf("localstack: temporal dev server exited during startup (%v); its output:\n%s",
				t.proc.err, indent(out.String()))
			if strings.Contains(out.String(), "address already in use") {
				err = fmt.Errorf("%w: %w", errPortInUse, err)
			}
			return err
		}
		if lastErr = checkHealth(ctx, t.address, t.namespace); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localstack: temporal dev server at %s not healthy in time (%v); its output:\n%s",
				t.address, lastErr, indent(out.String()))
		case <-tick.C:
		}
	}
}

func checkHealth(ctx context.Context, hostPort, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := dialTemporal(ctx, hostPort, namespace)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// dialTemporal connects a client that does not log (the SDK is chatty at
// info level and this is plumbing).
func dialTemporal(ctx context.Context, hostPort, namespace string) (client.Client, error) {
	return client.DialContext(ctx, client.Options{
		HostPort:  hostPort,
		Namespace: namespace,
		Logger:    quietSDKLogger,
	})
}

// Address is the frontend host:port for client.Options.HostPort.
func (t *Temporal) Address() string { return t.address }

// UIURL is the web UI's base URL, "" when headless.
func (t *Temporal) UIURL() string { return t.uiURL }

// Namespace is the namespace created at start.
func (t *Temporal) Namespace() string { return t.namespace }

// Stop interrupts the dev server (it flushes SQLite and exits) and waits,
// killing it after 15 s. Stop may be called more than once.
func (t *Temporal) Stop() error {
	if t == nil || t.proc == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := t.proc.stop(ctx, syscall.SIGINT)
	t.log.Info("temporal stopped", "address", t.address, "err", err)
	return err
}

func portOrFree(port int) (int, error) {
	if port > 0 {
		return port, nil
	}
	return FreePort()
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
