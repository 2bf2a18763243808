package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// reportCatchupWindow bounds how late a missed scheduled report still runs.
const reportCatchupWindow = 12 * time.Hour

// reportSchedule is a Temporal Schedule that starts one report workflow:
// one per funnel target ("funnel/<id>") and per coverage program
// ("coverage/<id>"), visible in the Temporal UI under that ID.
type reportSchedule struct {
	ID       string
	Spec     client.ScheduleSpec
	Workflow string
	Arg      any
	Paused   bool
	Note     string
}

// saveSchedule creates the schedule, or brings an existing one up to date
// with the given spec, action and paused state.
func (s *Server) saveSchedule(ctx context.Context, sc reportSchedule) error {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	action := &client.ScheduleWorkflowAction{
		ID: sc.ID + "/report", Workflow: sc.Workflow, Args: []any{sc.Arg}, TaskQueue: s.cfg.TaskQueue,
	}
	_, err := s.temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: sc.ID, Spec: sc.Spec, Action: action, Paused: sc.Paused, Note: sc.Note,
		// A report that finds the previous one still running skips its turn.
		Overlap: 0,
		// Reports missed while Temporal itself was down are made up within
		// the day, not for a year back (the SDK's default): each would be
		// a report of the same days, and notify everyone again.
		CatchupWindow: reportCatchupWindow,
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return err
	}
	h := s.temporal.ScheduleClient().GetHandle(ctx, sc.ID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		next := in.Description.Schedule
		next.Spec, next.Action = &sc.Spec, action
		if next.State == nil {
			next.State = &client.ScheduleState{}
		}
		next.State.Paused, next.State.Note = sc.Paused, sc.Note
		if next.Policy == nil {
			next.Policy = &client.SchedulePolicies{}
		}
		next.Policy.CatchupWindow = reportCatchupWindow
		return &client.ScheduleUpdate{Schedule: &next}, nil
	}})
	return err
}

// deleteSchedule removes a schedule; one already gone is not an error.
func (s *Server) deleteSchedule(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	err := s.temporal.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil
	}
	return err
}

// nextRuns returns when a schedule will next start its report. A paused
// schedule has none: Temporal still lists the times, but those runs will
// not happen. The times come from Temporal; when it cannot say, the
// target or program is still worth showing, so failures are only logged.
func (s *Server) nextRuns(ctx context.Context, id string) []time.Time {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	d, err := s.temporal.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	var notFound *serviceerror.NotFound
	switch {
	case err == nil && !d.Schedule.State.Paused:
		return d.Info.NextActionTimes
	case err != nil && !errors.As(err, &notFound):
		s.log.WarnContext(ctx, "describing a report schedule failed", "schedule", id, "error", err)
	}
	return nil
}

// runReportNow runs a report workflow at once (outside its schedule) and
// waits for its result, so "run now" answers with the report.
func (s *Server) runReportNow(ctx context.Context, workflowID, workflow string, arg, result any) error {
	ctx, cancel := context.WithTimeout(ctx, 2*temporalTimeout)
	defer cancel()
	run, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: s.cfg.TaskQueue}, workflow, arg)
	if err != nil {
		return err
	}
	return run.Get(ctx, result)
}

// reportIDParam reads the {id} of a report route.
func reportIDParam(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, apiError(http.StatusBadRequest, codeBadRequest, "a report id is a number, not %q", c.Param("id"))
	}
	return id, nil
}
