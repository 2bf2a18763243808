package api_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"dealflow/api/apitest"
	"dealflow/workflows"
)

// describe returns the schedule as Temporal has it.
func (s *stack) describe(id string) (*client.ScheduleDescription, error) {
	return s.Temporal.ScheduleClient().GetHandle(s.T.Context(), id).Describe(s.T.Context())
}

// scheduleAt checks the schedule's calendar: weekdays (Sunday 0), hour and
// minute, in zone; and that its next run falls on it.
func (s *stack) scheduleAt(d *client.ScheduleDescription, zone string, hour, minute int, days ...int) {
	s.T.Helper()
	spec := d.Schedule.Spec
	if spec.TimeZoneName != zone || len(spec.Calendars) != 1 {
		s.T.Fatalf("spec %+v, want one calendar in %s", spec, zone)
	}
	cal := spec.Calendars[0]
	var gotDays []int
	for _, r := range cal.DayOfWeek {
		for d := r.Start; d <= max(r.Start, r.End); d += max(r.Step, 1) {
			gotDays = append(gotDays, d)
		}
	}
	if len(cal.Hour) != 1 || cal.Hour[0].Start != hour || len(cal.Minute) != 1 || cal.Minute[0].Start != minute || !slices.Equal(gotDays, days) {
		s.T.Errorf("calendar %+v, want days %v at %02d:%02d", cal, days, hour, minute)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		s.T.Fatal(err)
	}
	if len(d.Info.NextActionTimes) == 0 {
		s.T.Fatal("no next run")
	}
	next := d.Info.NextActionTimes[0].In(loc)
	if !slices.Contains(days, int(next.Weekday())) || next.Hour() != hour || next.Minute() != minute {
		s.T.Errorf("next run %s, want days %v at %02d:%02d %s", next, days, hour, minute, zone)
	}
}

// TestCoverageScheduleLifecycle: the program's schedule coverage/<id> is
// created with the program, follows its updates, pauses and resumes with
// it, starts reports when triggered, and goes when the program goes.
func TestCoverageScheduleLifecycle(t *testing.T) {
	s := newStack(t)
	s.coverageUsers()

	s.Fails("vic", "POST", "/v1/coverage/programs", programBody("east"), http.StatusForbidden, "roles")
	s.Fails("sid", "POST", "/v1/coverage/programs", programBody("east"), http.StatusForbidden, "roles")
	var p programResp
	s.Must("pat", "POST", "/v1/coverage/programs", programBody("east"), http.StatusCreated, &p)
	if p.ScheduleID != "coverage/east" || p.TemporalURL != apitest.TemporalUIURL+"/namespaces/default/schedules/coverage%2Feast" || p.UntouchedDays != 30 {
		t.Errorf("created %+v", p)
	}
	s.Fails("pat", "POST", "/v1/coverage/programs", programBody("east"), http.StatusConflict, "already exists")

	// Default: Monday 08:00 UTC, starting the report workflow on our queue.
	d, err := s.describe("coverage/east")
	if err != nil {
		t.Fatal(err)
	}
	s.scheduleAt(d, "UTC", 8, 0, 1)
	action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || action.Workflow != workflows.CoverageReportWorkflowName || action.TaskQueue != s.Queue || len(action.Args) != 1 {
		t.Fatalf("action %+v", d.Schedule.Action)
	}
	var in workflows.CoverageReportInput
	if err := converter.GetDefaultDataConverter().FromPayload(action.Args[0].(*commonpb.Payload), &in); err != nil ||
		in != (workflows.CoverageReportInput{ProgramID: "east", Trigger: workflows.TriggerSchedule}) {
		t.Errorf("action input %+v, %v", in, err)
	}
	var got programResp
	s.Must("vic", "GET", "/v1/coverage/programs/east", nil, http.StatusOK, &got)
	if len(got.NextRuns) == 0 || !got.NextRuns[0].Equal(d.Info.NextActionTimes[0]) {
		t.Errorf("next runs %v, Temporal says %v", got.NextRuns, d.Info.NextActionTimes)
	}

	// Update: Describe shows the new spec.
	s.Must("pat", "PUT", "/v1/coverage/programs/east", programBody("east", func(b map[string]any) {
		b["schedule"] = map[string]any{"weekdays": []string{"friday", "wednesday"}, "at": "17:30", "time_zone": "Asia/Shanghai"}
	}), http.StatusOK, &got)
	if got.Schedule.TimeZone != "Asia/Shanghai" || got.Schedule.At != "17:30" {
		t.Errorf("updated %+v", got.Schedule)
	}
	if d, err = s.describe("coverage/east"); err != nil {
		t.Fatal(err)
	}
	s.scheduleAt(d, "Asia/Shanghai", 17, 30, 3, 5)

	// Pause and resume.
	s.Must("pat", "POST", "/v1/coverage/programs/east/pause", nil, http.StatusOK, &got)
	if d, err = s.describe("coverage/east"); err != nil || !got.Paused || !d.Schedule.State.Paused {
		t.Errorf("paused: program %v, schedule %+v, %v", got.Paused, d.Schedule.State, err)
	}
	// A paused program's runs will not happen, so none are shown.
	var pausedView programResp
	s.Must("pat", "GET", "/v1/coverage/programs/east", nil, http.StatusOK, &pausedView)
	if len(pausedView.NextRuns) != 0 {
		t.Errorf("paused program shows next runs %v", pausedView.NextRuns)
	}
	// An update keeps the schedule paused.
	s.Must("pat", "PUT", "/v1/coverage/programs/east", programBody("east"), http.StatusOK, &got)
	if d, err = s.describe("coverage/east"); err != nil || !got.Paused || !d.Schedule.State.Paused {
		t.Errorf("paused after update: program %v, schedule %+v, %v", got.Paused, d.Schedule.State, err)
	}
	s.Must("pat", "POST", "/v1/coverage/programs/east/resume", nil, http.StatusOK, &got)
	if d, err = s.describe("coverage/east"); err != nil || got.Paused || d.Schedule.State.Paused {
		t.Errorf("resumed: program %v, schedule %+v, %v", got.Paused, d.Schedule.State, err)
	}

	// Trigger the schedule: its workflow stores a scheduled report.
	if err := s.Temporal.ScheduleClient().GetHandle(t.Context(), "coverage/east").Trigger(t.Context(), client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Eventually("the triggered report", func() bool { return s.reportsOf("east").Latest != nil })
	if r := s.reportsOf("east").Latest; r.Trigger != workflows.TriggerSchedule || r.ProgramID != "east" {
		t.Errorf("triggered report %+v", r)
	}

	// Run now answers with the report.
	var now struct {
		ID      int64  `json:"id"`
		Trigger string `json:"trigger"`
	}
	s.Fails("sid", "POST", "/v1/coverage/programs/east/run", nil, http.StatusForbidden, "roles")
	s.Must("pat", "POST", "/v1/coverage/programs/east/run", nil, http.StatusCreated, &now)
	page := s.reportsOf("east")
	if now.Trigger != workflows.TriggerManual || page.Latest.ID != now.ID || len(page.Reports) != 2 {
		t.Errorf("run now %+v; reports %+v", now, page)
	}
	s.Fails("pat", "POST", "/v1/coverage/programs/west/run", nil, http.StatusNotFound, "no coverage program \"west\"")

	// Delete: the program, its reports and its schedule go.
	s.Fails("vic", "DELETE", "/v1/coverage/programs/east", nil, http.StatusForbidden, "roles")
	s.Must("pat", "DELETE", "/v1/coverage/programs/east", nil, http.StatusNoContent, nil)
	var notFound *serviceerror.NotFound
	if _, err := s.describe("coverage/east"); !errors.As(err, &notFound) {
		t.Errorf("schedule after delete: %v", err)
	}
	s.Fails("vic", "GET", "/v1/coverage/programs/east", nil, http.StatusNotFound, "no coverage program")
	s.Fails("vic", "GET", "/v1/coverage/reports?program=east", nil, http.StatusNotFound, "no coverage program")
	s.Fails("pat", "DELETE", "/v1/coverage/programs/east", nil, http.StatusNotFound, "no coverage program")
	var list struct {
		Programs []programResp `json:"programs"`
	}
	if s.Must("vic", "GET", "/v1/coverage/programs", nil, http.StatusOK, &list); len(list.Programs) != 0 {
		t.Errorf("programs after delete: %+v", list.Programs)
	}
}
