package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dealflow/workflows"
	"dealflow/workflows/deal"
)

// The memory part starts -mem-deals deals straight through the SDK, waits
// until each has run its first workflow tasks (its start is recorded in
// the read model and it sits in the worker's cache waiting for its first
// action), and compares this process's memory before and after.

// memSample is this process's memory at one moment, after a full garbage
// collection that returns freed memory to the OS.
type memSample struct {
	RSS        int64 // VmRSS of /proc/self/status
	HeapLive   int64 // runtime/metrics /gc/heap/live:bytes
	Goroutines int
}

func sampleMemory() (memSample, error) {
	runtime.GC()
	debug.FreeOSMemory()
	s := memSample{Goroutines: runtime.NumGoroutine()}
	m := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(m)
	if m[0].Value.Kind() == rtmetrics.KindUint64 {
		s.HeapLive = int64(m[0].Value.Uint64())
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return s, fmt.Errorf("reading resident memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return s, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			s.RSS = kb << 10
		}
	}
	return s, sc.Err()
}

func (e *benchEnv) memory(ctx context.Context, res *Result) error {
	n := e.opts.MemDeals
	r := &memoryResult{Deals: n, Concurrency: e.opts.Concurrency, Method: "VmRSS of /proc/self/status and the Go heap's live bytes " +
		"(runtime/metrics /gc/heap/live:bytes), each after runtime.GC and debug.FreeOSMemory, " +
		"before the deals start and once all of them are cached; the process also runs the API, idle meanwhile"}
	res.Memory = r
	before, err := sampleMemory()
	if err != nil {
		return err
	}

	tmpl, _ := deal.Builtin(benchTemplate)
	team := deal.Team{PMO: "pat", Commercial: "cora", Solution: "sol", Approvers: []string{"ann", "abe"}, Director: "dina"}
	prefix := "mem-" + e.run + "-"
	rec := newRecorder()
	start := time.Now()
	err = forEach(ctx, n, e.opts.Concurrency, rec, func(ctx context.Context, i int) error {
		spec := deal.DealSpec{ID: fmt.Sprintf("%s%05d", prefix, i), Name: fmt.Sprintf("Open deal %d", i),
			Customer: fmt.Sprintf("Customer %d", i%5000), Amount: float64(100_000 + i), Currency: "CNY", Team: team, Plan: tmpl}
		_, err := workflows.StartDeal(ctx, e.tc, e.taskQueue, spec, time.Now())
		return err
	})
	if err != nil {
		return err
	}
	if rec.n > 0 {
		return fmt.Errorf("%d of %d deals did not start: %v", rec.n, n, rec.err)
	}
	r.StartSeconds = time.Since(start).Seconds()
	e.progressf("memory: %d deals started in %.1fs; waiting for each to be recorded and cached", n, r.StartSeconds)

	// Recorded: the deal's first workflow task ran. Cached: the worker
	// holds it, its later tasks included, until evicted.
	// The cache is asked first: counting the deals costs Postgres a scan.
	deadline := time.Now().Add(10 * time.Minute)
	var recorded int
	for {
		cached, _ := gaugeMax(e.metrics, "temporal_sticky_cache_size")
		if cached >= float64(n) {
			if err := e.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM deals WHERE id LIKE $1`, prefix+"%").Scan(&recorded); err != nil {
				return err
			}
			if recorded >= n {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after 10 minutes %d of %d deals are recorded and %.0f workflows are cached", recorded, n, cached)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	r.ReadySeconds = time.Since(start).Seconds()
	// Let the last activity completions' workflow tasks run: a moment for a
	// few deals, three seconds for thousands.
	time.Sleep(min(3*time.Second, 200*time.Millisecond+time.Duration(n)*time.Millisecond))
	after, err := sampleMemory()
	if err != nil {
		return err
	}
	if err := writeHeapProfile(e.opts.MemProfile); err != nil {
		return err
	}
	cached, _ := gaugeMax(e.metrics, "temporal_sticky_cache_size")
	r.CachedWorkflows = int(cached)
	r.RSSBefore, r.RSSAfter = before.RSS, after.RSS
	r.HeapBefore, r.HeapAfter = before.HeapLive, after.HeapLive
	r.GoroutinesBefore, r.GoroutinesAfter = before.Goroutines, after.Goroutines
	r.RSSPerDeal = float64(after.RSS-before.RSS) / float64(n)
	r.HeapPerDeal = float64(after.HeapLive-before.HeapLive) / float64(n)
	e.progressf("memory: RSS %d → %d MiB (%.1f KiB a deal), %d workflows cached",
		before.RSS>>20, after.RSS>>20, r.RSSPerDeal/1024, r.CachedWorkflows)

	if !e.localTemporal {
		// On a server that outlives the bench, deals left open would wait
		// for a worker forever.
		e.progressf("memory: terminating the %d open deals", n)
		return forEach(ctx, n, e.opts.Concurrency, newRecorder(), func(ctx context.Context, i int) error {
			return e.tc.TerminateWorkflow(ctx, workflows.DealWorkflowID(fmt.Sprintf("%s%05d", prefix, i)), "", "dealflow bench done")
		})
	}
	return nil
}

// writeHeapProfile writes the live heap to path ("": nothing).
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// gaugeMax is the largest value of a gauge's series in the registry. The
// SDK reports the worker cache's size per workflow type, each series as it
// was at that type's latest task; the deals' series is the current size
// while only deals run.
func gaugeMax(g prometheus.Gatherer, name string) (float64, bool) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, false
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var most float64
		for _, m := range mf.GetMetric() {
			most = max(most, m.GetGauge().GetValue())
		}
		return most, true
	}
	return 0, false
}
