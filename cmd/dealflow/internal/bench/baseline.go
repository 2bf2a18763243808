package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"
)

// The baseline: a workflow that accepts updates and does nothing else,
// driven through the SDK by as many clients as the lifecycle's, so that
// the two compare (see lifecycle.go). Its registered name, its update's
// name and their payloads (an int in, an int out) are part of what is
// measured: keep them.
const (
	benchBaselineWorkflowName = "BenchBaseline"
	benchBaselineUpdate       = "act"
)

// benchBaselineWorkflow accepts updates until it has taken want of them,
// each answered with how many it has taken, and then completes.
func benchBaselineWorkflow(ctx workflow.Context, want int) (int, error) {
	taken := 0
	if err := workflow.SetUpdateHandler(ctx, benchBaselineUpdate, func(ctx workflow.Context, step int) (int, error) {
		taken++
		return taken, nil
	}); err != nil {
		return 0, err
	}
	err := workflow.Await(ctx, func() bool { return taken >= want && workflow.AllHandlersFinished(ctx) })
	return taken, err
}

// serveBaselineWorker runs a worker of the baseline workflow on its own
// task queue, with the same options as the deal worker, until ctx ends.
func (e *benchEnv) serveBaselineWorker(ctx context.Context, g *errgroup.Group) <-chan struct{} {
	started := make(chan struct{})
	g.Go(func() error {
		w := worker.New(e.tc, e.baselineQueue, worker.Options{WorkerStopTimeout: e.opts.ShutdownTimeout})
		w.RegisterWorkflowWithOptions(benchBaselineWorkflow, workflow.RegisterOptions{Name: benchBaselineWorkflowName})
		if err := w.Start(); err != nil {
			return fmt.Errorf("starting the baseline worker: %w", err)
		}
		close(started)
		<-ctx.Done()
		w.Stop()
		return nil
	})
	return started
}

// Labels of the baseline's calls.
const (
	labelBaselineStart  = "start (ExecuteWorkflow)"
	labelBaselineUpdate = "update (UpdateWorkflow, completed)"
	// labelBaselineLaterUpdate leaves out each workflow's first update,
	// which waits for the workflow's first task.
	labelBaselineLaterUpdate = "updates after the first"
)

// driveBaseline starts one baseline workflow and sends it its updates, one
// after another, each waited for until completed.
func (e *benchEnv) driveBaseline(ctx context.Context, rec *recorder, wid string, updates int) error {
	start := time.Now()
	_, err := e.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wid, TaskQueue: e.baselineQueue}, benchBaselineWorkflowName, updates)
	if err != nil {
		return err
	}
	rec.add(labelBaselineStart, time.Since(start))
	for n := range updates {
		start := time.Now()
		h, err := e.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			UpdateID: fmt.Sprintf("%s/%d", wid, n), WorkflowID: wid, UpdateName: benchBaselineUpdate,
			Args: []any{n}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return err
		}
		var taken int
		if err := h.Get(ctx, &taken); err != nil {
			return err
		}
		d := time.Since(start)
		rec.add(labelBaselineUpdate, d)
		rec.add(stepLabel(n), d)
		if n > 0 {
			rec.add(labelBaselineLaterUpdate, d)
		}
		if taken != n+1 {
			return fmt.Errorf("%s: update %d answered %d", wid, n, taken)
		}
	}
	return nil
}

func (e *benchEnv) baseline(ctx context.Context, res *Result) error {
	actions, err := lifecycleActions()
	if err != nil {
		return err
	}
	rec := newRecorder()
	wids := make([]string, e.opts.Deals)
	for i := range wids {
		wids[i] = fmt.Sprintf("bench-baseline/%s-%05d", e.run, i)
	}
	ok := make([]bool, len(wids))
	sdkBefore := sdkLatencies(e.metrics)
	start := time.Now()
	err = forEach(ctx, len(wids), e.opts.Concurrency, rec, func(ctx context.Context, i int) error {
		err := e.driveBaseline(ctx, rec, wids[i], len(actions))
		ok[i] = err == nil
		return err
	})
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	done := len(wids) - rec.n
	r := &baselineResult{
		Workflows: len(wids), Completed: done, Failed: rec.n, Errors: rec.err, Concurrency: e.opts.Concurrency,
		UpdatesPerWorkflow: len(actions), Seconds: elapsed.Seconds(),
		WorkflowsPerSecond: float64(done) / elapsed.Seconds(),
		Start:              rec.stats(labelBaselineStart), Update: rec.stats(labelBaselineUpdate),
		LaterUpdates: rec.stats(labelBaselineLaterUpdate),
	}
	for n := range len(actions) {
		r.UpdateSteps = append(r.UpdateSteps, rec.stats(stepLabel(n)))
	}
	time.Sleep(e.df.MetricsInterval + 100*time.Millisecond)
	r.SDK = sdkTimingsSince(e.metrics, sdkBefore)
	res.Baseline = r
	e.progressf("baseline: %d workflows done in %v (%.1f workflows/s), %d failed", done, elapsed.Round(time.Millisecond), r.WorkflowsPerSecond, rec.n)
	var closed []string
	for i, wid := range wids {
		if ok[i] {
			closed = append(closed, wid)
		}
	}
	if len(closed) == 0 {
		return fmt.Errorf("no baseline workflow completed: %v", rec.err)
	}
	if r.History, err = e.historyStats(ctx, closed); err != nil {
		return fmt.Errorf("reading the baseline's histories: %w", err)
	}
	return nil
}
