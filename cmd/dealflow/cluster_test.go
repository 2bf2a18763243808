package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"dealflow/activities/notify"
	"dealflow/activities/store"
	"dealflow/api/apitest"
	"dealflow/deploy/cluster"
	"dealflow/deploy/localstack"
	"dealflow/workflows"
	"dealflow/workflows/deal"
)

// relayLease is how long the outbox relay holds a claimed batch before
// another relay may send it (notify.Relay: its batch of 20 at the default
// send timeout, with one channel, plus a minute).
const relayLease = 20*notify.DefaultTimeout + time.Minute

// clusterTestsEnv enables TestClusterDeals: `make test-cluster` sets it and
// builds the server binaries it needs.
const clusterTestsEnv = "DEALFLOW_CLUSTER_TESTS"

// Sizes of the cluster run.
const (
	clusterDeals   = 100
	clusterClients = 16
	// The faults, by actions answered (a run has about 950).
	clusterKillWorkerAt     = 250
	clusterRestartHistoryAt = 550
)

// TestClusterDeals runs dealflow as production does, against a real
// Temporal cluster instead of the dev server: the server built from source
// at the version the pinned CLI embeds, its schemas set up in Postgres by
// temporal-sql-tool, and frontend, history, matching and worker as four
// processes (deploy/cluster). Two `dealflow worker` processes and one
// `dealflow api` run against it, after `dealflow migrate` and `dealflow
// register-search-attributes`.
//
// 16 clients drive 100 deals of the project template through the HTTP API,
// each to won or lost: every milestone submitted with its checklist, some
// designs rejected once, some buyer stages recorded. Mid-run one worker is
// killed with SIGKILL (the other carries on alone) and, later, the history
// service is killed with SIGKILL and started again. Actions answered 503
// meanwhile are sent again with the same Idempotency-Key. Afterwards every
// deal has its expected end, its audit trail holds each event exactly once,
// the read model equals the workflow's final state and every notification
// was queued once and delivered.
func TestClusterDeals(t *testing.T) {
	if os.Getenv(clusterTestsEnv) == "" {
		t.Skipf("starts a Temporal cluster built from source (minutes): run it with make test-cluster (%s=1)", clusterTestsEnv)
	}
	start := time.Now()
	e, c, workers := newClusterEnv(t)
	upIn := time.Since(start)

	deals := newDeals("cluster", clusterDeals, func(i int) bool { return i%3 == 2 })
	for _, fd := range deals {
		if fd.n%5 == 1 {
			fd.rejections = 1
		}
		if fd.n%4 == 0 {
			fd.buyerStages = 1
		}
	}

	// The faults strike when enough actions have been answered.
	var answered, dealsDone atomic.Int64
	lat := &latencies{}
	type fault struct {
		at       int64
		what     string
		do       func() (string, error)
		inFlight int64
	}
	survivor := workers[1]
	var killedAt time.Time
	faults := []*fault{
		{at: clusterKillWorkerAt, what: "worker killed", do: func() (string, error) {
			w := workers[0]
			w.kill()
			killedAt = time.Now()
			return fmt.Sprintf("worker pid %d killed with SIGKILL; worker pid %d carries on alone", w.pid(), survivor.pid()), nil
		}},
		{at: clusterRestartHistoryAt, what: "history restarted", do: func() (string, error) {
			h := c.Service(cluster.History)
			old := h.PID()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			down, err := h.Restart(ctx, true)
			return fmt.Sprintf("history pid %d killed with SIGKILL, pid %d serving again after %s", old, h.PID(), down.Round(time.Millisecond)), err
		}},
	}
	runStart := time.Now()
	faultsDone := make(chan struct{})
	var faultLog []string
	go func() {
		defer close(faultsDone)
		for _, f := range faults {
			for answered.Load() < f.at {
				if dealsDone.Load() == clusterDeals {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			f.inFlight = clusterDeals - dealsDone.Load()
			at := time.Since(runStart)
			msg, err := f.do()
			if err != nil {
				t.Errorf("%s: %v", f.what, err)
				return
			}
			faultLog = append(faultLog, fmt.Sprintf("%s at action %d (%s into the run, %d deals open): %s",
				f.what, f.at, at.Round(time.Millisecond), f.inFlight, msg))
		}
	}()

	queue := make(chan *faultDeal)
	var wg sync.WaitGroup
	for range clusterClients {
		wg.Go(func() {
			for fd := range queue {
				if err := e.clusterDeal(fd, &answered, lat); err != nil {
					t.Errorf("%s: %v", fd.id, err)
				}
				dealsDone.Add(1)
			}
		})
	}
	for _, fd := range deals {
		queue <- fd
	}
	close(queue)
	wg.Wait()
	runTook := time.Since(runStart)
	<-faultsDone
	for _, l := range faultLog {
		t.Log(l)
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, f := range faults {
		if f.inFlight == 0 {
			t.Fatalf("%s: the deals were done before %d actions; the fault did not strike mid-run", f.what, f.at)
		}
	}

	// Notifications the killed worker had claimed from the outbox come due
	// again when their claim's lease ends; then the survivor sends them.
	var pending int
	if err := e.store.DB().QueryRowContext(context.Background(),
		`SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending > 0 {
		t.Logf("%d notifications not yet delivered when the deals were done (claimed by the killed worker, or still going out); waiting up to the relay's lease", pending)
		e.eventually("every notification delivered", time.Until(killedAt.Add(relayLease+2*time.Minute)), func() error {
			var n int
			if err := e.store.DB().QueryRowContext(context.Background(),
				`SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%d notifications not delivered", n)
			}
			return nil
		})
		t.Logf("all delivered %s after the worker was killed", time.Since(killedAt).Round(time.Second))
	}

	verifyStart := time.Now()
	e.verify(deals)
	if err := c.Exited(); err != nil {
		t.Errorf("after the run: %v", err)
	}
	for _, p := range []*faultProc{survivor, e.api} {
		if p.exited() {
			t.Errorf("the %s process (pid %d) exited: %v\n%s", p.name, p.pid(), p.cmd.ProcessState, tail(p.logPath, 4000))
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	won, lost := 0, 0
	for _, fd := range deals {
		if fd.lost {
			lost++
		} else {
			won++
		}
	}
	t.Logf("%d deals (%d won, %d lost) through %d requests in %s (%.1f deals/s, %d clients); request p50 / p99 / max %s "+
		"(a request's time includes its retries); %d answers were 503 and sent again with the same Idempotency-Key, "+
		"%d starts were found started after a 503",
		clusterDeals, won, lost, answered.Load(), runTook.Round(time.Millisecond), float64(clusterDeals)/runTook.Seconds(),
		clusterClients, lat, e.retried503.Load(), e.startedAfter503.Load())
	t.Logf("verified in %s: every deal at its expected end, audit trails complete with each event once, "+
		"read model equal to the workflows, every notification queued once and delivered", time.Since(verifyStart).Round(time.Millisecond))
	t.Logf("cluster up (Postgres, schemas, 4 services, namespace, dealflow processes) in %s; whole test %s",
		upIn.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// newClusterEnv starts Postgres, the cluster, `dealflow migrate`,
// `dealflow register-search-attributes`, two workers and an API, and
// creates the users.
func newClusterEnv(t *testing.T) (*faultEnv, *cluster.Cluster, []*faultProc) {
	t.Helper()
	root, err := os.MkdirTemp("", "dealflow-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	// As root, Postgres runs as the postgres account and must reach its
	// directory below this one.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	var pg *localstack.Postgres
	var c *cluster.Cluster
	// Registered first, so it runs last: after the dealflow processes stop.
	t.Cleanup(func() {
		if c != nil {
			if t.Failed() {
				t.Log(c.LogTails(3000))
			}
			c.Stop()
		}
		if pg != nil {
			_ = pg.Stop(context.Background())
		}
		_ = os.RemoveAll(root)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	// Four services with two pools each, the dealflow processes and this
	// test need more than Postgres's default 100 connections.
	pg, err = cluster.StartPostgres(ctx, localstack.PostgresOptions{Dir: filepath.Join(root, "pg"), Database: "dealflow", Ephemeral: true}, 300)
	if err != nil {
		t.Fatal(err)
	}
	pgTook := time.Since(t0)
	c, err = cluster.Start(ctx, cluster.Options{
		Dir:              filepath.Join(root, "temporal"),
		DB:               cluster.DB{Port: pg.Port()},
		Namespace:        "dealflow",
		SearchAttributes: workflows.SearchAttributes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := cliServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != want {
		t.Fatalf("bin/temporal-server is version %s, the pinned CLI's dev server %s: make clean, then make test-cluster", c.Version(), want)
	}
	tm := c.Timings()
	pv, vv := c.SchemaVersions()
	t.Logf("postgres up in %s; temporal server %s (as the pinned CLI's dev server): schemas %s (persistence) and %s (visibility) set up in %s, "+
		"4 services serving in %s, namespace %q and search attributes usable in %s",
		pgTook.Round(time.Millisecond), c.Version(), pv, vv, tm.Schema.Round(time.Millisecond),
		tm.Services.Round(time.Millisecond), c.Namespace(), tm.Namespace.Round(time.Millisecond))

	e := &faultEnv{
		t:               t,
		dir:             filepath.Join(root, "dealflow"),
		queue:           "cluster-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		tokens:          map[string]string{},
		hc:              &http.Client{Timeout: time.Minute},
		dbURL:           pg.URL(),
		temporalAddress: c.Address(),
		namespace:       c.Namespace(),
		expectedEvents:  projectTemplateEvents,
	}
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.cleanup)

	// Production's first two steps, as commands.
	for _, args := range [][]string{{"migrate"}, {"register-search-attributes"}} {
		p := e.spawn(args[0], e.commonEnv(), args...)
		<-p.done
		if !p.cmd.ProcessState.Success() {
			t.Fatalf("dealflow %s: %v\n%s", strings.Join(args, " "), p.cmd.ProcessState, tail(p.logPath, 4000))
		}
	}
	if e.store, err = store.Open(ctx, store.Config{URL: e.dbURL, MaxOpenConns: 8}); err != nil {
		t.Fatal(err)
	}
	if e.tc, err = client.Dial(client.Options{HostPort: c.Address(), Namespace: c.Namespace(),
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))}); err != nil {
		t.Fatal(err)
	}
	for _, u := range faultUsers {
		e.tokens[u[0]] = apitest.StoreUser(t, e.store, u[0], strings.ToUpper(u[0][:1])+u[0][1:], store.Role(u[1]))
	}
	var workers []*faultProc
	for range 2 {
		e.startWorker()
		workers = append(workers, e.worker)
	}
	e.startAPI()
	return e, c, workers
}

var cliServerVersionRE = regexp.MustCompile(`\(Server ([0-9][^,)\s]*)`)

// cliServerVersion is the server version the pinned CLI's dev server runs,
// from `temporal --version` ("temporal version 1.5.1 (Server 1.29.1, UI ...)").
func cliServerVersion() (string, error) {
	cli, err := localstack.FindTemporalCLI()
	if err != nil {
		return "", err
	}
	out, err := exec.Command(cli, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v\n%s", cli, err, out)
	}
	m := cliServerVersionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version names no server version: %q", cli, out)
	}
	return string(m[1]), nil
}

// clusterDeal starts a project deal and drives it to its end through the
// API: the buyer's stage recorded first when the deal asks for it, every
// active milestone submitted by its owner with its checklist, solution
// design rejected in its first round when the deal asks for it, the deal
// closed as lost once its contract is active when it should be lost.
// Every answer counts in answered.
func (e *faultEnv) clusterDeal(fd *faultDeal, answered *atomic.Int64, lat *latencies) error {
	t0 := time.Now()
	d, err := e.startProject(fd)
	if err != nil {
		return err
	}
	lat.add(time.Since(t0))
	answered.Add(1)
	if fd.buyerStages > 0 {
		t0 = time.Now()
		if d, err = e.act("cora", fd.id, "/buyer-stage", map[string]any{"stage": "negotiating"}, "buyer"); err != nil {
			return err
		}
		lat.add(time.Since(t0))
		answered.Add(1)
	}
	for range 20 {
		if d.Status.Final() {
			return nil
		}
		next := firstOpenMilestone(d)
		t0 = time.Now()
		switch {
		case next == nil:
			return fmt.Errorf("open deal with nothing to do: %s %v", d.Status, d.ActiveKeys())
		case next.State == deal.StateActive && next.Key == "contract" && fd.lost:
			d, err = e.act("pat", fd.id, "/close", map[string]any{"outcome": "lost", "reason": "chose a competitor"}, "close")
		case next.State == deal.StateActive:
			d, err = e.submit(d, next.Key)
		default:
			reject := fd.rejections > 0 && next.Round == 1
			d, err = e.review(d, next.Key, "ann", !reject)
		}
		if err != nil {
			return err
		}
		lat.add(time.Since(t0))
		answered.Add(1)
	}
	return fmt.Errorf("not closed after 20 actions: %s %v", d.Status, d.ActiveKeys())
}

// startProject starts a deal from the project template. A start answered
// 503 is sent again; if that one finds the deal exists, the first had
// started it (see startedAfter503).
func (e *faultEnv) startProject(fd *faultDeal) (*deal.Deal, error) {
	body := map[string]any{"id": fd.id, "name": "Deal " + fd.id, "customer": "Customer " + fd.id,
		"amount": 100000 + 1000*fd.n, "currency": "CNY", "template": "project",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann", "abe"}, "director": "dina"}}
	deadline := time.Now().Add(retryWindow)
	for attempt := 1; ; attempt++ {
		r := e.call("pat", "POST", "/v1/deals", body, "")
		switch {
		case r.status == http.StatusCreated:
			fd.started = new(deal.Deal)
			return fd.started, json.Unmarshal(r.body, fd.started)
		case r.status == http.StatusConflict && attempt > 1:
			e.startedAfter503.Add(1)
			var err error
			fd.started, err = e.deal(fd.id)
			return fd.started, err
		case r.status != http.StatusServiceUnavailable || time.Now().After(deadline):
			return nil, fmt.Errorf("starting %s: %s", fd.id, r)
		}
		e.retried503.Add(1)
		time.Sleep(250 * time.Millisecond)
	}
}

// latencies collects request durations.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// String is "p50 / p99 / max".
func (l *latencies) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return "-"
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))].Round(time.Millisecond) }
	return fmt.Sprintf("%s / %s / %s", q(0.50), q(0.99), s[len(s)-1].Round(time.Millisecond))
}

// projectMilestones are the project template's milestones in order.
var projectMilestones = []string{"prospect", "needs-analysis", "solution-design", "solution-submission", "quotation", "contract"}

// projectTemplateEvents are the audit-trail counts a project deal driven
// by clusterDeal must end with. Without a buyer stage recorded, each done
// milestone that names one raises a seller-ahead-of-buyer warning; with
// "negotiating" recorded first, none does.
func projectTemplateEvents(fd *faultDeal, escalated int) map[string]int {
	expect := map[string]int{
		"deal_started":         1,
		"deal_closed":          1,
		"review_approved":      1,
		"review_rejected":      fd.rejections,
		"buyer_stage_recorded": fd.buyerStages,
		"milestone_redated":    0,
		"escalation":           escalated,
	}
	ahead := 0
	for _, k := range projectMilestones {
		expect["milestone_activated/"+k] = 1
		done := k != "contract" || !fd.lost
		n := 0
		if done {
			n = 1
			if k != "solution-design" && fd.buyerStages == 0 {
				ahead++
			}
		}
		expect["milestone_done/"+k] = n
		expect["milestone_submitted/"+k] = n
	}
	expect["milestone_submitted/solution-design"] += fd.rejections
	expect["seller_ahead_of_buyer"] = ahead
	return expect
}
