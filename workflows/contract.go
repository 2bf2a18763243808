package workflows

import (
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"dealflow/activities"
	"dealflow/workflows/deal"
)

// DefaultTaskQueue is where workers poll for deal workflows and activities.
const DefaultTaskQueue = "dealflow"

// DealWorkflowName is the registered name of DealWorkflow.
const DealWorkflowName = "Deal"

const dealIDPrefix = "deal/"

// DealWorkflowID returns the workflow ID of a deal: one deal, one workflow.
func DealWorkflowID(dealID string) string { return dealIDPrefix + dealID }

// DealIDFromWorkflowID is the inverse of DealWorkflowID.
func DealIDFromWorkflowID(workflowID string) (string, bool) {
	return strings.CutPrefix(workflowID, dealIDPrefix)
}

// Update names: one per human action. Each takes the action type named
// beside it and returns the deal state (deal.Deal) after the action.
const (
	UpdateSubmit     = "submit"      // deal.Submit
	UpdateReview     = "review"      // deal.ReviewAction
	UpdatePlan       = "change-plan" // deal.PlanChange
	UpdatePause      = "pause"       // deal.PauseAction
	UpdateResume     = "resume"      // deal.ResumeAction
	UpdateBuyerStage = "buyer-stage" // deal.BuyerStageAction
	UpdateClose      = "close"       // deal.CloseAction
)

// QueryState returns the whole deal (deal.Deal).
const QueryState = "state"

// DealInput starts a deal workflow. A new deal has Spec, and StartedAt
// when its starter computed the initial state too (StartDeal; without it the
// deal starts at its first workflow task); a run continued as new has Resume
// instead.
type DealInput struct {
	Spec      *deal.DealSpec `json:"spec,omitempty"`
	StartedAt time.Time      `json:"started_at,omitzero"`
	Resume    *Carried       `json:"resume,omitempty"`
}

// Carried is the state one run hands to the next on continue-as-new.
type Carried struct {
	Deal deal.Deal `json:"deal"`
	// Updates are the IDs of recently applied updates, so a client retrying
	// an update across runs does not apply it twice.
	Updates []string `json:"updates,omitempty"`
	// Pending are events the previous run had not recorded yet.
	Pending []deal.Event `json:"pending,omitempty"`
	// Behind is set when the previous run's last recording left changes
	// parked in the store, so the next run keeps retrying.
	Behind *activities.RecordResult `json:"behind,omitempty"`
}

// SignalRecordingReplayed tells a deal's workflow that an operator
// replayed its parked recordings (see store.ReplayParked): a workflow
// waiting to retry them retries at once, so it stops showing its record
// behind, and a closed deal's workflow ends. It carries nothing.
const SignalRecordingReplayed = "recording-replayed"

// ActionErrorType prefixes the application-error type of a refused update;
// the suffix is the deal.ErrorCode ("DealAction:forbidden").
const ActionErrorType = "DealAction:"

// ActionErrorCode extracts the plan error code from an update failure, if the
// failure is a refused action.
func ActionErrorCode(err *temporal.ApplicationError) (deal.ErrorCode, bool) {
	code, ok := strings.CutPrefix(err.Type(), ActionErrorType)
	return deal.ErrorCode(code), ok
}

// StartOptions are the options every deal is started with: its ID, a static
// summary for the UI, the search attributes of its initial state, and a
// policy that refuses a second deal with the same ID even after the first
// closed.
func StartOptions(initial *deal.Deal, taskQueue string) client.StartWorkflowOptions {
	attrs := knownSearchAttributes(initial)
	if initial.Next != nil {
		attrs = append(attrs, AttrNextDeadline.ValueSet(initial.Next.At))
	}
	return client.StartWorkflowOptions{
		ID:                       DealWorkflowID(initial.ID),
		TaskQueue:                taskQueue,
		StaticSummary:            initial.Name + " — " + initial.Customer,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Without this the SDK quietly returns the running deal's handle.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
	}
}
