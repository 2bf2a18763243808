package store_test

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
)

// syntheticMonth generates a program's events around asOf: two months of
// history and a few days after asOf (which the report must ignore), from a
// fixed seed. Each account is touched, visited, signed and sent solutions
// at random.
func syntheticMonth(accounts []coverage.Account, asOf time.Time) []coverage.Event {
	r := rand.New(rand.NewPCG(4, 2))
	when := func() time.Time {
		return asOf.Add(-60 * 24 * time.Hour).Add(time.Duration(r.Int64N(int64(65 * 24 * time.Hour))))
	}
	var evs []coverage.Event
	add := func(e coverage.Event) {
		e.ID = fmt.Sprintf("e%05d", len(evs))
		if e.At.IsZero() {
			e.At = when()
		}
		evs = append(evs, e)
	}
	sdr, bd := []string{"lena", "sid", "sue"}, []string{"bo", "ben"}
	for _, a := range accounts {
		if r.Float64() < 0.7 {
			for range 1 + r.IntN(3) {
				add(coverage.Event{Account: a.ID, Kind: coverage.EventSDRTouch, Stage: coverage.TouchStages[r.IntN(3)], By: sdr[r.IntN(3)]})
			}
		}
		if r.Float64() < 0.3 {
			add(coverage.Event{Account: a.ID, Kind: coverage.EventBDVisit, By: bd[r.IntN(2)]})
		}
		if r.Float64() < 0.1 {
			add(coverage.Event{Account: a.ID, Kind: coverage.EventBDSigning, By: bd[r.IntN(2)]})
		}
		for s := range r.IntN(3) {
			solution, at := fmt.Sprintf("sol-%d", s), when()
			for round := 1; round <= 3; round++ {
				add(coverage.Event{Account: a.ID, Kind: coverage.EventSolutionSubmitted, Solution: solution, Round: round, By: "pete", At: at})
				if r.Float64() < 0.15 {
					break // still waiting for its review
				}
				at = at.Add(time.Duration(1+r.IntN(72)) * time.Hour)
				result := coverage.ReviewApproved
				if r.Float64() < 0.45 {
					result = coverage.ReviewRejected
				}
				add(coverage.Event{Account: a.ID, Kind: coverage.EventSolutionReviewed, Solution: solution, Round: round, Result: result, By: "pia", At: at})
				if result == coverage.ReviewApproved {
					break
				}
				at = at.Add(time.Duration(1+r.IntN(72)) * time.Hour)
			}
		}
	}
	return evs
}

// expectedReport computes a report's counts and untouched list in plain Go,
// from the definitions in docs/coverage.md, independently of the SQL.
func expectedReport(accounts []coverage.Account, evs []coverage.Event, asOf time.Time, days int) (coverage.Counts, int, []string) {
	since := asOf.AddDate(0, 0, -days)
	type acc struct {
		covered, qualified, signed bool
		last                       time.Time
	}
	type sol struct{ reviewed, approved1, rejected1 bool }
	byAcc := map[string]*acc{}
	for _, a := range accounts {
		byAcc[a.ID] = &acc{}
	}
	sols := map[string]*sol{}
	for _, e := range evs {
		if e.At.After(asOf) {
			continue
		}
		a := byAcc[e.Account]
		switch e.Kind {
		case coverage.EventSDRTouch:
			a.covered = true
			a.qualified = a.qualified || e.Stage == coverage.StageValueConfirmed
		case coverage.EventBDSigning:
			a.signed = true
		}
		if e.Kind == coverage.EventSDRTouch || e.Kind == coverage.EventBDVisit || e.Kind == coverage.EventBDSigning {
			if e.At.After(a.last) {
				a.last = e.At
			}
		}
		if e.Kind == coverage.EventSolutionSubmitted || e.Kind == coverage.EventSolutionReviewed {
			key := e.Account + "\x00" + e.Solution
			if sols[key] == nil {
				sols[key] = &sol{}
			}
			s := sols[key]
			if e.Kind == coverage.EventSolutionReviewed {
				s.reviewed = true
				s.approved1 = s.approved1 || (e.Round == 1 && e.Result == coverage.ReviewApproved)
				s.rejected1 = s.rejected1 || (e.Round == 1 && e.Result == coverage.ReviewRejected)
			}
		}
	}
	var c coverage.Counts
	type untouched struct {
		id   string
		last time.Time
	}
	var un []untouched
	for _, a := range accounts {
		x := byAcc[a.ID]
		c.Accounts++
		if x.covered {
			c.AccountsCovered++
		}
		if x.qualified {
			c.AccountsQualified++
		}
		if x.signed {
			c.AccountsSigned++
		}
		if !x.last.IsZero() && x.last.After(since) {
			c.AccountsTouched++
		} else {
			un = append(un, untouched{a.ID, x.last})
		}
	}
	for _, s := range sols {
		c.SolutionsSubmitted++
		if s.reviewed {
			c.SolutionsReviewed++
			if s.approved1 && !s.rejected1 {
				c.SolutionsFirstPass++
			}
		}
	}
	slices.SortFunc(un, func(a, b untouched) int {
		return cmp.Or(a.last.Compare(b.last), cmp.Compare(a.id, b.id)) // zero time (never) first
	})
	var ids []string
	for _, u := range un[:min(len(un), coverage.UntouchedListCap)] {
		ids = append(ids, u.id)
	}
	return c, len(un), ids
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	return rate(float64(n) / float64(d))
}

func sameRate(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return math.Abs(*a-*b) < 1e-12
}

// TestCoverageReportFigures: a month of synthetic activity on 250 accounts
// yields the figures computed independently in Go, the report is stored
// once per run, and each team lead is named.
func TestCoverageReportFigures(t *testing.T) {
	s := newStore(t)
	coverageUsers(t, s)
	p := testProgram("east")
	p.UntouchedDays = 21
	createProgram(t, s, p)
	ctx := t.Context()
	accs := accounts(250)
	if _, err := s.ImportAccounts(ctx, "east", accs); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)
	evs := syntheticMonth(accs, asOf)
	for start := 0; start < len(evs); start += 500 {
		if _, err := s.RecordCoverageEvents(ctx, "east", importer, evs[start:min(start+500, len(evs))]); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.ComputeCoverageReport(ctx, "east", "run-1", "manual", asOf)
	if err != nil {
		t.Fatal(err)
	}
	want, untouched, firstUntouched := expectedReport(accs, evs, asOf, 21)
	t.Logf("%d events; counts %+v; %d untouched", len(evs), want, untouched)
	if got.Counts != want {
		t.Errorf("counts\n got %+v\nwant %+v", got.Counts, want)
	}
	if want.SolutionsFirstPass == 0 || want.SolutionsReviewed == want.SolutionsFirstPass || untouched <= coverage.UntouchedListCap {
		t.Fatalf("the synthetic data does not exercise every figure: %+v, %d untouched", want, untouched)
	}
	wantRates := coverage.Rates{
		CoverageRate: ratio(want.AccountsCovered, want.Accounts), TouchRate: ratio(want.AccountsTouched, want.Accounts),
		PenetrationRate: ratio(want.AccountsQualified, want.Accounts), SigningRate: ratio(want.AccountsSigned, want.Accounts),
		FirstPassRate: ratio(want.SolutionsFirstPass, want.SolutionsReviewed),
	}
	for _, r := range []struct {
		name      string
		got, want *float64
	}{
		{"coverage", got.Rates.CoverageRate, wantRates.CoverageRate}, {"touch", got.Rates.TouchRate, wantRates.TouchRate},
		{"penetration", got.Rates.PenetrationRate, wantRates.PenetrationRate}, {"signing", got.Rates.SigningRate, wantRates.SigningRate},
		{"first pass", got.Rates.FirstPassRate, wantRates.FirstPassRate},
	} {
		if !sameRate(r.got, r.want) {
			t.Errorf("%s rate %v, want %v", r.name, deref(r.got), deref(r.want))
		}
	}
	if got.Untouched.Total != untouched || len(got.Untouched.Accounts) != coverage.UntouchedListCap {
		t.Errorf("untouched total %d (want %d), listed %d (want %d)", got.Untouched.Total, untouched, len(got.Untouched.Accounts), coverage.UntouchedListCap)
	}
	var gotIDs []string
	for _, a := range got.Untouched.Accounts {
		gotIDs = append(gotIDs, a.ID)
	}
	if !slices.Equal(gotIDs, firstUntouched) {
		t.Errorf("untouched list\n got %v\nwant %v", gotIDs, firstUntouched)
	}
	if got.Targets.CoverageRate != 0.8 || got.Leads[coverage.TeamSDR] != "lena" || got.Leads[coverage.TeamBD] != "bo" || got.Leads[coverage.TeamPresales] != "pia" {
		t.Errorf("targets %+v, leads %v", got.Targets, got.Leads)
	}
	if got.UntouchedDays != 21 || !got.AsOf.Equal(asOf) || got.Trigger != "manual" {
		t.Errorf("report header %+v", got)
	}

	// The same run stores nothing new, even after more events arrive.
	if _, err := s.RecordCoverageEvents(ctx, "east", importer, []coverage.Event{
		{ID: "late", Account: "acc-000", Kind: coverage.EventBDSigning, By: "bo", At: asOf.Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	again, err := s.ComputeCoverageReport(ctx, "east", "run-1", "manual", asOf)
	if err != nil || again.ID != got.ID || again.Counts != got.Counts {
		t.Errorf("same run again: %+v, %v; want report %d unchanged", again, err, got.ID)
	}
	next, err := s.ComputeCoverageReport(ctx, "east", "run-2", "schedule", asOf)
	if err != nil || next.ID == got.ID {
		t.Fatalf("next run: %+v, %v", next, err)
	}
	if signedBefore := slices.ContainsFunc(evs, func(e coverage.Event) bool {
		return e.Account == "acc-000" && e.Kind == coverage.EventBDSigning && !e.At.After(asOf)
	}); !signedBefore && next.Counts.AccountsSigned != got.Counts.AccountsSigned+1 {
		t.Errorf("next run: %d signed, want %d", next.Counts.AccountsSigned, got.Counts.AccountsSigned+1)
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_reports`); n != 2 {
		t.Errorf("%d reports stored, want 2", n)
	}

	list, err := s.ListCoverageReports(ctx, "east", 0, 0)
	if err != nil || len(list) != 2 || list[0].ID != next.ID || list[1].Untouched.Accounts != nil {
		t.Errorf("history: %+v, %v", list, err)
	}
	if older, _ := s.ListCoverageReports(ctx, "east", next.ID, 10); len(older) != 1 || older[0].ID != got.ID {
		t.Errorf("history before %d: %+v", next.ID, older)
	}
	if _, err := s.ComputeCoverageReport(ctx, "west", "run-3", "manual", asOf); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown program: %v", err)
	}
}

// TestCoverageReportOfAnEmptyProgram: without accounts or reviews, rates
// are null rather than a division by zero.
func TestCoverageReportOfAnEmptyProgram(t *testing.T) {
	s := newStore(t)
	coverageUsers(t, s)
	createProgram(t, s, testProgram("empty"))
	got, err := s.ComputeCoverageReport(t.Context(), "empty", "run-1", "schedule", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Counts != (coverage.Counts{}) || got.Rates.CoverageRate != nil || got.Rates.FirstPassRate != nil || got.Untouched.Total != 0 {
		t.Errorf("empty report %+v", got)
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// TestCoverageReportOfADeletedProgram: as a funnel target's report does, a
// program's report holds the program while it is computed, so a program
// deleted meanwhile makes the report ErrNotFound (the workflow then fails
// at once rather than retrying) and leaves no report behind; a program
// deleted before the run is ErrNotFound too, and its reports go with it.
func TestCoverageReportOfADeletedProgram(t *testing.T) {
	s := eastWithAccounts(t, 3)
	ctx := t.Context()
	first, err := s.ComputeCoverageReport(ctx, "east", "run-1", "schedule", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.ComputeCoverageReport(ctx, "east", "run-1", "schedule", time.Now()); err != nil || again.ID != first.ID {
		t.Errorf("same run again: %+v, %v; want report %d", again, err, first.ID)
	}

	// The program is deleted by a transaction that commits while the
	// report waits for it.
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM coverage_programs WHERE id = 'east'`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.ComputeCoverageReport(ctx, "east", "run-2", "schedule", time.Now())
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the report did not wait for the deleting transaction: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, store.ErrNotFound) {
		t.Errorf("report of a program deleted mid-run: %v, want ErrNotFound", err)
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_reports`); n != 0 {
		t.Errorf("%d reports left of a deleted program", n)
	}
	if _, err := s.ComputeCoverageReport(ctx, "east", "run-3", "schedule", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("report of a deleted program: %v, want ErrNotFound", err)
	}
	if _, err := s.GetCoverageReport(ctx, first.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted program's report: %v, want it gone", err)
	}
}
