package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// FunnelReport is one funnel report: the target's inputs as they were, the
// window and calendar it counted, the counts, and the figures derived from
// them, for the team and per rep. Reports are computed by SQL aggregates
// (see ComputeFunnelReport) and stored; the API reads them back.
type FunnelReport struct {
	ID        int64     `json:"id" db:"id"`
	TargetID  string    `json:"target_id" db:"target_id"`
	RunKey    string    `json:"run_key" db:"run_key"`
	Trigger   string    `json:"trigger" db:"trigger"`
	AsOf      time.Time `json:"as_of" db:"as_of"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`

	FunnelReportWindow `json:"window"`
	FunnelReportTarget `json:"target"`
	FunnelCounts       `json:"counts"`
	FunnelFigures      `json:"figures"`
	Reps               FunnelRepReports `json:"reps" db:"reps"`
}

// FunnelReportWindow is what the report counted (see FunnelWindow).
type FunnelReportWindow struct {
	Start              time.Time  `json:"start" db:"window_start"`
	End                time.Time  `json:"end" db:"window_end"`
	Through            FunnelDate `json:"through" db:"through_date"`
	WorkingDays        int        `json:"working_days" db:"working_days"`
	WorkingDaysElapsed int        `json:"working_days_elapsed" db:"working_days_elapsed"`
	WorkingDaysLeft    int        `json:"working_days_left" db:"working_days_left"`
}

// FunnelReportTarget is the target's inputs when the report ran.
type FunnelReportTarget struct {
	Name             string     `json:"name" db:"target_name"`
	Manager          string     `json:"manager" db:"manager"`
	PeriodStart      FunnelDate `json:"period_start" db:"period_start"`
	PeriodEnd        FunnelDate `json:"period_end" db:"period_end"`
	RevenueTarget    float64    `json:"revenue_target" db:"revenue_target"`
	AvgDealSize      float64    `json:"avg_deal_size" db:"avg_deal_size"`
	ConversionRate   float64    `json:"conversion_rate" db:"conversion_rate"`
	LeadsPerActivity float64    `json:"leads_per_activity" db:"leads_per_activity"`
	RepCount         int        `json:"rep_count" db:"rep_count"`
}

// FunnelCounts are what happened in the window: activities by kind, leads
// created, leads qualified, leads converted and the revenue they brought.
// Each lead event counts when it happened, whenever the lead was created.
type FunnelCounts struct {
	Activities  int64   `json:"activities" db:"activities"`
	Calls       int64   `json:"calls" db:"calls"`
	Visits      int64   `json:"visits" db:"visits"`
	Demos       int64   `json:"demos" db:"demos"`
	Leads       int64   `json:"leads" db:"leads"`
	Qualified   int64   `json:"qualified" db:"qualified"`
	Conversions int64   `json:"conversions" db:"conversions"`
	Revenue     float64 `json:"revenue" db:"revenue"`
}

// FunnelFigures compare the counts with what the target needs. A figure
// that would divide by zero (no working day elapsed yet, no lead) is null.
type FunnelFigures struct {
	LeadsNeeded               float64 `json:"leads_needed" db:"leads_needed"`
	ActivitiesNeeded          float64 `json:"activities_needed" db:"activities_needed"`
	ActivitiesPerDayNeeded    float64 `json:"activities_per_day_needed" db:"activities_per_day_needed"`
	RepActivitiesPerDayNeeded float64 `json:"rep_activities_per_day_needed" db:"rep_activities_per_day_needed"`
	// ActivitiesPerDay is the team's actual pace: activities ÷ working days
	// elapsed.
	ActivitiesPerDay *float64 `json:"activities_per_day" db:"activities_per_day"`
	// ActivitiesPerDayToClose is the pace that would still reach the
	// activities needed: what is missing ÷ working days left.
	ActivitiesPerDayToClose *float64 `json:"activities_per_day_to_close" db:"activities_per_day_to_close"`
	ConversionRateActual    *float64 `json:"conversion_rate_actual" db:"conversion_rate_actual"`
	// RevenueGap and LeadsGap are what the target needs minus what is done.
	RevenueGap float64 `json:"revenue_gap" db:"revenue_gap"`
	LeadsGap   float64 `json:"leads_gap" db:"leads_gap"`
	// ProjectedRevenue is the run rate carried to the period's end: revenue
	// ÷ working days elapsed × working days in the period.
	ProjectedRevenue *float64 `json:"projected_revenue" db:"projected_revenue"`
	ProjectedGap     *float64 `json:"projected_gap" db:"projected_gap"`
	RepsBelowPace    int      `json:"reps_below_pace" db:"reps_below_pace"`
}

// FunnelRepReport is one rep's counts and pace. A rep is below pace when
// their activities per working day fall short of their equal share of the
// team's (FunnelFigures.RepActivitiesPerDayNeeded).
type FunnelRepReport struct {
	Rep              string       `json:"rep"`
	Counts           FunnelCounts `json:"counts"`
	ActivitiesPerDay *float64     `json:"activities_per_day"`
	BelowPace        bool         `json:"below_pace"`
}

// FunnelRepReports is the reps column (jsonb), in the target's rep order.
type FunnelRepReports []FunnelRepReport

// Scan reads the jsonb column.
func (r *FunnelRepReports) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("store: cannot read %T as funnel rep reports", src)
	}
	return json.Unmarshal(b, r)
}

// BelowPace lists the reps behind pace.
func (r *FunnelReport) BelowPace() []FunnelRepReport {
	var out []FunnelRepReport
	for _, rep := range r.Reps {
		if rep.BelowPace {
			out = append(out, rep)
		}
	}
	return out
}
