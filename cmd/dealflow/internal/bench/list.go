package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"dealflow/workflows/deal"
)

// sqlBenchDeals fills the read model with $2 deals named rm-NNNNNNN, each
// with the state $1, spread like a sales organisation's: 60% active, 5%
// paused, 15% won, 15% lost, 5% cancelled; 50 PMOs, 5,000 customers; an
// open deal has one open milestone of the project plan and is overdue one
// time in ten; updates spread over the last year.
const sqlBenchDeals = `
INSERT INTO deals (id, name, customer, amount, currency, status, template, pmo, stage,
	buyer_stage, overdue, next_deadline, started_at, updated_at, closed_at, version, state)
SELECT 'rm-' || lpad(g::text, 7, '0'), 'Deal ' || g, 'Customer ' || (g * 7 % 5000),
	10000 + (g::bigint * 7919) % 5000000, 'CNY', s.status, 'project', 'pmo-' || (g % 50),
	CASE WHEN s.open THEN ARRAY[(ARRAY['prospect', 'needs-analysis', 'solution-design',
		'solution-submission', 'quotation', 'contract'])[1 + (g / 20) % 6]] ELSE '{}' END,
	'', s.open AND g % 10 = 3,
	CASE WHEN s.open THEN now() + ((g * 37) % 86400 - 14400) * interval '1 minute' END,
	u.at - interval '30 days', u.at, CASE WHEN NOT s.open THEN u.at END, 1 + g % 20, $1::jsonb
FROM generate_series(1, $2) g,
	LATERAL (SELECT (ARRAY['active', 'active', 'active', 'active', 'active', 'active', 'active', 'active',
		'active', 'active', 'active', 'active', 'paused', 'won', 'won', 'won', 'lost', 'lost', 'lost',
		'cancelled'])[1 + g % 20] AS status) s0,
	LATERAL (SELECT s0.status, s0.status IN ('active', 'paused') AS open) s,
	LATERAL (SELECT now() - ((g::bigint * 7717) % 525600) * interval '1 minute' AS at) u`

// benchListQueries are the list requests timed, in turn: filters and sorts
// a team uses every day. "{cursor}" is the next_cursor of the first page
// of status=open.
var benchListQueries = []string{
	"",
	"status=open",
	"status=active&sort=-amount",
	"status=closed&sort=-updated_at",
	"pmo=pmo-7",
	"pmo=pmo-7&status=open&sort=next_deadline",
	"stage=quotation",
	"stage=solution-design&overdue=true",
	"overdue=true&sort=next_deadline",
	"customer=Customer 1234",
	"q=customer 12",
	"sort=name",
	"sort=amount&limit=200",
	"status=open&cursor={cursor}",
}

// labelAllLists collects every list request's latency.
const labelAllLists = "all list requests"

func (e *benchEnv) list(ctx context.Context, res *Result) error {
	r := &listResult{Deals: e.opts.ListDeals, Requests: e.opts.ListRequests, Concurrency: 1}
	res.List = r
	state, err := benchDealState()
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := e.st.DB().ExecContext(ctx, sqlBenchDeals, state, e.opts.ListDeals); err != nil {
		return fmt.Errorf("loading %d deals: %w", e.opts.ListDeals, err)
	}
	if _, err := e.st.DB().ExecContext(ctx, `VACUUM ANALYZE deals`); err != nil {
		return err
	}
	r.LoadSeconds = time.Since(start).Seconds()
	if err := e.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM deals`).Scan(&r.TableRows); err != nil {
		return err
	}
	e.progressf("list: %d deals loaded in %.1fs", e.opts.ListDeals, r.LoadSeconds)

	hc := e.httpClient()
	var page struct {
		Deals      []json.RawMessage `json:"deals"`
		NextCursor string            `json:"next_cursor"`
	}
	if err := e.call(ctx, hc, http.MethodGet, "/v1/deals?status=open", "pat", nil, "", &page); err != nil {
		return err
	}
	queries := make([]string, len(benchListQueries))
	for i, q := range benchListQueries {
		if q == "status=open&cursor={cursor}" {
			q = "status=open&cursor=" + url.QueryEscape(page.NextCursor)
		}
		queries[i] = q
	}
	get := func(q string) (time.Duration, int, error) {
		u := "/v1/deals"
		if q != "" {
			vals, err := url.ParseQuery(q)
			if err != nil {
				return 0, 0, err
			}
			u += "?" + vals.Encode()
		}
		start := time.Now()
		err := e.call(ctx, hc, http.MethodGet, u, "pat", nil, "", &page)
		return time.Since(start), len(page.Deals), err
	}
	// Each query once, unmeasured, as a running server would have.
	for _, q := range queries {
		if _, _, err := get(q); err != nil {
			return err
		}
	}
	rec := newRecorder()
	rows := map[string]int{}
	for i := range e.opts.ListRequests {
		q := benchListQueries[i%len(queries)]
		d, n, err := get(queries[i%len(queries)])
		if err != nil {
			return err
		}
		rec.add(q, d)
		rec.add(labelAllLists, d)
		rows[q] = n
	}
	r.Overall = rec.stats(labelAllLists)
	for _, q := range benchListQueries {
		if len(rec.by[q]) == 0 {
			continue
		}
		label := q
		if label == "" {
			label = "(no filter)"
		}
		r.Queries = append(r.Queries, listQueryStats{Query: label, Rows: rows[q], Latency: rec.stats(q)})
	}
	e.progressf("list: %d requests, p50 %.1f ms, p99 %.1f ms", r.Requests, r.Overall.P50Ms, r.Overall.P99Ms)
	return nil
}

// benchDealState is the stored state of every generated deal: a project
// deal as it starts, so rows are as large as real ones.
func benchDealState() (string, error) {
	tmpl, _ := deal.Builtin(benchTemplate)
	d, _, err := deal.NewDeal(deal.DealSpec{
		ID: "rm-0000000", Name: "Deal", Customer: "Customer", Amount: 100_000, Currency: "CNY",
		Team: deal.Team{PMO: "pat", Commercial: "cora", Solution: "sol", Approvers: []string{"ann", "abe"}, Director: "dina"},
		Plan: tmpl,
	}, time.Now())
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(d)
	return string(b), err
}
