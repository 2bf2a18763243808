package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"dealflow/workflows"
	"dealflow/workflows/funnel"
)

// weekdaysOf expands a calendar's DayOfWeek ranges (Sunday is 0).
func weekdaysOf(cal client.ScheduleCalendarSpec) []int {
	var days []int
	for _, r := range cal.DayOfWeek {
		for d := r.Start; d <= max(r.Start, r.End); d += max(r.Step, 1) {
			days = append(days, d)
		}
	}
	return days
}

// nextWorkingDay is the first Monday-to-Friday day after d.
func nextWorkingDay(d time.Time) time.Time {
	d = d.AddDate(0, 0, 1)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// TestFunnelTargetLifecycle: a target's schedule funnel/<id> is created
// with it, follows its updates, pauses and resumes with it, starts reports
// when triggered, and goes when the target goes.
func TestFunnelTargetLifecycle(t *testing.T) {
	s := newStack(t)
	s.funnelUsers()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	today := time.Now().In(sh)
	start, end := today.AddDate(0, 0, -10), today.AddDate(0, 0, 40)
	holiday := nextWorkingDay(nextWorkingDay(today))

	var tg funnelTargetResp
	s.Must("pat", "POST", "/v1/funnel/targets", funnelTargetBody("life", start, end, func(b map[string]any) {
		b["holidays"] = []string{holiday.Format(time.DateOnly)}
	}), http.StatusCreated, &tg)
	working := 0
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && d.Format(time.DateOnly) != holiday.Format(time.DateOnly) {
			working++
		}
	}
	// 2,000,000 ÷ 50,000 ÷ 0.2 = 200 leads; ÷ 0.4 = 500 activities.
	if tg.Plan.LeadsNeeded != 200 || tg.Plan.ActivitiesNeeded != 500 || tg.Plan.WorkingDays != working ||
		tg.Plan.ActivitiesPerDayNeeded != 500/float64(working) || tg.RunAt != "08:00" || len(tg.WorkingDays) != 5 {
		t.Errorf("created target %+v, plan %+v (want %d working days)", tg.Target, tg.Plan, working)
	}
	if tg.ScheduleID != "funnel/life" || !strings.HasSuffix(tg.TemporalURL, "/namespaces/default/schedules/funnel%2Flife") {
		t.Errorf("schedule %q at %q", tg.ScheduleID, tg.TemporalURL)
	}

	// Created: working days at 08:00 in Shanghai, the holiday skipped.
	d, err := s.describe("funnel/life")
	if err != nil {
		t.Fatal(err)
	}
	spec := d.Schedule.Spec
	if spec.TimeZoneName != "Asia/Shanghai" || len(spec.Calendars) != 1 || spec.Calendars[0].Hour[0].Start != 8 ||
		spec.Calendars[0].Minute[0].Start != 0 || !slices.Equal(weekdaysOf(spec.Calendars[0]), []int{1, 2, 3, 4, 5}) || len(spec.Skip) != 1 {
		t.Errorf("spec %+v", spec)
	}
	action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || action.Workflow != workflows.FunnelReportWorkflowName || d.Schedule.State.Paused || d.Schedule.Policy.CatchupWindow != 12*time.Hour {
		t.Errorf("action %+v, state %+v, policy %+v", d.Schedule.Action, d.Schedule.State, d.Schedule.Policy)
	}
	if len(d.Info.NextActionTimes) == 0 {
		t.Fatal("no next run")
	}
	for _, next := range d.Info.NextActionTimes {
		next = next.In(sh)
		if next.Hour() != 8 || next.Minute() != 0 || next.Weekday() == time.Saturday || next.Weekday() == time.Sunday ||
			next.Format(time.DateOnly) == holiday.Format(time.DateOnly) || next.After(end.AddDate(0, 0, 4)) {
			t.Errorf("next run %s: want 08:00 on a working day, not the holiday %s, within the period", next, holiday.Format(time.DateOnly))
		}
	}
	var got funnelTargetResp
	s.Must("vic", "GET", "/v1/funnel/targets/life", nil, http.StatusOK, &got)
	if len(got.NextRuns) == 0 || !got.NextRuns[0].Equal(d.Info.NextActionTimes[0]) {
		t.Errorf("GET shows next runs %v, Temporal %v", got.NextRuns, d.Info.NextActionTimes)
	}

	// Updated: the spec follows.
	s.Must("mona", "PUT", "/v1/funnel/targets/life", funnelTargetBody("life", start, end, func(b map[string]any) {
		b["run_at"], b["time_zone"], b["working_days"] = "09:30", "Europe/Berlin", []string{"monday", "wednesday", "friday"}
	}), http.StatusOK, &got)
	if d, err = s.describe("funnel/life"); err != nil {
		t.Fatal(err)
	}
	spec = d.Schedule.Spec
	if d.Schedule.Policy.CatchupWindow != 12*time.Hour {
		t.Errorf("updated policy %+v", d.Schedule.Policy)
	}
	if spec.TimeZoneName != "Europe/Berlin" || spec.Calendars[0].Hour[0].Start != 9 || spec.Calendars[0].Minute[0].Start != 30 ||
		!slices.Equal(weekdaysOf(spec.Calendars[0]), []int{1, 3, 5}) || len(spec.Skip) != 0 {
		t.Errorf("updated spec %+v", spec)
	}
	s.Fails("pat", "PUT", "/v1/funnel/targets/life", funnelTargetBody("other", start, end), http.StatusBadRequest, "cannot change")
	s.Fails("pat", "PUT", "/v1/funnel/targets/nope", funnelTargetBody("nope", start, end), http.StatusNotFound, `no funnel target "nope"`)

	// Paused, still paused after an edit, then resumed.
	s.Must("pat", "POST", "/v1/funnel/targets/life/pause", nil, http.StatusOK, &got)
	if d, _ = s.describe("funnel/life"); !got.Paused || !d.Schedule.State.Paused {
		t.Errorf("paused: target %v, schedule %v", got.Paused, d.Schedule.State.Paused)
	}
	got = funnelTargetResp{}
	s.Must("vic", "GET", "/v1/funnel/targets/life", nil, http.StatusOK, &got)
	if !got.Paused || len(got.NextRuns) != 0 {
		t.Errorf("a paused target shows next runs %v", got.NextRuns)
	}
	s.Must("pat", "PUT", "/v1/funnel/targets/life", funnelTargetBody("life", start, end), http.StatusOK, &got)
	if d, _ = s.describe("funnel/life"); !got.Paused || !d.Schedule.State.Paused {
		t.Errorf("after an edit: target paused %v, schedule %v", got.Paused, d.Schedule.State.Paused)
	}
	s.Must("pat", "POST", "/v1/funnel/targets/life/resume", nil, http.StatusOK, &got)
	if d, _ = s.describe("funnel/life"); got.Paused || d.Schedule.State.Paused {
		t.Errorf("resumed: target %v, schedule %v", got.Paused, d.Schedule.State.Paused)
	}

	// Triggered: run now answers with the report; the schedule's own
	// trigger starts a report too.
	var rep funnel.Report
	s.Must("pat", "POST", "/v1/funnel/targets/life/run", nil, http.StatusCreated, &rep)
	if rep.TargetID != "life" || rep.Trigger != workflows.TriggerManual || rep.LeadsNeeded != 200 || rep.WorkingDaysElapsed == 0 {
		t.Errorf("run now: %+v", rep)
	}
	h := s.Temporal.ScheduleClient().GetHandle(t.Context(), "funnel/life")
	if err := h.Trigger(t.Context(), client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var page funnelReportsResp
	s.Eventually("a scheduled report", func() bool {
		s.Must("vic", "GET", "/v1/funnel/reports?target=life", nil, http.StatusOK, &page)
		return len(page.Reports) == 2
	})
	if page.Latest == nil || page.Latest.Trigger != workflows.TriggerSchedule || page.Reports[1].ID != rep.ID {
		t.Errorf("reports %+v", page)
	}

	// Deleted: the schedule and the reports go too.
	s.Must("pat", "DELETE", "/v1/funnel/targets/life", nil, http.StatusNoContent, nil)
	var notFound *serviceerror.NotFound
	if _, err := s.describe("funnel/life"); !errors.As(err, &notFound) {
		t.Errorf("schedule after delete: %v", err)
	}
	s.Fails("vic", "GET", "/v1/funnel/targets/life", nil, http.StatusNotFound, "no funnel target")
	s.Fails("vic", "GET", fmt.Sprintf("/v1/funnel/reports/%d", rep.ID), nil, http.StatusNotFound, "no funnel report")
	s.Fails("pat", "DELETE", "/v1/funnel/targets/life", nil, http.StatusNotFound, "no funnel target")
	s.Fails("pat", "POST", "/v1/funnel/targets/life/run", nil, http.StatusNotFound, "no funnel target")
}

type funnelReportsResp struct {
	Target     string          `json:"target"`
	Latest     *funnel.Report  `json:"latest"`
	Reports    []funnel.Report `json:"reports"`
	NextBefore int64           `json:"next_before"`
}

// TestFunnelTargetBadInput: bad values are 422 naming the field, unknown
// people are named, and nothing is created, not even a schedule.
func TestFunnelTargetBadInput(t *testing.T) {
	s := newStack(t)
	s.funnelUsers()
	start := time.Now()
	end := start.AddDate(0, 1, 0)
	set := func(k string, v any) func(map[string]any) { return func(b map[string]any) { b[k] = v } }
	for _, c := range []struct {
		body   map[string]any
		status int
		want   string
	}{
		{funnelTargetBody("bad", start, end, set("conversion_rate", -0.2)), 422, "conversion_rate: must be a share above 0 and at most 1"},
		{funnelTargetBody("bad", start, end, set("conversion_rate", 1.2)), 422, "conversion_rate: must be a share above 0 and at most 1"},
		{funnelTargetBody("bad", start, end, set("leads_per_activity", -1)), 422, "leads_per_activity: must be above 0"},
		{funnelTargetBody("bad", start, end, set("reps", []string{"rita", "zed"})), 422, `reps[1]: unknown rep "zed"`},
		{funnelTargetBody("bad", start, end, set("manager", "nobody")), 422, `manager: "nobody" is not an active user`},
		{funnelTargetBody("bad", start, end, set("time_zone", "Mars/Base")), 422, "time_zone"},
		{funnelTargetBody("bad", start, end, set("period_end", "soon")), 422, "period_end"},
		{funnelTargetBody("bad", start, end, set("colour", "red")), 400, "unknown field"},
		{funnelTargetBody("bad", start, end, set("conversion_rate", "high")), 400, "conversion_rate must be a number"},
	} {
		s.Fails("pat", "POST", "/v1/funnel/targets", c.body, c.status, c.want)
	}
	s.Fails("rita", "POST", "/v1/funnel/targets", funnelTargetBody("mine", start, end), http.StatusForbidden, "pmo, director")
	s.Must("mona", "POST", "/v1/funnel/targets", funnelTargetBody("good", start, end), http.StatusCreated, nil)
	s.Fails("pat", "POST", "/v1/funnel/targets", funnelTargetBody("good", start, end), http.StatusConflict, "already exists")
	var list struct {
		Targets []funnelTargetResp `json:"targets"`
	}
	s.Must("vic", "GET", "/v1/funnel/targets", nil, http.StatusOK, &list)
	if len(list.Targets) != 1 || list.Targets[0].ID != "good" || list.Targets[0].Plan.LeadsNeeded != 200 {
		t.Errorf("targets %+v", list.Targets)
	}
	var notFound *serviceerror.NotFound
	if _, err := s.describe("funnel/bad"); !errors.As(err, &notFound) {
		t.Errorf("a refused target has a schedule: %v", err)
	}
	s.Fails("vic", "GET", "/v1/funnel/reports", nil, http.StatusBadRequest, "target is required")
	s.Fails("vic", "GET", "/v1/funnel/reports?target=nope", nil, http.StatusNotFound, "no funnel target")
	s.Fails("vic", "GET", "/v1/funnel/reports/x", nil, http.StatusBadRequest, "a report id is a number")
	s.Fails("vic", "POST", "/v1/funnel/targets/good/run", nil, http.StatusForbidden, "pmo, director")
}
