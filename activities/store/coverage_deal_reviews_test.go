package store_test

import (
	"strconv"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
	"dealflow/workflows/deal"
)

// reviewSolution takes a project deal to its solution design and votes on
// it in order; each change is recorded through RecordChange, as the deal
// workflow does.
func reviewSolution(t *testing.T, s *store.Store, id, customer string, votes ...deal.ReviewDecision) *deal.Deal {
	t.Helper()
	d, evs := newDeal(t, id, t0, func(spec *deal.DealSpec) { spec.Customer = customer })
	record(t, s, d, evs)
	now := t0
	step := func(evs []deal.Event) {
		t.Helper()
		record(t, s, d, evs)
		// Recording the same change again (an activity retry) adds nothing.
		record(t, s, clone(t, d), evs)
	}
	for _, key := range []string{"prospect", "needs-analysis"} {
		now = now.Add(time.Hour)
		step(submit(t, d, key, "carol", now))
	}
	for _, v := range votes {
		now = now.Add(time.Hour)
		step(submit(t, d, "solution-design", "sam", now))
		now = now.Add(time.Hour)
		a := deal.ReviewAction{Acting: deal.Acting{Actor: "alice"}, Milestone: "solution-design", Decision: v, Comment: "rework the pricing"}
		evs, err := d.Apply(a, now)
		if err != nil {
			t.Fatalf("review %s: %v", v, err)
		}
		step(evs)
	}
	return d
}

// TestDealReviewsCountForPrograms: solution reviews in a deal whose customer
// is on programs (by name, ignoring case) become presales events of each of
// those programs, once, and count in the first-pass rate.
func TestDealReviewsCountForPrograms(t *testing.T) {
	s := newStore(t)
	coverageUsers(t, s)
	ctx := t.Context()
	for _, id := range []string{"east", "key-accounts", "west"} {
		createProgram(t, s, testProgram(id))
	}
	for _, p := range []struct{ program, name string }{{"east", "ACME"}, {"key-accounts", "acme"}, {"west", "Globex"}} {
		if _, err := s.ImportAccounts(ctx, p.program, []coverage.Account{{ID: "a-1", Name: p.name}}); err != nil {
			t.Fatal(err)
		}
	}

	reviewSolution(t, s, "acme-erp", "Acme", deal.Reject, deal.Approve)
	reviewSolution(t, s, "acme-crm", "acme ", deal.Approve)
	reviewSolution(t, s, "initech", "Initech", deal.Approve)

	var rows []struct {
		Program  string `db:"program_id"`
		Kind     string `db:"kind"`
		Solution string `db:"solution"`
		Round    int    `db:"round"`
		Result   string `db:"result"`
		Actor    string `db:"actor"`
	}
	if err := s.DB().SelectContext(ctx, &rows, `
SELECT program_id, kind, solution, round, result, actor FROM coverage_events
WHERE program_id = 'east' AND source = 'deal' ORDER BY deal_id DESC, deal_seq`); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"solution_submitted acme-erp/solution-design r1  by sam",
		"solution_reviewed acme-erp/solution-design r1 rejected by alice",
		"solution_submitted acme-erp/solution-design r2  by sam",
		"solution_reviewed acme-erp/solution-design r2 approved by alice",
		"solution_submitted acme-crm/solution-design r1  by sam",
		"solution_reviewed acme-crm/solution-design r1 approved by alice",
	}
	if len(rows) != len(want) {
		t.Fatalf("east has %d deal events, want %d: %+v", len(rows), len(want), rows)
	}
	for i, r := range rows {
		if got := r.Kind + " " + r.Solution + " r" + strconv.Itoa(r.Round) + " " + r.Result + " by " + r.Actor; got != want[i] {
			t.Errorf("event %d: %q, want %q", i, got, want[i])
		}
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_events WHERE program_id = 'key-accounts'`); n != len(want) {
		t.Errorf("key-accounts has %d events, want %d (its account is named in lower case)", n, len(want))
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_events WHERE program_id = 'west'`); n != 0 {
		t.Errorf("west has %d events from deals of other customers", n)
	}

	rep, err := s.ComputeCoverageReport(ctx, "east", "run-1", "manual", t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.SolutionsReviewed != 2 || rep.Counts.SolutionsFirstPass != 1 || !sameRate(rep.Rates.FirstPassRate, rate(0.5)) {
		t.Errorf("east's solutions: %+v, first pass %v; want 2 reviewed, 1 first pass", rep.Counts, deref(rep.Rates.FirstPassRate))
	}
}
