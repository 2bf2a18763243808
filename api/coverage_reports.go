package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows"
	"dealflow/workflows/coverage"
	"dealflow/workflows/deal"
)

// coverageReports answers GET /v1/coverage/reports: the program's latest
// report in full and its history, newest first. NextBefore pages on.
type coverageReports struct {
	Program    string            `json:"program"`
	Latest     *coverage.Report  `json:"latest"`
	Reports    []coverage.Report `json:"reports"`
	NextBefore int64             `json:"next_before,omitempty"`
}

func (s *Server) listCoverageReports(c echo.Context) error {
	ctx := c.Request().Context()
	program := c.QueryParam("program")
	if program == "" {
		return apiError(http.StatusBadRequest, codeBadRequest, "program is required: GET /v1/coverage/reports?program=<id>")
	}
	before, err := intParam(c, "before", 0)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", store.DefaultReportPage)
	if err != nil {
		return err
	}
	limit = min(cmp.Or(limit, store.DefaultReportPage), store.MaxReportPage)
	if _, err := s.store.GetProgram(ctx, program); err != nil {
		return programError(err, program)
	}
	history, err := s.store.ListCoverageReports(ctx, program, int64(before), limit)
	if err != nil {
		return err
	}
	out := coverageReports{Program: program, Reports: history}
	if len(history) > 0 {
		if before == 0 {
			if out.Latest, err = s.store.GetCoverageReport(ctx, history[0].ID); err != nil {
				return err
			}
		}
		if len(history) == limit {
			out.NextBefore = history[len(history)-1].ID
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getCoverageReport(c echo.Context) error {
	id, err := reportIDParam(c)
	if err != nil {
		return err
	}
	rep, err := s.store.GetCoverageReport(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return apiError(http.StatusNotFound, string(deal.CodeNotFound), "no coverage report %d", id)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// runCoverageReport runs the program's report now, outside its schedule,
// and answers with the stored report once the leads' notices are queued.
func (s *Server) runCoverageReport(c echo.Context) error {
	if err := s.bindOptional(c, &struct{}{}); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := s.store.GetProgram(ctx, c.Param("id"))
	if err != nil {
		return programError(err, c.Param("id"))
	}
	// Each manual run is its own workflow, named so it sits beside the
	// scheduled ones in the Temporal UI.
	workflowID := fmt.Sprintf("%s/run-%d", workflows.CoverageScheduleID(p.ID), time.Now().UnixNano())
	var res workflows.ReportResult
	if err := s.runReportNow(ctx, workflowID, workflows.CoverageReportWorkflowName,
		workflows.CoverageReportInput{ProgramID: p.ID, Trigger: workflows.TriggerManual}, &res); err != nil {
		return err
	}
	rep, err := s.store.GetCoverageReport(ctx, res.ReportID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/v1/coverage/reports/%d", rep.ID))
	return c.JSON(http.StatusCreated, rep)
}
