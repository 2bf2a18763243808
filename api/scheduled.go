package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// scheduleView is what the API shows of a subject's report schedule: its
// ID, where to see it in the Temporal UI and, when Temporal answers, its
// next report times.
type scheduleView struct {
	ScheduleID  string      `json:"schedule_id"`
	TemporalURL string      `json:"temporal_url"`
	NextRuns    []time.Time `json:"next_runs,omitempty"`
}

func (s *Server) scheduleView(id string) scheduleView {
	return scheduleView{ScheduleID: id,
		TemporalURL: strings.TrimRight(s.cfg.TemporalUIURL, "/") + "/namespaces/" + url.PathEscape(s.cfg.Namespace) + "/schedules/" + url.PathEscape(id)}
}

// scheduled describes a stored subject with a report schedule — a funnel
// target (T = funnel.Target) or a coverage program (coverage.Program) —
// for the handlers both share. V is the subject as the API shows it.
type scheduled[T, V any] struct {
	s         *Server
	listKey   string // the list's JSON key
	notFound  func(err error, id string) error
	get       func(ctx context.Context, id string) (*T, error)
	list      func(ctx context.Context) ([]T, error)
	setPaused func(ctx context.Context, id string, paused bool, then func(*T) error) (*T, error)
	remove    func(ctx context.Context, id string, then func() error) error
	// schedule is the subject's Temporal Schedule; scheduleID names it
	// from the subject's ID.
	schedule   func(*T) reportSchedule
	scheduleID func(id string) string
	view       func(*T) V
	// scheduleOf returns the schedule part of a view.
	scheduleOf func(*V) *scheduleView
}

// saveSchedule brings the subject's Temporal Schedule in line with the
// subject. The store calls it inside the subject's transaction, so a
// schedule that cannot be saved leaves the subject as it was.
func (h scheduled[T, V]) saveSchedule(ctx context.Context) func(*T) error {
	return func(t *T) error { return h.s.saveSchedule(ctx, h.schedule(t)) }
}

func (h scheduled[T, V]) getHandler(c echo.Context) error {
	ctx := c.Request().Context()
	t, err := h.get(ctx, c.Param("id"))
	if err != nil {
		return h.notFound(err, c.Param("id"))
	}
	v := h.view(t)
	sv := h.scheduleOf(&v)
	sv.NextRuns = h.s.nextRuns(ctx, sv.ScheduleID)
	return c.JSON(http.StatusOK, v)
}

func (h scheduled[T, V]) listHandler(c echo.Context) error {
	ts, err := h.list(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]V, len(ts))
	for i := range ts {
		out[i] = h.view(&ts[i])
	}
	return c.JSON(http.StatusOK, map[string]any{h.listKey: out})
}

// pauseHandler pauses or resumes the subject's scheduled report.
func (h scheduled[T, V]) pauseHandler(paused bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := h.s.bindOptional(c, &struct{}{}); err != nil {
			return err
		}
		ctx := c.Request().Context()
		t, err := h.setPaused(ctx, c.Param("id"), paused, h.saveSchedule(ctx))
		if err != nil {
			return h.notFound(err, c.Param("id"))
		}
		return c.JSON(http.StatusOK, h.view(t))
	}
}

// deleteHandler removes the subject, its reports and its schedule.
func (h scheduled[T, V]) deleteHandler(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if err := h.remove(ctx, id, func() error { return h.s.deleteSchedule(ctx, h.scheduleID(id)) }); err != nil {
		return h.notFound(err, id)
	}
	return c.NoContent(http.StatusNoContent)
}
