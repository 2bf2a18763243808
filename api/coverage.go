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
	"dealflow/workflows"
	"dealflow/workflows/plan"
)

// coverageRoutes serves the behaviour paradigm: named-account coverage
// programs, their accounts and events, and their reports. PMOs and
// directors run programs; the teams' tools (commercial and solution users)
// post events; everyone reads.
func (s *Server) coverageRoutes(v1 *echo.Group) {
	manage := requireRole(store.RolePMO, store.RoleDirector)
	record := requireRole(store.RolePMO, store.RoleDirector, store.RoleCommercial, store.RoleSolution)

	v1.GET("/coverage/programs", s.listCoveragePrograms)
	v1.POST("/coverage/programs", s.createCoverageProgram, manage)
	v1.GET("/coverage/programs/:id", s.getCoverageProgram)
	v1.PUT("/coverage/programs/:id", s.updateCoverageProgram, manage)
	v1.DELETE("/coverage/programs/:id", s.deleteCoverageProgram, manage)
	v1.POST("/coverage/programs/:id/pause", s.pauseCoverageProgram(true), manage)
	v1.POST("/coverage/programs/:id/resume", s.pauseCoverageProgram(false), manage)
	v1.POST("/coverage/programs/:id/accounts", s.importCoverageAccounts, manage)
	v1.POST("/coverage/programs/:id/events", s.recordCoverageEvents, record)
	v1.POST("/coverage/programs/:id/run", s.runCoverageReport, manage)
	v1.GET("/coverage/reports", s.listCoverageReports)
	v1.GET("/coverage/reports/:id", s.getCoverageReport)
}

// programRequest is the body of POST and PUT on programs: the settings a
// client chooses (pause and resume have their own routes).
type programRequest struct {
	ID            string                `json:"id"`
	Name          string                `json:"name"`
	Schedule      store.ProgramSchedule `json:"schedule"`
	UntouchedDays int                   `json:"untouched_days"`
	Targets       store.Targets         `json:"targets"`
	Teams         store.ProgramTeams    `json:"teams"`
}

func (r programRequest) program() store.Program {
	return store.Program{ID: r.ID, Name: r.Name, Schedule: r.Schedule, UntouchedDays: r.UntouchedDays, Targets: r.Targets, Teams: r.Teams}
}

// programView is a program as the API shows it: with its schedule's ID,
// where to see it in the Temporal UI and, when Temporal answers, its next
// report times.
type programView struct {
	*store.Program
	ScheduleID  string      `json:"schedule_id"`
	TemporalURL string      `json:"temporal_url"`
	NextRuns    []time.Time `json:"next_runs,omitempty"`
}

func (s *Server) programView(p *store.Program) programView {
	id := workflows.CoverageScheduleID(p.ID)
	return programView{Program: p, ScheduleID: id,
		TemporalURL: strings.TrimRight(s.cfg.TemporalUIURL, "/") + "/namespaces/" + s.cfg.Namespace + "/schedules/" + url.PathEscape(id)}
}

func (s *Server) createCoverageProgram(c echo.Context) error {
	var r programRequest
	if err := s.bind(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := s.store.CreateProgram(ctx, r.program(), currentUser(c).ID, s.saveProgramSchedule(ctx))
	if errors.Is(err, store.ErrDuplicate) {
		return apiError(http.StatusConflict, string(plan.CodeConflict), "a coverage program with id %q already exists; PUT /v1/coverage/programs/%s changes it", r.ID, r.ID)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/coverage/programs/"+p.ID)
	return c.JSON(http.StatusCreated, s.programView(p))
}

func (s *Server) updateCoverageProgram(c echo.Context) error {
	var r programRequest
	if err := s.bind(c, &r); err != nil {
		return err
	}
	id := c.Param("id")
	if r.ID != "" && r.ID != id {
		return apiError(http.StatusBadRequest, codeBadRequest, "the body's id %q differs from the path's %q; a program's id cannot change", r.ID, id)
	}
	r.ID = id
	ctx := c.Request().Context()
	p, err := s.store.UpdateProgram(ctx, r.program(), s.saveProgramSchedule(ctx))
	if err != nil {
		return programError(err, id)
	}
	return c.JSON(http.StatusOK, s.programView(p))
}

// pauseCoverageProgram pauses or resumes a program's scheduled report.
func (s *Server) pauseCoverageProgram(paused bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.bindOptional(c, &struct{}{}); err != nil {
			return err
		}
		ctx := c.Request().Context()
		p, err := s.store.SetProgramPaused(ctx, c.Param("id"), paused, s.saveProgramSchedule(ctx))
		if err != nil {
			return programError(err, c.Param("id"))
		}
		return c.JSON(http.StatusOK, s.programView(p))
	}
}

func (s *Server) deleteCoverageProgram(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	err := s.store.DeleteProgram(ctx, id, func() error { return s.deleteSchedule(ctx, workflows.CoverageScheduleID(id)) })
	if err != nil {
		return programError(err, id)
	}
	return c.NoContent(http.StatusNoContent)
}

// saveProgramSchedule brings the program's Temporal Schedule in line with
// the program. The store calls it inside the program's transaction, so a
// schedule that cannot be saved leaves the program as it was.
func (s *Server) saveProgramSchedule(ctx context.Context) func(*store.Program) error {
	return func(p *store.Program) error { return s.saveSchedule(ctx, coverageSchedule(p)) }
}

func (s *Server) getCoverageProgram(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := s.store.GetProgram(ctx, c.Param("id"))
	if err != nil {
		return programError(err, c.Param("id"))
	}
	v := s.programView(p)
	v.NextRuns = s.nextRuns(ctx, v.ScheduleID)
	return c.JSON(http.StatusOK, v)
}

func (s *Server) listCoveragePrograms(c echo.Context) error {
	ps, err := s.store.ListPrograms(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]programView, len(ps))
	for i := range ps {
		out[i] = s.programView(&ps[i])
	}
	return c.JSON(http.StatusOK, map[string]any{"programs": out})
}

// programError says which program was not found.
func programError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apiError(http.StatusNotFound, string(plan.CodeNotFound), "no coverage program %q; GET /v1/coverage/programs lists them", id)
	}
	return err
}
