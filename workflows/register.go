package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
)

// Register registers the deal workflow and its activities on a worker.
func Register(w worker.Registry, a *activities.Activities) {
	RegisterWorkflows(w)
	w.RegisterActivity(a)
}

// RegisterWorkflows registers the workflows alone, as a replayer needs them.
func RegisterWorkflows(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(DealWorkflow, workflow.RegisterOptions{Name: DealWorkflowName})
}
