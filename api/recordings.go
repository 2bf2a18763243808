package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows"
)

// Parked recordings: changes of a deal the store refused for good, kept
// instead of dropped (see store.RecordOrPark). Admins list them and, once
// the cause is repaired, replay a deal's in order.

func (s *Server) recordingRoutes(g *echo.Group) {
	g.GET("/admin/recordings", s.listRecordings, requireRole(store.RoleAdmin))
	g.POST("/admin/recordings/:deal/retry", s.retryRecordings, requireRole(store.RoleAdmin))
}

func (s *Server) listRecordings(c echo.Context) error {
	parked, err := s.store.ListParked(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"parked": parked})
}

// retryRecordings replays one deal's parked changes and answers what went
// through (replayed) and what is still refused (parked, error).
func (s *Server) retryRecordings(c echo.Context) error {
	reports, err := s.store.ReplayDeals(c.Request().Context(), c.Param("deal"))
	if err != nil {
		return err
	}
	r := reports[0]
	if r.Failed != "" {
		return apiError(http.StatusServiceUnavailable, codeUnavailable, "replaying the parked recordings of deal %q failed; nothing changed: %s", r.DealID, r.Failed)
	}
	if r.Parked == 0 && s.temporal != nil {
		// The deal's workflow retries at once rather than at its next
		// backoff: it stops showing its record behind (and, closed, ends).
		// A deal whose workflow has ended needs nothing.
		if err := s.temporal.SignalWorkflow(c.Request().Context(), workflows.DealWorkflowID(r.DealID), "", workflows.SignalRecordingReplayed, nil); err != nil {
			s.log.Info("telling the deal's workflow its record was replayed", "deal", r.DealID, "err", err)
		}
	}
	return c.JSON(http.StatusOK, r)
}
