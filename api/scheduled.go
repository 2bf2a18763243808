package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
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
	// noun and path name the subjects in answers ("funnel target",
	// "/v1/funnel/targets"); id is a subject's id.
	noun, path string
	id         func(*T) string
	// decode reads and checks a subject from the request's body; pathID is
	// the id of the subject replaced ("" for a new one), which the body may
	// leave out but not change (see samePathID).
	decode  func(c echo.Context, pathID string) (*T, error)
	create  func(ctx context.Context, t *T, by string, then func(*T) error) (*T, error)
	replace func(ctx context.Context, t *T, then func(*T) error) (*T, error)
}

// samePathID makes the path's id the body's: a body replacing a subject may
// leave its id out, not change it.
func samePathID(bodyID *string, pathID, noun string) error {
	if pathID == "" {
		return nil
	}
	if *bodyID != "" && *bodyID != pathID {
		return apiError(http.StatusBadRequest, codeBadRequest, "the body's id %q differs from the path's %q; a %s's id cannot change", *bodyID, pathID, noun)
	}
	*bodyID = pathID
	return nil
}

// createHandler stores a new subject and its schedule; an id already taken
// is a 409.
func (h scheduled[T, V]) createHandler(c echo.Context) error {
	t, err := h.decode(c, "")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	saved, err := h.create(ctx, t, currentUser(c).ID, h.saveSchedule(ctx))
	if errors.Is(err, store.ErrDuplicate) {
		id := h.id(t)
		return apiError(http.StatusConflict, string(deal.CodeConflict), "a %s with id %q already exists; PUT %s/%s changes it", h.noun, id, h.path, id)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, h.path+"/"+h.id(saved))
	return c.JSON(http.StatusCreated, h.view(saved))
}

// replaceHandler replaces a subject's settings and its schedule; its paused
// state stays (pause and resume have their own routes).
func (h scheduled[T, V]) replaceHandler(c echo.Context) error {
	id := c.Param("id")
	t, err := h.decode(c, id)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	saved, err := h.replace(ctx, t, h.saveSchedule(ctx))
	if err != nil {
		return h.notFound(err, id)
	}
	return c.JSON(http.StatusOK, h.view(saved))
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
