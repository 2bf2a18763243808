package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"dealflow/workflows/funnel"
)

// funnelReportRow is the funnel_reports table's row (see
// sqlFunnelReportColumns); report turns it into the model's funnel.Report.
type funnelReportRow struct {
	ID        int64     `db:"id"`
	TargetID  string    `db:"target_id"`
	RunKey    string    `db:"run_key"`
	Trigger   string    `db:"trigger"`
	AsOf      time.Time `db:"as_of"`
	CreatedAt time.Time `db:"created_at"`

	WindowStart        time.Time    `db:"window_start"`
	WindowEnd          time.Time    `db:"window_end"`
	ThroughDate        sql.NullTime `db:"through_date"`
	WorkingDays        int          `db:"working_days"`
	WorkingDaysElapsed int          `db:"working_days_elapsed"`
	WorkingDaysLeft    int          `db:"working_days_left"`

	TargetName  string    `db:"target_name"`
	Manager     string    `db:"manager"`
	PeriodStart time.Time `db:"period_start"`
	PeriodEnd   time.Time `db:"period_end"`
	funnelAssumptionsRow
	RepCount int `db:"rep_count"`

	Activities  int64   `db:"activities"`
	Calls       int64   `db:"calls"`
	Visits      int64   `db:"visits"`
	Demos       int64   `db:"demos"`
	Leads       int64   `db:"leads"`
	Qualified   int64   `db:"qualified"`
	Conversions int64   `db:"conversions"`
	Revenue     float64 `db:"revenue"`

	LeadsNeeded               float64  `db:"leads_needed"`
	ActivitiesNeeded          float64  `db:"activities_needed"`
	ActivitiesPerDayNeeded    float64  `db:"activities_per_day_needed"`
	RepActivitiesPerDayNeeded float64  `db:"rep_activities_per_day_needed"`
	ActivitiesPerDay          *float64 `db:"activities_per_day"`
	ActivitiesPerDayToClose   *float64 `db:"activities_per_day_to_close"`
	ConversionRateActual      *float64 `db:"conversion_rate_actual"`
	RevenueGap                float64  `db:"revenue_gap"`
	LeadsGap                  float64  `db:"leads_gap"`
	ProjectedRevenue          *float64 `db:"projected_revenue"`
	ProjectedGap              *float64 `db:"projected_gap"`
	RepsBelowPace             int      `db:"reps_below_pace"`

	// Reps is the jsonb column: the reps' reports as the model writes them
	// in JSON, which the report SQL builds.
	Reps []byte `db:"reps"`
}

func (r funnelReportRow) report() (*funnel.Report, error) {
	out := &funnel.Report{
		ID: r.ID, TargetID: r.TargetID, RunKey: r.RunKey, Trigger: r.Trigger, AsOf: r.AsOf, CreatedAt: r.CreatedAt,
		ReportWindow: funnel.ReportWindow{
			Start: r.WindowStart, End: r.WindowEnd, WorkingDays: r.WorkingDays,
			WorkingDaysElapsed: r.WorkingDaysElapsed, WorkingDaysLeft: r.WorkingDaysLeft,
		},
		ReportTarget: funnel.ReportTarget{
			Name: r.TargetName, Manager: r.Manager, PeriodStart: dateOf(r.PeriodStart), PeriodEnd: dateOf(r.PeriodEnd),
			Assumptions: funnel.Assumptions(r.funnelAssumptionsRow), RepCount: r.RepCount,
		},
		Counts: funnel.Counts{
			Activities: r.Activities, Calls: r.Calls, Visits: r.Visits, Demos: r.Demos,
			Leads: r.Leads, Qualified: r.Qualified, Conversions: r.Conversions, Revenue: r.Revenue,
		},
		Figures: funnel.Figures{
			LeadsNeeded: r.LeadsNeeded, ActivitiesNeeded: r.ActivitiesNeeded,
			ActivitiesPerDayNeeded: r.ActivitiesPerDayNeeded, RepActivitiesPerDayNeeded: r.RepActivitiesPerDayNeeded,
			ActivitiesPerDay: r.ActivitiesPerDay, ActivitiesPerDayToClose: r.ActivitiesPerDayToClose,
			ConversionRateActual: r.ConversionRateActual, RevenueGap: r.RevenueGap, LeadsGap: r.LeadsGap,
			ProjectedRevenue: r.ProjectedRevenue, ProjectedGap: r.ProjectedGap, RepsBelowPace: r.RepsBelowPace,
		},
	}
	if r.ThroughDate.Valid {
		out.Through = dateOf(r.ThroughDate.Time)
	}
	if err := json.Unmarshal(r.Reps, &out.Reps); err != nil {
		return nil, fmt.Errorf("store: funnel report %d: reps: %w", r.ID, err)
	}
	return out, nil
}
