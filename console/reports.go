package console

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"dealflow/workflows/coverage"
	"dealflow/workflows/funnel"
)

type reportsIndex struct {
	Targets  []funnel.Target    `json:"targets"`
	Programs []coverage.Program `json:"programs"`
}

func (c *Console) reports(ec echo.Context, s *session) error {
	var idx reportsIndex
	if e := c.get(ec, s, "/v1/funnel/targets", &idx); e != nil {
		return c.fail(ec, s, e)
	}
	if e := c.get(ec, s, "/v1/coverage/programs", &idx); e != nil {
		return c.fail(ec, s, e)
	}
	return c.render(ec, http.StatusOK, "reports", &view{Title: "Reports", Section: "reports", S: s, Data: idx})
}

// funnelView is a target's latest funnel report, its charts and history.
type funnelView struct {
	Target  string
	Latest  *funnel.Report
	History []funnel.Report
	Charts  []chart
}

func (c *Console) funnelReport(ec echo.Context, s *session) error {
	var out struct {
		Latest  *funnel.Report  `json:"latest"`
		Reports []funnel.Report `json:"reports"`
	}
	id := ec.Param("id")
	if e := c.get(ec, s, "/v1/funnel/reports?"+url.Values{"target": {id}, "limit": {"10"}}.Encode(), &out); e != nil {
		return c.fail(ec, s, e)
	}
	v := funnelView{Target: id, Latest: out.Latest, History: out.Reports}
	if r := out.Latest; r != nil {
		v.Charts = funnelCharts(r)
	}
	return c.render(ec, http.StatusOK, "funnel", &view{Title: "Funnel " + id, Section: "reports", S: s, Data: v})
}

// funnelCharts draws a funnel report: the team's and each rep's pace
// against what the target needs, revenue against the target, and the
// funnel from activities to customers.
func funnelCharts(r *funnel.Report) []chart {
	f := r.Figures
	pace := []bar{{
		Label: "Team", Value: deref(f.ActivitiesPerDay), Text: ptrNum(f.ActivitiesPerDay) + " / " + fmtNum(f.ActivitiesPerDayNeeded),
		Target: f.ActivitiesPerDayNeeded, HasTarget: true, Behind: deref(f.ActivitiesPerDay) < f.ActivitiesPerDayNeeded,
	}}
	for _, rep := range r.Reps {
		pace = append(pace, bar{Label: rep.Rep, Value: deref(rep.ActivitiesPerDay),
			Text:   ptrNum(rep.ActivitiesPerDay) + " / " + fmtNum(f.RepActivitiesPerDayNeeded),
			Target: f.RepActivitiesPerDayNeeded, HasTarget: true, Behind: rep.BelowPace})
	}
	revenue := []bar{
		{Label: "Revenue so far", Value: r.Revenue, Text: fmtMoney(r.Revenue), Target: r.RevenueTarget, HasTarget: true},
		{Label: "Projected", Value: deref(f.ProjectedRevenue), Text: ptrMoney(f.ProjectedRevenue), Target: r.RevenueTarget, HasTarget: true,
			Behind: f.ProjectedRevenue != nil && *f.ProjectedRevenue < r.RevenueTarget},
		{Label: "Target", Value: r.RevenueTarget, Text: fmtMoney(r.RevenueTarget)},
	}
	funnel := []bar{
		{Label: "Activities", Value: float64(r.Activities), Text: fmtNum(float64(r.Activities)) + " of " + fmtNum(f.ActivitiesNeeded), Target: f.ActivitiesNeeded, HasTarget: true},
		{Label: "Leads", Value: float64(r.Leads), Text: fmtNum(float64(r.Leads)) + " of " + fmtNum(f.LeadsNeeded), Target: f.LeadsNeeded, HasTarget: true},
		{Label: "Qualified", Value: float64(r.Qualified), Text: fmtNum(float64(r.Qualified))},
		{Label: "Customers", Value: float64(r.Conversions), Text: fmtNum(float64(r.Conversions))},
	}
	return []chart{
		newChart("Activities per working day: actual / needed (tick)", pace),
		newChart("Revenue and its projection against the target (tick)", revenue),
		newChart("Funnel so far against what the period needs (tick)", funnel),
	}
}

// coverageView is a program's latest coverage report and its charts.
type coverageView struct {
	Program string
	Latest  *coverage.Report
	History []coverage.Report
	Charts  []chart
}

func (c *Console) coverageReport(ec echo.Context, s *session) error {
	var out struct {
		Latest  *coverage.Report  `json:"latest"`
		Reports []coverage.Report `json:"reports"`
	}
	id := ec.Param("id")
	if e := c.get(ec, s, "/v1/coverage/reports?"+url.Values{"program": {id}, "limit": {"10"}}.Encode(), &out); e != nil {
		return c.fail(ec, s, e)
	}
	v := coverageView{Program: id, Latest: out.Latest, History: out.Reports}
	if r := out.Latest; r != nil {
		v.Charts = coverageCharts(r)
	}
	return c.render(ec, http.StatusOK, "coverage", &view{Title: "Coverage " + id, Section: "reports", S: s, Data: v})
}

// coverageCharts draws a coverage report: each rate against its target,
// and the accounts from listed to signed.
func coverageCharts(r *coverage.Report) []chart {
	rate := func(label string, v *float64, target float64, hasTarget bool) bar {
		return bar{Label: label, Value: deref(v), Text: ptrPct(v), Target: target, HasTarget: hasTarget,
			Behind: hasTarget && v != nil && *v < target}
	}
	rates := []bar{
		rate("Coverage (SDR)", r.Rates.CoverageRate, r.Targets.CoverageRate, true),
		rate("Touch", r.Rates.TouchRate, 0, false),
		rate("Penetration", r.Rates.PenetrationRate, 0, false),
		rate("Signing (BD)", r.Rates.SigningRate, r.Targets.SigningRate, true),
		rate("First pass (presales)", r.Rates.FirstPassRate, r.Targets.FirstPassRate, true),
	}
	n := func(label string, v int) bar { return bar{Label: label, Value: float64(v), Text: fmtNum(float64(v))} }
	counts := []bar{
		n("Accounts", r.Counts.Accounts), n("Covered", r.Counts.AccountsCovered), n("Touched", r.Counts.AccountsTouched),
		n("Qualified", r.Counts.AccountsQualified), n("Signed", r.Counts.AccountsSigned),
		n("Untouched", r.Untouched.Total),
	}
	return []chart{
		newChart("Rates against their targets (tick)", rates),
		newChart("Accounts", counts),
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func ptrNum(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmtNum(*p)
}

func ptrMoney(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmtMoney(*p)
}

func ptrPct(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmtPct(*p)
}
