package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"
)

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether Postgres and Temporal both answer, so a load
// balancer only sends traffic to an API that can serve it. Anyone may ask,
// so the answer says only ok or unavailable; the cause (which names hosts
// and ports) goes to the log.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	status, body := s.ready.Check(ctx,
		ReadyCheck{"postgres", s.store.Ping},
		ReadyCheck{"temporal", func(ctx context.Context) error {
			_, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}})
	return c.JSON(status, body)
}

// ReadyCheck is one dependency a readiness probe asks: its name in the
// answer, and a check that fails when it cannot be used.
type ReadyCheck struct {
	Name  string
	Check func(context.Context) error
}

// Readiness answers readiness probes (the API's /readyz and the worker's)
// without saying why a dependency failed, and logs the cause instead: when
// a dependency becomes unavailable, at most once per RepeatEvery while it
// stays so, and when it is back. A probe every few seconds so logs a
// failure once a minute, not every few seconds.
type Readiness struct {
	log *slog.Logger
	// RepeatEvery is how often a dependency still unavailable is logged
	// again; 0 means DefaultReadinessRepeat.
	RepeatEvery time.Duration
	now         func() time.Time

	mu   sync.Mutex
	down map[string]*outage
}

// DefaultReadinessRepeat is Readiness.RepeatEvery when it is 0.
const DefaultReadinessRepeat = time.Minute

type outage struct {
	since, logged time.Time
}

// NewReadiness returns a Readiness logging to log (slog.Default() if nil).
func NewReadiness(log *slog.Logger) *Readiness {
	if log == nil {
		log = slog.Default()
	}
	return &Readiness{log: log, now: time.Now, down: map[string]*outage{}}
}

// Check runs every check and answers 200 {"status":"ready", name: "ok", ...}
// or 503 {"status":"unavailable", name: "ok" or "unavailable", ...}.
func (r *Readiness) Check(ctx context.Context, checks ...ReadyCheck) (int, map[string]string) {
	status, body := http.StatusOK, map[string]string{"status": "ready"}
	for _, c := range checks {
		err := c.Check(ctx)
		r.observe(ctx, c.Name, err)
		if err != nil {
			status, body["status"], body[c.Name] = http.StatusServiceUnavailable, "unavailable", "unavailable"
		} else {
			body[c.Name] = "ok"
		}
	}
	return status, body
}

// observe logs a dependency's change of state, and an outage again every
// RepeatEvery.
func (r *Readiness) observe(ctx context.Context, name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	o := r.down[name]
	repeat := r.RepeatEvery
	if repeat <= 0 {
		repeat = DefaultReadinessRepeat
	}
	switch {
	case err == nil && o != nil:
		delete(r.down, name)
		r.log.InfoContext(ctx, "readiness: dependency available again", "dependency", name, "down_for", now.Sub(o.since).Round(time.Second))
	case err != nil && o == nil:
		r.down[name] = &outage{since: now, logged: now}
		r.log.WarnContext(ctx, "readiness: dependency unavailable", "dependency", name, "err", err)
	case err != nil && now.Sub(o.logged) >= repeat:
		o.logged = now
		r.log.WarnContext(ctx, "readiness: dependency still unavailable", "dependency", name, "down_for", now.Sub(o.since).Round(time.Second), "err", err)
	}
}
