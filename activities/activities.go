// Package activities holds the side effects the deal workflow calls. Every
// activity is idempotent, because Temporal runs it at least once.
package activities

import (
	"context"
	"errors"
	"log/slog"

	"go.temporal.io/sdk/temporal"

	"dealflow/activities/store"
	"dealflow/workflows/plan"
)

// ChangeRecorder (the Postgres store; a fake in workflow tests) persists one change of a deal in a single transaction: the
// read-model projection (ignored when an equal or newer version is stored),
// the audit events (unique per deal and sequence) and, for events that name
// recipients, notification rows in the outbox.
type ChangeRecorder interface {
	RecordChange(ctx context.Context, deal *plan.Deal, events []plan.Event) error
}

// Activities are the deal workflow's side effects, with their dependencies.
// The workflow refers to them through a typed nil pointer; the worker
// registers a real value.
type Activities struct {
	Recorder ChangeRecorder
	Logger   *slog.Logger
}

// Change is one batch of a deal's changes: the state after them and the
// events they produced, in sequence order.
type Change struct {
	Deal   plan.Deal    `json:"deal"`
	Events []plan.Event `json:"events"`
}

// RecordChange projects the deal, appends its audit events and queues its
// notifications. Notifications are delivered from the outbox by the relay
// the worker runs, so a slow chat robot never holds up a deal.
func (a *Activities) RecordChange(ctx context.Context, c Change) error {
	return permanentIfInvalid(a.Recorder.RecordChange(ctx, &c.Deal, c.Events))
}

// InvalidChangeType is the application-error type of a write the store can
// never accept; workflows do not retry it.
const InvalidChangeType = "InvalidChange"

// permanentIfInvalid stops retries of writes that can never succeed; every
// other error (Postgres down, say) stays retryable.
func permanentIfInvalid(err error) error {
	if errors.Is(err, store.ErrInvalidChange) {
		return temporal.NewNonRetryableApplicationError(err.Error(), InvalidChangeType, err)
	}
	return err
}
