package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dealflow/deploy/localstack"
	"dealflow/workflows"
	"dealflow/workflows/deal"
)

// TestFaultsWorkerCrash kills the only worker process (kill -9) while 50
// deals are mid-flight — timers pending, reviews waiting, rejections and
// other updates in flight — and keeps it down until deadlines have passed.
// A new worker process takes over; every deal reaches its expected end, the
// timers that fell due without a worker fire, stamped with their own
// deadlines, and the audit trail and the read model match the workflows
// exactly. Updates answered 503 while no worker ran are retried with the
// same Idempotency-Key and apply once.
func TestFaultsWorkerCrash(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e := newFaultEnv(t, "15s")
	const n = 50
	deals := newDeals("crash", n, func(i int) bool { return i%3 == 2 })
	group := func(d *faultDeal) int { return d.n % 5 }
	untouched, moved := split(deals, func(d *faultDeal) bool { return group(d) == 0 })
	t.Logf("servers, worker and API up in %s", time.Since(start).Round(time.Millisecond))

	// Phase A, worker up: move the deals to different places.
	//   1: qualify submitted (design active)
	//   2, 3: design submitted, waiting for review
	//   4: design approved (contract active)
	//   0: nothing, and started last, so that their qualify's due time
	//      and escalations fall due while no worker runs
	e.start(moved)
	e.parallel(moved, func(fd *faultDeal) error {
		d := fd.started
		var err error
		g := group(fd)
		if g >= 1 {
			if d, err = e.submit(d, "qualify"); err != nil {
				return err
			}
		}
		if g >= 2 {
			if d, err = e.submit(d, "design"); err != nil {
				return err
			}
		}
		if g == 4 {
			if _, err = e.review(d, "design", "abe", true); err != nil {
				return err
			}
		}
		return nil
	})
	if t.Failed() {
		t.FailNow()
	}
	e.start(untouched)
	t.Logf("%d deals started and moved on in %s", n, time.Since(start).Round(time.Millisecond))

	// Phase B: one update per deal, all at once; the worker is killed as
	// soon as the fifth is answered. Each is sent until it answers 200.
	//   0, 4: re-date the contract (an action that would apply twice if
	//         a retry were not recognised)
	//   1: record the buyer's stage
	//   2: approve the design; 3: reject it
	var answered, inFlightAtKill atomic.Int64
	killed := make(chan struct{})
	var killOnce sync.Once
	oldWorker := e.worker
	kill := func() {
		killOnce.Do(func() {
			inFlightAtKill.Store(n - answered.Load())
			oldWorker.kill()
			close(killed)
		})
	}
	var wg sync.WaitGroup
	for _, fd := range deals {
		wg.Go(func() {
			var err error
			switch g := group(fd); g {
			case 0, 4:
				fd.redates = 1
				_, err = e.act("pat", fd.id, "/plan", map[string]any{"ops": []map[string]any{{"op": "redate", "key": "contract", "due": "2h"}}}, "b/redate")
			case 1:
				fd.buyerStages = 1
				_, err = e.act("cora", fd.id, "/buyer-stage", map[string]any{"stage": "met_decision_maker"}, "b/buyer")
			case 2, 3:
				body := map[string]any{"decision": "approve"}
				if g == 3 {
					fd.rejections = 1
					body = map[string]any{"decision": "reject", "comment": "price the integration separately"}
				}
				_, err = e.act("ann", fd.id, "/milestones/design/review", body, "b/review")
			}
			if answered.Add(1) == 5 {
				kill()
			}
			if err != nil {
				t.Errorf("phase B, %s: %v", fd.id, err)
			}
		})
	}
	// Should the fifth answer be slow, kill anyway.
	select {
	case <-killed:
	case <-time.After(5 * time.Second):
		kill()
	}
	killedAt := time.Now()
	t.Logf("worker (pid %d) killed with %d of %d updates in flight, %s after the start", oldWorker.pid(), inFlightAtKill.Load(), n, killedAt.Sub(start).Round(time.Millisecond))

	// Keep the worker down until every untouched deal's qualify has passed
	// its due time and its last escalation (a deliberate outage).
	var gapEnd time.Time
	inGap := 0
	for _, fd := range untouched {
		at := lastDeadline(fd.started)
		if at.After(gapEnd) {
			gapEnd = at
		}
		if fd.started.Milestone("qualify").DueAt.After(killedAt) {
			inGap++
		}
	}
	if inGap == 0 {
		t.Fatalf("every due time passed before the worker was killed; the machine is too slow for the template's 15 s")
	}
	time.Sleep(time.Until(gapEnd) + 500*time.Millisecond)
	e.startWorker()
	restartedAt := time.Now()
	t.Logf("new worker (pid %d) after %s without one; %d of %d untouched deals fell due and escalated meanwhile",
		e.worker.pid(), restartedAt.Sub(killedAt).Round(time.Millisecond), inGap, len(untouched))
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("phase B done %s after the restart; %d answers were 503 and retried with the same Idempotency-Key",
		time.Since(restartedAt).Round(time.Millisecond), e.retried503.Load())

	// Timers that fell due without a worker fired once it came back.
	e.awaitEscalatedOnTime(untouched)

	// Phase C: every deal to its end.
	e.finish(deals)
	lost := 0
	for _, fd := range deals {
		if fd.lost {
			lost++
		}
	}
	t.Logf("%d deals (%d won, %d lost), 1 worker killed, %d actions retried after 503; %s in all",
		n, n-lost, lost, e.retried503.Load(), time.Since(start).Round(time.Millisecond))
}

// TestFaultsTemporalRestart stops the Temporal dev server mid-run, with
// updates in flight and deals whose due times and escalations fall due
// during the outage, and starts it again on the same port and SQLite file.
// During the outage actions answer 503 within the API's Temporal timeout,
// while lists and deal reads come from the read model. After it the worker
// and API processes carry on by themselves (neither is restarted), the
// missed timers fire, stamped with their own deadlines, and every deal
// reaches its end with nothing lost.
func TestFaultsTemporalRestart(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e := newFaultEnv(t, "15s")
	const n = 10
	deals := newDeals("trestart", n, func(i int) bool { return i%3 == 2 })
	untouched, moved := split(deals, func(d *faultDeal) bool { return d.n%2 == 0 })
	// Odd deals: design submitted, waiting for review. Even deals: started
	// last and left alone, their qualify falling due during the outage.
	e.start(moved)
	e.parallel(moved, func(fd *faultDeal) error {
		d, err := e.submit(fd.started, "qualify")
		if err == nil {
			_, err = e.submit(d, "design")
		}
		return err
	})
	if t.Failed() {
		t.FailNow()
	}
	e.eventually("projection of the moved deals", 30*time.Second, func() error {
		var errs []error
		for _, fd := range moved {
			errs = append(errs, e.caughtUp(fd.id))
		}
		return errors.Join(errs...)
	})
	e.start(untouched)

	// Approvals in flight as the server stops; each is sent until it
	// answers 200.
	var wg sync.WaitGroup
	firstAnswer := make(chan struct{})
	var once sync.Once
	for _, fd := range moved {
		wg.Go(func() {
			_, err := e.act("abe", fd.id, "/milestones/design/review", map[string]any{"decision": "approve"}, "t/review")
			once.Do(func() { close(firstAnswer) })
			if err != nil {
				t.Errorf("approval of %s: %v", fd.id, err)
			}
		})
	}
	select {
	case <-firstAnswer:
	case <-time.After(5 * time.Second):
	}
	if err := e.temporal.Stop(); err != nil {
		t.Fatalf("stopping Temporal: %v", err)
	}
	stoppedAt := time.Now()
	var outageEnd time.Time
	var inOutage []*faultDeal // deals whose due time and escalations all fall in the outage
	for _, fd := range untouched {
		at := lastDeadline(fd.started)
		if at.After(outageEnd) {
			outageEnd = at
		}
		if fd.started.Milestone("qualify").DueAt.After(stoppedAt) {
			inOutage = append(inOutage, fd)
		}
	}
	if len(inOutage) == 0 {
		t.Fatalf("every due time passed before Temporal stopped; the machine is too slow for the template's 15 s")
	}
	t.Logf("Temporal stopped %s after the start; %d of %d untouched deals fall due during the outage",
		stoppedAt.Sub(start).Round(time.Millisecond), len(inOutage), len(untouched))

	// During the outage: an action answers 503 within the API's Temporal
	// timeout (10 s); it is sent again, with the same key, afterwards.
	buyer := untouched[0]
	buyer.buyerStages = 1
	buyerBody := map[string]any{"stage": "met_decision_maker"}
	r := e.call("cora", "POST", "/v1/deals/"+buyer.id+"/buyer-stage", buyerBody, "t/buyer")
	if code, _, ok := r.errorBody(); r.status != http.StatusServiceUnavailable || !ok || code != "unavailable" || r.took > 20*time.Second {
		t.Errorf("an action while Temporal is down: %s; want 503 unavailable within 20 s", r)
	}
	// Lists come from the read model.
	r = e.call("root", "GET", "/v1/deals?limit=200", nil, "")
	var page struct {
		Deals []json.RawMessage `json:"deals"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &page) != nil || len(page.Deals) < len(moved) || r.took > 5*time.Second {
		t.Errorf("list while Temporal is down: %s; want 200 with at least %d deals within 5 s", r, len(moved))
	}
	// A deal's page falls back to the read model.
	r = e.call("root", "GET", "/v1/deals/"+moved[0].id, nil, "")
	var view struct {
		Source string `json:"source"`
		deal.Deal
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &view) != nil || view.Source != "read-model" || view.ID != moved[0].id || r.took > 20*time.Second {
		t.Errorf("a deal while Temporal is down: %s; want 200 from the read model within 20 s", r)
	}
	if r := e.call("", "GET", "/readyz", nil, ""); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), `"temporal":"unavailable`) {
		t.Errorf("/readyz while Temporal is down: %s; want 503 naming temporal", r)
	}
	e.requireRunning("during the Temporal outage")

	// Keep it down until every deadline of the untouched deals has passed
	// (a deliberate outage).
	time.Sleep(time.Until(outageEnd) + time.Second)
	restarting := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if e.temporal, err = localstack.StartTemporal(ctx, e.tOpts); err != nil {
		t.Fatalf("restarting Temporal on the same port and file: %v", err)
	}
	restartedAt := time.Now()
	t.Logf("Temporal restarted after %s down (%s to start)", restartedAt.Sub(stoppedAt).Round(time.Millisecond), restartedAt.Sub(restarting).Round(time.Millisecond))

	// The same worker and API processes carry on.
	if _, err := e.act("cora", buyer.id, "/buyer-stage", buyerBody, "t/buyer"); err != nil {
		t.Fatalf("the action refused during the outage, sent again: %v", err)
	}
	t.Logf("first action through after the restart: %s", time.Since(restartedAt).Round(time.Millisecond))
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	e.requireRunning("after the Temporal restart")

	// The deadlines that fell in the outage fired after it (recorded after
	// the restart), each escalation stamped with its own deadline.
	e.awaitEscalatedOnTime(untouched)
	for _, fd := range inOutage {
		if at := lastDeadline(fd.started); !at.Before(restarting) {
			t.Errorf("%s: last deadline %s after the outage (%s–%s)", fd.id, at, stoppedAt, restarting)
		}
		// Recorded in the background: a recording the server handed out
		// as it stopped runs again only after its 30 s timeout.
		e.eventually(fd.id+" escalation recorded", time.Minute, func() error {
			return e.escalationsRecordedAfter(fd.id, restarting)
		})
	}

	e.finish(deals)
	e.requireRunning("at the end")
	t.Logf("%d deals, Temporal stopped once for %s, %d actions retried after 503; %s in all",
		n, restartedAt.Sub(stoppedAt).Round(time.Millisecond), e.retried503.Load(), time.Since(start).Round(time.Millisecond))
}

// TestFaultsPostgresOutage stops Postgres for 30 s mid-run, with deals whose
// due times fall in the outage. Meanwhile actions keep working (the deal's
// state lives in Temporal), the list answers 503 with the error shape
// quickly, and a deal's page still answers from the workflow. After
// Postgres returns, the recording activities retry and catch up: the read
// model and the audit trail end up holding everything, exactly once.
func TestFaultsPostgresOutage(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e := newFaultEnv(t, "15s")
	const n = 10
	const outage = 30 * time.Second
	deals := newDeals("pgdown", n, func(i int) bool { return i%3 == 2 })
	untouched, moved := split(deals, func(d *faultDeal) bool { return d.n%2 == 0 })
	// Odd deals: qualify done, design active. Even deals: started last and
	// left alone, their qualify falling due during the outage.
	e.start(moved)
	e.parallel(moved, func(fd *faultDeal) error {
		_, err := e.submit(fd.started, "qualify")
		return err
	})
	if t.Failed() {
		t.FailNow()
	}
	e.eventually("projection of the moved deals", 30*time.Second, func() error {
		var errs []error
		for _, fd := range moved {
			errs = append(errs, e.caughtUp(fd.id))
		}
		return errors.Join(errs...)
	})
	e.start(untouched)

	// Everyone has used the API before the outage (an API may remember
	// tokens it has seen; it cannot know others without Postgres).
	for _, u := range faultUsers {
		if r := e.call(u[0], "GET", "/v1/me", nil, ""); r.status != http.StatusOK {
			t.Fatalf("GET /v1/me as %s: %s", u[0], r)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.pg.Stop(ctx); err != nil {
		t.Fatalf("stopping Postgres: %v", err)
	}
	stoppedAt := time.Now()
	inOutage := 0
	for _, fd := range untouched {
		if fd.started.Milestone("qualify").DueAt.After(stoppedAt) {
			inOutage++
		}
	}
	if inOutage == 0 {
		t.Fatalf("every due time passed before Postgres stopped; the machine is too slow for the template's 15 s")
	}
	t.Logf("Postgres stopped %s after the start; %d of %d untouched deals fall due during the outage",
		stoppedAt.Sub(start).Round(time.Millisecond), inOutage, len(untouched))

	// The list needs Postgres: a quick 503 in the error shape.
	listDown := func(when string) {
		r := e.call("root", "GET", "/v1/deals", nil, "")
		code, msg, ok := r.errorBody()
		if r.status != http.StatusServiceUnavailable || !ok || code != "unavailable" || !strings.Contains(strings.ToLower(msg), "postgres") || r.took > 5*time.Second {
			t.Errorf("GET /v1/deals %s: %s; want 503 unavailable naming Postgres within 5 s", when, r)
		}
	}
	listDown("as Postgres stops")

	// A deal's page answers from the workflow.
	r := e.call("root", "GET", "/v1/deals/"+moved[0].id, nil, "")
	var view struct {
		Source string `json:"source"`
		deal.Deal
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &view) != nil || view.Source != "workflow" || view.ID != moved[0].id || r.took > 5*time.Second {
		t.Errorf("GET /v1/deals/%s while Postgres is down: %s; want 200 from the workflow within 5 s", moved[0].id, r)
	}

	// Actions keep working: odd deals submit their design, even deals
	// record the buyer's stage. An action the API refuses is sent straight
	// to the workflow under the same key, so that the rest of the test
	// still covers recording after the outage.
	var apiRefused atomic.Int64
	var firstRefusal atomic.Value
	e.parallel(deals, func(fd *faultDeal) error {
		path, body, key := "/milestones/design/submit", map[string]any{"checklist": []string{"Scope estimated"}}, "submit/design/r1"
		as, update := "sol", workflows.UpdateSubmit
		var action any = deal.Submit{Acting: deal.Acting{Actor: "sol"}, Milestone: "design", Checklist: []string{"Scope estimated"}}
		if fd.n%2 == 0 {
			fd.buyerStages = 1
			path, body, key = "/buyer-stage", map[string]any{"stage": "met_decision_maker"}, "p/buyer"
			as, update = "cora", workflows.UpdateBuyerStage
			action = deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerMetDecisionMaker}
		}
		r := e.call(as, "POST", "/v1/deals/"+fd.id+path, body, key)
		if r.status == http.StatusOK {
			return nil
		}
		apiRefused.Add(1)
		firstRefusal.CompareAndSwap(nil, fmt.Sprintf("POST /v1/deals/%s%s: %s", fd.id, path, r))
		_, err := e.updateDirect(fd.id, update, key, action)
		return err
	})
	if k := apiRefused.Load(); k > 0 {
		t.Errorf("%d of %d actions failed through the API while Postgres was down (they worked sent straight to the workflow), e.g. %s",
			k, n, firstRefusal.Load())
	}
	// The workflows have them.
	e.eventually("actions applied during the outage", 10*time.Second, func() error {
		for _, fd := range deals {
			d, err := e.query(fd.id)
			if err != nil {
				return err
			}
			if fd.n%2 == 1 && d.Milestone("design").State != deal.StateSubmitted {
				return fmt.Errorf("%s design is %s", fd.id, d.Milestone("design").State)
			}
			if fd.n%2 == 0 && d.BuyerStage != deal.BuyerMetDecisionMaker {
				return fmt.Errorf("%s: buyer %q", fd.id, d.BuyerStage)
			}
		}
		return nil
	})
	e.requireRunning("during the Postgres outage")
	listDown("during the outage")

	// A deliberate outage of 30 s.
	time.Sleep(time.Until(stoppedAt.Add(outage)))
	overdue := 0
	for _, fd := range untouched {
		if d, err := e.query(fd.id); err == nil && d.Milestone("qualify").Overdue {
			overdue++
		}
	}
	// Deadlines do not wait for the store: a deal's clock runs on in Temporal.
	if overdue != len(untouched) {
		t.Errorf("%d of %d deals due during the outage show it overdue before Postgres returns", overdue, len(untouched))
	}
	listDown("at the end of the outage")
	var err error
	if e.pg, err = localstack.StartPostgres(ctx, e.pgOpts); err != nil {
		t.Fatalf("restarting Postgres on the same directory and port: %v", err)
	}
	recoveredAt := time.Now()
	t.Logf("Postgres back after %s down", recoveredAt.Sub(stoppedAt).Round(time.Millisecond))
	e.requireRunning("after the Postgres outage")

	e.eventually("the list answering again", 30*time.Second, func() error {
		if r := e.call("root", "GET", "/v1/deals", nil, ""); r.status != http.StatusOK {
			return fmt.Errorf("GET /v1/deals: %s", r)
		}
		return nil
	})
	e.eventually("the read model and the audit trail catching up", 2*time.Minute, func() error {
		var errs []error
		for _, fd := range deals {
			errs = append(errs, e.caughtUp(fd.id))
		}
		return errors.Join(errs...)
	})
	t.Logf("read model and audit trail caught up %s after Postgres came back", time.Since(recoveredAt).Round(time.Millisecond))
	e.awaitEscalatedOnTime(untouched)

	e.finish(deals)
	e.requireRunning("at the end")
	t.Logf("%d deals, Postgres stopped once for %s, %d actions retried after 503; %s in all",
		n, recoveredAt.Sub(stoppedAt).Round(time.Millisecond), e.retried503.Load(), time.Since(start).Round(time.Millisecond))
}
