package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/activities/store"
)

// ReportResult is what a report run returns: the stored report's id and
// who was told about it.
type ReportResult struct {
	ReportID int64    `json:"report_id"`
	Notified []string `json:"notified"`
}

// reportOptions: a report is one SQL statement (a third of a second over a
// million rows), so two minutes is generous; Postgres being down is retried
// for a while, while a deleted target or program (notFoundType) or a report
// the store refuses is not.
func reportOptions(notFoundType string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        20,
			NonRetryableErrorTypes: []string{activities.InvalidChangeType, notFoundType},
		},
	}
}

// runReport is the shape both report workflows share: compute and store the
// report with one activity, keyed by this run so a retried activity stores
// nothing twice and timed by the workflow's clock so it counts the same
// days; then queue the notices the report calls for.
func runReport[Req, Rep any](ctx workflow.Context, notFoundType string, compute any,
	request func(runKey string, asOf time.Time) Req, id func(*Rep) int64, notices func(*Rep) []store.Notice) (ReportResult, error) {
	ctx = workflow.WithActivityOptions(ctx, reportOptions(notFoundType))
	run := workflow.GetInfo(ctx).WorkflowExecution
	var rep Rep
	if err := workflow.ExecuteActivity(ctx, compute, request(run.ID+"/"+run.RunID, workflow.Now(ctx).UTC())).Get(ctx, &rep); err != nil {
		return ReportResult{}, err
	}
	out := ReportResult{ReportID: id(&rep), Notified: []string{}}
	ns := notices(&rep)
	if len(ns) == 0 {
		return out, nil
	}
	var reports *activities.Reports
	if err := workflow.ExecuteActivity(ctx, reports.QueueNotices, ns).Get(ctx, nil); err != nil {
		return ReportResult{}, err
	}
	for _, n := range ns {
		out.Notified = append(out.Notified, n.Recipient)
	}
	return out, nil
}

func triggerOrSchedule(trigger string) string {
	if trigger == "" {
		return TriggerSchedule
	}
	return trigger
}
