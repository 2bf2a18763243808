package funnel_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"dealflow/workflows/funnel"
	"dealflow/workflows/problem"
)

// q3East is a valid target: 1,200,000 of revenue from deals of 100,000 at
// a 20% conversion is 60 leads; at 0.5 leads per activity, 120 activities.
func q3East() funnel.TargetInput {
	return funnel.TargetInput{
		ID: "q3-east", Name: "Q3 East new customers", Scope: "east", Manager: "mona", Reps: []string{"rita", "sam"},
		PeriodStart: "2026-07-01", PeriodEnd: "2026-07-31", RevenueTarget: 1_200_000, AvgDealSize: 100_000,
		ConversionRate: 0.2, LeadsPerActivity: 0.5, TimeZone: "Asia/Shanghai",
	}
}

func TestNewTargetDefaultsAndPlan(t *testing.T) {
	tg, err := funnel.NewTarget(q3East())
	if err != nil {
		t.Fatal(err)
	}
	if tg.RunAt != "08:00" || len(tg.WorkingDays) != 5 || tg.WorkingDays[0] != time.Monday {
		t.Errorf("defaults: run_at %q, working days %v", tg.RunAt, tg.WorkingDays)
	}
	// July 2026 has 23 weekdays (1 July is a Wednesday).
	p := tg.Plan()
	want := funnel.Plan{WorkingDays: 23, CustomersNeeded: 12, LeadsNeeded: 60, ActivitiesNeeded: 120,
		ActivitiesPerDayNeeded: 120.0 / 23, RepActivitiesPerDayNeeded: 60.0 / 23}
	if !closePlan(p, want) {
		t.Errorf("plan %+v, want %+v", p, want)
	}
	in := q3East()
	in.Holidays = []string{"2026-07-06", "2026-07-04", "2026-07-06"} // a Monday, a Saturday, a repeat
	in.WorkingDays = []string{"Mon", "tuesday", "wed", "thu", "fri", "sat"}
	tg, err = funnel.NewTarget(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := tg.Plan().WorkingDays; got != 23+4-2 { // four Saturdays join, two holidays leave
		t.Errorf("working days with Saturdays and holidays: %d, want 25", got)
	}
	if len(tg.Holidays) != 2 || tg.Holidays[0].String() != "2026-07-04" {
		t.Errorf("holidays %v, want sorted and unique", tg.Holidays)
	}
}

func closePlan(a, b funnel.Plan) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	return a.WorkingDays == b.WorkingDays && near(a.CustomersNeeded, b.CustomersNeeded) && near(a.LeadsNeeded, b.LeadsNeeded) &&
		near(a.ActivitiesNeeded, b.ActivitiesNeeded) && near(a.ActivitiesPerDayNeeded, b.ActivitiesPerDayNeeded) &&
		near(a.RepActivitiesPerDayNeeded, b.RepActivitiesPerDayNeeded)
}

// TestNewTargetProblems: every bad field is named, all at once.
func TestNewTargetProblems(t *testing.T) {
	for _, c := range []struct {
		name  string
		edit  func(*funnel.TargetInput)
		field string
		want  string
	}{
		{"negative rate", func(in *funnel.TargetInput) { in.ConversionRate = -0.1 }, "conversion_rate", "above 0 and at most 1"},
		{"rate above 1", func(in *funnel.TargetInput) { in.ConversionRate = 1.5 }, "conversion_rate", "above 0 and at most 1"},
		{"zero rate", func(in *funnel.TargetInput) { in.ConversionRate = 0 }, "conversion_rate", "above 0"},
		{"no leads per activity", func(in *funnel.TargetInput) { in.LeadsPerActivity = 0 }, "leads_per_activity", "above 0"},
		{"negative revenue", func(in *funnel.TargetInput) { in.RevenueTarget = -5 }, "revenue_target", "above 0"},
		{"no deal size", func(in *funnel.TargetInput) { in.AvgDealSize = 0 }, "avg_deal_size", "above 0"},
		{"bad id", func(in *funnel.TargetInput) { in.ID = "Q3 East" }, "id", "may hold only letters, digits"},
		{"id with NUL", func(in *funnel.TargetInput) { in.ID = "q3\x00" }, "id", "may hold only"},
		{"id ..", func(in *funnel.TargetInput) { in.ID = ".." }, "id", "must start with a letter or digit"},
		{"id too long", func(in *funnel.TargetInput) { in.ID = strings.Repeat("q", 65) }, "id", "the limit is 64"},
		{"name with NUL", func(in *funnel.TargetInput) { in.Name = "Q3\x00" }, "name", "U+0000"},
		{"name too long", func(in *funnel.TargetInput) { in.Name = strings.Repeat("n", 201) }, "name", "the limit is 200"},
		{"scope on two lines", func(in *funnel.TargetInput) { in.Scope = "east\nwest" }, "scope", "one line"},
		{"manager invalid UTF-8", func(in *funnel.TargetInput) { in.Manager = "m\xff" }, "manager", "UTF-8"},
		{"rep with NUL", func(in *funnel.TargetInput) { in.Reps = []string{"rita", "r\x00"} }, "reps[1]", "U+0000"},
		{"revenue 1e308", func(in *funnel.TargetInput) { in.RevenueTarget = 1e308 }, "revenue_target", "the limit is 1e+15"},
		{"deal size 1e300", func(in *funnel.TargetInput) { in.AvgDealSize = 1e300 }, "avg_deal_size", "the limit is 1e+15"},
		{"leads per activity", func(in *funnel.TargetInput) { in.LeadsPerActivity = 1e7 }, "leads_per_activity", "the limit is 1e+06"},
		{"zone with NUL", func(in *funnel.TargetInput) { in.TimeZone = "Asia/\x00" }, "time_zone", "U+0000"},
		{"too many holidays", func(in *funnel.TargetInput) { in.Holidays = make([]string, 367) }, "holidays", "the limit is 366"},
		{"no name", func(in *funnel.TargetInput) { in.Name = " " }, "name", "needs a name"},
		{"no scope", func(in *funnel.TargetInput) { in.Scope = "" }, "scope", "team or the rep"},
		{"no manager", func(in *funnel.TargetInput) { in.Manager = "" }, "manager", "manager"},
		{"no reps", func(in *funnel.TargetInput) { in.Reps = nil }, "reps", "list the reps"},
		{"rep twice", func(in *funnel.TargetInput) { in.Reps = []string{"rita", "rita"} }, "reps[1]", "twice"},
		{"bad date", func(in *funnel.TargetInput) { in.PeriodStart = "07/01/2026" }, "period_start", "not a date"},
		{"end before start", func(in *funnel.TargetInput) { in.PeriodEnd = "2026-06-30" }, "period_end", "before period_start"},
		{"too long", func(in *funnel.TargetInput) { in.PeriodEnd = "2027-12-31" }, "period_end", "at most 366 days"},
		{"bad zone", func(in *funnel.TargetInput) { in.TimeZone = "Mars/Olympus" }, "time_zone", "not an IANA time zone"},
		{"no zone", func(in *funnel.TargetInput) { in.TimeZone = "" }, "time_zone", "required"},
		{"local zone", func(in *funnel.TargetInput) { in.TimeZone = "Local" }, "time_zone", "depends on the server"},
		{"bad weekday", func(in *funnel.TargetInput) { in.WorkingDays = []string{"monday", "funday"} }, "working_days[1]", "not a day of the week"},
		{"bad holiday", func(in *funnel.TargetInput) { in.Holidays = []string{"xmas"} }, "holidays[0]", "not a date"},
		{"bad run_at", func(in *funnel.TargetInput) { in.RunAt = "8am" }, "run_at", "HH:MM"},
		{"no working day", func(in *funnel.TargetInput) {
			in.PeriodStart, in.PeriodEnd, in.WorkingDays = "2026-07-04", "2026-07-05", []string{"monday"}
		}, "working_days", "no working day"},
	} {
		in := q3East()
		c.edit(&in)
		_, err := funnel.NewTarget(in)
		var ve *problem.Error
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != c.field || !strings.Contains(ve.Problems[0].Message, c.want) {
			t.Errorf("%s: %v, want one problem on %s mentioning %q", c.name, err, c.field, c.want)
		}
	}
	_, err := funnel.NewTarget(funnel.TargetInput{ConversionRate: 2})
	var ve *problem.Error
	if !errors.As(err, &ve) || len(ve.Problems) < 10 {
		t.Errorf("an empty target: %v, want every problem listed", err)
	}
}

// TestWindow: a report counts whole local days before its own, within
// the period.
func TestWindow(t *testing.T) {
	in := q3East()
	in.Holidays = []string{"2026-07-06"}
	tg, err := funnel.NewTarget(in)
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		asOf          time.Time
		through       string
		elapsed, left int
		start, end    time.Time
	}{
		// Before the period and on its first day: nothing counted yet.
		{at("2026-06-20 08:00"), "", 0, 22, at("2026-07-01 00:00"), at("2026-07-01 00:00")},
		{at("2026-07-01 08:00"), "", 0, 22, at("2026-07-01 00:00"), at("2026-07-01 00:00")},
		// Friday 10 July, 08:00: 1-3 July and 7-9 July (6 July is a holiday).
		{at("2026-07-10 08:00"), "2026-07-09", 6, 16, at("2026-07-01 00:00"), at("2026-07-10 00:00")},
		// 23:30 on 9 July in UTC is already 10 July in Shanghai.
		{time.Date(2026, 7, 9, 23, 30, 0, 0, time.UTC), "2026-07-09", 6, 16, at("2026-07-01 00:00"), at("2026-07-10 00:00")},
		// After the period: all of it.
		{at("2026-08-15 08:00"), "2026-07-31", 22, 0, at("2026-07-01 00:00"), at("2026-08-01 00:00")},
	} {
		w, err := tg.Window(c.asOf)
		if err != nil {
			t.Fatal(err)
		}
		through := ""
		if !w.Through.IsZero() {
			through = w.Through.String()
		}
		if w.WorkingDays != 22 || w.Elapsed != c.elapsed || w.Left != c.left || through != c.through || !w.Start.Equal(c.start) || !w.End.Equal(c.end) {
			t.Errorf("as of %v: %+v (through %q), want %d elapsed, %d left, through %q, [%v, %v)", c.asOf, w, through, c.elapsed, c.left, c.through, c.start, c.end)
		}
	}
}
