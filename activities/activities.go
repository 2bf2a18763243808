// Package activities holds the side effects the deal workflow calls. Every
// activity is idempotent, because Temporal runs it at least once.
package activities

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

// ChangeRecorder (the Postgres store; a fake in workflow tests) persists one change of a deal in a single transaction: the
// read-model projection (ignored when an equal or newer version is stored),
// the audit events (unique per deal and sequence) and, for events that name
// recipients, notification rows in the outbox.
type ChangeRecorder interface {
	RecordChange(ctx context.Context, d *deal.Deal, events []deal.Event) error
}

// ParkingRecorder is a ChangeRecorder that parks refused changes instead of
// failing them (the Postgres store: see store.RecordOrPark). The activity
// uses it when the recorder has it.
type ParkingRecorder interface {
	RecordOrPark(ctx context.Context, d *deal.Deal, events []deal.Event) (store.RecordOutcome, error)
}

// Counter is the part of a Prometheus counter the activities use.
type Counter interface{ Inc() }

// Activities are the deal workflow's side effects, with their dependencies.
// The workflow refers to them through a typed nil pointer; the worker
// registers a real value.
type Activities struct {
	Recorder ChangeRecorder
	Logger   *slog.Logger
	// Parked, if set, counts changes the store parked
	// (dealflow_recordings_parked_total).
	Parked Counter
}

// Change is one batch of a deal's changes: the state after them and the
// events they produced, in sequence order.
type Change struct {
	Deal   deal.Deal    `json:"deal"`
	Events []deal.Event `json:"events"`
}

// RecordResult is what a recording answers the workflow: whether the
// deal's record is complete or behind (changes parked in the store).
type RecordResult struct {
	// Parked counts the deal's changes parked in the store; 0: none.
	Parked int       `json:"parked,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Error  string    `json:"error,omitempty"`
}

// RecordChange projects the deal, appends its audit events and queues its
// notifications. Notifications are delivered from the outbox by the relay
// the worker runs, so a slow chat robot never holds up a deal. A change the
// store refuses for good is parked there, not dropped (and the deal's
// earlier parked changes are replayed first): the result says so, and the
// workflow retries later. A change with no events only replays.
func (a *Activities) RecordChange(ctx context.Context, c Change) (RecordResult, error) {
	pr, ok := a.Recorder.(ParkingRecorder)
	if !ok {
		return RecordResult{}, permanentIfInvalid(a.Recorder.RecordChange(ctx, &c.Deal, c.Events))
	}
	out, err := pr.RecordOrPark(ctx, &c.Deal, c.Events)
	if err != nil {
		return RecordResult{}, permanentIfInvalid(err)
	}
	if out.ParkedNow {
		if a.Parked != nil {
			a.Parked.Inc()
		}
		a.logger().Error("change not recorded: refused by the store and parked; repair the cause, then run `dealflow recordings retry`",
			"deal", c.Deal.ID, "version", c.Deal.Version, "events", len(c.Events), "parked", out.Parked, "error", out.Error)
	}
	if out.Replayed > 0 {
		a.logger().Info("parked changes recorded", "deal", c.Deal.ID, "replayed", out.Replayed, "still_parked", out.Parked)
	}
	return RecordResult{Parked: out.Parked, Since: out.Since, Error: out.Error}, nil
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
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
