package bench

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"
)

// Result is every figure of one run; the table and the JSON file show
// the same.
type Result struct {
	Conditions benchConditions  `json:"conditions"`
	Baseline   *baselineResult  `json:"baseline,omitempty"`
	Lifecycle  *lifecycleResult `json:"lifecycle,omitempty"`
	Ratios     *benchRatios     `json:"ratios,omitempty"`
	List       *listResult      `json:"list,omitempty"`
	Memory     *memoryResult    `json:"memory,omitempty"`
	Reports    *reportsResult   `json:"reports,omitempty"`
	Targets    []benchTarget    `json:"targets"`
}

type benchConditions struct {
	StartedAt      time.Time `json:"started_at"`
	Seconds        float64   `json:"seconds"`
	Cores          int       `json:"cores"`
	GOMAXPROCS     int       `json:"gomaxprocs"`
	CPU            string    `json:"cpu"`
	MemoryGiB      float64   `json:"memory_gib"`
	OS             string    `json:"os"`
	Go             string    `json:"go"`
	TemporalSDK    string    `json:"temporal_sdk"`
	TemporalCLI    string    `json:"temporal_cli,omitempty"`
	TemporalServer string    `json:"temporal_server"`
	Postgres       string    `json:"postgres"`
	Stack          string    `json:"stack"`
	Flags          []string  `json:"flags"`
}

// latencyStats summarises one kind of request; percentiles are nearest-rank.
type latencyStats struct {
	Count  int     `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func newLatencyStats(ds []time.Duration) latencyStats {
	if len(ds) == 0 {
		return latencyStats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return ms(s[max(0, min(i, len(s)-1))])
	}
	return latencyStats{Count: len(s), MeanMs: ms(sum / time.Duration(len(s))),
		P50Ms: rank(0.50), P90Ms: rank(0.90), P99Ms: rank(0.99), MaxMs: ms(s[len(s)-1])}
}

func (l latencyStats) String() string {
	return fmt.Sprintf("%s / %s / %s ms", fmtMs(l.P50Ms), fmtMs(l.P90Ms), fmtMs(l.P99Ms))
}

func fmtMs(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

type historyStats struct {
	Workflows  int     `json:"workflows"`
	MeanEvents float64 `json:"mean_events"`
	MinEvents  int64   `json:"min_events"`
	MaxEvents  int64   `json:"max_events"`
	// ByType counts the events of Sample's history by type.
	Sample string         `json:"sample"`
	ByType map[string]int `json:"by_type"`
}

type lifecycleResult struct {
	Deals          int                     `json:"deals"`
	Completed      int                     `json:"completed"`
	Failed         int                     `json:"failed"`
	Errors         []string                `json:"errors,omitempty"`
	Concurrency    int                     `json:"concurrency"`
	Milestones     int                     `json:"milestones_per_deal"`
	ActionsPerDeal int                     `json:"actions_per_deal"`
	Seconds        float64                 `json:"seconds"`
	DealsPerSecond float64                 `json:"deals_per_second"`
	Routes         map[string]latencyStats `json:"routes"`
	History        *historyStats           `json:"history"`
	// EventsPerMilestone is the mean history length ÷ milestones;
	// EventsPerAction ÷ requests (the start and each action).
	EventsPerMilestone float64 `json:"history_events_per_milestone"`
	EventsPerAction    float64 `json:"history_events_per_request"`
	// Pool is how often a Postgres connection was waited for meanwhile.
	Pool poolStats `json:"postgres_pool"`
	// ActionSteps are the actions' latencies by their place in the deal.
	ActionSteps []latencyStats `json:"action_steps"`
	// SDK is what the SDK measured meanwhile: the API's calls to Temporal
	// and the worker's tasks.
	SDK map[string]sdkTiming `json:"sdk"`
}

type baselineResult struct {
	Workflows          int           `json:"workflows"`
	Completed          int           `json:"completed"`
	Failed             int           `json:"failed"`
	Errors             []string      `json:"errors,omitempty"`
	Concurrency        int           `json:"concurrency"`
	UpdatesPerWorkflow int           `json:"updates_per_workflow"`
	Seconds            float64       `json:"seconds"`
	WorkflowsPerSecond float64       `json:"workflows_per_second"`
	Start              latencyStats  `json:"start"`
	Update             latencyStats  `json:"update"`
	LaterUpdates       latencyStats  `json:"updates_after_the_first"`
	History            *historyStats `json:"history"`
	// UpdateSteps are the updates' latencies by their place (the first
	// follows the start at once).
	UpdateSteps []latencyStats       `json:"update_steps"`
	SDK         map[string]sdkTiming `json:"sdk"`
}

// poolStats is the store's connection pool over a part of the run.
type poolStats struct {
	MaxOpen int     `json:"max_open"`
	Waits   int64   `json:"waits"`
	WaitMs  float64 `json:"wait_ms"`
}

// benchRatios are the headline: dealflow ÷ the bare SDK.
type benchRatios struct {
	Throughput float64 `json:"throughput"`
	UpdateP50  float64 `json:"update_p50"`
	UpdateP99  float64 `json:"update_p99"`
	// Later* leave out each workflow's first update: the baseline's waits
	// for the workflow's first task, a deal's does not (its start read the
	// state back, which waited instead).
	LaterUpdateP50 float64 `json:"later_update_p50"`
	LaterUpdateP99 float64 `json:"later_update_p99"`
}

type listQueryStats struct {
	Query   string       `json:"query"`
	Rows    int          `json:"rows"`
	Latency latencyStats `json:"latency"`
}

type listResult struct {
	Deals       int              `json:"deals_loaded"`
	TableRows   int              `json:"table_rows"`
	LoadSeconds float64          `json:"load_seconds"`
	Requests    int              `json:"requests"`
	Concurrency int              `json:"concurrency"`
	Overall     latencyStats     `json:"overall"`
	Queries     []listQueryStats `json:"queries"`
}

type memoryResult struct {
	Deals            int     `json:"deals"`
	Concurrency      int     `json:"concurrency"`
	Method           string  `json:"method"`
	StartSeconds     float64 `json:"start_seconds"`
	ReadySeconds     float64 `json:"ready_seconds"`
	CachedWorkflows  int     `json:"cached_workflows"`
	RSSBefore        int64   `json:"rss_before_bytes"`
	RSSAfter         int64   `json:"rss_after_bytes"`
	RSSPerDeal       float64 `json:"rss_per_deal_bytes"`
	HeapBefore       int64   `json:"heap_live_before_bytes"`
	HeapAfter        int64   `json:"heap_live_after_bytes"`
	HeapPerDeal      float64 `json:"heap_live_per_deal_bytes"`
	GoroutinesBefore int     `json:"goroutines_before"`
	GoroutinesAfter  int     `json:"goroutines_after"`
}

type reportsResult struct {
	Runs                int       `json:"runs"`
	FunnelRows          int       `json:"funnel_activity_rows"`
	FunnelLoadSeconds   float64   `json:"funnel_load_seconds"`
	FunnelMs            []float64 `json:"funnel_ms"`
	FunnelMedianMs      float64   `json:"funnel_median_ms"`
	CoverageAccounts    int       `json:"coverage_accounts"`
	CoverageEvents      int       `json:"coverage_events"`
	CoverageLoadSeconds float64   `json:"coverage_load_seconds"`
	CoverageMs          []float64 `json:"coverage_ms"`
	CoverageMedianMs    float64   `json:"coverage_median_ms"`
}

// benchTarget is one of the targets and where this run stands.
type benchTarget struct {
	Name     string  `json:"name"`
	Target   string  `json:"target"`
	Value    float64 `json:"value"`
	Measured string  `json:"measured"`
	Met      bool    `json:"met"`
}

func (t benchTarget) verdict() string {
	if t.Met {
		return "MET"
	}
	return "MISSED"
}

// judge works out the ratios and the targets from the figures.
func (r *Result) judge() {
	r.Targets = nil
	if r.Lifecycle != nil && r.Baseline != nil {
		up, later := r.Lifecycle.Routes[routeUpdates], r.Lifecycle.Routes[routeLaterUpdates]
		q := &benchRatios{
			Throughput:     r.Lifecycle.DealsPerSecond / r.Baseline.WorkflowsPerSecond,
			UpdateP50:      up.P50Ms / r.Baseline.Update.P50Ms,
			UpdateP99:      up.P99Ms / r.Baseline.Update.P99Ms,
			LaterUpdateP50: later.P50Ms / r.Baseline.LaterUpdates.P50Ms,
			LaterUpdateP99: later.P99Ms / r.Baseline.LaterUpdates.P99Ms,
		}
		r.Ratios = q
		r.Targets = append(r.Targets,
			benchTarget{Name: "throughput, dealflow ÷ baseline", Target: "≥ 0.70", Value: q.Throughput,
				Measured: fmt.Sprintf("%.2f", q.Throughput), Met: q.Throughput >= 0.7},
			benchTarget{Name: "update p99, API ÷ baseline", Target: "≤ 1.50", Value: q.UpdateP99,
				Measured: fmt.Sprintf("%.2f", q.UpdateP99), Met: q.UpdateP99 <= 1.5},
			benchTarget{Name: "later update p99, API ÷ baseline", Target: "≤ 1.50", Value: q.LaterUpdateP99,
				Measured: fmt.Sprintf("%.2f", q.LaterUpdateP99), Met: q.LaterUpdateP99 <= 1.5})
	}
	if r.Lifecycle != nil && r.Lifecycle.History != nil {
		v := r.Lifecycle.EventsPerMilestone
		r.Targets = append(r.Targets, benchTarget{Name: "history events per milestone", Target: "≤ 12",
			Value: v, Measured: fmt.Sprintf("%.1f", v), Met: v <= 12})
	}
	if r.List != nil && r.List.Overall.Count > 0 {
		v := r.List.Overall.P99Ms
		r.Targets = append(r.Targets, benchTarget{Name: fmt.Sprintf("list p99 at %s deals", thousands(r.List.TableRows)),
			Target: "≤ 20 ms", Value: v, Measured: fmtMs(v) + " ms", Met: v <= 20})
	}
	if r.Reports != nil && len(r.Reports.FunnelMs) > 0 {
		v := r.Reports.FunnelMedianMs
		r.Targets = append(r.Targets, benchTarget{Name: fmt.Sprintf("funnel report over %s rows", thousands(r.Reports.FunnelRows)),
			Target: "≤ 1 s", Value: v, Measured: fmtMs(v) + " ms", Met: v <= 1000})
	}
}

func (r *Result) target(name string) (benchTarget, bool) {
	for _, t := range r.Targets {
		if strings.HasPrefix(t.Name, name) {
			return t, true
		}
	}
	return benchTarget{}, false
}

// printTable writes every figure with its conditions as one Markdown table.
func (r *Result) printTable(w io.Writer) {
	c := r.Conditions
	rows := [][]string{{"figure", "value", "conditions", "target", ""}}
	add := func(figure, value, cond string) { rows = append(rows, []string{figure, value, cond, "", ""}) }
	addT := func(figure, value, cond, target string) {
		row := []string{figure, value, cond, "", ""}
		if t, ok := r.target(target); ok {
			row[3], row[4] = t.Target, t.verdict()
		}
		rows = append(rows, row)
	}
	add("machine", fmt.Sprintf("%d cores, GOMAXPROCS %d", c.Cores, c.GOMAXPROCS), fmt.Sprintf("%s, %.0f GiB, %s", c.CPU, c.MemoryGiB, c.OS))
	versions := fmt.Sprintf("Go %s, Temporal SDK %s", strings.TrimPrefix(c.Go, "go"), c.TemporalSDK)
	if c.TemporalCLI != "" {
		versions += ", temporal CLI " + c.TemporalCLI
	}
	versions += fmt.Sprintf(", server %s, PostgreSQL %s", c.TemporalServer, c.Postgres)
	add("versions", versions, c.Stack)

	if b := r.Baseline; b != nil {
		cond := fmt.Sprintf("%d workflows × (start + %d updates), %d SDK clients, %.1f s", b.Workflows, b.UpdatesPerWorkflow, b.Concurrency, b.Seconds)
		if b.Failed > 0 {
			cond += fmt.Sprintf(", %d FAILED", b.Failed)
		}
		add("baseline throughput", fmt.Sprintf("%.1f workflows/s", b.WorkflowsPerSecond), cond)
	}
	if l := r.Lifecycle; l != nil {
		cond := fmt.Sprintf("%d deals × (start + %d actions), %d HTTP clients, %.1f s", l.Deals, l.ActionsPerDeal, l.Concurrency, l.Seconds)
		if l.Failed > 0 {
			cond += fmt.Sprintf(", %d FAILED", l.Failed)
		}
		add("lifecycle throughput", fmt.Sprintf("%.1f deals/s", l.DealsPerSecond), cond)
	}
	if q := r.Ratios; q != nil {
		addT("throughput, dealflow ÷ baseline", fmt.Sprintf("%.2f", q.Throughput), "same number of workflows, requests and clients", "throughput")
	}
	if b := r.Baseline; b != nil {
		add("baseline start p50 / p90 / p99", b.Start.String(), fmt.Sprintf("%d ExecuteWorkflow calls", b.Start.Count))
		add("baseline update p50 / p90 / p99", b.Update.String(), fmt.Sprintf("%d UpdateWorkflow calls, waited until completed", b.Update.Count))
		add("baseline updates after the first p50 / p90 / p99", b.LaterUpdates.String(),
			fmt.Sprintf("%d calls; the first of each workflow waits for its first workflow task", b.LaterUpdates.Count))
	}
	if l := r.Lifecycle; l != nil {
		for _, route := range []string{routeCreate, routeSubmit, routeReview, routeUpdates, routeLaterUpdates} {
			s := l.Routes[route]
			add(route+" p50 / p90 / p99", s.String(), fmt.Sprintf("%d requests", s.Count))
		}
	}
	if q := r.Ratios; q != nil {
		addT("update p50 / p99, API ÷ baseline", fmt.Sprintf("%.2f / %.2f", q.UpdateP50, q.UpdateP99), "actions through the API ÷ bare SDK updates", "update p99")
		addT("same, after the first update", fmt.Sprintf("%.2f / %.2f", q.LaterUpdateP50, q.LaterUpdateP99),
			"without each workflow's first update (the baseline's waits for the first workflow task; a deal's start waited instead)", "later update p99")
	}
	if l := r.Lifecycle; l != nil && l.History != nil {
		add("history events per deal", fmt.Sprintf("%.1f (%d–%d)", l.History.MeanEvents, l.History.MinEvents, l.History.MaxEvents),
			fmt.Sprintf("%s plan: %d milestones, start + %d actions; %.1f events a request", benchTemplate, l.Milestones, l.ActionsPerDeal, l.EventsPerAction))
		addT("history events per milestone", fmt.Sprintf("%.1f", l.EventsPerMilestone), "events per deal ÷ milestones", "history events")
	}
	if b := r.Baseline; b != nil && b.History != nil {
		add("baseline history events per workflow", fmt.Sprintf("%.1f", b.History.MeanEvents),
			fmt.Sprintf("start + %d updates; %.1f events a request", b.UpdatesPerWorkflow, b.History.MeanEvents/float64(b.UpdatesPerWorkflow+1)))
	}
	if l := r.List; l != nil && l.Overall.Count > 0 {
		addT("GET /v1/deals p50 / p90 / p99", l.Overall.String(),
			fmt.Sprintf("%s deals in the read model, %d requests one at a time, %d filter/sort mixes", thousands(l.TableRows), l.Requests, len(l.Queries)), "list p99")
		slowest := slices.MaxFunc(l.Queries, func(a, b listQueryStats) int { return cmpFloat(a.Latency.P99Ms, b.Latency.P99Ms) })
		add("slowest list query p50 / p99", fmt.Sprintf("%s / %s ms", fmtMs(slowest.Latency.P50Ms), fmtMs(slowest.Latency.P99Ms)), "?"+slowest.Query)
	}
	if m := r.Memory; m != nil && m.RSSAfter > 0 {
		add("worker memory (RSS)", fmt.Sprintf("+%s (%.1f KiB a deal)", mib(m.RSSAfter-m.RSSBefore), m.RSSPerDeal/1024),
			fmt.Sprintf("%s open deals, %s workflows in the worker cache; VmRSS %s → %s", thousands(m.Deals), thousands(m.CachedWorkflows), mib(m.RSSBefore), mib(m.RSSAfter)))
		add("worker memory (Go heap)", fmt.Sprintf("+%s (%.1f KiB a deal)", mib(m.HeapAfter-m.HeapBefore), m.HeapPerDeal/1024),
			fmt.Sprintf("live heap after GC %s → %s", mib(m.HeapBefore), mib(m.HeapAfter)))
		add("open deals started", fmt.Sprintf("%.0f deals/s", float64(m.Deals)/m.StartSeconds),
			fmt.Sprintf("through the SDK, %d clients; all recorded and cached after %.1f s", m.Concurrency, m.ReadySeconds))
	}
	if p := r.Reports; p != nil && len(p.FunnelMs) > 0 {
		addT("funnel report", fmtMs(p.FunnelMedianMs)+" ms",
			fmt.Sprintf("%s activities, %s leads, 10 reps; median of %d (%s ms)", thousands(p.FunnelRows), thousands(p.FunnelRows/10), len(p.FunnelMs), joinMs(p.FunnelMs)), "funnel")
	}
	if p := r.Reports; p != nil && len(p.CoverageMs) > 0 {
		add("coverage report", fmtMs(p.CoverageMedianMs)+" ms",
			fmt.Sprintf("%s accounts, %s events (another program as large beside it); median of %d (%s ms)",
				thousands(p.CoverageAccounts), thousands(p.CoverageEvents), len(p.CoverageMs), joinMs(p.CoverageMs)))
	}

	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintf(bw, "\ndealflow bench, %s, %.0f s\n\n", c.StartedAt.Format("2006-01-02 15:04 MST"), c.Seconds)
	line := func(row []string) {
		bw.WriteString("|")
		for i, cell := range row {
			fmt.Fprintf(bw, " %s%s |", cell, strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)))
		}
		bw.WriteString("\n")
	}
	line(rows[0])
	sep := make([]string, len(widths))
	for i, n := range widths {
		sep[i] = strings.Repeat("-", n)
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
	if l := r.Lifecycle; l != nil && l.History != nil {
		fmt.Fprintf(bw, "\nHistory of one deal (%s) by event type: %s\n", l.History.Sample, byType(l.History.ByType))
	}
	if b := r.Baseline; b != nil && b.History != nil {
		fmt.Fprintf(bw, "History of one baseline workflow by event type: %s\n", byType(b.History.ByType))
	}
	for _, e := range append(r.lifecycleErrors(), r.baselineErrors()...) {
		fmt.Fprintf(bw, "error: %s\n", e)
	}
}

func (r *Result) lifecycleErrors() []string {
	if r.Lifecycle == nil {
		return nil
	}
	return r.Lifecycle.Errors
}

func (r *Result) baselineErrors() []string {
	if r.Baseline == nil {
		return nil
	}
	return r.Baseline.Errors
}

// byType lists event counts, most frequent first.
func byType(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var kvs []kv
	total := 0
	for k, v := range m {
		kvs = append(kvs, kv{k, v})
		total += v
	}
	slices.SortFunc(kvs, func(a, b kv) int {
		if a.v != b.v {
			return b.v - a.v
		}
		return strings.Compare(a.k, b.k)
	})
	parts := make([]string, len(kvs))
	for i, e := range kvs {
		parts[i] = fmt.Sprintf("%s %d", e.k, e.v)
	}
	return fmt.Sprintf("%d events: %s", total, strings.Join(parts, ", "))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func joinMs(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmtMs(x)
	}
	return strings.Join(parts, ", ")
}

// thousands writes n with commas: 100,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (r *Result) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the figures: %w", err)
	}
	return nil
}

// conditions describes the machine and the software measured.
func (e *benchEnv) conditions(ctx context.Context) (benchConditions, error) {
	c := benchConditions{
		StartedAt: time.Now(), Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), TemporalSDK: temporal.SDKVersion,
		Stack: e.stack, Flags: e.opts.Flags, CPU: procField("/proc/cpuinfo", "model name"),
	}
	if c.Flags == nil {
		c.Flags = []string{}
	}
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		c.MemoryGiB = kb / (1 << 20)
	}
	if e.cliPath != "" {
		if bi, err := buildinfo.ReadFile(e.cliPath); err == nil {
			c.TemporalCLI = bi.Main.Version
		}
	}
	info, err := e.tc.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		return c, fmt.Errorf("asking Temporal its version: %w", err)
	}
	c.TemporalServer = info.GetServerVersion()
	if err := e.st.DB().QueryRowContext(ctx, `SHOW server_version`).Scan(&c.Postgres); err != nil {
		return c, fmt.Errorf("asking Postgres its version: %w", err)
	}
	if v, _, ok := strings.Cut(c.Postgres, " "); ok {
		c.Postgres = v
	}
	return c, nil
}

// procField returns the value of the first "name: value" line of a /proc
// file, "" when there is none.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// sdkTiming is the mean of one of the Temporal SDK's latency histograms
// over one part of the run: client calls by operation (under the API, or
// the baseline's own), and the worker's task latencies by type.
type sdkTiming struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
}

type sumCount struct {
	sum   float64
	count uint64
}

// sdkLatencies snapshots the SDK's latency histograms in the registry, by
// metric and operation, workflow or activity type.
func sdkLatencies(g prometheus.Gatherer) map[string]sumCount {
	out := map[string]sumCount{}
	mfs, err := g.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "temporal_") || !strings.HasSuffix(name, "_latency_seconds") {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h == nil {
				continue
			}
			key := strings.TrimSuffix(strings.TrimPrefix(name, "temporal_"), "_seconds")
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "operation", "workflow_type", "activity_type":
					key += " " + l.GetValue()
				}
			}
			sc := out[key]
			sc.sum += h.GetSampleSum()
			sc.count += h.GetSampleCount()
			out[key] = sc
		}
	}
	return out
}

// sdkTimingsSince is what the histograms gathered since before.
func sdkTimingsSince(g prometheus.Gatherer, before map[string]sumCount) map[string]sdkTiming {
	out := map[string]sdkTiming{}
	for k, now := range sdkLatencies(g) {
		n := now.count - before[k].count
		if n == 0 {
			continue
		}
		out[k] = sdkTiming{Count: n, MeanMs: (now.sum - before[k].sum) * 1000 / float64(n)}
	}
	return out
}
