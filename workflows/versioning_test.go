package workflows

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dealflow/workflows/deal"
)

// A change to the deal workflow that adds a command (here a timer before the
// deal starts) breaks every running deal unless it is guarded: old histories
// have no such timer. These two variants show that the replay tests catch
// the unguarded change and accept the guarded one.

func dealWithUnguardedTimer(ctx workflow.Context, in DealInput) (*deal.Deal, error) {
	if err := workflow.Sleep(ctx, time.Second); err != nil {
		return nil, err
	}
	return DealWorkflow(ctx, in)
}

func dealWithGuardedTimer(ctx workflow.Context, in DealInput) (*deal.Deal, error) {
	if workflow.GetVersion(ctx, "settle-before-start", workflow.DefaultVersion, 1) == 1 {
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}
	return DealWorkflow(ctx, in)
}

func replayWith(t *testing.T, wf any, file string) error {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: DealWorkflowName})
	return r.ReplayWorkflowHistoryFromJSONFile(nil, file)
}

func TestReplayCatchesUnguardedChange(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	if len(files) == 0 {
		t.Fatal("no recorded histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			err := replayWith(t, dealWithUnguardedTimer, f)
			// TMPRL1100 is the SDK's code for a nondeterministic replay.
			if err == nil || !strings.Contains(err.Error(), "TMPRL1100") {
				t.Errorf("unguarded change replayed with %v; want a nondeterminism error (TMPRL1100)", err)
			}
			if err := replayWith(t, dealWithGuardedTimer, f); err != nil {
				t.Errorf("guarded change: %v", err)
			}
		})
	}
}
