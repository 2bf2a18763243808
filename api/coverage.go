package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows"
	"dealflow/workflows/coverage"
	"dealflow/workflows/deal"
)

// coverageRoutes serves the behaviour paradigm: named-account coverage
// programs, their accounts and events, and their reports. PMOs and
// directors run programs; the teams (commercial and solution users) post
// events, each in their own name, a team's lead also for its members (see
// coverage.CheckEventAuthor, applied by RecordCoverageEvents); everyone reads.
func (s *Server) coverageRoutes(v1 *echo.Group) {
	manage := requireRole(store.RolePMO, store.RoleDirector)
	record := requireRole(store.RolePMO, store.RoleDirector, store.RoleCommercial, store.RoleSolution)

	programs := s.coveragePrograms()
	v1.GET("/coverage/programs", programs.listHandler)
	v1.POST("/coverage/programs", programs.createHandler, manage)
	v1.GET("/coverage/programs/:id", programs.getHandler)
	v1.PUT("/coverage/programs/:id", programs.replaceHandler, manage)
	v1.DELETE("/coverage/programs/:id", programs.deleteHandler, manage)
	v1.POST("/coverage/programs/:id/pause", programs.pauseHandler(true), manage)
	v1.POST("/coverage/programs/:id/resume", programs.pauseHandler(false), manage)
	v1.POST("/coverage/programs/:id/accounts", s.importCoverageAccounts, manage)
	v1.POST("/coverage/programs/:id/events", s.recordCoverageEvents, record)
	reports := s.coverageReports()
	v1.POST("/coverage/programs/:id/run", reports.runHandler, manage)
	v1.GET("/coverage/reports", reports.pagesHandler)
	v1.GET("/coverage/reports/:id", reports.getHandler)
}

// programRequest is the body of POST and PUT on programs: the settings a
// client chooses (pause and resume have their own routes).
type programRequest struct {
	ID            string                `json:"id"`
	Name          string                `json:"name"`
	Schedule      coverage.Schedule     `json:"schedule"`
	UntouchedDays int                   `json:"untouched_days"`
	Targets       coverage.Targets      `json:"targets"`
	Teams         coverage.ProgramTeams `json:"teams"`
}

func (r programRequest) program() coverage.Program {
	return coverage.Program{ID: r.ID, Name: r.Name, Schedule: r.Schedule, UntouchedDays: r.UntouchedDays, Targets: r.Targets, Teams: r.Teams}
}

// programView is a program as the API shows it: with its schedule.
type programView struct {
	*coverage.Program
	scheduleView
}

func (s *Server) programView(p *coverage.Program) programView {
	return programView{Program: p, scheduleView: s.scheduleView(workflows.CoverageScheduleID(p.ID))}
}

// coveragePrograms serves what programs share with funnel targets.
func (s *Server) coveragePrograms() scheduled[coverage.Program, programView] {
	return scheduled[coverage.Program, programView]{
		s: s, listKey: "programs", notFound: programError,
		get: s.store.GetProgram, list: s.store.ListPrograms,
		setPaused: s.store.SetProgramPaused, remove: s.store.DeleteProgram,
		schedule: coverageSchedule, scheduleID: workflows.CoverageScheduleID,
		view: s.programView, scheduleOf: func(v *programView) *scheduleView { return &v.scheduleView },
		noun: "coverage program", path: "/v1/coverage/programs",
		id: func(p *coverage.Program) string { return p.ID },
		decode: func(c echo.Context, pathID string) (*coverage.Program, error) {
			var r programRequest
			if err := s.bind(c, &r); err != nil {
				return nil, err
			}
			if err := samePathID(&r.ID, pathID, "coverage program"); err != nil {
				return nil, err
			}
			p := r.program()
			return &p, nil
		},
		create: func(ctx context.Context, p *coverage.Program, by string, then func(*coverage.Program) error) (*coverage.Program, error) {
			return s.store.CreateProgram(ctx, *p, by, then)
		},
		replace: func(ctx context.Context, p *coverage.Program, then func(*coverage.Program) error) (*coverage.Program, error) {
			return s.store.UpdateProgram(ctx, *p, then)
		},
	}
}

// programError says which program was not found.
func programError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apiError(http.StatusNotFound, string(deal.CodeNotFound), "no coverage program %q; GET /v1/coverage/programs lists them", id)
	}
	return err
}
