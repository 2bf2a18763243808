package workflows

import (
	"fmt"
	"strconv"
	"strings"

	"dealflow/activities/store"
	"dealflow/workflows/funnel"
)

// Notice kinds of a funnel report.
const (
	// NoticeFunnelBelowPace tells a rep their activities per working day
	// fall short of their share of what the target needs.
	NoticeFunnelBelowPace = "funnel_below_pace"
	// NoticeFunnelTeamBelowPace tells the target's manager which reps are
	// below pace, with the team's figures.
	NoticeFunnelTeamBelowPace = "funnel_team_below_pace"
)

// funnelNotices are what a report tells: each rep below pace, and the
// manager when anyone is. The manager hears the summary only, even when
// they are a rep of the target too. Nobody is below pace before a working
// day has passed, so the first report of a period tells no one.
func funnelNotices(rep *funnel.Report) []store.Notice {
	below := rep.BelowPace()
	if len(below) == 0 {
		return []store.Notice{}
	}
	subject := FunnelScheduleID(rep.TargetID)
	link := "/funnel/reports/" + strconv.FormatInt(rep.ID, 10)
	data := map[string]string{"target": rep.TargetID, "report": strconv.FormatInt(rep.ID, 10)}
	through := fmt.Sprintf("through %s (%d of %d working days)", rep.Through, rep.WorkingDaysElapsed, rep.WorkingDays)
	team := funnelTeamLine(rep)
	var out []store.Notice
	for _, r := range below {
		if r.Rep == rep.Manager {
			continue
		}
		out = append(out, store.Notice{Subject: subject, Seq: rep.ID, Recipient: r.Rep, Kind: NoticeFunnelBelowPace, Link: link, Data: data,
			Message: fmt.Sprintf("%s: you averaged %.1f activities per working day %s; your share of the target needs %.1f. %s",
				rep.Name, funnelValue(r.ActivitiesPerDay), through, rep.RepActivitiesPerDayNeeded, team)})
	}
	names := make([]string, len(below))
	for i, r := range below {
		names[i] = fmt.Sprintf("%s %.1f", r.Rep, funnelValue(r.ActivitiesPerDay))
	}
	out = append(out, store.Notice{Subject: subject, Seq: rep.ID, Recipient: rep.Manager, Kind: NoticeFunnelTeamBelowPace, Link: link, Data: data,
		Message: fmt.Sprintf("%s: %d of %d reps below the %.1f activities per working day each needs, %s: %s. %s",
			rep.Name, len(below), len(rep.Reps), rep.RepActivitiesPerDayNeeded, through, strings.Join(names, ", "), team)})
	return out
}

// funnelTeamLine sums the team up: pace, revenue and where the run rate
// leads.
func funnelTeamLine(rep *funnel.Report) string {
	line := fmt.Sprintf("Team: %.1f activities per working day of %.1f needed; revenue %.0f of %.0f",
		funnelValue(rep.ActivitiesPerDay), rep.ActivitiesPerDayNeeded, rep.Revenue, rep.RevenueTarget)
	if rep.ProjectedRevenue != nil {
		line += fmt.Sprintf(", projected %.0f by %s", *rep.ProjectedRevenue, rep.PeriodEnd)
	}
	return line + "."
}

func funnelValue(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}
