package funnel

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"dealflow/workflows/problem"
)

// Target is a revenue target for a team or a rep over a period (the
// probability paradigm), with the funnel assumptions that turn it into the
// leads and the activities per working day it needs:
//
//	leads needed        = revenue target ÷ average deal size ÷ conversion rate
//	activities needed   = leads needed ÷ leads per activity
//	activities per day  = activities needed ÷ working days in the period
//
// Each rep is expected to do an equal share of the activities.
type Target struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Scope       string   `json:"scope"`
	Manager     string   `json:"manager"`
	Reps        []string `json:"reps"`
	PeriodStart Date     `json:"period_start"`
	PeriodEnd   Date     `json:"period_end"`
	Assumptions
	TimeZone    string   `json:"time_zone"`
	WorkingDays Weekdays `json:"working_days"`
	Holidays    []Date   `json:"holidays"`
	// RunAt is when the scheduled report runs on each working day, "08:00"
	// in the target's time zone.
	RunAt     string    `json:"run_at"`
	Paused    bool      `json:"paused"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Assumptions are a target's revenue and the funnel assumptions that turn
// it into what it needs (see Plan). In JSON their fields stand among the
// target's (or the report's target's) own.
type Assumptions struct {
	RevenueTarget    float64 `json:"revenue_target"`
	AvgDealSize      float64 `json:"avg_deal_size"`
	ConversionRate   float64 `json:"conversion_rate"`
	LeadsPerActivity float64 `json:"leads_per_activity"`
}

// TargetInput is a target as a client writes it (JSON), before
// validation turns it into a Target.
type TargetInput struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Scope            string   `json:"scope"`
	Manager          string   `json:"manager"`
	Reps             []string `json:"reps"`
	PeriodStart      string   `json:"period_start"`
	PeriodEnd        string   `json:"period_end"`
	RevenueTarget    float64  `json:"revenue_target"`
	AvgDealSize      float64  `json:"avg_deal_size"`
	ConversionRate   float64  `json:"conversion_rate"`
	LeadsPerActivity float64  `json:"leads_per_activity"`
	TimeZone         string   `json:"time_zone"`
	WorkingDays      []string `json:"working_days"`
	Holidays         []string `json:"holidays"`
	RunAt            string   `json:"run_at"`
}

// Defaults of a target's calendar and schedule.
var (
	DefaultWorkingDays = Weekdays{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	DefaultRunAt       = "08:00"
)

// maxPeriodDays bounds a period, so calendars stay small and a
// schedule ends within a year of its start.
const maxPeriodDays = 366

const maxReps = 500

// maxHolidays bounds a target's holidays: more than the days of its
// longest period means a mistake.
const maxHolidays = maxPeriodDays

// maxLeadsPerActivity bounds leads_per_activity: no activity yields a
// million leads.
const maxLeadsPerActivity = 1e6

var (
	runAtPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// NewTarget validates a client's target. Every problem is listed at
// once, each naming its field, in a *problem.Error (422). Whether the
// manager and the reps are users is the caller's check (MissingUsers).
func NewTarget(in TargetInput) (*Target, error) {
	var ps problem.List
	add := ps.Add
	t := &Target{
		ID: strings.TrimSpace(in.ID), Name: strings.TrimSpace(in.Name), Scope: strings.TrimSpace(in.Scope),
		Manager: strings.TrimSpace(in.Manager), TimeZone: strings.TrimSpace(in.TimeZone), RunAt: strings.TrimSpace(in.RunAt),
		Assumptions: Assumptions{RevenueTarget: in.RevenueTarget, AvgDealSize: in.AvgDealSize, ConversionRate: in.ConversionRate, LeadsPerActivity: in.LeadsPerActivity},
	}
	if msg := problem.KeyError(t.ID); msg != "" {
		add("id", "%s (it names the schedule funnel/<id>)", msg)
	}
	if t.Name == "" {
		add("name", "a target needs a name, such as \"Q3 East new customers\"")
	} else if msg := problem.LineError(t.Name, problem.MaxName); msg != "" {
		add("name", "%s", msg)
	}
	if t.Scope == "" {
		add("scope", "name the team or the rep the target is for")
	} else if msg := problem.LineError(t.Scope, problem.MaxName); msg != "" {
		add("scope", "%s", msg)
	}
	if t.Manager == "" {
		add("manager", "name the manager (a user id) who is told when reps fall behind")
	} else if msg := problem.LineError(t.Manager, problem.MaxKey); msg != "" {
		add("manager", "%s", msg)
	}
	t.Reps = checkReps(in.Reps, add)
	t.PeriodStart = parseDateField("period_start", in.PeriodStart, add)
	t.PeriodEnd = parseDateField("period_end", in.PeriodEnd, add)
	if !t.PeriodStart.IsZero() && !t.PeriodEnd.IsZero() {
		switch days := t.PeriodStart.DaysUntil(t.PeriodEnd); {
		case days < 0:
			add("period_end", "%s is before period_start %s", t.PeriodEnd, t.PeriodStart)
		case days >= maxPeriodDays:
			add("period_end", "a period spans at most %d days; this one spans %d", maxPeriodDays, days+1)
		}
	}
	checkPositive("revenue_target", t.RevenueTarget, add)
	checkAtMost("revenue_target", t.RevenueTarget, problem.MaxAmount, add)
	checkPositive("avg_deal_size", t.AvgDealSize, add)
	checkAtMost("avg_deal_size", t.AvgDealSize, problem.MaxAmount, add)
	if !(t.ConversionRate > 0 && t.ConversionRate <= 1) {
		add("conversion_rate", "must be a share above 0 and at most 1 (0.2 means 20%% of leads become customers), not %v", t.ConversionRate)
	}
	checkPositive("leads_per_activity", t.LeadsPerActivity, add)
	checkAtMost("leads_per_activity", t.LeadsPerActivity, maxLeadsPerActivity, add)
	switch {
	case problem.LineError(t.TimeZone, problem.MaxKey) != "":
		add("time_zone", "%s", problem.LineError(t.TimeZone, problem.MaxKey))
	case t.TimeZone == "":
		add("time_zone", "required: an IANA time zone such as Asia/Shanghai or Europe/Berlin")
	case t.TimeZone == "Local":
		add("time_zone", "\"Local\" depends on the server: name an IANA time zone such as Asia/Shanghai")
	default:
		if _, err := time.LoadLocation(t.TimeZone); err != nil {
			add("time_zone", "%q is not an IANA time zone; use a name such as Asia/Shanghai or Europe/Berlin", t.TimeZone)
		}
	}
	t.WorkingDays = parseWeekdays(in.WorkingDays, add)
	t.Holidays = parseHolidays(in.Holidays, add)
	if t.RunAt == "" {
		t.RunAt = DefaultRunAt
	} else if !runAtPattern.MatchString(t.RunAt) {
		add("run_at", "%q is not a time of day: write it as HH:MM on a 24-hour clock, such as 08:00", problem.Clip(t.RunAt))
	}
	if len(ps) == 0 && t.WorkingDaysBetween(t.PeriodStart, t.PeriodEnd) == 0 {
		add("working_days", "the period %s to %s has no working day: check working_days and holidays", t.PeriodStart, t.PeriodEnd)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

func checkPositive(field string, v float64, add func(string, string, ...any)) {
	if !(v > 0) || math.IsInf(v, 0) {
		add(field, "must be above 0, not %v", v)
	}
}

// checkAtMost refuses a (finite, positive) figure above max.
func checkAtMost(field string, v, max float64, add func(string, string, ...any)) {
	if v > max && !math.IsInf(v, 0) {
		add(field, "is %g; the limit is %g", v, max)
	}
}

func checkReps(reps []string, add func(string, string, ...any)) []string {
	if len(reps) == 0 {
		add("reps", "list the reps (user ids) whose activities count toward the target")
		return nil
	}
	if len(reps) > maxReps {
		add("reps", "at most %d reps per target; this one has %d", maxReps, len(reps))
		return nil
	}
	out := make([]string, 0, len(reps))
	for i, r := range reps {
		r = strings.TrimSpace(r)
		switch {
		case r == "":
			add(fmt.Sprintf("reps[%d]", i), "empty user id")
		case problem.LineError(r, problem.MaxKey) != "":
			add(fmt.Sprintf("reps[%d]", i), "%s", problem.LineError(r, problem.MaxKey))
		case slices.Contains(out, r):
			add(fmt.Sprintf("reps[%d]", i), "%s is listed twice", r)
		default:
			out = append(out, r)
		}
	}
	return out
}

func parseDateField(field, s string, add func(string, string, ...any)) Date {
	if strings.TrimSpace(s) == "" {
		add(field, "required: a date such as 2026-07-01")
		return Date{}
	}
	d, err := ParseDate(strings.TrimSpace(s))
	if err != nil {
		add(field, "%v", err)
	}
	return d
}

func parseHolidays(in []string, add func(string, string, ...any)) []Date {
	out := []Date{}
	if len(in) > maxHolidays {
		add("holidays", "has %d items; the limit is %d", len(in), maxHolidays)
		return out
	}
	for i, s := range in {
		d, err := ParseDate(strings.TrimSpace(s))
		if err != nil {
			add(fmt.Sprintf("holidays[%d]", i), "%v", err)
			continue
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Date) int { return a.t.Compare(b.t) })
	return out
}

// Weekdays are a target's working days of the week. In JSON they are
// lowercase English names ("monday"); the store keeps them as the numbers
// 0 (Sunday) to 6, as Postgres EXTRACT(dow) and Temporal's schedules count
// them.
type Weekdays []time.Weekday

// MarshalJSON writes the days' names.
func (ws Weekdays) MarshalJSON() ([]byte, error) {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = strings.ToLower(w.String())
	}
	return json.Marshal(names)
}

// UnmarshalJSON reads the days' names (reports read back from JSON).
func (ws *Weekdays) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	*ws = Weekdays{}
	for _, n := range names {
		w, ok := weekday(n)
		if !ok {
			return fmt.Errorf("%q is not a day of the week", n)
		}
		*ws = append(*ws, w)
	}
	return nil
}

// weekday reads "monday" or "mon", in any case.
func weekday(name string) (time.Weekday, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for w := time.Sunday; w <= time.Saturday; w++ {
		full := strings.ToLower(w.String())
		if name == full || (len(name) == 3 && name == full[:3]) {
			return w, true
		}
	}
	return 0, false
}

func parseWeekdays(in []string, add func(string, string, ...any)) Weekdays {
	if len(in) == 0 {
		return slices.Clone(DefaultWorkingDays)
	}
	var out Weekdays
	if len(in) > 7*4 { // each day in a few spellings at most
		add("working_days", "has %d items; the limit is %d", len(in), 7*4)
		return slices.Clone(DefaultWorkingDays)
	}
	for i, n := range in {
		w, ok := weekday(n)
		if !ok {
			add(fmt.Sprintf("working_days[%d]", i), "%q is not a day of the week: use monday ... sunday (or mon ... sun)", problem.Clip(n))
			continue
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

// Plan is what a target needs, derived from its inputs; a report
// computes the same figures in SQL (a store test holds the two together).
type Plan struct {
	WorkingDays            int     `json:"working_days"`
	CustomersNeeded        float64 `json:"customers_needed"`
	LeadsNeeded            float64 `json:"leads_needed"`
	ActivitiesNeeded       float64 `json:"activities_needed"`
	ActivitiesPerDayNeeded float64 `json:"activities_per_working_day_needed"`
	// RepActivitiesPerDayNeeded is each rep's equal share: a rep below it is
	// behind pace.
	RepActivitiesPerDayNeeded float64 `json:"activities_per_rep_per_working_day_needed"`
}

// Plan derives what the target needs.
func (t *Target) Plan() Plan {
	p := Plan{WorkingDays: t.WorkingDaysBetween(t.PeriodStart, t.PeriodEnd)}
	p.CustomersNeeded = t.RevenueTarget / t.AvgDealSize
	p.LeadsNeeded = p.CustomersNeeded / t.ConversionRate
	p.ActivitiesNeeded = p.LeadsNeeded / t.LeadsPerActivity
	if p.WorkingDays > 0 {
		p.ActivitiesPerDayNeeded = p.ActivitiesNeeded / float64(p.WorkingDays)
	}
	if len(t.Reps) > 0 {
		p.RepActivitiesPerDayNeeded = p.ActivitiesPerDayNeeded / float64(len(t.Reps))
	}
	return p
}
