package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"dealflow/activities/store"
	"dealflow/api/apitest"
	"dealflow/deploy/localstack"
	"dealflow/workflows"
	"dealflow/workflows/deal"
)

// The fault tests (faults_test.go) run dealflow the way production does:
// `dealflow worker` and `dealflow api` as separate OS processes, against a
// Postgres and a Temporal dev server of the test's own, on fixed ports and
// data files, so that any of the four can be killed or stopped mid-run and
// brought back. The processes are this test binary run again: init turns it
// into dealflow when faultsChildEnv is set, so they run exactly the code
// under test without a separate build.

const faultsChildEnv = "DEALFLOW_FAULTS_CHILD"

func init() {
	if os.Getenv(faultsChildEnv) == "1" {
		main() // os.Args[1:] is the subcommand; main exits
	}
}

// faultUsers are the team of every fault-test deal: id → role.
var faultUsers = [][2]string{
	{"root", "admin"}, {"pat", "pmo"}, {"cora", "commercial"}, {"sol", "solution"},
	{"ann", "approver"}, {"abe", "approver"}, {"dina", "director"},
}

// faultEscalations are the template's escalation steps on qualify, by level:
// the PMO at the due time, the director three seconds later.
var faultEscalations = []time.Duration{0, 3 * time.Second}

// faultEnv is the whole product on servers the test controls.
type faultEnv struct {
	t     *testing.T
	dir   string
	queue string

	pgOpts   localstack.PostgresOptions
	pg       *localstack.Postgres
	tOpts    localstack.TemporalOptions
	temporal *localstack.Temporal
	dbURL    string
	// temporalAddress and namespace are what the processes connect to:
	// the dev server's, or a cluster's (cluster_test.go).
	temporalAddress string
	namespace       string
	// expectedEvents gives the audit-trail counts verify requires of a
	// deal; nil means those of the faults template.
	expectedEvents func(fd *faultDeal, escalated int) map[string]int

	store  *store.Store
	tc     client.Client
	worker *faultProc
	api    *faultProc
	apiURL string
	procs  []*faultProc
	tokens map[string]string
	hc     *http.Client

	// retried503 counts actions answered 503 and sent again with the same
	// Idempotency-Key.
	retried503 atomic.Int64
	// startedAfter503 counts deals whose start answered 503 although it
	// had started the deal: sent again, the start answered 409.
	startedAfter503 atomic.Int64
}

// faultTestsEnv enables the fault tests, which take minutes: `make
// test-faults` sets it.
const faultTestsEnv = "DEALFLOW_FAULT_TESTS"

// newFaultEnv starts Postgres, the Temporal dev server, a worker process and
// an API process, creates the users and saves the "faults" template whose
// qualify milestone is due qualifyDue after activation.
func newFaultEnv(t *testing.T, qualifyDue string) *faultEnv {
	t.Helper()
	if os.Getenv(faultTestsEnv) == "" {
		t.Skipf("fault tests take minutes: run them with make test-faults (%s=1)", faultTestsEnv)
	}
	dir, err := os.MkdirTemp("", "dealflow-faults-")
	if err != nil {
		t.Fatal(err)
	}
	// As root, Postgres runs as the postgres account and must reach its
	// directory below this one.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &faultEnv{
		t:      t,
		dir:    dir,
		queue:  "faults-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		tokens: map[string]string{},
		hc:     &http.Client{Timeout: time.Minute},
	}
	t.Cleanup(e.cleanup)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.pgOpts = localstack.PostgresOptions{Dir: filepath.Join(dir, "pg"), Port: freePort(t), Ephemeral: true}
	if e.pg, err = localstack.StartPostgres(ctx, e.pgOpts); err != nil {
		t.Fatal(err)
	}
	e.dbURL = e.pg.URL()
	e.tOpts = localstack.TemporalOptions{
		DBFile:           filepath.Join(dir, "temporal.db"),
		Port:             freePort(t),
		UIPort:           -1,
		SearchAttributes: workflows.SearchAttributes(),
		LogPath:          filepath.Join(dir, "temporal.log"),
	}
	if e.temporal, err = localstack.StartTemporal(ctx, e.tOpts); err != nil {
		t.Fatal(err)
	}
	e.temporalAddress, e.namespace = e.temporal.Address(), "default"
	if e.store, err = store.Open(ctx, store.Config{URL: e.dbURL}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if e.tc, err = client.Dial(client.Options{HostPort: e.temporal.Address(), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))}); err != nil {
		t.Fatal(err)
	}
	for _, u := range faultUsers {
		e.tokens[u[0]] = apitest.StoreUser(t, e.store, u[0], strings.ToUpper(u[0][:1])+u[0][1:], store.Role(u[1]))
	}
	e.startWorker()
	e.startAPI()

	steps := []map[string]any{}
	for i, off := range faultEscalations {
		steps = append(steps, map[string]any{"offset": off.String(), "target": []string{"pmo", "director"}[i], "message": fmt.Sprintf("level %d", i+1)})
	}
	tmpl := map[string]any{"name": "faults", "title": "Fault-test plan", "escalations": steps,
		"milestones": []map[string]any{
			{"key": "qualify", "title": "Qualify", "role": "commercial", "due": qualifyDue, "checklist": []string{"Budget confirmed"}},
			{"key": "design", "title": "Design", "role": "solution", "depends_on": []string{"qualify"}, "due": "1h",
				"checklist": []string{"Scope estimated"}, "review": map[string]any{"reviewers": []string{"approvers"}, "policy": "any"}},
			{"key": "contract", "title": "Contract", "role": "pmo", "depends_on": []string{"design"}, "due": "1h",
				"checklist": []string{"Contract signed"}},
		}}
	if r := e.call("pat", "POST", "/v1/templates", tmpl, ""); r.status != http.StatusCreated {
		t.Fatalf("saving the template: %d %s", r.status, r.body)
	}
	return e
}

// cleanup stops everything the test started, processes first, and removes
// the data. On failure it shows the end of each process's log.
func (e *faultEnv) cleanup() {
	for _, p := range e.procs {
		p.stop()
	}
	if e.tc != nil {
		e.tc.Close()
	}
	if e.store != nil {
		_ = e.store.Close()
	}
	if e.temporal != nil {
		_ = e.temporal.Stop()
	}
	if e.pg != nil {
		_ = e.pg.Stop(context.Background())
	}
	if n := e.startedAfter503.Load(); n > 0 {
		e.t.Logf("%d deal starts answered 503 although they had started the deal (sent again: 409)", n)
	}
	if e.t.Failed() {
		for _, p := range e.procs {
			e.t.Logf("--- end of %s (pid %d) log:\n%s", p.name, p.pid(), tail(p.logPath, 6000))
		}
		e.t.Logf("--- end of temporal log:\n%s", tail(e.tOpts.LogPath, 3000))
	}
	_ = os.RemoveAll(e.dir)
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// faultProc is a dealflow process.
type faultProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
}

// spawn starts `dealflow args...` with env added to ours.
func (e *faultEnv) spawn(name string, env map[string]string, args ...string) *faultProc {
	e.t.Helper()
	self, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	p := &faultProc{name: name, logPath: filepath.Join(e.dir, fmt.Sprintf("%s-%d.log", name, len(e.procs)+1)), done: make(chan struct{})}
	f, err := os.Create(p.logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close() // the child has its own copy
	p.cmd = exec.Command(self, args...)
	p.cmd.Env = append(os.Environ(), faultsChildEnv+"=1")
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	// Its own process group; killed with us if we die.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	e.procs = append(e.procs, p)
	return p
}

func (p *faultProc) pid() int { return p.cmd.Process.Pid }

func (p *faultProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill is kill -9.
func (p *faultProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the process to shut down and kills it after 30 s.
func (p *faultProc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
	}
}

func (e *faultEnv) commonEnv() map[string]string {
	return map[string]string{
		"DATABASE_URL":              e.dbURL,
		"TEMPORAL_ADDRESS":          e.temporalAddress,
		"TEMPORAL_NAMESPACE":        e.namespace,
		"DEALFLOW_TASK_QUEUE":       e.queue,
		"DEALFLOW_SHUTDOWN_TIMEOUT": "10s",
		"DEALFLOW_LOG_LEVEL":        "info",
	}
}

// startWorker starts a worker process and waits until it polls.
func (e *faultEnv) startWorker() {
	e.t.Helper()
	env := e.commonEnv()
	env["DEALFLOW_WORKER_LISTEN"] = ""
	p := e.spawn("worker", env, "worker")
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(tail(p.logPath, 1<<20), "worker started") {
		if p.exited() || time.Now().After(deadline) {
			e.t.Fatalf("worker did not start:\n%s", tail(p.logPath, 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.worker = p
}

// startAPI starts an API process and waits until it answers.
func (e *faultEnv) startAPI() {
	e.t.Helper()
	port := freePort(e.t)
	env := e.commonEnv()
	env["DEALFLOW_LISTEN"] = "127.0.0.1:" + strconv.Itoa(port)
	p := e.spawn("api", env, "api")
	e.apiURL = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := e.hc.Get(e.apiURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if p.exited() || time.Now().After(deadline) {
			e.t.Fatalf("api did not start (%v):\n%s", err, tail(p.logPath, 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.api = p
}

// requireRunning fails the test if the worker or the API process exited
// (neither may die of an outage).
func (e *faultEnv) requireRunning(when string) {
	e.t.Helper()
	for _, p := range []*faultProc{e.worker, e.api} {
		if p.exited() {
			e.t.Fatalf("%s: the %s process (pid %d) exited: %v\n%s", when, p.name, p.pid(), p.cmd.ProcessState, tail(p.logPath, 4000))
		}
	}
}

// reply is one HTTP answer.
type reply struct {
	status int
	body   []byte
	took   time.Duration
	err    error // transport error; status is 0
}

// errorBody decodes the API's error shape; ok is false when the body is not
// {"error": {"code": ..., "message": ...}}.
func (r reply) errorBody() (code, message string, ok bool) {
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &e) != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		return "", "", false
	}
	return e.Error.Code, e.Error.Message, true
}

func (r reply) String() string {
	if r.err != nil {
		return fmt.Sprintf("transport error after %s: %v", r.took.Round(time.Millisecond), r.err)
	}
	return fmt.Sprintf("%d after %s: %.300s", r.status, r.took.Round(time.Millisecond), r.body)
}

// call sends one request as user as ("" for none), with an Idempotency-Key
// when key is set.
func (e *faultEnv) call(as, method, path string, body any, key string) reply {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.apiURL+path, rd)
	if err != nil {
		panic(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[as])
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	start := time.Now()
	resp, err := e.hc.Do(req)
	if err != nil {
		return reply{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: raw, took: time.Since(start), err: err}
}

// retryWindow bounds how long an action is retried while it answers 503.
const retryWindow = 3 * time.Minute

// act sends a deal action and, while it answers 503, sends it again with
// the same Idempotency-Key. Anything but 200 or 503 is an error.
func (e *faultEnv) act(as, id, path string, body any, key string) (*deal.Deal, error) {
	deadline := time.Now().Add(retryWindow)
	for {
		r := e.call(as, "POST", "/v1/deals/"+id+path, body, key)
		switch {
		case r.status == http.StatusOK:
			var d deal.Deal
			if err := json.Unmarshal(r.body, &d); err != nil {
				return nil, fmt.Errorf("%s %s: %v", id, path, err)
			}
			return &d, nil
		case r.status == http.StatusServiceUnavailable:
			if _, _, ok := r.errorBody(); !ok {
				return nil, fmt.Errorf("%s %s as %s: 503 without the error shape: %s", id, path, as, r)
			}
			e.retried503.Add(1)
		case r.err != nil:
			return nil, fmt.Errorf("%s %s as %s: %s", id, path, as, r)
		default:
			return nil, fmt.Errorf("%s %s as %s (key %s): %s", id, path, as, key, r)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s %s as %s: still 503 after %s: %s", id, path, as, retryWindow, r)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// deal reads a deal through the API, waiting out 503s.
func (e *faultEnv) deal(id string) (*deal.Deal, error) {
	deadline := time.Now().Add(retryWindow)
	for {
		r := e.call("root", "GET", "/v1/deals/"+id, nil, "")
		if r.status == http.StatusOK {
			var d deal.Deal
			if err := json.Unmarshal(r.body, &d); err != nil {
				return nil, err
			}
			return &d, nil
		}
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return nil, fmt.Errorf("GET deal %s: %s", id, r)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// faultDeal is one deal of a fault test and what must become of it.
type faultDeal struct {
	id   string
	n    int  // its index
	lost bool // closed as lost once the contract is active; won otherwise
	// Expected counts of events that the test's own actions produce.
	redates, buyerStages, rejections int
	started                          *deal.Deal // state when started
}

// newDeals names n deals prefix-i; lost says which must end lost.
func newDeals(prefix string, n int, lost func(i int) bool) []*faultDeal {
	deals := make([]*faultDeal, n)
	for i := range deals {
		deals[i] = &faultDeal{id: fmt.Sprintf("%s-%02d", prefix, i), n: i, lost: lost(i)}
	}
	return deals
}

// start starts the deals from the faults template. A start answered 503 is
// sent again; if that one finds the deal exists, the first had started it
// (see startedAfter503).
func (e *faultEnv) start(deals []*faultDeal) {
	e.t.Helper()
	e.parallel(deals, func(d *faultDeal) error {
		body := map[string]any{"id": d.id, "name": "Deal " + d.id, "customer": "Customer " + d.id,
			"amount": 100000, "template": "faults",
			"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann", "abe"}, "director": "dina"}}
		deadline := time.Now().Add(retryWindow)
		for attempt := 1; ; attempt++ {
			r := e.call("pat", "POST", "/v1/deals", body, "")
			switch {
			case r.status == http.StatusCreated:
				d.started = new(deal.Deal)
				return json.Unmarshal(r.body, d.started)
			case r.status == http.StatusConflict && attempt > 1:
				e.startedAfter503.Add(1)
				var err error
				d.started, err = e.deal(d.id)
				return err
			case r.status != http.StatusServiceUnavailable || time.Now().After(deadline):
				return fmt.Errorf("starting %s: %s", d.id, r)
			}
			e.retried503.Add(1)
			time.Sleep(250 * time.Millisecond)
		}
	})
	if e.t.Failed() {
		e.t.FailNow()
	}
}

// parallel runs fn for every deal, eight at a time, and reports each error.
func (e *faultEnv) parallel(deals []*faultDeal, fn func(d *faultDeal) error) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, d := range deals {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := fn(d); err != nil {
				e.t.Errorf("%s: %v", d.id, err)
			}
		})
	}
	wg.Wait()
}

// submit submits milestone key of a deal as its owner, with the whole
// checklist; the Idempotency-Key names the milestone and its round.
func (e *faultEnv) submit(d *deal.Deal, key string) (*deal.Deal, error) {
	m := d.Milestone(key)
	return e.act(m.Owner, d.ID, "/milestones/"+key+"/submit",
		map[string]any{"checklist": m.Checklist, "evidence": []string{"https://docs.example/" + key}},
		fmt.Sprintf("submit/%s/r%d", key, m.Round))
}

// review votes on milestone key's current round as reviewer.
func (e *faultEnv) review(d *deal.Deal, key, reviewer string, approve bool) (*deal.Deal, error) {
	m := d.Milestone(key)
	body := map[string]any{"decision": "approve"}
	if !approve {
		body = map[string]any{"decision": "reject", "comment": "price the integration separately"}
	}
	return e.act(reviewer, d.ID, "/milestones/"+key+"/review", body, fmt.Sprintf("review/%s/r%d/%s", key, m.Round, reviewer))
}

// drive takes a deal to its end from wherever it is: submit what is active,
// approve what waits for review, and close the deal as lost when it should
// be lost and its contract is active.
func (e *faultEnv) drive(fd *faultDeal) error {
	d, err := e.deal(fd.id)
	if err != nil {
		return err
	}
	for range 20 {
		if d.Status.Final() {
			return nil
		}
		next := firstOpenMilestone(d)
		switch {
		case next == nil:
			return fmt.Errorf("open deal with nothing to do: %+v", d)
		case next.State == deal.StateActive && next.Key == "contract" && fd.lost:
			d, err = e.act("pat", fd.id, "/close", map[string]any{"outcome": "lost", "reason": "chose a competitor"}, "close")
		case next.State == deal.StateActive:
			d, err = e.submit(d, next.Key)
		default:
			reviewer := ""
			for _, r := range next.Reviewers {
				voted := false
				for _, v := range next.Reviews {
					voted = voted || (v.Round == next.Round && v.By == r)
				}
				if !voted {
					reviewer = r
					break
				}
			}
			if reviewer == "" {
				return fmt.Errorf("%s is %s with no reviewer left: %+v", next.Key, next.State, next)
			}
			d, err = e.review(d, next.Key, reviewer, true)
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("not closed after 20 actions: %s %v", d.Status, d.ActiveKeys())
}

// final is the closed deal's workflow result: the state the workflow ended
// with.
func (e *faultEnv) final(id string) (*deal.Deal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var d deal.Deal
	if err := e.tc.GetWorkflow(ctx, workflows.DealWorkflowID(id), "").Get(ctx, &d); err != nil {
		return nil, fmt.Errorf("workflow result: %w", err)
	}
	return &d, nil
}

// events reads a deal's whole audit trail through the API.
func (e *faultEnv) events(id string) ([]deal.Event, error) {
	var all []deal.Event
	for {
		r := e.call("root", "GET", fmt.Sprintf("/v1/deals/%s/events?limit=1000&after=%d", id, len(all)), nil, "")
		if r.status != http.StatusOK {
			return nil, fmt.Errorf("events: %s", r)
		}
		var page struct {
			Events []deal.Event `json:"events"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Events...)
		if len(page.Events) < 1000 {
			return all, nil
		}
	}
}

// firstOpenMilestone is the deal's first milestone with something to do:
// active, submitted or in review; nil when there is none.
func firstOpenMilestone(d *deal.Deal) *deal.Milestone {
	for _, m := range d.Milestones {
		if m.State == deal.StateActive || m.State == deal.StateSubmitted || m.State == deal.StateInReview {
			return m
		}
	}
	return nil
}

// split divides deals into those the test leaves alone and those it moves.
func split(deals []*faultDeal, leftAlone func(*faultDeal) bool) (untouched, moved []*faultDeal) {
	for _, fd := range deals {
		if leftAlone(fd) {
			untouched = append(untouched, fd)
		} else {
			moved = append(moved, fd)
		}
	}
	return untouched, moved
}

// awaitEscalatedOnTime waits until each deal's deadlines have fired, each
// escalation stamped with its own deadline (however late it fired).
func (e *faultEnv) awaitEscalatedOnTime(deals []*faultDeal) {
	e.t.Helper()
	for _, fd := range deals {
		e.eventually(fd.id+" escalated", time.Minute, func() error {
			d, err := e.deal(fd.id)
			if err != nil {
				return err
			}
			return escalatedOnTime(d)
		})
	}
}

// finish drives every deal to its end and verifies the run.
func (e *faultEnv) finish(deals []*faultDeal) {
	e.t.Helper()
	e.parallel(deals, e.drive)
	if e.t.Failed() {
		e.t.FailNow()
	}
	e.verify(deals)
}

// verify checks every deal after the run: it reached its expected end; its
// audit trail holds each event exactly once (seq 1..N with N the workflow's
// seq, and the counts the test's actions imply); the read model equals the
// workflow's final state; escalations are stamped with their own deadlines;
// the outbox holds each notification once, and all are delivered.
func (e *faultEnv) verify(deals []*faultDeal) {
	e.t.Helper()
	e.parallel(deals, func(fd *faultDeal) error {
		wf, err := e.final(fd.id)
		if err != nil {
			return err
		}
		var errs []error
		want := deal.DealWon
		if fd.lost {
			want = deal.DealLost
		}
		if wf.Status != want {
			errs = append(errs, fmt.Errorf("ended %s, want %s", wf.Status, want))
		}

		// The read model: the workflow's last change is recorded before it
		// completes, so nothing may be missing now.
		stored, err := e.store.GetDeal(context.Background(), fd.id)
		if err != nil {
			return fmt.Errorf("read model: %w", err)
		}
		a, _ := json.Marshal(wf)
		b, _ := json.Marshal(stored)
		if !bytes.Equal(a, b) {
			errs = append(errs, fmt.Errorf("read model (v%d %s) differs from the workflow (v%d %s):\nworkflow:   %s\nread model: %s",
				stored.Version, stored.Status, wf.Version, wf.Status, a, b))
		}

		evs, err := e.events(fd.id)
		if err != nil {
			return err
		}
		if int64(len(evs)) != wf.Seq {
			errs = append(errs, fmt.Errorf("audit trail has %d events, the workflow's seq is %d", len(evs), wf.Seq))
		}
		count := map[string]int{}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				errs = append(errs, fmt.Errorf("audit event %d has seq %d", i+1, ev.Seq))
				break
			}
			count[string(ev.Kind)]++
			count[string(ev.Kind)+"/"+ev.Milestone]++
		}
		escalated := 0
		for _, m := range wf.Milestones {
			escalated += len(m.Escalated)
			for _, esc := range m.Escalated {
				if esc.Level < 1 || esc.Level > len(faultEscalations) {
					errs = append(errs, fmt.Errorf("%s: escalation level %d", m.Key, esc.Level))
				} else if want := m.DueAt.Add(faultEscalations[esc.Level-1]); !esc.At.Equal(want) {
					errs = append(errs, fmt.Errorf("%s: escalation level %d stamped %s, its deadline is %s", m.Key, esc.Level, esc.At, want))
				}
			}
		}
		expectedEvents := e.expectedEvents
		if expectedEvents == nil {
			expectedEvents = faultsTemplateEvents
		}
		for k, n := range expectedEvents(fd, escalated) {
			if count[k] != n {
				errs = append(errs, fmt.Errorf("audit trail has %d %s events, want %d", count[k], k, n))
			}
		}
		for _, k := range []string{"milestone_overdue/qualify", "milestone_overdue/design", "milestone_overdue/contract"} {
			if count[k] > 1 {
				errs = append(errs, fmt.Errorf("audit trail has %d %s events", count[k], k))
			}
		}

		// The outbox holds one notification per event and recipient.
		notified := map[string]bool{}
		for _, ev := range evs {
			for _, r := range ev.Notify {
				notified[fmt.Sprintf("%d/%s", ev.Seq, r)] = true
			}
		}
		var queued []string
		if err := e.store.DB().SelectContext(context.Background(), &queued,
			`SELECT seq || '/' || recipient FROM outbox WHERE deal_id = $1`, fd.id); err != nil {
			return err
		}
		got := map[string]bool{}
		for _, q := range queued {
			if got[q] || !notified[q] {
				errs = append(errs, fmt.Errorf("outbox: unexpected or repeated notification %s", q))
			}
			got[q] = true
		}
		if len(got) != len(notified) {
			errs = append(errs, fmt.Errorf("outbox holds %d of the %d notifications the audit trail names", len(got), len(notified)))
		}
		return errors.Join(errs...)
	})
	// And the relay delivers every one of them.
	e.eventually("every notification delivered", time.Minute, func() error {
		var pending, failed int
		err := e.store.DB().QueryRowContext(context.Background(),
			`SELECT count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL), count(*) FILTER (WHERE failed_at IS NOT NULL) FROM outbox`).Scan(&pending, &failed)
		switch {
		case err != nil:
			return err
		case failed > 0:
			return fmt.Errorf("%d notifications failed for good", failed)
		case pending > 0:
			return fmt.Errorf("%d notifications not delivered yet", pending)
		}
		return nil
	})
}

// faultsTemplateEvents are the audit-trail counts a deal of the faults
// template must end with, given the escalations it fired.
func faultsTemplateEvents(fd *faultDeal, escalated int) map[string]int {
	expect := map[string]int{
		"deal_started":                 1,
		"deal_closed":                  1,
		"milestone_activated/qualify":  1,
		"milestone_activated/design":   1,
		"milestone_activated/contract": 1,
		"milestone_done/qualify":       1,
		"milestone_done/design":        1,
		"milestone_submitted/qualify":  1,
		"milestone_submitted/design":   1 + fd.rejections,
		"review_rejected":              fd.rejections,
		"review_approved":              1,
		"milestone_redated":            fd.redates,
		"buyer_stage_recorded":         fd.buyerStages,
		"escalation":                   escalated,
	}
	if !fd.lost {
		expect["milestone_done/contract"] = 1
	}
	return expect
}

// eventually polls cond every 200 ms until it returns nil or timeout
// passes, then fails with cond's last error.
func (e *faultEnv) eventually(what string, timeout time.Duration, cond func() error) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// escalatedOnTime reports whether a deal's qualify milestone has fired its
// due alarm and every escalation step, each stamped with its own deadline.
func escalatedOnTime(d *deal.Deal) error {
	m := d.Milestone("qualify")
	if !m.Overdue || m.Escalation != len(faultEscalations) || len(m.Escalated) != len(faultEscalations) {
		return fmt.Errorf("%s qualify: overdue %v, escalation level %d, %d escalations fired", d.ID, m.Overdue, m.Escalation, len(m.Escalated))
	}
	for i, esc := range m.Escalated {
		if want := m.DueAt.Add(faultEscalations[i]); !esc.At.Equal(want) {
			return fmt.Errorf("%s qualify: escalation %d stamped %s, its deadline is %s", d.ID, i+1, esc.At, want)
		}
	}
	return nil
}

// lastDeadline is when the last escalation of qualify falls for a deal
// that leaves it alone.
func lastDeadline(d *deal.Deal) time.Time {
	return d.Milestone("qualify").DueAt.Add(faultEscalations[len(faultEscalations)-1])
}

// query asks the deal's workflow for its state, bypassing the API.
func (e *faultEnv) query(id string) (*deal.Deal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	v, err := e.tc.QueryWorkflow(ctx, workflows.DealWorkflowID(id), "", workflows.QueryState)
	if err != nil {
		return nil, err
	}
	var d deal.Deal
	return &d, v.Get(&d)
}

// updateDirect sends an action to the deal's workflow as the API does, with
// key as the update ID, bypassing the API.
func (e *faultEnv) updateDirect(id, update, key string, action any) (*deal.Deal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := e.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		UpdateID:     key,
		WorkflowID:   workflows.DealWorkflowID(id),
		UpdateName:   update,
		Args:         []any{action},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, err
	}
	var d deal.Deal
	return &d, h.Get(ctx, &d)
}

// escalationsRecordedAfter reports whether the deal's escalation events
// all reached the audit trail after t (by the database's clock).
func (e *faultEnv) escalationsRecordedAfter(id string, t time.Time) error {
	var first time.Time
	var n int
	err := e.store.DB().QueryRowContext(context.Background(),
		`SELECT count(*), coalesce(min(recorded_at), 'epoch') FROM audit_events WHERE deal_id = $1 AND kind = 'escalation'`, id).Scan(&n, &first)
	switch {
	case err != nil:
		return err
	case n == 0:
		return fmt.Errorf("%s: no escalation in the audit trail", id)
	case !first.After(t):
		return fmt.Errorf("%s: an escalation was recorded at %s, not after %s", id, first, t)
	}
	return nil
}

// caughtUp reports whether the read model and the audit trail hold
// everything the deal's workflow has done.
func (e *faultEnv) caughtUp(id string) error {
	live, err := e.query(id)
	if err != nil {
		return err
	}
	stored, err := e.store.GetDeal(context.Background(), id)
	if err != nil {
		return err
	}
	if stored.Version != live.Version {
		return fmt.Errorf("%s: read model at v%d, workflow at v%d", id, stored.Version, live.Version)
	}
	evs, err := e.store.ListEvents(context.Background(), id, 0, store.MaxEventLimit)
	if err != nil {
		return err
	}
	if int64(len(evs)) != live.Seq {
		return fmt.Errorf("%s: %d audit events, workflow seq %d", id, len(evs), live.Seq)
	}
	return nil
}
