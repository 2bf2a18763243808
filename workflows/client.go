package workflows

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"dealflow/workflows/deal"
)

// StartDeal starts a deal's workflow at startedAt and returns the deal's
// initial state, computed by the model the workflow runs from the same spec
// and instant: the starter can answer at once instead of waiting for the
// workflow's first task. An invalid spec is a *deal.ValidationError and
// starts nothing.
func StartDeal(ctx context.Context, c client.Client, taskQueue string, spec deal.DealSpec, startedAt time.Time) (*deal.Deal, error) {
	// CheckSpec holds a new deal to every limit; the workflow's NewDeal
	// keeps only the rules a replayed start must pass.
	if err := deal.CheckSpec(spec, startedAt); err != nil {
		return nil, err
	}
	initial, _, err := deal.NewDeal(spec, startedAt)
	if err != nil {
		return nil, err
	}
	if _, err := c.ExecuteWorkflow(ctx, StartOptions(initial, taskQueue), DealWorkflowName, DealInput{Spec: &spec, StartedAt: startedAt}); err != nil {
		return nil, err
	}
	return initial, nil
}

// UpdateDeal sends one action to a deal's current run and waits for the new
// state. An update that reaches a run just as it continues as new is turned
// away with NotFound ("already completed") without being applied; the deal
// lives on in the next run, so the update is sent again. An update the old
// run admitted but had not accepted is aborted the same way ("aborted by
// closing workflow") and is retried alike. updateID may be
// empty; with one, a retry is applied at most once (see Carried.Updates).
func UpdateDeal(ctx context.Context, c client.Client, dealID, updateID, update string, action deal.Action) (*deal.Deal, error) {
	for attempt := 0; ; attempt++ {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			UpdateID:     updateID,
			WorkflowID:   DealWorkflowID(dealID),
			UpdateName:   update,
			Args:         []any{action},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			var d deal.Deal
			if err = h.Get(ctx, &d); err == nil {
				return &d, nil
			}
		}
		var notFound *serviceerror.NotFound
		if !errors.As(err, &notFound) || attempt >= 5 || !running(ctx, c, dealID) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
}

// running reports whether the deal lives on: its latest run is open, or has
// just continued as new and its successor is about to be visible.
func running(ctx context.Context, c client.Client, dealID string) bool {
	d, err := c.DescribeWorkflowExecution(ctx, DealWorkflowID(dealID), "")
	if err != nil {
		return false
	}
	s := d.WorkflowExecutionInfo.Status
	return s == enums.WORKFLOW_EXECUTION_STATUS_RUNNING || s == enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
}
