package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
)

// Register registers every workflow and activity on a worker.
func Register(w worker.Registry, deals *activities.Activities, reports *activities.Reports) {
	RegisterWorkflows(w)
	w.RegisterActivity(deals)
	w.RegisterActivity(reports)
}

// RegisterWorkflows registers the workflows alone, as a replayer needs them.
func RegisterWorkflows(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(DealWorkflow, workflow.RegisterOptions{Name: DealWorkflowName})
	w.RegisterWorkflowWithOptions(FunnelReportWorkflow, workflow.RegisterOptions{Name: FunnelReportWorkflowName})
	w.RegisterWorkflowWithOptions(CoverageReportWorkflow, workflow.RegisterOptions{Name: CoverageReportWorkflowName})
}
