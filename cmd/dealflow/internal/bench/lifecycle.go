package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"golang.org/x/sync/errgroup"

	"dealflow/workflows"
	"dealflow/workflows/deal"
)

// The lifecycle part drives deals through the HTTP API the way their team
// would; the baseline part (baseline.go) drives workflows that do nothing
// but accept as many updates, straight through the SDK. Both run the same number of
// workflows with the same number of clients, so their ratio says what
// dealflow costs on top of Temporal.

// Route labels of the lifecycle's requests.
const (
	routeCreate = "POST /v1/deals"
	routeSubmit = "POST /v1/deals/{id}/milestones/{key}/submit"
	routeReview = "POST /v1/deals/{id}/milestones/{key}/review"
	// routeUpdates is every action (submit and review) together: what the
	// baseline's updates compare with.
	routeUpdates = "actions (submit + review)"
	// routeLaterUpdates leaves out each deal's first action.
	routeLaterUpdates = "actions after the first"
)

// benchTemplate is the plan every bench deal follows.
const benchTemplate = "project"

// dealAction is one request of a deal's lifecycle after its start.
type dealAction struct {
	route string
	user  string
	path  string // below /v1/deals/{id}
	body  any
}

// lifecycleActions are a project deal's actions from start to won: each
// milestone submitted by its owner with its whole checklist; a milestone
// with a review is rejected once by the first approver, submitted again and
// approved by the second.
func lifecycleActions() ([]dealAction, error) {
	tmpl, ok := deal.Builtin(benchTemplate)
	if !ok {
		return nil, fmt.Errorf("no built-in template %q", benchTemplate)
	}
	holder := map[deal.Role]string{deal.RolePMO: "pat", deal.RoleCommercial: "cora", deal.RoleSolution: "sol"}
	var out []dealAction
	for _, m := range tmpl.Milestones {
		submit := dealAction{route: routeSubmit, user: holder[m.Role], path: "/milestones/" + m.Key + "/submit",
			body: map[string]any{"checklist": m.Checklist, "evidence": []string{"https://wiki.example.com/" + m.Key}}}
		out = append(out, submit)
		if m.Review == nil {
			continue
		}
		resubmit := submit
		resubmit.body = map[string]any{"checklist": m.Checklist, "note": "reworked after review"}
		out = append(out,
			dealAction{route: routeReview, user: "ann", path: "/milestones/" + m.Key + "/review",
				body: map[string]any{"decision": "reject", "comment": "price the integration work separately"}},
			resubmit,
			dealAction{route: routeReview, user: "abe", path: "/milestones/" + m.Key + "/review",
				body: map[string]any{"decision": "approve", "comment": "good"}},
		)
	}
	return out, nil
}

func benchDealBody(id string, i int) map[string]any {
	return map[string]any{
		"id": id, "name": fmt.Sprintf("Bench deal %d", i), "customer": fmt.Sprintf("Customer %d", i),
		"amount": 100_000 + i, "currency": "CNY", "template": benchTemplate,
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol",
			"approvers": []string{"ann", "abe"}, "director": "dina"},
	}
}

// recorder collects latencies by label from many goroutines.
type recorder struct {
	mu  sync.Mutex
	by  map[string][]time.Duration
	err []string
	n   int // errors in all
}

func newRecorder() *recorder { return &recorder{by: map[string][]time.Duration{}} }

func (r *recorder) add(label string, d time.Duration) {
	r.mu.Lock()
	r.by[label] = append(r.by[label], d)
	r.mu.Unlock()
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	r.n++
	if len(r.err) < 5 {
		r.err = append(r.err, err.Error())
	}
	r.mu.Unlock()
}

func (r *recorder) stats(label string) latencyStats { return newLatencyStats(r.by[label]) }

// httpClient is shared by every bench client, with a connection each.
func (e *benchEnv) httpClient() *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			MaxIdleConns:        4 * e.opts.Concurrency,
			MaxIdleConnsPerHost: 4 * e.opts.Concurrency,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// call sends one request and decodes a 2xx answer into out (unless nil).
func (e *benchEnv) call(ctx context.Context, hc *http.Client, method, path, user string, body any, key string, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.apiURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s as %s: %d %.300s", method, path, user, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// driveDeal starts one deal through the API and takes it to won.
func (e *benchEnv) driveDeal(ctx context.Context, hc *http.Client, rec *recorder, actions []dealAction, id string, i int) error {
	var state struct {
		Status deal.DealStatus `json:"status"`
	}
	start := time.Now()
	if err := e.call(ctx, hc, http.MethodPost, "/v1/deals", "pat", benchDealBody(id, i), "", &state); err != nil {
		return err
	}
	rec.add(routeCreate, time.Since(start))
	for n, a := range actions {
		start := time.Now()
		err := e.call(ctx, hc, http.MethodPost, "/v1/deals/"+id+a.path, a.user, a.body, fmt.Sprintf("%s/%d", id, n), &state)
		if err != nil {
			return err
		}
		d := time.Since(start)
		rec.add(a.route, d)
		rec.add(routeUpdates, d)
		rec.add(stepLabel(n), d)
		if n > 0 {
			rec.add(routeLaterUpdates, d)
		}
	}
	if state.Status != deal.DealWon {
		return fmt.Errorf("deal %s ended %s after its last action, want won", id, state.Status)
	}
	return nil
}

// forEach runs fn for 0..n-1 on the given number of goroutines; errors are
// recorded, not fatal, unless ctx ends.
func forEach(ctx context.Context, n, concurrency int, rec *recorder, fn func(ctx context.Context, i int) error) error {
	next := make(chan int)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range concurrency {
		g.Go(func() error {
			for i := range next {
				if err := fn(gctx, i); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					rec.fail(err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// warmUp drives one deal and one baseline workflow per client, unmeasured:
// connections, caches and the server's first allocations are made before
// the clock starts.
func (e *benchEnv) warmUp(ctx context.Context) error {
	actions, err := lifecycleActions()
	if err != nil {
		return err
	}
	hc := e.httpClient()
	rec := newRecorder()
	n := e.opts.Concurrency
	e.progressf("warming up: %d deals and %d baseline workflows, not measured", n, n)
	if err := forEach(ctx, n, e.opts.Concurrency, rec, func(ctx context.Context, i int) error {
		if err := e.driveDeal(ctx, hc, rec, actions, fmt.Sprintf("warm-%s-%d", e.run, i), i); err != nil {
			return err
		}
		return e.driveBaseline(ctx, rec, fmt.Sprintf("bench-baseline/warm-%s-%d", e.run, i), len(actions))
	}); err != nil {
		return err
	}
	if rec.n > 0 {
		return fmt.Errorf("%d of %d warm-up deals failed: %v", rec.n, n, rec.err)
	}
	return nil
}

func (e *benchEnv) lifecycle(ctx context.Context, res *Result) error {
	actions, err := lifecycleActions()
	if err != nil {
		return err
	}
	hc := e.httpClient()
	rec := newRecorder()
	ids := make([]string, e.opts.Deals)
	for i := range ids {
		ids[i] = fmt.Sprintf("lc-%s-%05d", e.run, i)
	}
	won := make([]bool, len(ids))
	sdkBefore := sdkLatencies(e.metrics)
	poolBefore := e.st.DB().Stats()
	stopProfile, err := startCPUProfile(e.opts.CPUProfile)
	if err != nil {
		return err
	}
	start := time.Now()
	err = forEach(ctx, len(ids), e.opts.Concurrency, rec, func(ctx context.Context, i int) error {
		err := e.driveDeal(ctx, hc, rec, actions, ids[i], i)
		won[i] = err == nil
		return err
	})
	elapsed := time.Since(start)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	poolAfter := e.st.DB().Stats()
	done := len(ids) - rec.n
	r := &lifecycleResult{
		Deals: len(ids), Completed: done, Failed: rec.n, Errors: rec.err, Concurrency: e.opts.Concurrency,
		ActionsPerDeal: len(actions), Milestones: benchMilestones(), Seconds: elapsed.Seconds(),
		DealsPerSecond: float64(done) / elapsed.Seconds(),
		Routes:         map[string]latencyStats{},
		Pool: poolStats{MaxOpen: poolAfter.MaxOpenConnections, Waits: poolAfter.WaitCount - poolBefore.WaitCount,
			WaitMs: ms(poolAfter.WaitDuration - poolBefore.WaitDuration)},
	}
	for _, route := range []string{routeCreate, routeSubmit, routeReview, routeUpdates, routeLaterUpdates} {
		r.Routes[route] = rec.stats(route)
	}
	for n := range actions {
		r.ActionSteps = append(r.ActionSteps, rec.stats(stepLabel(n)))
	}
	// The tally reporter copies the SDK's figures every second.
	time.Sleep(e.df.MetricsInterval + 100*time.Millisecond)
	r.SDK = sdkTimingsSince(e.metrics, sdkBefore)
	res.Lifecycle = r
	e.progressf("lifecycle: %d deals won in %v (%.1f deals/s), %d failed", done, elapsed.Round(time.Millisecond), r.DealsPerSecond, rec.n)

	var wids []string
	for i, id := range ids {
		if won[i] {
			wids = append(wids, workflows.DealWorkflowID(id))
		}
	}
	if len(wids) == 0 {
		return fmt.Errorf("no deal was won: %v", rec.err)
	}
	if r.History, err = e.historyStats(ctx, wids); err != nil {
		return fmt.Errorf("reading the deals' histories: %w", err)
	}
	r.EventsPerMilestone = r.History.MeanEvents / float64(r.Milestones)
	r.EventsPerAction = r.History.MeanEvents / float64(len(actions)+1)
	return nil
}

func benchMilestones() int {
	tmpl, _ := deal.Builtin(benchTemplate)
	return len(tmpl.Milestones)
}

// historyStats waits for each workflow to close and counts its history
// events; the first one's are also counted by type.
func (e *benchEnv) historyStats(ctx context.Context, wids []string) (*historyStats, error) {
	lengths := make([]int64, len(wids))
	rec := newRecorder()
	err := forEach(ctx, len(wids), e.opts.Concurrency, rec, func(ctx context.Context, i int) error {
		// Its last update answered; the run closes a moment later.
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := e.tc.GetWorkflow(wctx, wids[i], "").Get(wctx, nil); err != nil {
			return fmt.Errorf("%s: %w", wids[i], err)
		}
		d, err := e.tc.DescribeWorkflowExecution(ctx, wids[i], "")
		if err != nil {
			return err
		}
		lengths[i] = d.WorkflowExecutionInfo.GetHistoryLength()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rec.n > 0 {
		return nil, fmt.Errorf("%d workflows: %v", rec.n, rec.err)
	}
	h := &historyStats{Workflows: len(wids), ByType: map[string]int{}, Sample: wids[0]}
	var sum int64
	for i, n := range lengths {
		sum += n
		if i == 0 || n < h.MinEvents {
			h.MinEvents = n
		}
		h.MaxEvents = max(h.MaxEvents, n)
	}
	h.MeanEvents = float64(sum) / float64(len(lengths))
	it := e.tc.GetWorkflowHistory(ctx, wids[0], "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.ByType[ev.GetEventType().String()]++
	}
	return h, nil
}

// startCPUProfile profiles this process into path ("": no profile) until
// the returned function is called.
func startCPUProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// stepLabel labels the nth action of a deal or update of a workflow.
func stepLabel(n int) string { return fmt.Sprintf("step %d", n+1) }
