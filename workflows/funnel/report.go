package funnel

import (
	"time"
)

// Report is one funnel report: the target's inputs as they were, the
// window and calendar it counted, the counts, and the figures derived from
// them, for the team and per rep. The store computes reports with SQL
// aggregates (the needs by the same formulas as Target.Plan, which a store
// test holds together) and keeps them; the API answers them as they are.
type Report struct {
	ID        int64     `json:"id"`
	TargetID  string    `json:"target_id"`
	RunKey    string    `json:"run_key"`
	Trigger   string    `json:"trigger"`
	AsOf      time.Time `json:"as_of"`
	CreatedAt time.Time `json:"created_at"`

	ReportWindow `json:"window"`
	ReportTarget `json:"target"`
	Counts       `json:"counts"`
	Figures      `json:"figures"`
	Reps         RepReports `json:"reps"`
}

// ReportWindow is what the report counted (see Window).
type ReportWindow struct {
	Start              time.Time `json:"start"`
	End                time.Time `json:"end"`
	Through            Date      `json:"through"`
	WorkingDays        int       `json:"working_days"`
	WorkingDaysElapsed int       `json:"working_days_elapsed"`
	WorkingDaysLeft    int       `json:"working_days_left"`
}

// ReportTarget is the target's inputs when the report ran.
type ReportTarget struct {
	Name        string `json:"name"`
	Manager     string `json:"manager"`
	PeriodStart Date   `json:"period_start"`
	PeriodEnd   Date   `json:"period_end"`
	Assumptions
	RepCount int `json:"rep_count"`
}

// Counts are what happened in the window: activities by kind, leads
// created, leads qualified, leads converted and the revenue they brought.
// Each lead event counts when it happened, whenever the lead was created.
type Counts struct {
	Activities  int64   `json:"activities"`
	Calls       int64   `json:"calls"`
	Visits      int64   `json:"visits"`
	Demos       int64   `json:"demos"`
	Leads       int64   `json:"leads"`
	Qualified   int64   `json:"qualified"`
	Conversions int64   `json:"conversions"`
	Revenue     float64 `json:"revenue"`
}

// Figures compare the counts with what the target needs. A figure
// that would divide by zero (no working day elapsed yet, no lead) is null.
type Figures struct {
	LeadsNeeded               float64 `json:"leads_needed"`
	ActivitiesNeeded          float64 `json:"activities_needed"`
	ActivitiesPerDayNeeded    float64 `json:"activities_per_day_needed"`
	RepActivitiesPerDayNeeded float64 `json:"rep_activities_per_day_needed"`
	// ActivitiesPerDay is the team's actual pace: activities ÷ working days
	// elapsed.
	ActivitiesPerDay *float64 `json:"activities_per_day"`
	// ActivitiesPerDayToClose is the pace that would still reach the
	// activities needed: what is missing ÷ working days left.
	ActivitiesPerDayToClose *float64 `json:"activities_per_day_to_close"`
	ConversionRateActual    *float64 `json:"conversion_rate_actual"`
	// RevenueGap and LeadsGap are what the target needs minus what is done.
	RevenueGap float64 `json:"revenue_gap"`
	LeadsGap   float64 `json:"leads_gap"`
	// ProjectedRevenue is the run rate carried to the period's end: revenue
	// ÷ working days elapsed × working days in the period.
	ProjectedRevenue *float64 `json:"projected_revenue"`
	ProjectedGap     *float64 `json:"projected_gap"`
	RepsBelowPace    int      `json:"reps_below_pace"`
}

// RepReport is one rep's counts and pace. A rep is below pace when
// their activities per working day fall short of their equal share of the
// team's (Figures.RepActivitiesPerDayNeeded).
type RepReport struct {
	Rep              string   `json:"rep"`
	Counts           Counts   `json:"counts"`
	ActivitiesPerDay *float64 `json:"activities_per_day"`
	BelowPace        bool     `json:"below_pace"`
}

// RepReports are the reps' reports, in the target's rep order.
type RepReports []RepReport

// BelowPace lists the reps behind pace.
func (r *Report) BelowPace() []RepReport {
	var out []RepReport
	for _, rep := range r.Reps {
		if rep.BelowPace {
			out = append(out, rep)
		}
	}
	return out
}
