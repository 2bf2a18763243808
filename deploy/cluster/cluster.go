package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"dealflow/deploy/localstack"
)

// Options configures Start.
type Options struct {
	// Binaries; the zero value means FindBinaries().
	Binaries Binaries
	// Dir receives the configuration (config/) and each service's log
	// (<service>.log). It is created if missing.
	Dir string
	// DB is where persistence and visibility live; Port is required.
	DB DB
	// SkipSchema leaves out SetupSchema (the databases exist already).
	SkipSchema bool
	// Namespace is registered with Retention (default 24h); "" means
	// "default".
	Namespace string
	Retention time.Duration
	// SearchAttributes are registered on Namespace, name → type
	// (Keyword, Text, Int, Double, Bool, Datetime, KeywordList).
	SearchAttributes map[string]string
	// NumHistoryShards; 0 means 4.
	NumHistoryShards int
	// MaxConns per store and service process; 0 means 10.
	MaxConns int
	// LogLevel of the services; "" means "info".
	LogLevel string
	// Logger gets progress messages; nil discards them.
	Logger *slog.Logger
}

// Timings are how long each part of Start took.
type Timings struct {
	Schema    time.Duration // SetupSchema
	Services  time.Duration // from the first process started to every service serving
	Namespace time.Duration // namespace and search attributes usable
}

// Cluster is a running Temporal cluster of one process per service.
type Cluster struct {
	opts      Options
	dir       string
	configDir string
	address   string
	version   string
	schema    [2]string
	services  map[string]*Service
	timings   Timings
	log       *slog.Logger
}

// Service is one of the cluster's server processes.
type Service struct {
	name  string
	c     *Cluster
	ports Ports
	proc  *proc
	// starts counts the processes started for this service.
	starts int
}

// startTimeout bounds each wait of Start and Restart.
const startTimeout = 2 * time.Minute

var quietSDKLogger = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))

// Start sets up the schemas, starts the four services, registers the
// namespace and the search attributes, and returns once a workflow carrying
// those attributes can be started and found through visibility. On error
// everything it started is stopped.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.DB.Port == 0 {
		return nil, errors.New("cluster: Options.DB.Port is required")
	}
	if opts.Dir == "" {
		return nil, errors.New("cluster: Options.Dir is required")
	}
	opts.DB = opts.DB.withDefaults()
	if opts.Binaries == (Binaries{}) {
		if opts.Binaries, err = FindBinaries(); err != nil {
			return nil, err
		}
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Retention == 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.NumHistoryShards == 0 {
		opts.NumHistoryShards = 4
	}
	if opts.MaxConns == 0 {
		opts.MaxConns = 10
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c = &Cluster{opts: opts, dir: dir, services: map[string]*Service{}, log: log}
	if c.version, err = opts.Binaries.ServerVersion(ctx); err != nil {
		return nil, err
	}

	if !opts.SkipSchema {
		t0 := time.Now()
		if c.schema[0], c.schema[1], err = SetupSchema(ctx, opts.Binaries, opts.DB); err != nil {
			return nil, err
		}
		c.timings.Schema = time.Since(t0)
		log.Info("temporal schemas ready", "persistence", c.schema[0], "visibility", c.schema[1], "took", c.timings.Schema)
	}

	cfg := Config{
		PostgresHost: opts.DB.Host, PostgresPort: opts.DB.Port, PostgresUser: opts.DB.User,
		PersistenceDB: opts.DB.Persistence, VisibilityDB: opts.DB.Visibility,
		MaxConns: opts.MaxConns, NumHistoryShards: opts.NumHistoryShards,
		Ports: map[string]Ports{}, LogLevel: opts.LogLevel,
	}
	for _, name := range Services {
		var p Ports
		if p.GRPC, err = localstack.FreePort(); err != nil {
			return nil, err
		}
		if p.Membership, err = freeLowPort(); err != nil {
			return nil, err
		}
		cfg.Ports[name] = p
		c.services[name] = &Service{name: name, c: c, ports: p}
	}
	if c.configDir, err = writeConfig(dir, cfg); err != nil {
		return nil, err
	}
	c.address = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Ports[Frontend].GRPC))

	started := c
	defer func() {
		if err != nil {
			started.Stop()
		}
	}()
	// History first, alone: the first process to start on an empty store
	// writes the cluster's metadata record, and a second one racing it
	// fails to start. The others then start together.
	t0 := time.Now()
	for i, name := range Services {
		if err := c.services[name].start(); err != nil {
			return nil, err
		}
		if i == 0 {
			if err := c.services[name].waitServing(ctx); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range Services[1:] {
		if err := c.services[name].waitServing(ctx); err != nil {
			return nil, err
		}
	}
	c.timings.Services = time.Since(t0)
	log.Info("temporal services serving", "address", c.address, "took", c.timings.Services)

	t0 = time.Now()
	if err := c.setupNamespace(ctx); err != nil {
		return nil, err
	}
	c.timings.Namespace = time.Since(t0)
	log.Info("temporal namespace ready", "namespace", opts.Namespace, "took", c.timings.Namespace)
	return c, nil
}

// Address is the frontend's host:port.
func (c *Cluster) Address() string { return c.address }

// Namespace is the namespace Start registered.
func (c *Cluster) Namespace() string { return c.opts.Namespace }

// Version is the server's version ("1.29.1").
func (c *Cluster) Version() string { return c.version }

// SchemaVersions are the persistence and visibility schema versions.
func (c *Cluster) SchemaVersions() (persistence, visibility string) { return c.schema[0], c.schema[1] }

// Timings says how long Start's parts took.
func (c *Cluster) Timings() Timings { return c.timings }

// Service returns the named service (Frontend, History, Matching, Worker).
func (c *Cluster) Service(name string) *Service { return c.services[name] }

// Stop stops the services, the frontend first and history last, each with
// SIGTERM and a SIGKILL after 20 s. Stop may be called more than once.
func (c *Cluster) Stop() {
	for _, name := range []string{Worker, Frontend, Matching, History} {
		if s := c.services[name]; s != nil && s.proc != nil {
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			s.proc.stop(ctx)
			cancel()
		}
	}
}

// Exited lists the services whose process is not running, each with its
// exit status and the end of its log.
func (c *Cluster) Exited() error {
	var errs []error
	for _, name := range Services {
		if s := c.services[name]; s.proc != nil && s.proc.exited() {
			errs = append(errs, fmt.Errorf("cluster: the %s service (pid %d) exited: %v; end of %s:\n%s",
				name, s.proc.pid(), s.proc.err, s.proc.logPath, fileTail(s.proc.logPath, 3000)))
		}
	}
	return errors.Join(errs...)
}

// LogTails returns the end of every service's log, for a failed test.
func (c *Cluster) LogTails(n int64) string {
	var b strings.Builder
	for _, name := range Services {
		s := c.services[name]
		if s.proc == nil {
			continue
		}
		fmt.Fprintf(&b, "--- end of %s:\n%s\n", s.proc.logPath, fileTail(s.proc.logPath, n))
	}
	return b.String()
}

// Name is the service's name.
func (s *Service) Name() string { return s.name }

// PID is the current process's id.
func (s *Service) PID() int { return s.proc.pid() }

// LogPath is the service's log file (every process of it appends there).
func (s *Service) LogPath() string { return s.proc.logPath }

func (s *Service) start() error {
	c := s.c
	p, err := startProc(s.name, c.opts.Binaries.Server, c.dir, filepath.Join(c.dir, s.name+".log"),
		"--root", c.dir, "--config", "config", "--env", "development", "--allow-no-auth",
		"start", "--service", s.name)
	if err != nil {
		return err
	}
	s.proc = p
	s.starts++
	c.log.Info("temporal service started", "service", s.name, "pid", p.pid(), "grpc", s.ports.GRPC)
	return nil
}

// Restart ends the service's process — kill -9 when kill is set, else a
// graceful SIGTERM — starts a new one on the same ports and returns once
// it serves again, with how long the service was down.
func (s *Service) Restart(ctx context.Context, kill bool) (time.Duration, error) {
	t0 := time.Now()
	if kill {
		s.proc.kill()
	} else {
		stopCtx, cancel := context.WithTimeout(ctx, stopTimeout)
		s.proc.stop(stopCtx)
		cancel()
	}
	if err := s.start(); err != nil {
		return 0, err
	}
	if err := s.waitServing(ctx); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// grpcHealthName is the name each service reports its health under.
var grpcHealthName = map[string]string{
	Frontend: "temporal.api.workflowservice.v1.WorkflowService",
	History:  "temporal.api.workflowservice.v1.HistoryService",
	Matching: "temporal.api.workflowservice.v1.MatchingService",
}

// waitServing waits until the service's gRPC health check says SERVING
// (history does once it owns its shards). The worker service has no health
// check; it is waited for in setupNamespace, by its pollers.
func (s *Service) waitServing(ctx context.Context) error {
	name, ok := grpcHealthName[s.name]
	if !ok {
		return s.waitAlive(ctx, 2*time.Second)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	conn, err := grpc.NewClient(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.ports.GRPC)),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	var last error
	for {
		if s.proc.exited() {
			return fmt.Errorf("cluster: the %s service exited while starting (%v); end of %s:\n%s",
				s.name, s.proc.err, s.proc.logPath, fileTail(s.proc.logPath, 4000))
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		r, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: name})
		ccancel()
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("status %v", r.GetStatus())
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: the %s service did not serve within %s (%v); end of %s:\n%s",
				s.name, startTimeout, last, s.proc.logPath, fileTail(s.proc.logPath, 4000))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitAlive fails if the process exits within d.
func (s *Service) waitAlive(ctx context.Context, d time.Duration) error {
	select {
	case <-s.proc.done:
		return fmt.Errorf("cluster: the %s service exited while starting (%v); end of %s:\n%s",
			s.name, s.proc.err, s.proc.logPath, fileTail(s.proc.logPath, 4000))
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dial connects an SDK client to the cluster's namespace.
func (c *Cluster) Dial(ctx context.Context) (client.Client, error) {
	return client.DialContext(ctx, client.Options{HostPort: c.address, Namespace: c.opts.Namespace, Logger: quietSDKLogger})
}

// setupNamespace registers the namespace and the search attributes, then
// waits until the worker service polls the namespace's system task queue
// and a workflow carrying every search attribute can be started.
func (c *Cluster) setupNamespace(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: c.address, Logger: quietSDKLogger})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer nc.Close()
	ns := c.opts.Namespace
	err = retry(ctx, "registering namespace "+ns, func() error {
		err := nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        ns,
			Description:                      "dealflow",
			WorkflowExecutionRetentionPeriod: durationpb.New(c.opts.Retention),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	// The frontend learns of a new namespace at its next namespace-cache
	// refresh (every 2 s by default).
	if err := retry(ctx, "describing namespace "+ns, func() error {
		_, err := nc.Describe(ctx, ns)
		return err
	}); err != nil {
		return err
	}
	if err := retry(ctx, "registering search attributes", func() error {
		return localstack.EnsureSearchAttributes(ctx, c.address, ns, c.opts.SearchAttributes)
	}); err != nil {
		return err
	}

	tc, err := c.Dial(ctx)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer tc.Close()
	// The worker service runs the namespace's system workers (schedules,
	// batch operations): it is up once it polls their task queue.
	if err := retry(ctx, "waiting for the worker service to poll "+ns, func() error {
		r, err := tc.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace:     ns,
			TaskQueue:     &taskqueuepb.TaskQueue{Name: "temporal-sys-per-ns-tq", Kind: enums.TASK_QUEUE_KIND_NORMAL},
			TaskQueueType: enums.TASK_QUEUE_TYPE_WORKFLOW,
		})
		if err != nil {
			return err
		}
		if len(r.GetPollers()) == 0 {
			return errors.New("no pollers yet")
		}
		return nil
	}); err != nil {
		return err
	}
	return retry(ctx, "starting a probe workflow with every search attribute", func() error {
		return probe(ctx, tc, c.opts.SearchAttributes)
	})
}

// retry calls fn every 250 ms until it succeeds or ctx ends, and then
// reports fn's last error.
func retry(ctx context.Context, what string, fn func() error) error {
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s: %w", what, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
