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
	"dealflow/workflows/deal"
	"dealflow/workflows/funnel"
)

// funnelReports answers GET /v1/funnel/reports: the target's latest report
// and its history, newest first. NextBefore pages on.
type funnelReports struct {
	Target     string          `json:"target"`
	Latest     *funnel.Report  `json:"latest"`
	Reports    []funnel.Report `json:"reports"`
	NextBefore int64           `json:"next_before,omitempty"`
}

func (s *Server) listFunnelReports(c echo.Context) error {
	ctx := c.Request().Context()
	target := c.QueryParam("target")
	if target == "" {
		return apiError(http.StatusBadRequest, codeBadRequest, "target is required: GET /v1/funnel/reports?target=<id>")
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
	if _, err := s.store.GetFunnelTarget(ctx, target); err != nil {
		return funnelTargetError(err, target)
	}
	history, err := s.store.ListFunnelReports(ctx, target, int64(before), limit)
	if err != nil {
		return err
	}
	out := funnelReports{Target: target, Reports: history}
	if len(history) > 0 {
		if before == 0 {
			out.Latest = &history[0]
		}
		if len(history) == limit {
			out.NextBefore = history[len(history)-1].ID
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getFunnelReport(c echo.Context) error {
	id, err := reportIDParam(c)
	if err != nil {
		return err
	}
	rep, err := s.store.GetFunnelReport(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return apiError(http.StatusNotFound, string(deal.CodeNotFound), "no funnel report %d", id)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// runFunnelReport runs the target's report now, outside its schedule (and
// whether or not it is paused), and answers with the stored report once
// the notices are queued.
func (s *Server) runFunnelReport(c echo.Context) error {
	if err := s.bindOptional(c, &struct{}{}); err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err := s.store.GetFunnelTarget(ctx, c.Param("id"))
	if err != nil {
		return funnelTargetError(err, c.Param("id"))
	}
	// Each manual run is its own workflow, named so it sits beside the
	// scheduled ones in the Temporal UI.
	workflowID := fmt.Sprintf("%s/run-%d", workflows.FunnelScheduleID(t.ID), time.Now().UnixNano())
	var res workflows.ReportResult
	err = s.runReportNow(ctx, workflowID, workflows.FunnelReportWorkflowName,
		workflows.FunnelReportInput{TargetID: t.ID, Trigger: workflows.TriggerManual}, &res)
	if err != nil {
		if _, gone := s.store.GetFunnelTarget(ctx, t.ID); errors.Is(gone, store.ErrNotFound) {
			return funnelTargetError(gone, t.ID) // deleted while the report ran
		}
		return err
	}
	rep, err := s.store.GetFunnelReport(ctx, res.ReportID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/v1/funnel/reports/%d", rep.ID))
	return c.JSON(http.StatusCreated, rep)
}
