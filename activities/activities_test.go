package activities

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

type failingRecorder struct{ err error }

func (f failingRecorder) RecordChange(context.Context, *deal.Deal, []deal.Event) error { return f.err }

// TestRecordChangeRetries: a change the store can never accept fails for
// good (retrying cannot help); anything else, such as Postgres being down,
// stays retryable so the change is recorded once it is back.
func TestRecordChangeRetries(t *testing.T) {
	for _, c := range []struct {
		err          error
		nonRetryable bool
	}{
		{fmt.Errorf("deal x: %w", store.ErrInvalidChange), true},
		{errors.New("dial tcp 127.0.0.1:5432: connection refused"), false},
		{nil, false},
	} {
		a := &Activities{Recorder: failingRecorder{c.err}}
		_, err := a.RecordChange(context.Background(), Change{})
		var appErr *temporal.ApplicationError
		switch {
		case c.err == nil && err != nil:
			t.Errorf("unexpected error %v", err)
		case c.nonRetryable && (!errors.As(err, &appErr) || !appErr.NonRetryable()):
			t.Errorf("%v: want a non-retryable application error, got %v", c.err, err)
		case !c.nonRetryable && errors.As(err, &appErr) && appErr.NonRetryable():
			t.Errorf("%v became non-retryable", c.err)
		case c.err != nil && !errors.Is(err, c.err) && !c.nonRetryable:
			t.Errorf("%v was not passed through: %v", c.err, err)
		}
	}
}
