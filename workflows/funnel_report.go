package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/activities/store"
)

// FunnelReportResult is what a funnel report run returns: the stored
// report's id (read it with GET /v1/funnel/reports/{id}) and who was told.
type FunnelReportResult struct {
	ReportID int64    `json:"report_id"`
	Notified []string `json:"notified"`
}

// funnelReportOptions: the report is one SQL statement (about a third of a
// second over a million activities), so two minutes is generous; Postgres
// being down is retried for a while, a deleted target or a report the
// store refuses is not.
var funnelReportOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        20,
		NonRetryableErrorTypes: []string{activities.InvalidChangeType, activities.FunnelTargetNotFoundType},
	},
}

// FunnelReportWorkflow runs one target's funnel report: one activity
// computes and stores it (keyed by this run, so a retry stores nothing
// twice), then each rep below pace and the manager are told through the
// outbox. It is started by the target's schedule (funnel/<target>) or by
// "run now".
func FunnelReportWorkflow(ctx workflow.Context, in FunnelReportInput) (FunnelReportResult, error) {
	ctx = workflow.WithActivityOptions(ctx, funnelReportOptions)
	if in.Trigger == "" {
		in.Trigger = TriggerSchedule
	}
	run := workflow.GetInfo(ctx).WorkflowExecution
	req := store.FunnelReportRequest{
		TargetID: in.TargetID, Trigger: in.Trigger,
		RunKey: run.ID + "/" + run.RunID,
		// The workflow's clock, not the activity's: a retried activity
		// counts the same days.
		AsOf: workflow.Now(ctx).UTC(),
	}
	var acts *activities.Reports
	var rep store.FunnelReport
	if err := workflow.ExecuteActivity(ctx, acts.ComputeFunnelReport, req).Get(ctx, &rep); err != nil {
		return FunnelReportResult{}, err
	}
	out := FunnelReportResult{ReportID: rep.ID, Notified: []string{}}
	notices := funnelNotices(&rep)
	if len(notices) == 0 {
		return out, nil
	}
	if err := workflow.ExecuteActivity(ctx, acts.QueueNotices, notices).Get(ctx, nil); err != nil {
		return FunnelReportResult{}, err
	}
	for _, n := range notices {
		out.Notified = append(out.Notified, n.Recipient)
	}
	return out, nil
}
