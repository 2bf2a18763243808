package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"dealflow/activities/store"
	"dealflow/api/apitest"
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows"
	"dealflow/workflows/deal"
)

// The shutdown tests send SIGTERM to `dealflow worker` and `dealflow api`
// processes (this test binary run again, as in the fault tests) while work
// is in flight, on the shared test Postgres and Temporal: a fresh database
// and a task queue of their own each.

// shutdownTimeout is the processes' DEALFLOW_SHUTDOWN_TIMEOUT.
const shutdownTimeout = 15 * time.Second

type shutdownEnv struct {
	*faultEnv
	temporalAddr string
	db           *sql.DB
}

func newShutdownEnv(t *testing.T) *shutdownEnv {
	t.Helper()
	dir, err := os.MkdirTemp("", "dealflow-shutdown-")
	if err != nil {
		t.Fatal(err)
	}
	e := &shutdownEnv{
		faultEnv: &faultEnv{
			t:      t,
			dir:    dir,
			queue:  "shutdown-" + strconv.FormatInt(time.Now().UnixNano(), 36),
			dbURL:  testenv.Postgres(t),
			tokens: map[string]string{},
			hc:     &http.Client{Timeout: time.Minute},
		},
		temporalAddr: testenv.Temporal(t, nil),
	}
	t.Cleanup(func() {
		// Processes first (faultEnv.cleanup), then our connections.
		e.cleanup()
		if e.db != nil {
			_ = e.db.Close()
		}
	})
	runOK(t, envMap(e.env()), "register-search-attributes")
	runOK(t, envMap(e.env()), "migrate")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if e.store, err = store.Open(ctx, store.Config{URL: e.dbURL}); err != nil {
		t.Fatal(err)
	}
	for _, u := range faultUsers {
		e.tokens[u[0]] = apitest.StoreUser(t, e.store, u[0], u[0], store.Role(u[1]))
	}
	if e.db, err = sql.Open("postgres", e.dbURL); err != nil {
		t.Fatal(err)
	}
	if e.tc, err = client.Dial(client.Options{HostPort: e.temporalAddr, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *shutdownEnv) env() map[string]string {
	return map[string]string{
		"DATABASE_URL":              e.dbURL,
		"TEMPORAL_ADDRESS":          e.temporalAddr,
		"DEALFLOW_TASK_QUEUE":       e.queue,
		"DEALFLOW_SHUTDOWN_TIMEOUT": shutdownTimeout.String(),
		"DEALFLOW_LOG_LEVEL":        "info",
	}
}

// startWorker starts a worker process serving /readyz and /metrics on a
// port of its own, and waits until it polls.
func (e *shutdownEnv) startWorker() (p *faultProc, httpURL string) {
	e.t.Helper()
	port := freePort(e.t)
	env := e.env()
	env["DEALFLOW_WORKER_LISTEN"] = "127.0.0.1:" + strconv.Itoa(port)
	p = e.spawn("worker", env, "worker")
	e.waitLog(p, "worker started", time.Minute)
	e.waitPolling(p)
	return p, "http://127.0.0.1:" + strconv.Itoa(port)
}

// waitPolling waits until Temporal has seen p poll the task queue for
// workflow tasks (a deal's start asks the workflow for its state, which
// fails at once while no worker has polled).
func (e *shutdownEnv) waitPolling(p *faultProc) {
	e.t.Helper()
	identity := fmt.Sprintf("%d@", p.pid())
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := e.tc.DescribeTaskQueue(ctx, e.queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		cancel()
		if err == nil && slices.ContainsFunc(resp.GetPollers(), func(pi *taskqueuepb.PollerInfo) bool {
			return strings.HasPrefix(pi.GetIdentity(), identity)
		}) {
			return
		}
		if p.exited() || time.Now().After(deadline) {
			e.t.Fatalf("%s (pid %d) is not polling task queue %s (%v):\n%s", p.name, p.pid(), e.queue, err, tail(p.logPath, 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startAPI starts an API process with the drain delay given and waits until
// it answers.
func (e *shutdownEnv) startAPI(drain time.Duration) *faultProc {
	e.t.Helper()
	port := freePort(e.t)
	env := e.env()
	env["DEALFLOW_LISTEN"] = "127.0.0.1:" + strconv.Itoa(port)
	env["DEALFLOW_DRAIN_DELAY"] = drain.String()
	p := e.spawn("api", env, "api")
	e.apiURL = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(time.Minute)
	for {
		if status, _ := probe(e.apiURL + "/readyz"); status == http.StatusOK {
			return p
		}
		if p.exited() || time.Now().After(deadline) {
			e.t.Fatalf("api did not become ready:\n%s", tail(p.logPath, 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *shutdownEnv) waitLog(p *faultProc, line string, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(tail(p.logPath, 1<<20), line) {
		if p.exited() || time.Now().After(deadline) {
			e.t.Fatalf("%s: no %q in its log:\n%s", p.name, line, tail(p.logPath, 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitExit waits for p to exit after the SIGTERM sent at sent and fails
// unless it exited 0 within the shutdown timeout.
func (e *shutdownEnv) waitExit(p *faultProc, sent time.Time) time.Duration {
	e.t.Helper()
	select {
	case <-p.done:
	case <-time.After(time.Until(sent.Add(shutdownTimeout + 5*time.Second))):
		e.t.Fatalf("%s still running %s after SIGTERM:\n%s", p.name, time.Since(sent).Round(time.Millisecond), tail(p.logPath, 4000))
	}
	took := time.Since(sent)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		e.t.Errorf("%s exited %d after SIGTERM:\n%s", p.name, code, tail(p.logPath, 4000))
	}
	if took > shutdownTimeout {
		e.t.Errorf("%s took %s to stop; the shutdown timeout is %s", p.name, took.Round(time.Millisecond), shutdownTimeout)
	}
	return took
}

// startDeal starts a deal of the project template as pat, its id made
// unique to this test's run (the Temporal server is shared, and a start
// under a running deal's id answers with that deal). On a busy machine
// the start may answer 503 (Temporal slow to answer); it is sent again,
// and the second answers 201 or, if the first had started the deal, 409,
// after which the deal is read.
func (e *shutdownEnv) startDeal(prefix string) *deal.Deal {
	e.t.Helper()
	id := prefix + "-" + strings.TrimPrefix(e.queue, "shutdown-")
	body := map[string]any{
		"id": id, "name": "Deal " + id, "customer": "Customer " + id, "amount": 100000, "template": "project",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann", "abe"}, "director": "dina"},
	}
	deadline := time.Now().Add(time.Minute)
	for attempt := 1; ; attempt++ {
		r := e.call("pat", "POST", "/v1/deals", body, "")
		switch {
		case r.status == http.StatusCreated:
			var d deal.Deal
			if err := json.Unmarshal(r.body, &d); err != nil {
				e.t.Fatal(err)
			}
			return &d
		case r.status == http.StatusConflict && attempt > 1:
			d, err := e.deal(id)
			if err != nil {
				e.t.Fatal(err)
			}
			return d
		case r.status != http.StatusServiceUnavailable || time.Now().After(deadline):
			e.t.Fatalf("starting deal %s: %s", id, r)
		}
		e.t.Logf("starting deal %s: %s; sending it again", id, r)
		time.Sleep(250 * time.Millisecond)
	}
}

// submitBody confirms milestone key's whole checklist.
func submitBody(d *deal.Deal, key string) map[string]any {
	return map[string]any{"checklist": d.Milestone(key).Checklist}
}

// probe GETs url on a connection of its own; status is 0 when it could not
// connect.
func probe(url string) (status int, err error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestShutdownWorkerFinishesInFlightActivity stops a worker with SIGTERM
// while the activity recording a deal's change waits on a row lock: the
// worker stops polling at once (a new action waits for another worker),
// answers /readyz 503 while it drains, completes the activity on its first
// attempt when the lock goes, stops its relay and exits 0 within the
// shutdown timeout.
func TestShutdownWorkerFinishesInFlightActivity(t *testing.T) {
	t.Parallel()
	e := newShutdownEnv(t)
	w1, w1URL := e.startWorker()
	e.startAPI(0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	d := e.startDeal("sigterm-worker")
	e.waitStartRecorded(ctx, d.ID, w1)

	// Hold the deal's read-model row: the next recording blocks on it.
	lock, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback() }()
	if _, err := lock.ExecContext(ctx, `SELECT 1 FROM deals WHERE id = $1 FOR UPDATE`, d.ID); err != nil {
		t.Fatal(err)
	}
	// The submit answers once the workflow has applied it; its recording
	// runs in a background activity, which now waits for the lock.
	if _, err := e.act("cora", d.ID, "/milestones/prospect/submit", submitBody(d, "prospect"), "submit-prospect"); err != nil {
		t.Fatal(err)
	}
	e.waitLockWaiter(ctx, w1)

	sent := time.Now()
	if err := w1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	e.waitLog(w1, "stopping worker", 5*time.Second)
	// Draining: alive, not ready, metrics still served.
	if status, err := probe(w1URL + "/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("worker /readyz while draining = %d (%v), want 503", status, err)
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		if status, err := probe(w1URL + path); status != http.StatusOK {
			t.Errorf("worker %s while draining = %d (%v), want 200", path, status, err)
		}
	}
	// A new action needs a workflow task, which the stopping worker no
	// longer polls for: it waits.
	buyer := make(chan error, 1)
	go func() {
		_, err := e.act("cora", d.ID, "/buyer-stage", map[string]any{"stage": "met_decision_maker"}, "buyer-stage")
		buyer <- err
	}()
	select {
	case err := <-buyer:
		t.Fatalf("an action was applied while the only worker was stopping (err %v)", err)
	case <-time.After(2 * time.Second):
	}
	if w1.exited() {
		t.Fatalf("the worker exited with its activity still in flight:\n%s", tail(w1.logPath, 4000))
	}

	released := time.Now()
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	took := e.waitExit(w1, sent)
	t.Logf("worker stopped %s after SIGTERM, %s after the lock was released", took.Round(time.Millisecond), time.Since(released).Round(time.Millisecond))
	log := tail(w1.logPath, 1<<20)
	for _, line := range []string{"notification relay stopped", "worker stopped"} {
		if !strings.Contains(log, line) {
			t.Errorf("worker log lacks %q:\n%s", line, tail(w1.logPath, 4000))
		}
	}
	if status, _ := probe(w1URL + "/healthz"); status != 0 {
		t.Errorf("worker port still answers (%d) after exit", status)
	}

	// Another worker takes the waiting action.
	w2, _ := e.startWorker()
	select {
	case err := <-buyer:
		if err != nil {
			t.Fatalf("the action waiting during the stop: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the waiting action was not applied by the new worker:\n%s", tail(w2.logPath, 4000))
	}

	// The history: the blocked recording was completed by the first worker
	// after the lock went, on its first attempt; nothing timed out, failed
	// or was retried; the new action's workflow task went to the second
	// worker.
	w1ID, w2ID := fmt.Sprintf("%d@", w1.pid()), fmt.Sprintf("%d@", w2.pid())
	var completedByW1AfterRelease bool
	var lastTaskIdentity string
	it := e.tc.GetWorkflowHistory(ctx, workflows.DealWorkflowID(d.ID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if a := ev.GetActivityTaskStartedEventAttributes(); a.GetAttempt() != 1 {
				t.Errorf("event %d: activity started on attempt %d", ev.GetEventId(), a.GetAttempt())
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			a := ev.GetActivityTaskCompletedEventAttributes()
			if strings.HasPrefix(a.GetIdentity(), w1ID) && !ev.GetEventTime().AsTime().Before(released.Add(-time.Second)) {
				completedByW1AfterRelease = true
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
			enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			t.Errorf("event %d: %s", ev.GetEventId(), ev.GetEventType())
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			lastTaskIdentity = ev.GetWorkflowTaskStartedEventAttributes().GetIdentity()
		}
	}
	if !completedByW1AfterRelease {
		t.Errorf("no activity completed by the stopping worker (%s…) after the lock was released", w1ID)
	}
	if !strings.HasPrefix(lastTaskIdentity, w2ID) {
		t.Errorf("the last workflow task was taken by %q, want the second worker (%s…)", lastTaskIdentity, w2ID)
	}
	// The submit is in the audit trail once.
	var submitted int
	if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE deal_id = $1 AND kind = 'milestone_submitted'`, d.ID).Scan(&submitted); err != nil {
		t.Fatal(err)
	}
	if submitted != 1 {
		t.Errorf("milestone_submitted recorded %d times, want 1", submitted)
	}
}

// waitNoPendingTask waits until the deal's workflow has no workflow task
// scheduled or running.
func (e *shutdownEnv) waitNoPendingTask(id string) {
	e.t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := e.tc.DescribeWorkflowExecution(ctx, workflows.DealWorkflowID(id), "")
		cancel()
		if err == nil && resp.GetPendingWorkflowTask() == nil && resp.GetWorkflowExecutionInfo().GetHistoryLength() > 2 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("deal %s still has a workflow task pending after a minute (%v)", id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStartRecorded waits until the deal's start is in the audit trail.
func (e *shutdownEnv) waitStartRecorded(ctx context.Context, id string, w *faultProc) {
	e.t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		var n int
		if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE deal_id = $1`, id).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n >= 2 { // deal_started, milestone_activated
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the deal's start was not recorded within 2 minutes:\n%s", tail(w.logPath, 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLockWaiter waits until a query in the test's database waits for a
// lock.
func (e *shutdownEnv) waitLockWaiter(ctx context.Context, w *faultProc) {
	e.t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		var waiting int
		if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			e.t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no recording waits on the lock:\n%s", tail(w.logPath, 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShutdownAPIDrains stops the API with SIGTERM while a deal action is
// open (waiting for a worker): during the drain delay /readyz answers 503
// and other requests are still served; then new connections are refused;
// the open action gets its answer once a worker takes it, and the process
// exits 0 within the shutdown timeout.
func TestShutdownAPIDrains(t *testing.T) {
	t.Parallel()
	const drain = time.Second
	e := newShutdownEnv(t)
	w1, _ := e.startWorker()
	api := e.startAPI(drain)
	d := e.startDeal("sigterm-api")

	// With no worker the next action waits in the API for its update. The
	// worker stops once the deal's first workflow task is done: a task
	// handed to a worker as it stops is lost with its cancelled poll and
	// runs again only after its timeout (10 s), longer than the API waits.
	e.waitNoPendingTask(d.ID)
	w1.stop()
	if code := w1.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("worker exited %d on SIGTERM:\n%s", code, tail(w1.logPath, 4000))
	}
	open := make(chan reply, 1)
	go func() {
		open <- e.call("cora", "POST", "/v1/deals/"+d.ID+"/milestones/prospect/submit", submitBody(d, "prospect"), "")
	}()
	select {
	case r := <-open:
		t.Fatalf("the action answered with no worker running: %s", r)
	case <-time.After(500 * time.Millisecond):
	}

	sent := time.Now()
	if err := api.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	e.waitLog(api, "draining API", 5*time.Second)
	if status, err := probe(e.apiURL + "/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining = %d (%v), want 503", status, err)
	}
	if status, err := probe(e.apiURL + "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while draining = %d (%v), want 200", status, err)
	}
	// After the drain delay the listener is closed.
	refused := false
	for deadline := sent.Add(drain + 3*time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(e.apiURL, "http://"), time.Second)
		if err == nil {
			conn.Close()
			continue
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("connecting during shutdown: %v", err)
		}
		refused = true
		break
	}
	if !refused {
		t.Fatalf("new connections still accepted %s after SIGTERM (drain delay %s)", time.Since(sent).Round(time.Millisecond), drain)
	}
	if api.exited() {
		t.Fatalf("the API exited with a request open:\n%s", tail(api.logPath, 4000))
	}

	// A worker takes the update and the open action gets its answer on its
	// open connection: 200 with the deal. Should the new worker take longer
	// than the API's own Temporal deadline (10 s), the answer is the
	// handler's 503 instead: an answer all the same, not a connection cut
	// by the shutdown.
	var r reply
	var w2 *faultProc
	select {
	case r = <-open:
	default:
		w2, _ = e.startWorker()
		select {
		case r = <-open:
		case <-time.After(30 * time.Second):
			t.Fatalf("the open action did not answer:\n%s", tail(api.logPath, 4000))
		}
	}
	switch _, _, shaped := r.errorBody(); {
	case r.status == http.StatusOK:
		var after deal.Deal
		if err := json.Unmarshal(r.body, &after); err != nil {
			t.Fatal(err)
		}
		if m := after.Milestone("prospect"); m == nil || m.State != deal.StateDone {
			t.Errorf("the action's answer shows prospect %+v, want done", m)
		}
	case r.status == http.StatusServiceUnavailable && shaped && r.took >= 9*time.Second:
		t.Logf("the open action ran into the API's Temporal deadline: %s", r)
		if w2 != nil {
			t.Logf("the new worker's log:\n%s", tail(w2.logPath, 3000))
		}
	default:
		t.Fatalf("the open action: %s", r)
	}
	took := e.waitExit(api, sent)
	t.Logf("API stopped %s after SIGTERM; the open action took %s", took.Round(time.Millisecond), r.took.Round(time.Millisecond))
	if !strings.Contains(tail(api.logPath, 1<<20), "API stopped") {
		t.Errorf("API log lacks its stop:\n%s", tail(api.logPath, 4000))
	}
}
