package workflows

import (
	"errors"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/workflows/deal"
)

// registerHandlers installs the state query and one update per human action.
func (r *dealRun) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (*deal.Deal, error) { return r.deal, nil }); err != nil {
		return err
	}
	return errors.Join(
		setActionHandler[deal.Submit](ctx, r, UpdateSubmit),
		setActionHandler[deal.ReviewAction](ctx, r, UpdateReview),
		setActionHandler[deal.PlanChange](ctx, r, UpdatePlan),
		setActionHandler[deal.PauseAction](ctx, r, UpdatePause),
		setActionHandler[deal.ResumeAction](ctx, r, UpdateResume),
		setActionHandler[deal.BuyerStageAction](ctx, r, UpdateBuyerStage),
		setActionHandler[deal.CloseAction](ctx, r, UpdateClose),
	)
}

// setActionHandler registers the update for one action type. The validator
// asks the model whether the action is allowed, so a refused action leaves
// no trace in history; the handler applies it and returns the new state.
// Handlers never block: recording happens in the main loop, which keeps
// update latency to one workflow task.
func setActionHandler[A deal.Action](ctx workflow.Context, r *dealRun, name string) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, a A) (*deal.Deal, error) {
			if r.seen(ctx) {
				return r.deal, nil
			}
			evs, err := r.deal.Apply(a, workflow.Now(ctx))
			if err != nil {
				return nil, actionFailure(err)
			}
			r.commit(evs)
			r.remember(ctx)
			return r.deal, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, a A) error {
			if r.seen(ctx) {
				return nil // a retry of an applied update: the handler answers it
			}
			if r.recordBehind() {
				return actionFailure(errRecordBehind(len(r.pending)))
			}
			return actionFailure(r.deal.Check(a, workflow.Now(ctx)))
		}},
	)
}

// seen reports whether the current update was already applied by an earlier
// run of this deal (Temporal itself deduplicates within a run).
func (r *dealRun) seen(ctx workflow.Context) bool {
	info := workflow.GetCurrentUpdateInfo(ctx)
	return info != nil && slices.Contains(r.updates, info.ID)
}

func (r *dealRun) remember(ctx workflow.Context) {
	info := workflow.GetCurrentUpdateInfo(ctx)
	if info == nil || info.ID == "" {
		return
	}
	r.updates = append(r.updates, info.ID)
	if over := len(r.updates) - maxRememberedUpdates; over > 0 {
		r.updates = slices.Delete(r.updates, 0, over)
	}
}

// actionFailure turns a refused action into an application error whose type
// carries the plan error code, so the API can map it to an HTTP status.
func actionFailure(err error) error {
	if err == nil {
		return nil
	}
	var ae *deal.ActionError
	if errors.As(err, &ae) {
		return temporal.NewNonRetryableApplicationError(ae.Message, ActionErrorType+string(ae.Code), nil)
	}
	return err
}
