package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
)

// TestBackendFailuresAre503: outages and a missing worker say so with a
// 503 (retry later), never a 500.
func TestBackendFailuresAre503(t *testing.T) {
	for name, c := range map[string]struct {
		err  error
		want string
	}{
		"no worker":     {fmt.Errorf("querying: %w", serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down")), "no dealflow worker"},
		"temporal down": {serviceerror.NewUnavailable("connection refused"), "unavailable"},
		"timeout":       {context.DeadlineExceeded, "unavailable"},
	} {
		e, internal := toError(c.err)
		if e.Status != http.StatusServiceUnavailable || !internal || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %d %q (logged: %v), want 503 saying %q", name, e.Status, e.Message, internal, c.want)
		}
	}
	if e, _ := toError(serviceerror.NewFailedPrecondition("something else")); e.Status != http.StatusInternalServerError {
		t.Errorf("another failed precondition: %d, want 500", e.Status)
	}
}
