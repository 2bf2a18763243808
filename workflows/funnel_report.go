package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/activities/store"
	"dealflow/workflows/funnel"
)

// FunnelReportWorkflow runs one target's funnel report and tells each rep
// below pace and the manager through the outbox. It is started by the
// target's schedule (funnel/<target>) or by "run now".
func FunnelReportWorkflow(ctx workflow.Context, in FunnelReportInput) (ReportResult, error) {
	var reports *activities.Reports
	return runReport(ctx, activities.FunnelTargetNotFoundType, reports.ComputeFunnelReport,
		func(runKey string, asOf time.Time) store.FunnelReportRequest {
			return store.FunnelReportRequest{TargetID: in.TargetID, Trigger: triggerOrSchedule(in.Trigger), RunKey: runKey, AsOf: asOf}
		},
		func(r *funnel.Report) int64 { return r.ID },
		funnelNotices)
}
