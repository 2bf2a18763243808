package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/activities/store"
	"dealflow/workflows/coverage"
)

func rateOf(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// sampleReport is a report where SDR is behind, BD on target and no
// solution has been reviewed; ben leads both BD and presales.
func sampleReport() *coverage.Report {
	c := coverage.Counts{Accounts: 200, AccountsCovered: 124, AccountsTouched: 80, AccountsQualified: 30, AccountsSigned: 24}
	return &coverage.Report{
		ID: 42, ProgramID: "east", AsOf: start, UntouchedDays: 30, Counts: c,
		Rates: coverage.Rates{CoverageRate: rateOf(124, 200), TouchRate: rateOf(80, 200), PenetrationRate: rateOf(30, 200),
			SigningRate: rateOf(24, 200), FirstPassRate: nil},
		Targets:   coverage.ReportTargets{CoverageRate: 0.8, SigningRate: 0.1, FirstPassRate: 0.6},
		Untouched: coverage.Untouched{Total: 120},
		Leads:     map[coverage.Team]string{coverage.TeamSDR: "lena", coverage.TeamBD: "ben", coverage.TeamPresales: "ben"},
	}
}

// coverageEnv runs CoverageReportWorkflow with fake activities: the report
// activity returns rep (or fails with err), QueueNotices keeps what it is
// given.
func coverageEnv(t *testing.T, rep *coverage.Report, err error) (*testsuite.TestWorkflowEnvironment, *[]store.Notice, *activities.CoverageReportRequest) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(CoverageReportWorkflow, workflow.RegisterOptions{Name: CoverageReportWorkflowName})
	// Fakes under the names the workflow calls (the Reports methods').
	var queued []store.Notice
	var asked activities.CoverageReportRequest
	env.RegisterActivityWithOptions(func(_ context.Context, req activities.CoverageReportRequest) (*coverage.Report, error) {
		asked = req
		return rep, err
	}, activity.RegisterOptions{Name: "ComputeCoverageReport"})
	env.RegisterActivityWithOptions(func(_ context.Context, ns []store.Notice) error {
		queued = append(queued, ns...)
		return nil
	}, activity.RegisterOptions{Name: "QueueNotices"})
	return env, &queued, &asked
}

func TestCoverageReportWorkflowTellsEachLead(t *testing.T) {
	env, queued, asked := coverageEnv(t, sampleReport(), nil)
	env.ExecuteWorkflow(CoverageReportWorkflowName, CoverageReportInput{ProgramID: "east", Trigger: TriggerManual})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res ReportResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.ReportID != 42 || strings.Join(res.Notified, ",") != "lena,ben" {
		t.Errorf("result %+v", res)
	}
	if asked.ProgramID != "east" || asked.Trigger != TriggerManual || !asked.AsOf.Equal(start) || !strings.HasPrefix(asked.RunKey, "default-test-workflow-id/") {
		t.Errorf("report asked for %+v", asked)
	}
	ns := *queued
	if len(ns) != 2 {
		t.Fatalf("%d notices, want one per lead: %+v", len(ns), ns)
	}
	lena, ben := ns[0], ns[1]
	for _, want := range []string{"SDR coverage rate 62.0% (124 of 200 accounts touched) vs target 80.0%: behind by 18.0 points",
		"touch rate 40.0% in the last 30 days", "penetration 15.0%", "120 accounts untouched for 30 days"} {
		if !strings.Contains(lena.Message, want) {
			t.Errorf("lena's message %q lacks %q", lena.Message, want)
		}
	}
	if lena.Kind != NoticeCoverageBehind || lena.Subject != "coverage/east" || lena.Seq != 42 || lena.Link != "/coverage/reports/42" || lena.Data["behind"] != "sdr" {
		t.Errorf("lena's notice %+v", lena)
	}
	for _, want := range []string{"BD signing rate 12.0% (24 of 200 accounts signed) vs target 10.0%: on target",
		"presales solution first-pass rate: no solution has been reviewed yet (target 60.0%)"} {
		if !strings.Contains(ben.Message, want) {
			t.Errorf("ben's message %q lacks %q", ben.Message, want)
		}
	}
	if ben.Kind != NoticeCoverageOnTarget || strings.Contains(ben.Message, "untouched") {
		t.Errorf("ben's notice %+v", ben)
	}
}

func TestCoverageReportWorkflowDefaultsToScheduleTrigger(t *testing.T) {
	env, _, asked := coverageEnv(t, sampleReport(), nil)
	env.ExecuteWorkflow(CoverageReportWorkflowName, CoverageReportInput{ProgramID: "east"})
	if err := env.GetWorkflowError(); err != nil || asked.Trigger != TriggerSchedule {
		t.Errorf("trigger %q, error %v", asked.Trigger, err)
	}
}

// A program deleted while its schedule fired fails the run at once rather
// than retrying for minutes.
func TestCoverageReportWorkflowStopsOnAMissingProgram(t *testing.T) {
	gone := temporal.NewNonRetryableApplicationError("coverage program east does not exist", activities.ProgramNotFoundType, nil)
	env, queued, _ := coverageEnv(t, nil, gone)
	env.ExecuteWorkflow(CoverageReportWorkflowName, CoverageReportInput{ProgramID: "east"})
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != activities.ProgramNotFoundType {
		t.Errorf("error %v, want %s", err, activities.ProgramNotFoundType)
	}
	if len(*queued) != 0 {
		t.Errorf("notices queued for a missing program: %+v", *queued)
	}
	if env.Now().Sub(start) > time.Second {
		t.Errorf("the run took %s of retries", env.Now().Sub(start))
	}
}
