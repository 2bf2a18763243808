package api_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows"
	"dealflow/workflows/funnel"
)

// funnelMonth is a month of synthetic work around today, in Shanghai:
// rita does about 10 activities a working day, sam 5 and tom 1, against
// about 7 each that the target needs; vic's work does not count.
type funnelMonth struct {
	loc        *time.Location
	start, end time.Time // the period's first and last day (midnight)
	holiday    time.Time
	acts       []map[string]any
	leads      []map[string]any
}

func newFunnelMonth() *funnelMonth {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	y, m, d := time.Now().In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	f := &funnelMonth{loc: loc, start: today.AddDate(0, 0, -20), end: today.AddDate(0, 0, 10)}
	f.holiday = nextWorkingDay(f.start.AddDate(0, 0, 3))
	rng := rand.New(rand.NewPCG(3, 5))
	pace := map[string]int{"rita": 10, "sam": 5, "tom": 1, "vic": 8}
	n := 0
	for day := f.start.AddDate(0, 0, -3); !day.After(today.AddDate(0, 0, 2)); day = day.AddDate(0, 0, 1) {
		for _, rep := range []string{"rita", "sam", "tom", "vic"} {
			k := pace[rep] + rng.IntN(3) - 1
			if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
				k = rng.IntN(2)
			}
			for range k {
				n++
				at := day.Add(time.Duration(rng.IntN(24*60)) * time.Minute)
				f.acts = append(f.acts, map[string]any{"id": fmt.Sprintf("act-%d", n), "rep": rep,
					"kind": []string{"call", "visit", "demo"}[rng.IntN(3)], "at": at.Format(time.RFC3339), "outcome": "ok"})
			}
			n++
			lead := map[string]any{"id": fmt.Sprintf("lead-%d", n), "rep": rep, "created_at": day.Add(9 * time.Hour).Format(time.RFC3339)}
			if rng.IntN(2) == 0 {
				lead["qualified_at"] = day.Add(33 * time.Hour).Format(time.RFC3339)
				if rng.IntN(2) == 0 {
					lead["converted_at"] = day.Add(57 * time.Hour).Format(time.RFC3339)
					lead["amount"] = 40_000 + 1_000*rng.IntN(30)
				}
			}
			f.leads = append(f.leads, lead)
		}
	}
	return f
}

// csv writes activities as an upload.
func (f *funnelMonth) csv(acts []map[string]any) string {
	var b strings.Builder
	b.WriteString(activitiesCSVHeader)
	for _, a := range acts {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s\n", a["id"], a["rep"], a["kind"], a["at"], a["outcome"])
	}
	return b.String()
}

// expect counts by hand what a report made at asOf should find: whole
// days from the period's start to the day before asOf.
func (f *funnelMonth) expect(asOf time.Time) (team funnel.Counts, reps map[string]funnel.Counts, working, elapsed int) {
	y, m, d := asOf.In(f.loc).Date()
	stop := time.Date(y, m, d, 0, 0, 0, 0, f.loc)
	counted := func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		at, _ := time.Parse(time.RFC3339, s)
		return !at.Before(f.start) && at.Before(stop) && at.Before(f.end.AddDate(0, 0, 1))
	}
	for day := f.start; !day.After(f.end); day = day.AddDate(0, 0, 1) {
		if day.Weekday() != time.Saturday && day.Weekday() != time.Sunday && !day.Equal(f.holiday) {
			working++
			if day.Before(stop) {
				elapsed++
			}
		}
	}
	reps = map[string]funnel.Counts{}
	for _, a := range f.acts {
		rep := a["rep"].(string)
		if rep == "vic" || !counted(a["at"]) {
			continue
		}
		c := reps[rep]
		c.Activities++
		switch a["kind"] {
		case "call":
			c.Calls++
		case "visit":
			c.Visits++
		default:
			c.Demos++
		}
		reps[rep] = c
	}
	for _, l := range f.leads {
		rep := l["rep"].(string)
		if rep == "vic" {
			continue
		}
		c := reps[rep]
		if counted(l["created_at"]) {
			c.Leads++
		}
		if counted(l["qualified_at"]) {
			c.Qualified++
		}
		if counted(l["converted_at"]) {
			c.Conversions++
			c.Revenue += float64(l["amount"].(int))
		}
		reps[rep] = c
	}
	for _, c := range reps {
		team.Activities, team.Calls, team.Visits, team.Demos = team.Activities+c.Activities, team.Calls+c.Calls, team.Visits+c.Visits, team.Demos+c.Demos
		team.Leads, team.Qualified, team.Conversions, team.Revenue = team.Leads+c.Leads, team.Qualified+c.Qualified, team.Conversions+c.Conversions, team.Revenue+c.Revenue
	}
	return team, reps, working, elapsed
}

func nearly(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestFunnelReportThroughTheAPI: a month of synthetic activity, uploaded
// as JSON and CSV, yields the figures computed independently in the test;
// the reps below pace and their manager are told; uploading it all again
// changes nothing.
func TestFunnelReportThroughTheAPI(t *testing.T) {
	s := newStack(t)
	s.funnelUsers()
	f := newFunnelMonth()
	s.Must("pat", "POST", "/v1/funnel/targets", funnelTargetBody("month", f.start, f.end, func(b map[string]any) {
		b["holidays"] = []string{f.holiday.Format(time.DateOnly)}
	}), http.StatusCreated, nil)
	half := len(f.acts) / 2
	upload := func() (stored int) {
		var a, b, l store.FunnelIngest
		s.Must("pat", "POST", "/v1/funnel/activities", f.acts[:half], http.StatusOK, &a)
		s.postCSV("pat", "/v1/funnel/activities", f.csv(f.acts[half:]), http.StatusOK, &b)
		s.Must("pat", "POST", "/v1/funnel/leads", f.leads, http.StatusOK, &l)
		return a.Stored + b.Stored + l.Stored
	}
	if stored := upload(); stored != len(f.acts)+len(f.leads) {
		t.Fatalf("stored %d records, want %d", stored, len(f.acts)+len(f.leads))
	}

	var rep funnel.Report
	s.Must("pat", "POST", "/v1/funnel/targets/month/run", nil, http.StatusCreated, &rep)
	team, reps, working, elapsed := f.expect(rep.AsOf)
	if rep.WorkingDays != working || rep.WorkingDaysElapsed != elapsed || rep.WorkingDaysLeft != working-elapsed {
		t.Errorf("calendar %+v, want %d working days, %d elapsed", rep.ReportWindow, working, elapsed)
	}
	if rep.Counts != team {
		t.Errorf("team counts %+v, want %+v", rep.Counts, team)
	}
	repNeed := 500 / float64(working) / 3
	fig := rep.Figures
	if !nearly(fig.LeadsNeeded, 200) || !nearly(fig.RepActivitiesPerDayNeeded, repNeed) ||
		!nearly(*fig.ActivitiesPerDay, float64(team.Activities)/float64(elapsed)) ||
		!nearly(fig.RevenueGap, 2_000_000-team.Revenue) ||
		!nearly(*fig.ProjectedRevenue, team.Revenue/float64(elapsed)*float64(working)) {
		t.Errorf("figures %+v", fig)
	}
	var below []string
	for i, name := range []string{"rita", "sam", "tom"} {
		got, want := rep.Reps[i], reps[name]
		pace := float64(want.Activities) / float64(elapsed)
		if got.Rep != name || got.Counts != want || !nearly(*got.ActivitiesPerDay, pace) || got.BelowPace != (pace < repNeed) {
			t.Errorf("%s: %+v, want %+v at %.2f a day (need %.2f)", name, got, want, pace, repNeed)
		}
		if pace < repNeed {
			below = append(below, name)
		}
	}
	if !slices.Equal(below, []string{"sam", "tom"}) {
		t.Fatalf("below pace by the test's count: %v; the generator should make sam and tom slow", below)
	}

	// The notices: one per rep below pace, and a summary for mona.
	rows, err := s.Store.DB().QueryContext(t.Context(), `SELECT recipient, kind, message FROM outbox WHERE deal_id = $1 AND seq = $2 ORDER BY recipient`,
		workflows.FunnelScheduleID("month"), rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	var told []string
	for rows.Next() {
		var who, kind, msg string
		if err := rows.Scan(&who, &kind, &msg); err != nil {
			t.Fatal(err)
		}
		told = append(told, who+":"+kind)
		if who == "mona" && !strings.Contains(msg, "2 of 3 reps below") {
			t.Errorf("mona's notice %q", msg)
		}
		if who == "tom" && !strings.Contains(msg, fmt.Sprintf("you averaged %.1f activities per working day", float64(reps["tom"].Activities)/float64(elapsed))) {
			t.Errorf("tom's notice %q", msg)
		}
	}
	if want := []string{"mona:funnel_team_below_pace", "sam:funnel_below_pace", "tom:funnel_below_pace"}; !slices.Equal(told, want) {
		t.Errorf("told %v, want %v", told, want)
	}

	// Everything again: nothing stored, the next report counts the same.
	if stored := upload(); stored != 0 {
		t.Errorf("the same upload again stored %d records", stored)
	}
	var again funnel.Report
	s.Must("pat", "POST", "/v1/funnel/targets/month/run", nil, http.StatusCreated, &again)
	if again.ID == rep.ID || again.Counts != rep.Counts {
		t.Errorf("second report %d counts %+v; first %d counted %+v", again.ID, again.Counts, rep.ID, rep.Counts)
	}

	// History: newest first, one page at a time.
	var page funnelReportsResp
	s.Must("vic", "GET", "/v1/funnel/reports?target=month&limit=1", nil, http.StatusOK, &page)
	if page.Latest == nil || page.Latest.ID != again.ID || len(page.Reports) != 1 || page.NextBefore != again.ID {
		t.Fatalf("first page %+v", page)
	}
	s.Must("vic", "GET", fmt.Sprintf("/v1/funnel/reports?target=month&limit=1&before=%d", page.NextBefore), nil, http.StatusOK, &page)
	if page.Latest != nil || len(page.Reports) != 1 || page.Reports[0].ID != rep.ID {
		t.Errorf("second page %+v", page)
	}
	var one funnel.Report
	s.Must("vic", "GET", fmt.Sprintf("/v1/funnel/reports/%d", rep.ID), nil, http.StatusOK, &one)
	if one.RunKey != rep.RunKey || one.Counts != rep.Counts || len(one.Reps) != 3 {
		t.Errorf("GET report %+v", one)
	}
}
