package workflows

import (
	"context"
	"fmt"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"dealflow/activities"
)

// recordChangeActivity is the recording activity's registered name.
const recordChangeActivity = "RecordChange"

// DroppedChanges reads a deal's workflow history, every run from the
// first, and returns the changes whose recording failed for good, oldest
// first. Before changes were parked (versionParkedRetry and the parking
// store), such a change was dropped ("change not recorded") and its events
// were missing from the audit trail, the read model and the outbox; the
// history still holds each one as the recording activity's input, so an
// operator can record them now (`dealflow recordings recover`). Recording
// is idempotent, so a change recorded since is harmless.
func DroppedChanges(ctx context.Context, c client.Client, dealID string) ([]activities.Change, error) {
	var runs [][]activities.Change
	runID := ""
	for seen := 0; ; seen++ {
		if seen > 10000 {
			return nil, fmt.Errorf("deal %s: more than 10000 runs", dealID)
		}
		dropped, previous, err := droppedInRun(ctx, c, DealWorkflowID(dealID), runID)
		if err != nil {
			return nil, err
		}
		runs = append(runs, dropped)
		if previous == "" {
			break
		}
		runID = previous
	}
	var out []activities.Change
	for i := len(runs) - 1; i >= 0; i-- {
		out = append(out, runs[i]...)
	}
	return out, nil
}

// droppedInRun returns one run's dropped changes and the run it continued
// (empty for the first).
func droppedInRun(ctx context.Context, c client.Client, workflowID, runID string) (dropped []activities.Change, previous string, err error) {
	dc := converter.GetDefaultDataConverter()
	scheduled := map[int64]*historypb.HistoryEvent{}
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, "", fmt.Errorf("reading the history of %s: %w", workflowID, err)
		}
		switch e.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			previous = e.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == recordChangeActivity {
				scheduled[e.GetEventId()] = e
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			a := e.GetActivityTaskFailedEventAttributes()
			s, ok := scheduled[a.GetScheduledEventId()]
			if !ok || !a.GetFailure().GetApplicationFailureInfo().GetNonRetryable() {
				continue
			}
			var ch activities.Change
			if err := dc.FromPayloads(s.GetActivityTaskScheduledEventAttributes().GetInput(), &ch); err != nil {
				return nil, "", fmt.Errorf("%s: recording input of event %d does not decode: %w", workflowID, s.GetEventId(), err)
			}
			dropped = append(dropped, ch)
		}
	}
	return dropped, previous, nil
}
