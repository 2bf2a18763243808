// Package api is dealflow's HTTP API: PMOs start and steer deals, owners
// submit milestones, approvers review them, everyone reads. Deal actions are
// Temporal updates on the deal's workflow; lists, audit trails and inboxes
// come from the Postgres read model.
package api

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"dealflow/activities/store"
	"dealflow/workflows"
)

// Config holds the API's settings.
type Config struct {
	// TaskQueue is where new deal workflows are started.
	TaskQueue string
	// Namespace and TemporalUIURL build links to each deal in the Temporal UI.
	Namespace     string
	TemporalUIURL string
	// MaxBodyBytes bounds request bodies; 0 means 1 MiB. Imports (CSV or
	// JSON arrays of records) may be 32 times as large.
	MaxBodyBytes int64
	// MaxImportRows bounds the records of one import; 0 means
	// DefaultMaxImportRows (100,000), negative means no limit.
	MaxImportRows int
}

// Deps are the API's collaborators.
type Deps struct {
	Temporal client.Client
	Store    *store.Store
	Logger   *slog.Logger
	// Metrics registers the HTTP metrics; MetricsHandler serves /metrics
	// (the same registry, plus the Temporal SDK's metrics). Either may be nil.
	Metrics        prometheus.Registerer
	MetricsHandler http.Handler
	// Console, when set, adds routes outside /v1 to the same server (the
	// web console): it gets the Echo instance to register them on and the
	// API's own handler to call in process. openapi.yaml documents only the
	// API's routes.
	Console Mounter
}

// Mounter registers routes beside the API's on the same server; api is
// the whole API as an http.Handler.
type Mounter interface {
	Mount(e *echo.Echo, api http.Handler)
}

// Server holds the handlers' dependencies.
type Server struct {
	cfg      Config
	temporal client.Client
	store    *store.Store
	tokens   *tokenCache
	auth     tokenAuthenticator
	log      *slog.Logger
	ready    *Readiness
}

// New returns the API's HTTP handler with every route registered.
func New(cfg Config, deps Deps) http.Handler {
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = workflows.DefaultTaskQueue
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxImportRows == 0 {
		cfg.MaxImportRows = DefaultMaxImportRows
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, temporal: deps.Temporal, store: deps.Store, tokens: newTokenCache(), auth: deps.Store, log: deps.Logger, ready: NewReadiness(deps.Logger)}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s.routes(e, deps)
	return e
}
