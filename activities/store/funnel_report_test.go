package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/funnel"
)

// march is a month of synthetic work: three reps with different paces, a
// holiday, weekend work, records outside the window and another rep's,
// all in Shanghai time.
type march struct {
	target *funnel.Target
	loc    *time.Location
	acts   []store.FunnelActivity
	leads  []store.FunnelLead
}

// marchInput is the month's target: 3,000,000 of revenue from deals of
// 100,000 at a 25% conversion is 120 leads; at 0.5 leads per activity, 240
// activities.
func marchInput() funnel.TargetInput {
	return funnel.TargetInput{
		ID: "march", Name: "March", Scope: "north", Manager: "mona", Reps: []string{"ann", "bob", "cy"},
		PeriodStart: "2026-03-01", PeriodEnd: "2026-03-31", RevenueTarget: 3_000_000, AvgDealSize: 100_000,
		ConversionRate: 0.25, LeadsPerActivity: 0.5, TimeZone: "Asia/Shanghai", Holidays: []string{"2026-03-10"},
	}
}

func newMarch(t *testing.T) *march {
	t.Helper()
	tg, err := funnel.NewTarget(marchInput())
	if err != nil {
		t.Fatal(err)
	}
	m := &march{target: tg}
	m.loc, _ = time.LoadLocation("Asia/Shanghai")
	rng := rand.New(rand.NewPCG(7, 11))
	pace := map[string]int{"ann": 6, "bob": 3, "cy": 1, "zed": 9}
	n := 0
	// From 25 February to 5 April: some of it before and after the window.
	for day := time.Date(2026, 2, 25, 0, 0, 0, 0, m.loc); day.Before(time.Date(2026, 4, 6, 0, 0, 0, 0, m.loc)); day = day.AddDate(0, 0, 1) {
		for _, rep := range []string{"ann", "bob", "cy", "zed"} {
			k := pace[rep] + rng.IntN(3) - 1
			if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
				k = rng.IntN(2)
			}
			for range k {
				n++
				at := day.Add(time.Duration(rng.IntN(24*60)) * time.Minute)
				if n%17 == 0 { // close to midnight, local: tests the day boundary
					at = day.Add(24*time.Hour - time.Duration(1+rng.IntN(5))*time.Minute)
				}
				m.acts = append(m.acts, store.FunnelActivity{ID: fmt.Sprintf("a%d", n), Rep: rep,
					Kind: []string{"call", "visit", "demo"}[rng.IntN(3)], At: at, Outcome: "ok"})
			}
			if rng.IntN(3) == 0 {
				n++
				l := store.FunnelLead{ID: fmt.Sprintf("l%d", n), Rep: rep, CreatedAt: day.Add(time.Duration(8+rng.IntN(10)) * time.Hour)}
				if rng.IntN(2) == 0 {
					q := l.CreatedAt.Add(time.Duration(24+rng.IntN(96)) * time.Hour)
					l.QualifiedAt = &q
					if rng.IntN(2) == 0 {
						c := q.Add(time.Duration(24+rng.IntN(96)) * time.Hour)
						amount := float64(50_000 + 1_000*rng.IntN(100))
						l.ConvertedAt, l.Amount = &c, &amount
					}
				}
				m.leads = append(m.leads, l)
			}
		}
	}
	return m
}

// expected computes the report by hand from the generated records: plain
// arithmetic, independent of the SQL and of the store's calendar code.
func (m *march) expected(asOf time.Time) (team funnel.Counts, reps map[string]funnel.Counts, working, elapsed int) {
	day := func(t time.Time) time.Time {
		y, mo, d := t.In(m.loc).Date()
		return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	}
	first, last := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	stop := day(asOf) // the report's own day is not counted
	in := func(t *time.Time) bool {
		return t != nil && !day(*t).Before(first) && day(*t).Before(stop) && !day(*t).After(last)
	}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && d.Day() != 10 {
			working++
			if d.Before(stop) {
				elapsed++
			}
		}
	}
	reps = map[string]funnel.Counts{}
	for _, a := range m.acts {
		if a.Rep == "zed" || !in(&a.At) {
			continue
		}
		c := reps[a.Rep]
		c.Activities++
		switch a.Kind {
		case "call":
			c.Calls++
		case "visit":
			c.Visits++
		case "demo":
			c.Demos++
		}
		reps[a.Rep] = c
	}
	for _, l := range m.leads {
		if l.Rep == "zed" {
			continue
		}
		c := reps[l.Rep]
		if in(&l.CreatedAt) {
			c.Leads++
		}
		if in(l.QualifiedAt) {
			c.Qualified++
		}
		if in(l.ConvertedAt) {
			c.Conversions++
			c.Revenue += *l.Amount
		}
		reps[l.Rep] = c
	}
	for _, c := range reps {
		team.Activities += c.Activities
		team.Calls += c.Calls
		team.Visits += c.Visits
		team.Demos += c.Demos
		team.Leads += c.Leads
		team.Qualified += c.Qualified
		team.Conversions += c.Conversions
		team.Revenue += c.Revenue
	}
	return team, reps, working, elapsed
}

func (m *march) load(t *testing.T, s *store.Store) {
	t.Helper()
	if _, err := s.CreateFunnelTarget(t.Context(), m.target, "pat", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestFunnelActivities(t.Context(), m.acts); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestFunnelLeads(t.Context(), m.leads); err != nil {
		t.Fatal(err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func nearPtr(a *float64, b float64) bool { return a != nil && near(*a, b) }

// TestFunnelReportMonth: a month of synthetic activity yields the figures
// computed independently above.
func TestFunnelReportMonth(t *testing.T) {
	s := newStore(t)
	m := newMarch(t)
	m.load(t, s)
	asOf := time.Date(2026, 3, 20, 8, 0, 0, 0, m.loc)
	r, err := s.ComputeFunnelReport(t.Context(), store.FunnelReportRequest{TargetID: "march", RunKey: "wf/1", Trigger: "schedule", AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	team, reps, working, elapsed := m.expected(asOf)
	if working != 21 || elapsed != 13 {
		t.Fatalf("the test's own calendar: %d working days, %d elapsed; want 21 and 13", working, elapsed)
	}
	if team.Activities < 100 || team.Qualified == 0 || team.Conversions == 0 {
		t.Fatalf("the generator made too little to test: %+v", team)
	}
	if !sameCounts(r.Counts, team) {
		t.Errorf("team counts %+v, want %+v", r.Counts, team)
	}
	if r.WorkingDays != working || r.WorkingDaysElapsed != elapsed || r.WorkingDaysLeft != working-elapsed || r.Through.String() != "2026-03-19" {
		t.Errorf("window %+v", r.ReportWindow)
	}
	leadsNeeded := 3_000_000.0 / 100_000 / 0.25 // 120
	actsNeeded := leadsNeeded / 0.5             // 240
	perDay := actsNeeded / float64(working)
	repPerDay := perDay / 3
	f := r.Figures
	for name, ok := range map[string]bool{
		"leads_needed":                  near(f.LeadsNeeded, leadsNeeded),
		"activities_needed":             near(f.ActivitiesNeeded, actsNeeded),
		"activities_per_day_needed":     near(f.ActivitiesPerDayNeeded, perDay),
		"rep_activities_per_day_needed": near(f.RepActivitiesPerDayNeeded, repPerDay),
		"activities_per_day":            nearPtr(f.ActivitiesPerDay, float64(team.Activities)/float64(elapsed)),
		"activities_per_day_to_close":   nearPtr(f.ActivitiesPerDayToClose, math.Max(actsNeeded-float64(team.Activities), 0)/float64(working-elapsed)),
		"conversion_rate_actual":        nearPtr(f.ConversionRateActual, float64(team.Conversions)/float64(team.Leads)),
		"revenue_gap":                   near(f.RevenueGap, 3_000_000-team.Revenue),
		"leads_gap":                     near(f.LeadsGap, leadsNeeded-float64(team.Leads)),
		"projected_revenue":             nearPtr(f.ProjectedRevenue, team.Revenue/float64(elapsed)*float64(working)),
		"projected_gap":                 nearPtr(f.ProjectedGap, 3_000_000-team.Revenue/float64(elapsed)*float64(working)),
	} {
		if !ok {
			t.Errorf("%s is off: %+v", name, f)
		}
	}
	if len(r.Reps) != 3 || r.Reps[0].Rep != "ann" || r.Reps[2].Rep != "cy" {
		t.Fatalf("reps %+v, want ann, bob, cy in order", r.Reps)
	}
	below := 0
	for _, rr := range r.Reps {
		want := reps[rr.Rep]
		pace := float64(want.Activities) / float64(elapsed)
		if !sameCounts(rr.Counts, want) || !nearPtr(rr.ActivitiesPerDay, pace) || rr.BelowPace != (pace < repPerDay) {
			t.Errorf("rep %s: %+v (%v/day), want %+v (%v/day, below pace %v)", rr.Rep, rr.Counts, *rr.ActivitiesPerDay, want, pace, pace < repPerDay)
		}
		if rr.BelowPace {
			below++
		}
	}
	// ann works about 6 a day against 3.8 needed; bob 3 and cy 1 fall short.
	if r.RepsBelowPace != below || below != 2 || r.Reps[0].BelowPace {
		t.Errorf("%d reps below pace (%d flagged), want bob and cy", r.RepsBelowPace, below)
	}
}

func sameCounts(a, b funnel.Counts) bool {
	ra, rb := a.Revenue, b.Revenue
	a.Revenue, b.Revenue = 0, 0
	return a == b && near(ra, rb)
}

// TestFunnelReportOnce: the same run key returns the stored report; a new
// one stores another; the history lists them newest first.
func TestFunnelReportOnce(t *testing.T) {
	s := newStore(t)
	m := newMarch(t)
	m.load(t, s)
	ctx := context.Background()
	req := store.FunnelReportRequest{TargetID: "march", RunKey: "wf/1", Trigger: "manual", AsOf: time.Date(2026, 3, 20, 8, 0, 0, 0, m.loc)}
	first, err := s.ComputeFunnelReport(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// New data after the first attempt must not change a retried report.
	if _, err := s.IngestFunnelActivities(ctx, []store.FunnelActivity{{ID: "late", Rep: "ann", Kind: "call", At: req.AsOf.Add(-48 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	again, err := s.ComputeFunnelReport(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Activities != first.Activities {
		t.Errorf("retry stored report %d with %d activities; first was %d with %d", again.ID, again.Activities, first.ID, first.Activities)
	}
	req.RunKey = "wf/2"
	second, err := s.ComputeFunnelReport(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || second.Activities != first.Activities+1 {
		t.Errorf("second report %d with %d activities", second.ID, second.Activities)
	}
	list, err := s.ListFunnelReports(ctx, "march", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID {
		t.Errorf("history %v, want newest first", list)
	}
	if older, _ := s.ListFunnelReports(ctx, "march", second.ID, 10); len(older) != 1 || older[0].ID != first.ID {
		t.Errorf("page before %d: %v", second.ID, older)
	}
	got, err := s.GetFunnelReport(ctx, first.ID)
	if err != nil || got.RunKey != "wf/1" || len(got.Reps) != 3 {
		t.Errorf("get report: %+v, %v", got, err)
	}
	if err := s.DeleteFunnelTarget(ctx, "march", nil); err != nil {
		t.Fatal(err)
	}
	req.RunKey = "wf/3"
	if _, err := s.ComputeFunnelReport(ctx, req); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("report on a deleted target: %v, want ErrNotFound", err)
	}
	if _, err := s.GetFunnelReport(ctx, first.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted target's report: %v, want it gone", err)
	}
}

// TestFunnelTargetCRUD: create, duplicate, update, pause, list, delete; a
// failing follow-up (the schedule) undoes the write.
func TestFunnelTargetCRUD(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tg, err := funnel.NewTarget(marchInput())
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("temporal down")
	if _, err := s.CreateFunnelTarget(ctx, tg, "pat", func(*funnel.Target) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("create with a failing schedule: %v", err)
	}
	if _, err := s.GetFunnelTarget(ctx, "march"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the target was kept though its schedule failed: %v", err)
	}
	created, err := s.CreateFunnelTarget(ctx, tg, "pat", nil)
	if err != nil {
		t.Fatal(err)
	}
	if created.CreatedBy != "pat" || created.PeriodStart.String() != "2026-03-01" || len(created.WorkingDays) != 5 || created.Paused {
		t.Errorf("created %+v", created)
	}
	if _, err := s.CreateFunnelTarget(ctx, tg, "pat", nil); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second create: %v, want ErrDuplicate", err)
	}
	in := marchInput()
	in.RunAt, in.Holidays, in.Reps = "09:30", []string{"2026-03-06"}, []string{"sam"}
	changed, _ := funnel.NewTarget(in)
	updated, err := s.UpdateFunnelTarget(ctx, changed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if updated.RunAt != "09:30" || len(updated.Holidays) != 1 || updated.Holidays[0].String() != "2026-03-06" || len(updated.Reps) != 1 || updated.CreatedBy != "pat" {
		t.Errorf("updated %+v", updated)
	}
	paused, err := s.SetFunnelTargetPaused(ctx, "march", true, nil)
	if err != nil || !paused.Paused {
		t.Errorf("pause: %+v %v", paused, err)
	}
	if _, err := s.SetFunnelTargetPaused(ctx, "nope", true, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pausing an unknown target: %v", err)
	}
	list, err := s.ListFunnelTargets(ctx)
	if err != nil || len(list) != 1 || !list[0].Paused {
		t.Errorf("list %+v %v", list, err)
	}
	if err := s.DeleteFunnelTarget(ctx, "march", func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("delete with a failing schedule: %v", err)
	}
	if err := s.DeleteFunnelTarget(ctx, "march", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFunnelTarget(ctx, "march", nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// TestFunnelReportNeedsArePlan holds the report SQL's needs to the one Go
// formula, funnel.Target.Plan, and its calendar to the target's Window: for
// targets of different sizes, rates, reps, calendars and zones, reported
// before, during and after their periods.
func TestFunnelReportNeedsArePlan(t *testing.T) {
	s := newStore(t)
	edits := map[string]func(*funnel.TargetInput){
		"plain": func(*funnel.TargetInput) {},
		"odd-rates": func(in *funnel.TargetInput) {
			in.RevenueTarget, in.AvgDealSize, in.ConversionRate, in.LeadsPerActivity = 987_654.32, 12_345.67, 0.137, 0.03
		},
		"one-rep-saturdays": func(in *funnel.TargetInput) {
			in.Reps = []string{"solo"}
			in.WorkingDays = []string{"mon", "tue", "wed", "thu", "fri", "sat"}
			in.Holidays = []string{"2026-03-09", "2026-03-07"}
		},
		"many-reps-berlin": func(in *funnel.TargetInput) {
			in.Reps = []string{"a", "b", "c", "d", "e", "f", "g"}
			in.TimeZone = "Europe/Berlin"
			in.ConversionRate, in.LeadsPerActivity = 1, 1e6
		},
		"year-new-york": func(in *funnel.TargetInput) {
			in.PeriodStart, in.PeriodEnd, in.TimeZone = "2026-01-01", "2026-12-31", "America/New_York"
			in.RevenueTarget, in.AvgDealSize = 1e15, 3
			in.WorkingDays = []string{"sunday", "wednesday"}
		},
	}
	asOfs := []string{"2025-12-31T23:00:00Z", "2026-02-28T23:00:00Z", "2026-03-01T00:30:00Z", "2026-03-15T08:00:00+08:00",
		"2026-03-31T23:59:00Z", "2027-02-01T08:00:00Z"}
	n := 0
	for id, edit := range edits {
		in := marchInput()
		in.ID = id
		edit(&in)
		tg, err := funnel.NewTarget(in)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if _, err := s.CreateFunnelTarget(t.Context(), tg, "pat", nil); err != nil {
			t.Fatal(err)
		}
		p := tg.Plan()
		for _, at := range asOfs {
			asOf, _ := time.Parse(time.RFC3339, at)
			w, err := tg.Window(asOf)
			if err != nil {
				t.Fatal(err)
			}
			n++
			r, err := s.ComputeFunnelReport(t.Context(), store.FunnelReportRequest{TargetID: id, RunKey: fmt.Sprintf("needs/%d", n), Trigger: "manual", AsOf: asOf})
			if err != nil {
				t.Fatalf("%s at %s: %v", id, at, err)
			}
			f := r.Figures
			if r.WorkingDays != p.WorkingDays || !near(f.LeadsNeeded, p.LeadsNeeded) || !near(f.ActivitiesNeeded, p.ActivitiesNeeded) ||
				!near(f.ActivitiesPerDayNeeded, p.ActivitiesPerDayNeeded) || !near(f.RepActivitiesPerDayNeeded, p.RepActivitiesPerDayNeeded) {
				t.Errorf("%s at %s: SQL %d working days, figures %+v; Plan %+v", id, at, r.WorkingDays, f, p)
			}
			if r.WorkingDaysElapsed != w.Elapsed || r.WorkingDaysLeft != w.Left || r.Through.String() != w.Through.String() ||
				!r.Start.Equal(w.Start) || !r.End.Equal(w.End) {
				t.Errorf("%s at %s: report window %+v, Window %+v", id, at, r.ReportWindow, w)
			}
		}
	}
}
