package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/activities/store"
)

// CoverageReportResult is what a coverage report run returns: the stored
// report and who was told about it.
type CoverageReportResult struct {
	ReportID int64    `json:"report_id"`
	Notified []string `json:"notified"`
}

// coverageReportOptions: the report is one SQL statement, so a couple of
// minutes is generous even for large programs; a deleted program or a
// report the store refuses is not retried.
var coverageReportOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        20,
		NonRetryableErrorTypes: []string{activities.InvalidChangeType, activities.ProgramNotFoundType},
	},
}

// CoverageReportWorkflow runs one program's coverage report: the figures
// are computed and stored by one activity (keyed by this run, so a retry
// stores nothing twice), then each team lead is told their team's figure
// against its target. It is started by the program's schedule
// (coverage/<program>) or by "run now".
func CoverageReportWorkflow(ctx workflow.Context, in CoverageReportInput) (CoverageReportResult, error) {
	ctx = workflow.WithActivityOptions(ctx, coverageReportOptions)
	if in.Trigger == "" {
		in.Trigger = TriggerSchedule
	}
	run := workflow.GetInfo(ctx).WorkflowExecution
	req := activities.CoverageReportRequest{
		ProgramID: in.ProgramID, Trigger: in.Trigger,
		RunKey: run.ID + "/" + run.RunID,
		// The workflow's clock, not the activity's: a retried activity
		// computes the report as of the same instant.
		AsOf: workflow.Now(ctx).UTC(),
	}
	var reports *activities.Reports
	var rep store.CoverageReport
	if err := workflow.ExecuteActivity(ctx, reports.ComputeCoverageReport, req).Get(ctx, &rep); err != nil {
		return CoverageReportResult{}, err
	}
	notices := coverageNotices(&rep)
	if err := workflow.ExecuteActivity(ctx, reports.QueueNotices, notices).Get(ctx, nil); err != nil {
		return CoverageReportResult{}, err
	}
	out := CoverageReportResult{ReportID: rep.ID, Notified: []string{}}
	for _, n := range notices {
		out.Notified = append(out.Notified, n.Recipient)
	}
	return out, nil
}
