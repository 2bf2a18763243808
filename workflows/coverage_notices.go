package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
)

// Notice kinds of a coverage report: a lead whose team is behind target
// (on any figure they lead) hears it as such.
const (
	NoticeCoverageBehind   = "coverage_behind_target"
	NoticeCoverageOnTarget = "coverage_on_target"
)

// teamFigure is one team's indicator in a report, with the counts it came
// from.
type teamFigure struct {
	team     coverage.Team
	label    string
	value    *float64
	target   float64
	num, den int
	of       string // what num counts, e.g. "accounts touched"
	none     string // said when den is 0
}

func teamFigures(rep *coverage.Report) []teamFigure {
	c := rep.Counts
	return []teamFigure{
		{coverage.TeamSDR, "SDR coverage rate", rep.Rates.CoverageRate, rep.Targets.CoverageRate,
			c.AccountsCovered, c.Accounts, "accounts touched", "the program lists no account yet"},
		{coverage.TeamBD, "BD signing rate", rep.Rates.SigningRate, rep.Targets.SigningRate,
			c.AccountsSigned, c.Accounts, "accounts signed", "the program lists no account yet"},
		{coverage.TeamPresales, "presales solution first-pass rate", rep.Rates.FirstPassRate, rep.Targets.FirstPassRate,
			c.SolutionsFirstPass, c.SolutionsReviewed, "reviewed solutions approved in round 1", "no solution has been reviewed yet"},
	}
}

// behind reports whether the figure is known and below its target.
func (f teamFigure) behind() bool { return f.value != nil && *f.value < f.target-1e-9 }

func (f teamFigure) String() string {
	if f.value == nil {
		return fmt.Sprintf("%s: %s (target %s)", f.label, f.none, percent(f.target))
	}
	verdict := "on target"
	if f.behind() {
		verdict = fmt.Sprintf("behind by %.1f points", 100*(f.target-*f.value))
	}
	return fmt.Sprintf("%s %s (%d of %d %s) vs target %s: %s", f.label, percent(*f.value), f.num, f.den, f.of, percent(f.target), verdict)
}

// sdrDetails adds what the SDR lead acts on: recent touches, qualified
// leads and the accounts nobody touched.
func sdrDetails(rep *coverage.Report) string {
	if rep.Counts.Accounts == 0 {
		return ""
	}
	return fmt.Sprintf("touch rate %s in the last %d days, penetration %s (value confirmed); %d accounts untouched for %d days",
		percent(*rep.Rates.TouchRate), rep.UntouchedDays, percent(*rep.Rates.PenetrationRate), rep.Untouched.Total, rep.UntouchedDays)
}

func percent(r float64) string { return strconv.FormatFloat(100*r, 'f', 1, 64) + "%" }

// coverageNotices tells each team lead their team's figure against its
// target: one notice per lead, in team order, so someone leading two teams
// gets one message with both (the outbox keeps one row per report and
// recipient). Pure and deterministic: the workflow calls it.
func coverageNotices(rep *coverage.Report) []store.Notice {
	type draft struct {
		lead   string
		parts  []string
		behind []string
	}
	var drafts []*draft
	for _, f := range teamFigures(rep) {
		lead := rep.Leads[f.team]
		if lead == "" {
			continue
		}
		i := slices.IndexFunc(drafts, func(d *draft) bool { return d.lead == lead })
		if i < 0 {
			drafts = append(drafts, &draft{lead: lead})
			i = len(drafts) - 1
		}
		d := drafts[i]
		d.parts = append(d.parts, f.String())
		if f.team == coverage.TeamSDR {
			if more := sdrDetails(rep); more != "" {
				d.parts = append(d.parts, more)
			}
		}
		if f.behind() {
			d.behind = append(d.behind, string(f.team))
		}
	}
	notices := make([]store.Notice, 0, len(drafts))
	for _, d := range drafts {
		kind := NoticeCoverageOnTarget
		if len(d.behind) > 0 {
			kind = NoticeCoverageBehind
		}
		notices = append(notices, store.Notice{
			Subject: CoverageScheduleID(rep.ProgramID), Seq: rep.ID, Recipient: d.lead, Kind: kind,
			Message: fmt.Sprintf("Coverage of program %s as of %s: %s.", rep.ProgramID, rep.AsOf.Format("2006-01-02 15:04 MST"), strings.Join(d.parts, "; ")),
			Link:    fmt.Sprintf("/coverage/reports/%d", rep.ID),
			Data:    map[string]string{"program": rep.ProgramID, "report": strconv.FormatInt(rep.ID, 10), "behind": strings.Join(d.behind, ",")},
		})
	}
	return notices
}
