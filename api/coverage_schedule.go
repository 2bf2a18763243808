package api

import (
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"

	"dealflow/workflows"
	"dealflow/workflows/coverage"
)

// coverageSchedule is the Temporal Schedule of a program's report: on each
// of its weekdays at its time of day, in its time zone (Temporal applies
// the zone's daylight-saving rules), starting CoverageReportWorkflow.
func coverageSchedule(p *coverage.Program) reportSchedule {
	// The store has checked At is HH:MM.
	hour, _ := strconv.Atoi(p.Schedule.At[:2])
	minute, _ := strconv.Atoi(p.Schedule.At[3:])
	days := make([]client.ScheduleRange, 0, len(p.Schedule.Weekdays))
	for _, d := range p.Schedule.Weekdays {
		days = append(days, client.ScheduleRange{Start: slices.Index(coverage.Weekdays, d)}) // Sunday is 0
	}
	return reportSchedule{
		ID: workflows.CoverageScheduleID(p.ID),
		Spec: client.ScheduleSpec{
			Calendars: []client.ScheduleCalendarSpec{{
				Second: []client.ScheduleRange{{Start: 0}}, Minute: []client.ScheduleRange{{Start: minute}},
				Hour: []client.ScheduleRange{{Start: hour}}, DayOfWeek: days,
				Comment: strings.Join(p.Schedule.Weekdays, ", ") + " at " + p.Schedule.At,
			}},
			TimeZoneName: p.Schedule.TimeZone,
		},
		Workflow: workflows.CoverageReportWorkflowName,
		Arg:      workflows.CoverageReportInput{ProgramID: p.ID, Trigger: workflows.TriggerSchedule},
		Paused:   p.Paused,
		Note:     "coverage report of " + p.Name,
	}
}
