package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"dealflow/activities"
	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

// start is the simulated instant every test deal starts at.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var team = deal.Team{PMO: "pat", Commercial: "cora", Solution: "sol", Approvers: []string{"ann", "abe"}, Director: "dina"}

// recorder is a fake ChangeRecorder that keeps every recorded change and
// checks the invariants the real store relies on. Like the store, it takes
// a change again without effect: an activity runs at least once, and a
// continued run records again what its predecessor left unrecorded.
type recorder struct {
	mu      sync.Mutex
	changes []activities.Change // those that advanced the snapshot
	events  []deal.Event        // each once, in the order they came
	seen    map[int64]bool
	// stale are versions that came after a newer one: out of order.
	stale []int64
	// down makes recording fail, as when Postgres is unreachable.
	down atomic.Bool
	// refuse makes the store refuse changes for good: RecordOrPark parks
	// them (in parked) as the real store does, until refuse is cleared.
	refuse   atomic.Bool
	parked   []activities.Change
	replayed int
	// calls counts RecordOrPark calls.
	calls atomic.Int64
	// recorded is the newest version recorded of each deal.
	recorded map[string]int64
}

// RecordOrPark is store.RecordOrPark's contract: parked changes are
// replayed first; while refused, changes with events are parked.
func (r *recorder) RecordOrPark(ctx context.Context, d *deal.Deal, evs []deal.Event) (store.RecordOutcome, error) {
	r.calls.Add(1)
	if r.down.Load() {
		return store.RecordOutcome{}, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	r.mu.Lock()
	if r.refuse.Load() {
		now := len(evs) > 0 && !slices.ContainsFunc(r.parked, func(c activities.Change) bool { return c.Deal.Version == d.Version })
		if now {
			r.parked = append(r.parked, activities.Change{Deal: *d, Events: evs})
		}
		out := store.RecordOutcome{Parked: len(r.parked), Since: start, Error: "refused by the test", ParkedNow: now}
		if out.Parked == 0 { // an eventless change with nothing parked
			out = store.RecordOutcome{}
		}
		r.mu.Unlock()
		return out, nil
	}
	parked := r.parked
	r.parked = nil
	r.replayed += len(parked)
	r.mu.Unlock()
	for _, c := range parked {
		if err := r.RecordChange(ctx, &c.Deal, c.Events); err != nil {
			return store.RecordOutcome{}, err
		}
	}
	return store.RecordOutcome{Replayed: len(parked)}, r.RecordChange(ctx, d, evs)
}

// replayNow records the parked changes, as an operator's replay
// (store.ReplayParked) does.
func (r *recorder) replayNow(ctx context.Context) error {
	r.mu.Lock()
	parked := r.parked
	r.parked = nil
	r.replayed += len(parked)
	r.mu.Unlock()
	for _, c := range parked {
		if err := r.RecordChange(ctx, &c.Deal, c.Events); err != nil {
			return err
		}
	}
	return nil
}

func (r *recorder) parkedNow() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.parked)
}

func (r *recorder) RecordChange(_ context.Context, d *deal.Deal, evs []deal.Event) error {
	if r.down.Load() {
		return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recorded == nil {
		r.recorded = map[string]int64{}
	}
	r.recorded[d.ID] = max(r.recorded[d.ID], d.Version)
	switch n := len(r.changes); {
	case n == 0 || d.Version > r.changes[n-1].Deal.Version:
		r.changes = append(r.changes, activities.Change{Deal: *d, Events: evs})
	case d.Version < r.changes[n-1].Deal.Version:
		r.stale = append(r.stale, d.Version)
	}
	if r.seen == nil {
		r.seen = map[int64]bool{}
	}
	for _, e := range evs {
		if !r.seen[e.Seq] {
			r.seen[e.Seq] = true
			r.events = append(r.events, e)
		}
	}
	return nil
}

func (r *recorder) kinds() []deal.EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]deal.EventKind, len(r.events))
	for i, e := range r.events {
		out[i] = e.Kind
	}
	return out
}

// updateIDs numbers updates uniquely across harnesses, as real clients'
// random IDs are.
var updateIDs atomic.Int64

// harness drives one deal workflow in the time-skipping test environment.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	rec *recorder
	// outstanding counts updates sent whose outcome has not been checked.
	outstanding int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), rec: &recorder{}}
	h.env.SetStartTime(start)
	Register(h.env, &activities.Activities{Recorder: h.rec}, &activities.Reports{})
	return h
}

func spec(t *testing.T, tmpl string) deal.DealSpec {
	t.Helper()
	p, ok := deal.Builtin(tmpl)
	if !ok {
		t.Fatalf("no built-in template %q", tmpl)
	}
	return deal.DealSpec{ID: "acme-erp", Name: "ACME ERP rollout", Customer: "ACME", Amount: 1_200_000, Currency: "CNY", Team: team, Plan: p}
}

// at runs f when the simulated clock reaches start+offset.
func (h *harness) at(offset time.Duration, f func()) {
	h.env.RegisterDelayedCallback(f, offset)
}

// run starts the workflow and returns its final state.
func (h *harness) run(s deal.DealSpec) *deal.Deal {
	h.t.Helper()
	h.env.ExecuteWorkflow(DealWorkflowName, DealInput{Spec: &s})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var d deal.Deal
	if err := h.env.GetWorkflowResult(&d); err != nil {
		h.t.Fatal(err)
	}
	if h.outstanding != 0 {
		h.t.Errorf("%d updates never completed", h.outstanding)
	}
	h.checkRecorded(&d)
	return &d
}

// update sends an action as an update; check runs when it completes or is
// rejected, with the new state or the refusal, as a client would see them.
// rejected says whether the validator refused it (leaving no history).
func (h *harness) update(name string, a any, check func(d *deal.Deal, err error, rejected bool)) {
	h.outstanding++
	finish := func(d *deal.Deal, err error, rejected bool) {
		h.outstanding--
		check(d, err, rejected)
	}
	h.env.UpdateWorkflow(name, fmt.Sprintf("update-%d", updateIDs.Add(1)), &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(e error) { finish(nil, e, true) },
		OnComplete: func(res any, e error) {
			d, _ := res.(*deal.Deal)
			if d != nil {
				c := *d
				d = &c
			}
			finish(d, e, false)
		},
	}, a)
}

// do sends an action that must succeed, then runs the checks on the state it
// returns.
func (h *harness) do(name string, a any, checks ...func(d *deal.Deal)) {
	at := h.env.Now().Sub(start)
	h.update(name, a, func(d *deal.Deal, err error, _ bool) {
		if err != nil || d == nil {
			h.t.Errorf("%s at %s: %v", name, at, err)
			return
		}
		for _, c := range checks {
			c(d)
		}
	})
}

// refused sends an action the validator must reject with the given code and
// a message containing want.
func (h *harness) refused(name string, a any, code deal.ErrorCode, want string) {
	h.update(name, a, func(_ *deal.Deal, err error, rejected bool) {
		var appErr *temporal.ApplicationError
		if !rejected || !errors.As(err, &appErr) {
			h.t.Errorf("%s: want a validator rejection (%s), got rejected=%v err=%v", name, code, rejected, err)
			return
		}
		if got, _ := ActionErrorCode(appErr); got != code {
			h.t.Errorf("%s: code %q, want %q (%v)", name, got, code, err)
		}
		if !containsFold(appErr.Error(), want) {
			h.t.Errorf("%s: message %q does not mention %q", name, appErr.Error(), want)
		}
	})
}

func (h *harness) state() *deal.Deal {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(QueryState)
	if err != nil {
		h.t.Fatal(err)
	}
	var d deal.Deal
	if err := v.Get(&d); err != nil {
		h.t.Fatal(err)
	}
	return &d
}

// checkRecorded asserts what the store relies on: changes come in version
// order, event sequence numbers are contiguous from 1, the last snapshot is
// the final state.
func (h *harness) checkRecorded(final *deal.Deal) {
	h.t.Helper()
	if len(h.rec.stale) > 0 {
		h.t.Errorf("versions %v were recorded after newer ones", h.rec.stale)
	}
	for i, e := range h.rec.events {
		if e.Seq != int64(i+1) {
			h.t.Fatalf("event %d has seq %d: recorded events must be contiguous", i, e.Seq)
		}
	}
	var lastVersion int64
	if n := len(h.rec.changes); n > 0 {
		lastVersion = h.rec.changes[n-1].Deal.Version
	}
	if lastVersion != final.Version || int64(len(h.rec.events)) != final.Seq {
		h.t.Errorf("last recorded version %d / %d events, final state version %d / seq %d", lastVersion, len(h.rec.events), final.Version, final.Seq)
	}
}

// submit confirms every checklist item of the milestone, as a diligent owner does.
func submit(actor, key string, d *deal.Deal) deal.Submit {
	a := deal.Submit{Acting: deal.Acting{Actor: actor}, Milestone: key}
	if m := d.Milestone(key); m != nil {
		a.Checklist = m.Checklist
	}
	return a
}

func review(actor, key string, dec deal.ReviewDecision, comment string) deal.ReviewAction {
	return deal.ReviewAction{Acting: deal.Acting{Actor: actor}, Milestone: key, Decision: dec, Comment: comment}
}

func closeDeal(outcome deal.DealStatus) deal.CloseAction {
	return deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: outcome, Reason: "test over"}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

const day = deal.Day
