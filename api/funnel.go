package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows"
	"dealflow/workflows/plan"
)

// funnelRoutes serves the probability paradigm: funnel targets with their
// schedules, the activities and leads that feed them, and their reports.
// Targets and the data that measures reps are set by PMOs (who run sales
// operations) and directors (who own the numbers), never by the reps being
// measured; admins pass every check. Everyone reads, as with deals.
func (s *Server) funnelRoutes(v1 *echo.Group) {
	manage := requireRole(store.RolePMO, store.RoleDirector)

	v1.GET("/funnel/targets", s.listFunnelTargets)
	v1.POST("/funnel/targets", s.createFunnelTarget, manage)
	v1.GET("/funnel/targets/:id", s.getFunnelTarget)
	v1.PUT("/funnel/targets/:id", s.updateFunnelTarget, manage)
	v1.DELETE("/funnel/targets/:id", s.deleteFunnelTarget, manage)
	v1.POST("/funnel/targets/:id/pause", s.pauseFunnelTarget(true), manage)
	v1.POST("/funnel/targets/:id/resume", s.pauseFunnelTarget(false), manage)
	v1.POST("/funnel/targets/:id/run", s.runFunnelReport, manage)
	v1.POST("/funnel/activities", s.ingestFunnelActivities, manage)
	v1.POST("/funnel/leads", s.ingestFunnelLeads, manage)
	v1.GET("/funnel/reports", s.listFunnelReports)
	v1.GET("/funnel/reports/:id", s.getFunnelReport)
}

// funnelTargetView is a target as the API shows it: with what it needs
// (plan), its schedule's ID, where to see it in the Temporal UI and, when
// Temporal answers, its next report times.
type funnelTargetView struct {
	*store.FunnelTarget
	Plan        store.FunnelPlan `json:"plan"`
	ScheduleID  string           `json:"schedule_id"`
	TemporalURL string           `json:"temporal_url"`
	NextRuns    []time.Time      `json:"next_runs,omitempty"`
}

func (s *Server) funnelTargetView(t *store.FunnelTarget) funnelTargetView {
	id := workflows.FunnelScheduleID(t.ID)
	return funnelTargetView{FunnelTarget: t, Plan: t.Plan(), ScheduleID: id,
		TemporalURL: strings.TrimRight(s.cfg.TemporalUIURL, "/") + "/namespaces/" + s.cfg.Namespace + "/schedules/" + url.PathEscape(id)}
}

// newFunnelTarget validates a target's body and checks that its manager
// and reps are active users: an unknown one is a 422 naming the field.
func (s *Server) newFunnelTarget(c echo.Context, in store.FunnelTargetInput) (*store.FunnelTarget, error) {
	t, err := store.NewFunnelTarget(in)
	if err != nil {
		return nil, err
	}
	missing, err := s.store.MissingUsers(c.Request().Context(), append([]string{t.Manager}, t.Reps...))
	if err != nil {
		return nil, err
	}
	var ps []plan.Problem
	for _, id := range missing {
		if id == t.Manager {
			ps = append(ps, plan.Problem{Field: "manager", Message: fmt.Sprintf("%q is not an active user; create it first (POST /v1/users)", id)})
		}
		for i, rep := range t.Reps {
			if rep == id {
				ps = append(ps, plan.Problem{Field: fmt.Sprintf("reps[%d]", i), Message: fmt.Sprintf("unknown rep %q: not an active user; create it first (POST /v1/users)", id)})
			}
		}
	}
	if len(ps) > 0 {
		return nil, &plan.ValidationError{Problems: ps}
	}
	return t, nil
}

func (s *Server) createFunnelTarget(c echo.Context) error {
	var in store.FunnelTargetInput
	if err := s.bind(c, &in); err != nil {
		return err
	}
	t, err := s.newFunnelTarget(c, in)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err = s.store.CreateFunnelTarget(ctx, t, currentUser(c).ID, s.saveFunnelSchedule(ctx))
	if errors.Is(err, store.ErrDuplicate) {
		return apiError(http.StatusConflict, string(plan.CodeConflict), "a funnel target with id %q already exists; PUT /v1/funnel/targets/%s changes it", in.ID, in.ID)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/funnel/targets/"+t.ID)
	return c.JSON(http.StatusCreated, s.funnelTargetView(t))
}

// updateFunnelTarget replaces a target's settings and its schedule; its
// paused state stays (pause and resume have their own routes).
func (s *Server) updateFunnelTarget(c echo.Context) error {
	var in store.FunnelTargetInput
	if err := s.bind(c, &in); err != nil {
		return err
	}
	id := c.Param("id")
	if in.ID != "" && in.ID != id {
		return apiError(http.StatusBadRequest, codeBadRequest, "the body's id %q differs from the path's %q; a target's id cannot change", in.ID, id)
	}
	in.ID = id
	t, err := s.newFunnelTarget(c, in)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err = s.store.UpdateFunnelTarget(ctx, t, s.saveFunnelSchedule(ctx))
	if err != nil {
		return funnelTargetError(err, id)
	}
	return c.JSON(http.StatusOK, s.funnelTargetView(t))
}

// pauseFunnelTarget pauses or resumes a target's scheduled report.
func (s *Server) pauseFunnelTarget(paused bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.bindOptional(c, &struct{}{}); err != nil {
			return err
		}
		ctx := c.Request().Context()
		t, err := s.store.SetFunnelTargetPaused(ctx, c.Param("id"), paused, s.saveFunnelSchedule(ctx))
		if err != nil {
			return funnelTargetError(err, c.Param("id"))
		}
		return c.JSON(http.StatusOK, s.funnelTargetView(t))
	}
}

// deleteFunnelTarget removes the target, its reports and its schedule.
func (s *Server) deleteFunnelTarget(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	err := s.store.DeleteFunnelTarget(ctx, id, func() error { return s.deleteSchedule(ctx, workflows.FunnelScheduleID(id)) })
	if err != nil {
		return funnelTargetError(err, id)
	}
	return c.NoContent(http.StatusNoContent)
}

// saveFunnelSchedule brings the target's Temporal Schedule in line with
// the target. The store calls it inside the target's transaction, so a
// schedule that cannot be saved leaves the target as it was.
func (s *Server) saveFunnelSchedule(ctx context.Context) func(*store.FunnelTarget) error {
	return func(t *store.FunnelTarget) error { return s.saveSchedule(ctx, funnelSchedule(t)) }
}

func (s *Server) getFunnelTarget(c echo.Context) error {
	ctx := c.Request().Context()
	t, err := s.store.GetFunnelTarget(ctx, c.Param("id"))
	if err != nil {
		return funnelTargetError(err, c.Param("id"))
	}
	v := s.funnelTargetView(t)
	v.NextRuns = s.nextRuns(ctx, v.ScheduleID)
	return c.JSON(http.StatusOK, v)
}

func (s *Server) listFunnelTargets(c echo.Context) error {
	ts, err := s.store.ListFunnelTargets(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]funnelTargetView, len(ts))
	for i := range ts {
		out[i] = s.funnelTargetView(&ts[i])
	}
	return c.JSON(http.StatusOK, map[string]any{"targets": out})
}

// funnelTargetError says which target was not found.
func funnelTargetError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apiError(http.StatusNotFound, string(plan.CodeNotFound), "no funnel target %q; GET /v1/funnel/targets lists them", id)
	}
	return err
}
