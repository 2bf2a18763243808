package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/workflows/coverage"
)

// CoverageReportWorkflow runs one program's coverage report and tells each
// team lead their team's figure against its target. It is started by the
// program's schedule (coverage/<program>) or by "run now".
func CoverageReportWorkflow(ctx workflow.Context, in CoverageReportInput) (ReportResult, error) {
	var reports *activities.Reports
	return runReport(ctx, activities.ProgramNotFoundType, reports.ComputeCoverageReport,
		func(runKey string, asOf time.Time) activities.CoverageReportRequest {
			return activities.CoverageReportRequest{ProgramID: in.ProgramID, Trigger: triggerOrSchedule(in.Trigger), RunKey: runKey, AsOf: asOf}
		},
		func(r *coverage.Report) int64 { return r.ID },
		coverageNotices)
}
