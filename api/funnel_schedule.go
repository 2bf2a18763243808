package api

import (
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"dealflow/workflows"
	"dealflow/workflows/funnel"
)

// funnelSchedule is the Temporal Schedule of a target's report: at its
// run_at on each working weekday, in its time zone (Temporal applies the
// zone's daylight-saving rules), skipping holidays, from the period's first
// day through the first working day after it, whose report covers the
// whole period. It starts FunnelReportWorkflow.
func funnelSchedule(t *funnel.Target) reportSchedule {
	// funnel.NewTarget has checked RunAt is HH:MM and the zone loads.
	hour, _ := strconv.Atoi(t.RunAt[:2])
	minute, _ := strconv.Atoi(t.RunAt[3:])
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	names := make([]string, len(t.WorkingDays))
	for i, w := range t.WorkingDays {
		names[i] = w.String()[:3]
	}
	skip := make([]client.ScheduleCalendarSpec, 0, len(t.Holidays))
	for _, d := range t.Holidays {
		day := d.Midnight(time.UTC)
		// A skip matches only when every field does, seconds included.
		skip = append(skip, client.ScheduleCalendarSpec{
			Year: []client.ScheduleRange{{Start: day.Year()}}, Month: []client.ScheduleRange{{Start: int(day.Month())}},
			DayOfMonth: []client.ScheduleRange{{Start: day.Day()}}, Hour: []client.ScheduleRange{{Start: 0, End: 23}},
			Minute: []client.ScheduleRange{{Start: 0, End: 59}}, Second: []client.ScheduleRange{{Start: 0, End: 59}},
			Comment: "holiday " + d.String(),
		})
	}
	return reportSchedule{
		ID: workflows.FunnelScheduleID(t.ID),
		Spec: client.ScheduleSpec{
			Calendars: []client.ScheduleCalendarSpec{{
				Second: []client.ScheduleRange{{Start: 0}}, Minute: []client.ScheduleRange{{Start: minute}},
				Hour: []client.ScheduleRange{{Start: hour}}, DayOfWeek: weekdayRanges(t.WorkingDays),
				Comment: "working days (" + strings.Join(names, ", ") + ") at " + t.RunAt,
			}},
			Skip:         skip,
			TimeZoneName: t.TimeZone,
			StartAt:      t.PeriodStart.Midnight(loc),
			EndAt:        lastFunnelReportDay(t).AddDays(1).Midnight(loc).Add(-time.Second),
		},
		Workflow: workflows.FunnelReportWorkflowName,
		Arg:      workflows.FunnelReportInput{TargetID: t.ID, Trigger: workflows.TriggerSchedule},
		Paused:   t.Paused,
		Note:     "funnel report of " + t.Name,
	}
}

// weekdayRanges folds sorted weekdays into ranges: Monday to Friday is one
// range 1-5, as the Temporal UI then shows it.
func weekdayRanges(days funnel.Weekdays) []client.ScheduleRange {
	var out []client.ScheduleRange
	for _, d := range days {
		if n := len(out); n > 0 && out[n-1].End == int(d)-1 {
			out[n-1].End = int(d)
			continue
		}
		out = append(out, client.ScheduleRange{Start: int(d), End: int(d)})
	}
	return out
}

// lastFunnelReportDay is the first working day after the period: its
// report is the period's final one.
func lastFunnelReportDay(t *funnel.Target) funnel.Date {
	d := t.PeriodEnd.AddDays(1)
	for range 366 {
		if t.IsWorkingDay(d) {
			return d
		}
		d = d.AddDays(1)
	}
	return t.PeriodEnd.AddDays(1)
}
