package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows"
	"dealflow/workflows/deal"
	"dealflow/workflows/funnel"
)

// funnelRoutes serves the probability paradigm: funnel targets with their
// schedules, the activities and leads that feed them, and their reports.
// Targets and the data that measures reps are set by PMOs (who run sales
// operations) and directors (who own the numbers), never by the reps being
// measured; admins pass every check. Everyone reads, as with deals.
func (s *Server) funnelRoutes(v1 *echo.Group) {
	manage := requireRole(store.RolePMO, store.RoleDirector)

	targets := s.funnelTargets()
	v1.GET("/funnel/targets", targets.listHandler)
	v1.POST("/funnel/targets", targets.createHandler, manage)
	v1.GET("/funnel/targets/:id", targets.getHandler)
	v1.PUT("/funnel/targets/:id", targets.replaceHandler, manage)
	v1.DELETE("/funnel/targets/:id", targets.deleteHandler, manage)
	v1.POST("/funnel/targets/:id/pause", targets.pauseHandler(true), manage)
	v1.POST("/funnel/targets/:id/resume", targets.pauseHandler(false), manage)
	reports := s.funnelReports()
	v1.POST("/funnel/targets/:id/run", reports.runHandler, manage)
	v1.POST("/funnel/activities", s.ingestFunnelActivities, manage)
	v1.POST("/funnel/leads", s.ingestFunnelLeads, manage)
	v1.GET("/funnel/reports", reports.pagesHandler)
	v1.GET("/funnel/reports/:id", reports.getHandler)
}

// funnelTargetView is a target as the API shows it: with what it needs
// (plan) and its schedule.
type funnelTargetView struct {
	*funnel.Target
	Plan funnel.Plan `json:"plan"`
	scheduleView
}

func (s *Server) funnelTargetView(t *funnel.Target) funnelTargetView {
	return funnelTargetView{Target: t, Plan: t.Plan(), scheduleView: s.scheduleView(workflows.FunnelScheduleID(t.ID))}
}

// funnelTargets serves what targets share with coverage programs.
func (s *Server) funnelTargets() scheduled[funnel.Target, funnelTargetView] {
	return scheduled[funnel.Target, funnelTargetView]{
		s: s, listKey: "targets", notFound: funnelTargetError,
		get: s.store.GetFunnelTarget, list: s.store.ListFunnelTargets,
		setPaused: s.store.SetFunnelTargetPaused, remove: s.store.DeleteFunnelTarget,
		schedule: funnelSchedule, scheduleID: workflows.FunnelScheduleID,
		view: s.funnelTargetView, scheduleOf: func(v *funnelTargetView) *scheduleView { return &v.scheduleView },
		noun: "funnel target", path: "/v1/funnel/targets",
		id: func(t *funnel.Target) string { return t.ID },
		decode: func(c echo.Context, pathID string) (*funnel.Target, error) {
			var in funnel.TargetInput
			if err := s.bind(c, &in); err != nil {
				return nil, err
			}
			if err := samePathID(&in.ID, pathID, "funnel target"); err != nil {
				return nil, err
			}
			return s.newFunnelTarget(c, in)
		},
		create: s.store.CreateFunnelTarget, replace: s.store.UpdateFunnelTarget,
	}
}

// newFunnelTarget validates a target's body and checks that its manager
// and reps are active users: an unknown one is a 422 naming the field.
func (s *Server) newFunnelTarget(c echo.Context, in funnel.TargetInput) (*funnel.Target, error) {
	t, err := funnel.NewTarget(in)
	if err != nil {
		return nil, err
	}
	missing, err := s.store.MissingUsers(c.Request().Context(), append([]string{t.Manager}, t.Reps...))
	if err != nil {
		return nil, err
	}
	var ps []deal.Problem
	for _, id := range missing {
		if id == t.Manager {
			ps = append(ps, deal.Problem{Field: "manager", Message: fmt.Sprintf("%q is not an active user; create it first (POST /v1/users)", id)})
		}
		for i, rep := range t.Reps {
			if rep == id {
				ps = append(ps, deal.Problem{Field: fmt.Sprintf("reps[%d]", i), Message: fmt.Sprintf("unknown rep %q: not an active user; create it first (POST /v1/users)", id)})
			}
		}
	}
	if len(ps) > 0 {
		return nil, &deal.ValidationError{Problems: ps}
	}
	return t, nil
}

// funnelTargetError says which target was not found.
func funnelTargetError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apiError(http.StatusNotFound, string(deal.CodeNotFound), "no funnel target %q; GET /v1/funnel/targets lists them", id)
	}
	return err
}
