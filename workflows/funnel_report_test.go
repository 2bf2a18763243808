package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/activities/store"
	"dealflow/workflows/funnel"
)

func pace(v float64) *float64 { return &v }

// funnelSample is a report where bob and cy are below the 3.8 activities a
// day each rep needs, and cy is also the target's manager.
func funnelSample() *funnel.Report {
	r := &funnel.Report{ID: 7, TargetID: "march", AsOf: start}
	r.Name, r.Manager, r.RevenueTarget = "March North", "cy", 3_000_000
	r.PeriodEnd, _ = funnel.ParseDate("2026-03-31")
	r.Through, _ = funnel.ParseDate("2026-03-19")
	r.WorkingDays, r.WorkingDaysElapsed = 21, 13
	r.Revenue, r.ProjectedRevenue = 1_200_000, pace(1_938_461.5)
	r.ActivitiesPerDayNeeded, r.RepActivitiesPerDayNeeded, r.ActivitiesPerDay = 11.43, 3.81, pace(10.2)
	r.Reps = funnel.RepReports{
		{Rep: "ann", ActivitiesPerDay: pace(6.1)},
		{Rep: "bob", ActivitiesPerDay: pace(2.95), BelowPace: true},
		{Rep: "cy", ActivitiesPerDay: pace(1.15), BelowPace: true},
	}
	return r
}

// funnelEnv runs FunnelReportWorkflow with fake activities: the report
// activity fails with each of errs in turn and then returns rep;
// QueueNotices keeps what it is given.
func funnelEnv(t *testing.T, rep *funnel.Report, errs ...error) (env *testsuite.TestWorkflowEnvironment, queued *[]store.Notice, asked *[]store.FunnelReportRequest) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env = suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(FunnelReportWorkflow, workflow.RegisterOptions{Name: FunnelReportWorkflowName})
	queued, asked = &[]store.Notice{}, &[]store.FunnelReportRequest{}
	env.RegisterActivityWithOptions(func(_ context.Context, req store.FunnelReportRequest) (*funnel.Report, error) {
		*asked = append(*asked, req)
		if n := len(*asked); n <= len(errs) {
			return nil, errs[n-1]
		}
		return rep, nil
	}, activity.RegisterOptions{Name: "ComputeFunnelReport"})
	env.RegisterActivityWithOptions(func(_ context.Context, ns []store.Notice) error {
		*queued = append(*queued, ns...)
		return nil
	}, activity.RegisterOptions{Name: "QueueNotices"})
	return env, queued, asked
}

func TestFunnelReportWorkflowTellsRepsBelowPaceAndManager(t *testing.T) {
	env, queued, asked := funnelEnv(t, funnelSample())
	env.ExecuteWorkflow(FunnelReportWorkflowName, FunnelReportInput{TargetID: "march", Trigger: TriggerManual})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res ReportResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.ReportID != 7 || strings.Join(res.Notified, ",") != "bob,cy" {
		t.Errorf("result %+v, want bob (a rep) and cy (the manager, once)", res)
	}
	req := (*asked)[0]
	if req.TargetID != "march" || req.Trigger != TriggerManual || !req.AsOf.Equal(start) || !strings.HasPrefix(req.RunKey, "default-test-workflow-id/") {
		t.Errorf("report asked for %+v", req)
	}
	ns := *queued
	if len(ns) != 2 {
		t.Fatalf("notices %+v", ns)
	}
	bob, cy := ns[0], ns[1]
	if bob.Kind != NoticeFunnelBelowPace || bob.Subject != "funnel/march" || bob.Seq != 7 || bob.Link != "/funnel/reports/7" || bob.Data["target"] != "march" {
		t.Errorf("bob's notice %+v", bob)
	}
	for _, want := range []string{"March North: you averaged 3.0 activities per working day through 2026-03-19 (13 of 21 working days)",
		"your share of the target needs 3.8", "Team: 10.2 activities per working day of 11.4 needed; revenue 1200000 of 3000000, projected 1938462 by 2026-03-31."} {
		if !strings.Contains(bob.Message, want) {
			t.Errorf("bob's message %q lacks %q", bob.Message, want)
		}
	}
	if cy.Kind != NoticeFunnelTeamBelowPace || !strings.Contains(cy.Message, "2 of 3 reps below the 3.8 activities per working day each needs") ||
		!strings.Contains(cy.Message, "bob 3.0, cy 1.1") {
		t.Errorf("cy's notice %+v", cy)
	}
}

func TestFunnelReportWorkflowTellsNobodyOnPace(t *testing.T) {
	rep := funnelSample()
	for i := range rep.Reps {
		rep.Reps[i].BelowPace = false
	}
	env, queued, asked := funnelEnv(t, rep)
	env.ExecuteWorkflow(FunnelReportWorkflowName, FunnelReportInput{TargetID: "march"})
	var res ReportResult
	if err := env.GetWorkflowResult(&res); err != nil || len(res.Notified) != 0 || len(*queued) != 0 {
		t.Errorf("result %+v, notices %+v, error %v; want nobody told", res, *queued, err)
	}
	if (*asked)[0].Trigger != TriggerSchedule {
		t.Errorf("trigger %q, want the schedule's by default", (*asked)[0].Trigger)
	}
}

// Postgres being down is retried with the same request; a deleted target
// fails the run at once.
func TestFunnelReportWorkflowRetries(t *testing.T) {
	env, _, asked := funnelEnv(t, funnelSample(), errors.New("connection refused"), errors.New("connection refused"))
	env.ExecuteWorkflow(FunnelReportWorkflowName, FunnelReportInput{TargetID: "march"})
	if err := env.GetWorkflowError(); err != nil || len(*asked) != 3 || (*asked)[2].RunKey != (*asked)[0].RunKey || !(*asked)[2].AsOf.Equal((*asked)[0].AsOf) {
		t.Errorf("error %v after %d attempts %+v; want a success on the third, same key and time", err, len(*asked), *asked)
	}

	gone := temporal.NewNonRetryableApplicationError("funnel target march does not exist", activities.FunnelTargetNotFoundType, nil)
	env, queued, asked := funnelEnv(t, nil, gone, gone)
	env.ExecuteWorkflow(FunnelReportWorkflowName, FunnelReportInput{TargetID: "march"})
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != activities.FunnelTargetNotFoundType || len(*asked) != 1 || len(*queued) != 0 {
		t.Errorf("error %v after %d attempts; want %s at once", err, len(*asked), activities.FunnelTargetNotFoundType)
	}
}
