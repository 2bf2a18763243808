package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows"
	"dealflow/workflows/coverage"
	"dealflow/workflows/deal"
	"dealflow/workflows/funnel"
)

// reports serves the report routes every scheduled subject has — its
// report pages (GET /v1/<area>/reports?<subject>=<id>), one report (GET
// /v1/<area>/reports/{id}) and a report run now (POST
// /v1/<area>/<subjects>/{id}/run) — for funnel targets (R = funnel.Report)
// and coverage programs (R = coverage.Report).
type reports[R any] struct {
	s *Server
	// area names the routes' part of the API ("funnel", "coverage");
	// subject is the query parameter naming the subject ("target",
	// "program") and the key of the pages' answer.
	area, subject string
	// exists answers whether the subject is there: nil, or its not-found
	// answer (or another error).
	exists func(ctx context.Context, id string) error
	list   func(ctx context.Context, id string, before int64, limit int) ([]R, error)
	get    func(ctx context.Context, id int64) (*R, error)
	id     func(*R) int64
	// full is the whole report of a page's entry, for the pages' latest;
	// nil when the pages hold whole reports.
	full func(ctx context.Context, r *R) (*R, error)
	// scheduleID names the subject's schedule; workflow and input start
	// its report workflow.
	scheduleID func(id string) string
	workflow   string
	input      func(id string) any
}

func (s *Server) funnelReports() reports[funnel.Report] {
	return reports[funnel.Report]{s: s, area: "funnel", subject: "target",
		exists: func(ctx context.Context, id string) error {
			_, err := s.store.GetFunnelTarget(ctx, id)
			return funnelTargetError(err, id)
		},
		list: s.store.ListFunnelReports, get: s.store.GetFunnelReport,
		id:         func(r *funnel.Report) int64 { return r.ID },
		scheduleID: workflows.FunnelScheduleID, workflow: workflows.FunnelReportWorkflowName,
		input: func(id string) any {
			return workflows.FunnelReportInput{TargetID: id, Trigger: workflows.TriggerManual}
		}}
}

func (s *Server) coverageReports() reports[coverage.Report] {
	return reports[coverage.Report]{s: s, area: "coverage", subject: "program",
		exists: func(ctx context.Context, id string) error {
			_, err := s.store.GetProgram(ctx, id)
			return programError(err, id)
		},
		list: s.store.ListCoverageReports, get: s.store.GetCoverageReport,
		id: func(r *coverage.Report) int64 { return r.ID },
		// The pages list summaries; the latest comes whole.
		full: func(ctx context.Context, r *coverage.Report) (*coverage.Report, error) {
			return s.store.GetCoverageReport(ctx, r.ID)
		},
		scheduleID: workflows.CoverageScheduleID, workflow: workflows.CoverageReportWorkflowName,
		input: func(id string) any {
			return workflows.CoverageReportInput{ProgramID: id, Trigger: workflows.TriggerManual}
		}}
}

// pagesHandler answers the subject's latest report and its history, newest
// first; next_before pages on.
func (h reports[R]) pagesHandler(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.QueryParam(h.subject)
	if id == "" {
		return apiError(http.StatusBadRequest, codeBadRequest, "%s is required: GET /v1/%s/reports?%s=<id>", h.subject, h.area, h.subject)
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
	if err := h.exists(ctx, id); err != nil {
		return err
	}
	history, err := h.list(ctx, id, int64(before), limit)
	if err != nil {
		return err
	}
	out := map[string]any{h.subject: id, "latest": nil, "reports": history}
	if len(history) > 0 {
		if before == 0 {
			latest := &history[0]
			if h.full != nil {
				if latest, err = h.full(ctx, latest); err != nil {
					return err
				}
			}
			out["latest"] = latest
		}
		if len(history) == limit {
			out["next_before"] = h.id(&history[len(history)-1])
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (h reports[R]) getHandler(c echo.Context) error {
	id, err := reportIDParam(c)
	if err != nil {
		return err
	}
	rep, err := h.get(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return apiError(http.StatusNotFound, string(deal.CodeNotFound), "no %s report %d", h.area, id)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// runHandler runs the subject's report now, outside its schedule (and
// whether or not it is paused), and answers with the stored report once
// its notices are queued.
func (h reports[R]) runHandler(c echo.Context) error {
	if err := h.s.bindOptional(c, &struct{}{}); err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	if err := h.exists(ctx, id); err != nil {
		return err
	}
	// Each manual run is its own workflow, named so it sits beside the
	// scheduled ones in the Temporal UI.
	workflowID := fmt.Sprintf("%s/run-%d", h.scheduleID(id), time.Now().UnixNano())
	var res workflows.ReportResult
	if err := h.s.runReportNow(ctx, workflowID, h.workflow, h.input(id), &res); err != nil {
		if gone := h.exists(ctx, id); gone != nil {
			return gone // deleted while the report ran
		}
		return err
	}
	rep, err := h.get(ctx, res.ReportID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/v1/%s/reports/%d", h.area, h.id(rep)))
	return c.JSON(http.StatusCreated, rep)
}
