package workflows

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dealflow/workflows/plan"
)

// TestProjectDealToWon drives the six milestones of the project template over
// simulated weeks, with one rejection of the solution design.
func TestProjectDealToWon(t *testing.T) {
	h := newHarness(t)
	s := spec(t, "project")
	h.at(2*day, func() {
		h.do(UpdateSubmit, submit("cora", "prospect", h.state()), func(d *plan.Deal) {
			if got := d.ActiveKeys(); !slices.Equal(got, []string{"needs-analysis"}) {
				t.Errorf("after prospect, active = %v", got)
			}
			if m := d.Milestone("needs-analysis"); !m.DueAt.Equal(start.Add(2*day + 14*day)) {
				t.Errorf("needs-analysis due %s, want activation + 14d", m.DueAt)
			}
		})
	})
	h.at(day, func() {
		h.do(UpdateBuyerStage, plan.BuyerStageAction{Acting: plan.Acting{Actor: "cora"}, Stage: plan.BuyerContactAdded})
	})
	h.at(3*day, func() {
		h.do(UpdateBuyerStage, plan.BuyerStageAction{Acting: plan.Acting{Actor: "cora"}, Stage: plan.BuyerMetDecisionMaker})
	})
	h.at(7*day, func() {
		h.do(UpdateBuyerStage, plan.BuyerStageAction{Acting: plan.Acting{Actor: "pat"}, Stage: plan.BuyerNeedsConfirmed})
	})
	h.at(8*day, func() { h.do(UpdateSubmit, submit("cora", "needs-analysis", h.state())) })
	h.at(15*day, func() {
		h.do(UpdateSubmit, submit("sol", "solution-design", h.state()), func(d *plan.Deal) {
			m := d.Milestone("solution-design")
			if m.State != plan.StateSubmitted || !slices.Equal(m.Reviewers, []string{"ann", "abe"}) {
				t.Errorf("solution-design %s reviewers %v", m.State, m.Reviewers)
			}
		})
	})
	h.at(16*day, func() {
		h.do(UpdateReview, review("ann", "solution-design", plan.Reject, "price the integration work"), func(d *plan.Deal) {
			if m := d.Milestone("solution-design"); m.State != plan.StateActive || m.Round != 2 {
				t.Errorf("after rejection: %s round %d", m.State, m.Round)
			}
		})
	})
	h.at(18*day, func() { h.do(UpdateSubmit, submit("sol", "solution-design", h.state())) })
	h.at(19*day, func() { h.do(UpdateReview, review("abe", "solution-design", plan.Approve, "")) })
	h.at(21*day, func() { h.do(UpdateSubmit, submit("sol", "solution-submission", h.state())) })
	h.at(22*day, func() {
		h.do(UpdateBuyerStage, plan.BuyerStageAction{Acting: plan.Acting{Actor: "cora"}, Stage: plan.BuyerEvaluating})
	})
	h.at(30*day, func() { h.do(UpdateSubmit, submit("cora", "quotation", h.state())) })
	h.at(31*day, func() {
		h.do(UpdateBuyerStage, plan.BuyerStageAction{Acting: plan.Acting{Actor: "cora"}, Stage: plan.BuyerNegotiating})
	})
	h.at(40*day, func() { h.do(UpdateSubmit, submit("pat", "contract", h.state())) })

	d := h.run(s)
	if d.Status != plan.DealWon || d.Outcome == nil || !d.Outcome.At.Equal(start.Add(40*day)) {
		t.Fatalf("status %s outcome %+v", d.Status, d.Outcome)
	}
	if got := h.env.Now(); !got.Equal(start.Add(40 * day)) {
		t.Errorf("workflow ended at %s, want start + 40d", got)
	}
	for _, m := range d.Milestones {
		if m.State != plan.StateDone {
			t.Errorf("%s is %s", m.Key, m.State)
		}
	}
	if d.Metrics.ReworkRounds != 1 || d.Metrics.Reviewed != 1 || d.Metrics.FirstPass != 0 {
		t.Errorf("metrics %+v", d.Metrics)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("unexpected warnings %+v", d.Warnings)
	}
	kinds := h.rec.kinds()
	if n := count(kinds, plan.EventMilestoneDone); n != 6 {
		t.Errorf("%d milestone_done events, want 6", n)
	}
	if n := count(kinds, plan.EventReviewRejected); n != 1 {
		t.Errorf("%d review_rejected events, want 1", n)
	}
	if kinds[len(kinds)-1] != plan.EventDealClosed {
		t.Errorf("last event %s, want deal_closed", kinds[len(kinds)-1])
	}
}

// TestEscalationChain lets a milestone go unattended: the reminder, the due
// time and each escalation step fire in order, at their exact instants.
func TestEscalationChain(t *testing.T) {
	h := newHarness(t)
	s := spec(t, "project") // prospect: due 7d; -2d owner, 0 pmo, +3d director
	var seen []string
	check := func(offset time.Duration, overdue bool, level int) {
		h.at(offset, func() {
			m := h.state().Milestone("prospect")
			seen = append(seen, h.env.Now().Sub(start).String())
			if m.Overdue != overdue || m.Escalation != level {
				t.Errorf("at %s: overdue %v level %d, want %v %d", offset, m.Overdue, m.Escalation, overdue, level)
			}
		})
	}
	check(5*day-time.Minute, false, 0)
	check(5*day+time.Minute, false, 1) // reminder to the owner
	check(7*day+time.Minute, true, 2)  // due, then the PMO told
	check(10*day-time.Minute, true, 2)
	check(10*day+time.Minute, true, 3) // the director
	h.at(12*day, func() { h.do(UpdateClose, closeDeal(plan.DealLost)) })
	d := h.run(s)

	m := d.Milestone("prospect")
	want := []struct {
		at      time.Duration
		targets []string
	}{{5 * day, []string{"cora"}}, {7 * day, []string{"pat"}}, {10 * day, []string{"dina"}}}
	if len(m.Escalated) != len(want) {
		t.Fatalf("fired %+v", m.Escalated)
	}
	for i, w := range want {
		e := m.Escalated[i]
		if !e.At.Equal(start.Add(w.at)) || !slices.Equal(e.Targets, w.targets) || e.Level != i+1 {
			t.Errorf("step %d: %+v, want at %s to %v", i, e, w.at, w.targets)
		}
	}
	var overdueAt time.Time
	for _, e := range h.rec.events {
		if e.Kind == plan.EventMilestoneOverdue {
			overdueAt = e.At
		}
	}
	if !overdueAt.Equal(start.Add(7 * day)) {
		t.Errorf("overdue recorded at %s", overdueAt)
	}
	if len(seen) != 5 {
		t.Errorf("checks ran at %v", seen)
	}
}

// TestNoEscalationWhenDoneInTime: a milestone finished before its reminder
// never escalates, and its dependent's clock starts at that moment.
func TestNoEscalationWhenDoneInTime(t *testing.T) {
	h := newHarness(t)
	h.at(4*day, func() { h.do(UpdateSubmit, submit("cora", "prospect", h.state())) })
	h.at(11*day, func() {
		d := h.state()
		if m := d.Milestone("prospect"); len(m.Escalated) != 0 || m.Overdue {
			t.Errorf("prospect escalated: %+v", m.Escalated)
		}
		if d.Next == nil || d.Next.Milestone != "needs-analysis" || !d.Next.At.Equal(start.Add(4*day+12*day)) {
			t.Errorf("next deadline %+v, want needs-analysis reminder at 16d", d.Next)
		}
		h.do(UpdateClose, closeDeal(plan.DealCancelled))
	})
	d := h.run(spec(t, "project"))
	if slices.Contains(h.rec.kinds(), plan.EventEscalation) {
		t.Errorf("escalation fired: %v", h.rec.kinds())
	}
	if d.Status != plan.DealCancelled {
		t.Errorf("status %s", d.Status)
	}
}

// TestParallelMilestones: the solution template runs the proof of concept
// and the stakeholder map side by side; the business case waits for both.
func TestParallelMilestones(t *testing.T) {
	h := newHarness(t)
	h.at(1*day, func() {
		h.do(UpdateSubmit, submit("cora", "discovery", h.state()), func(d *plan.Deal) {
			if got := d.ActiveKeys(); !slices.Equal(got, []string{"stakeholder-map", "proof-of-concept"}) {
				t.Errorf("active after discovery = %v", got)
			}
		})
	})
	h.at(3*day, func() {
		h.do(UpdateSubmit, submit("sol", "proof-of-concept", h.state()), func(d *plan.Deal) {
			if got := d.Milestone("business-case").State; got != plan.StateBlocked {
				t.Errorf("business-case %s while stakeholder-map is open", got)
			}
		})
		h.refused(UpdateSubmit, submit("sol", "business-case", h.state()), plan.CodeConflict, "stakeholder-map")
	})
	h.at(4*day, func() {
		h.do(UpdateSubmit, submit("cora", "stakeholder-map", h.state()), func(d *plan.Deal) {
			if got := d.ActiveKeys(); !slices.Equal(got, []string{"business-case"}) {
				t.Errorf("active = %v", got)
			}
		})
	})
	h.at(5*day, func() {
		h.do(UpdateSubmit, submit("sol", "business-case", h.state()))
		h.do(UpdateReview, review("ann", "business-case", plan.Approve, ""), func(d *plan.Deal) {
			if got := d.Milestone("business-case").State; got != plan.StateInReview {
				t.Errorf("policy all after one approval: %s", got)
			}
		})
		h.do(UpdateReview, review("abe", "business-case", plan.Approve, "good"), func(d *plan.Deal) {
			if got := d.Milestone("business-case").State; got != plan.StateDone {
				t.Errorf("policy all after both approvals: %s", got)
			}
		})
		h.do(UpdateClose, closeDeal(plan.DealWon))
	})
	h.run(spec(t, "solution"))
}

// TestPauseShiftsDeadlines: a three-day pause moves every open due time, and
// the escalation that would have fired during it fires three days later.
func TestPauseShiftsDeadlines(t *testing.T) {
	h := newHarness(t)
	pauseAt, resumeAt := 2*day, 5*day
	h.at(pauseAt, func() {
		h.do(UpdatePause, plan.PauseAction{Acting: plan.Acting{Actor: "pat"}, Reason: "customer budget freeze"}, func(d *plan.Deal) {
			if d.Status != plan.DealPaused || d.Next != nil {
				t.Errorf("paused: status %s next %+v", d.Status, d.Next)
			}
		})
		h.refused(UpdateSubmit, submit("cora", "prospect", h.state()), plan.CodeConflict, "paused")
	})
	h.at(resumeAt, func() {
		h.do(UpdateResume, plan.ResumeAction{Acting: plan.Acting{Actor: "pat"}}, func(d *plan.Deal) {
			if m := d.Milestone("prospect"); !m.DueAt.Equal(start.Add(7*day + 3*day)) {
				t.Errorf("due after resume %s, want start+10d", m.DueAt)
			}
		})
	})
	h.at(8*day-time.Minute, func() {
		if m := h.state().Milestone("prospect"); m.Escalation != 0 {
			t.Errorf("reminder fired before the shifted time: %+v", m.Escalated)
		}
	})
	h.at(9*day, func() { h.do(UpdateClose, closeDeal(plan.DealLost)) })
	d := h.run(spec(t, "project"))
	m := d.Milestone("prospect")
	if len(m.Escalated) != 1 || !m.Escalated[0].At.Equal(start.Add(8*day)) {
		t.Errorf("reminder fired %+v, want once at start+8d", m.Escalated)
	}
}

// TestPauseUntilResumesItself: a pause with an end date resumes the deal at
// that instant without anybody acting.
func TestPauseUntilResumesItself(t *testing.T) {
	h := newHarness(t)
	h.at(day, func() {
		h.do(UpdatePause, plan.PauseAction{Acting: plan.Acting{Actor: "pat"}, Until: start.Add(4 * day), Reason: "holiday"})
	})
	h.at(4*day+time.Minute, func() {
		d := h.state()
		if d.Status != plan.DealActive {
			t.Errorf("status %s after the pause's end", d.Status)
		}
		if m := d.Milestone("prospect"); !m.DueAt.Equal(start.Add(10 * day)) {
			t.Errorf("due %s, want start+10d", m.DueAt)
		}
		h.do(UpdateClose, closeDeal(plan.DealCancelled))
	})
	h.run(spec(t, "project"))
	if !slices.Contains(h.rec.kinds(), plan.EventDealResumed) {
		t.Errorf("no resume recorded: %v", h.rec.kinds())
	}
}

// TestPlanChangeMidDeal adds a milestone, re-dates and reassigns others and
// skips one, all in one change.
func TestPlanChangeMidDeal(t *testing.T) {
	h := newHarness(t)
	h.at(day, func() { h.do(UpdateSubmit, submit("cora", "prospect", h.state())) })
	h.at(2*day, func() {
		newDue := plan.Due{At: start.Add(30 * day)}
		h.do(UpdatePlan, plan.PlanChange{Acting: plan.Acting{Actor: "pat"}, Ops: []plan.PlanOp{
			{Op: plan.OpAdd, Milestone: &plan.MilestoneSpec{Key: "site-visit", Title: "Site visit", Role: plan.RoleSolution,
				DependsOn: []string{"prospect"}, Due: plan.Due{After: plan.Duration(5 * day)}, Checklist: []string{"Visit report"}}},
			{Op: plan.OpRedate, Key: "needs-analysis", Due: &newDue},
			{Op: plan.OpReassign, Key: "needs-analysis", Owner: "carl"},
			{Op: plan.OpSkip, Key: "quotation", Reason: "framework agreement price applies"},
		}}, func(d *plan.Deal) {
			if m := d.Milestone("site-visit"); m == nil || m.State != plan.StateActive || !m.DueAt.Equal(start.Add(7*day)) {
				t.Errorf("site-visit %+v", m)
			}
			if m := d.Milestone("needs-analysis"); !m.DueAt.Equal(start.Add(30*day)) || m.Owner != "carl" {
				t.Errorf("needs-analysis due %s owner %s", m.DueAt, m.Owner)
			}
			if d.Milestone("quotation").State != plan.StateSkipped {
				t.Error("quotation not skipped")
			}
		})
		h.refused(UpdateSubmit, submit("cora", "needs-analysis", h.state()), plan.CodeForbidden, "carl")
		h.do(UpdateSubmit, submit("carl", "needs-analysis", h.state()))
		h.refused(UpdatePlan, plan.PlanChange{Acting: plan.Acting{Actor: "pat"}, Ops: []plan.PlanOp{
			{Op: plan.OpAdd, Milestone: &plan.MilestoneSpec{Key: "loop", Title: "Loop", Role: plan.RolePMO,
				DependsOn: []string{"nope"}, Due: plan.Due{After: plan.Duration(day)}}},
		}}, plan.CodeInvalid, "nope")
		h.refused(UpdatePlan, plan.PlanChange{Acting: plan.Acting{Actor: "cora"}, Ops: []plan.PlanOp{
			{Op: plan.OpSkip, Key: "contract", Reason: "x"},
		}}, plan.CodeForbidden, "PMO")
		h.do(UpdateClose, closeDeal(plan.DealCancelled))
	})
	h.run(spec(t, "project"))
	kinds := h.rec.kinds()
	for _, k := range []plan.EventKind{plan.EventMilestoneAdded, plan.EventMilestoneRedated, plan.EventMilestoneReassign, plan.EventMilestoneSkipped} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s recorded", k)
		}
	}
}

// TestValidatorRejections: every refusal comes from the validator, names the
// problem, and leaves no history and no recorded change.
func TestValidatorRejections(t *testing.T) {
	h := newHarness(t)
	h.at(day, func() {
		d := h.state()
		h.refused(UpdateSubmit, submit("sol", "prospect", d), plan.CodeForbidden, "owner")
		h.refused(UpdateSubmit, plan.Submit{Acting: plan.Acting{Actor: "cora"}, Milestone: "prospect", Checklist: d.Milestone("prospect").Checklist[:1]},
			plan.CodeInvalid, "Contact plan agreed")
		h.refused(UpdateSubmit, submit("cora", "needs-analysis", d), plan.CodeConflict, "blocked")
		h.refused(UpdateSubmit, submit("cora", "no-such", d), plan.CodeNotFound, "no-such")
		h.refused(UpdateReview, review("ann", "prospect", plan.Approve, ""), plan.CodeConflict, "no review gate")
		h.refused(UpdatePause, plan.PauseAction{Acting: plan.Acting{Actor: "cora"}, Reason: "x"}, plan.CodeForbidden, "PMO")
		h.refused(UpdateClose, plan.CloseAction{Acting: plan.Acting{Actor: "pat"}, Outcome: "maybe", Reason: "x"}, plan.CodeInvalid, "won, lost or cancelled")
		h.refused(UpdateResume, plan.ResumeAction{Acting: plan.Acting{Actor: "pat"}}, plan.CodeConflict, "not paused")
		h.refused(UpdateSubmit, plan.Submit{Milestone: "prospect"}, plan.CodeInvalid, "acting user")
		h.do(UpdateSubmit, submit("cora", "prospect", d))
		h.do(UpdateSubmit, submit("cora", "needs-analysis", d))
		h.do(UpdateSubmit, submit("sol", "solution-design", d))
		h.refused(UpdateSubmit, submit("sol", "solution-design", d), plan.CodeConflict, "already submitted")
		h.refused(UpdateReview, review("sol", "solution-design", plan.Approve, ""), plan.CodeForbidden, "not a reviewer")
		h.refused(UpdateReview, review("ann", "solution-design", plan.Reject, ""), plan.CodeInvalid, "comment")
		h.do(UpdateReview, review("ann", "solution-design", plan.Reject, "missing costs"))
		h.do(UpdateSubmit, submit("sol", "solution-design", d))
		// A new round: the reviewer who rejected round 1 may approve round 2.
		h.do(UpdateReview, review("ann", "solution-design", plan.Approve, ""), func(d *plan.Deal) {
			if m := d.Milestone("solution-design"); m.State != plan.StateDone || m.Round != 2 {
				t.Errorf("solution-design %s round %d", m.State, m.Round)
			}
		})
	})
	h.at(2*day, func() { h.do(UpdateClose, closeDeal(plan.DealLost)) })
	h.run(spec(t, "project"))
}

// TestSecondReviewSameRound: under policy all, a reviewer who already voted
// cannot vote again in the same round.
func TestSecondReviewSameRound(t *testing.T) {
	h := newHarness(t)
	h.at(day, func() {
		h.do(UpdateSubmit, submit("cora", "discovery", h.state()))
		h.do(UpdateSubmit, submit("sol", "proof-of-concept", h.state()))
		h.do(UpdateSubmit, submit("cora", "stakeholder-map", h.state()))
		h.do(UpdateSubmit, submit("sol", "business-case", h.state()))
		h.do(UpdateReview, review("ann", "business-case", plan.Approve, ""))
		h.refused(UpdateReview, review("ann", "business-case", plan.Approve, ""), plan.CodeConflict, "already reviewed")
		h.do(UpdateClose, closeDeal(plan.DealCancelled))
	})
	h.run(spec(t, "solution"))
}

// TestSellerAheadOfBuyer: a quotation done while the buyer has only met a
// non-decision-maker raises a warning and tells the PMO.
func TestSellerAheadOfBuyer(t *testing.T) {
	h := newHarness(t)
	h.at(day, func() {
		h.do(UpdateBuyerStage, plan.BuyerStageAction{Acting: plan.Acting{Actor: "cora"}, Stage: plan.BuyerMetNonDecisionMaker})
		for _, step := range []struct{ who, key string }{{"cora", "prospect"}, {"cora", "needs-analysis"}, {"sol", "solution-design"}} {
			h.do(UpdateSubmit, submit(step.who, step.key, h.state()))
		}
		h.do(UpdateReview, review("ann", "solution-design", plan.Approve, ""))
		h.do(UpdateSubmit, submit("sol", "solution-submission", h.state()))
		h.do(UpdateSubmit, submit("cora", "quotation", h.state()), func(d *plan.Deal) {
			var q *plan.Warning
			for i := range d.Warnings {
				if d.Warnings[i].Milestone == "quotation" {
					q = &d.Warnings[i]
				}
			}
			if q == nil || q.Expected != plan.BuyerEvaluating || q.Actual != plan.BuyerMetNonDecisionMaker || q.Resolved {
				t.Errorf("warnings %+v", d.Warnings)
			}
		})
		h.do(UpdateBuyerStage, plan.BuyerStageAction{Acting: plan.Acting{Actor: "cora"}, Stage: plan.BuyerNegotiating}, func(d *plan.Deal) {
			for _, w := range d.Warnings {
				if !w.Resolved {
					t.Errorf("warning %+v not resolved once the buyer negotiates", w)
				}
			}
		})
		h.do(UpdateClose, closeDeal(plan.DealLost))
	})
	h.run(spec(t, "project"))
	var warned []string
	for _, e := range h.rec.events {
		if e.Kind == plan.EventSellerAhead && e.Milestone == "quotation" {
			warned = e.Notify
		}
	}
	if !slices.Equal(warned, []string{"pat"}) {
		t.Errorf("seller-ahead notification went to %v, want the PMO", warned)
	}
}

// TestContinueAsNewKeepsState: when the server suggests continue-as-new, the
// run hands over the deal intact and the next run carries on from it.
func TestContinueAsNewKeepsState(t *testing.T) {
	h := newHarness(t)
	h.at(day, func() {
		h.do(UpdateSubmit, submit("cora", "prospect", h.state()))
		h.env.SetContinueAsNewSuggested(true)
		h.do(UpdateBuyerStage, plan.BuyerStageAction{Acting: plan.Acting{Actor: "cora"}, Stage: plan.BuyerContactAdded})
	})
	h.env.ExecuteWorkflow(DealWorkflowName, DealInput{Spec: ptr(spec(t, "project"))})
	err := h.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next DealInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Spec != nil || next.Resume == nil {
		t.Fatalf("continued with %+v", next)
	}
	d := next.Resume.Deal
	recorded := int64(len(h.rec.events))
	if d.Milestone("prospect").State != plan.StateDone || d.BuyerStage != plan.BuyerContactAdded {
		t.Errorf("carried state: prospect %s, buyer %s", d.Milestone("prospect").State, d.BuyerStage)
	}
	// What the run had not recorded travels with the state, and nothing else:
	// recorded + carried events are exactly the deal's events.
	if pending := next.Resume.Pending; recorded+int64(len(pending)) != d.Seq || len(pending) == 0 || pending[0].Seq != recorded+1 {
		t.Errorf("recorded %d, carried %d events, deal seq %d", recorded, len(pending), d.Seq)
	}
	if len(next.Resume.Updates) != 2 {
		t.Errorf("carried update IDs %v", next.Resume.Updates)
	}

	// The next run resumes from the carried state, recognises a retried
	// update from the previous run, and finishes the deal.
	h2 := newHarness(t)
	h2.at(day, func() {
		h2.env.UpdateWorkflow(UpdateBuyerStage, next.Resume.Updates[1], &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("retried update rejected: %v", err) },
			OnComplete: func(_ any, err error) {
				if err != nil {
					t.Errorf("retried update failed: %v", err)
				}
			},
		}, plan.BuyerStageAction{Acting: plan.Acting{Actor: "cora"}, Stage: plan.BuyerContactAdded})
		h2.do(UpdateClose, closeDeal(plan.DealLost))
	})
	h2.env.ExecuteWorkflow(DealWorkflowName, next)
	var final plan.Deal
	if err := h2.env.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Status != plan.DealLost || final.Milestone("prospect").State != plan.StateDone {
		t.Errorf("final %s, prospect %s", final.Status, final.Milestone("prospect").State)
	}
	// The new run records the carried events first, then its own, with no
	// gap; the retried update is not applied again.
	for i, e := range h2.rec.events {
		if e.Seq != recorded+int64(i)+1 {
			t.Fatalf("new run's event %d has seq %d, want %d", i, e.Seq, recorded+int64(i)+1)
		}
	}
	if n := count(h2.rec.kinds(), plan.EventBuyerStage); n != 1 {
		t.Errorf("buyer stage recorded %d times by the new run, want once (the carried event)", n)
	}
	if len(final.Buyer) != 1 {
		t.Errorf("the retried update was applied again: %d buyer entries", len(final.Buyer))
	}
}

func count[T comparable](xs []T, x T) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// TestDeadlinesFireWhileRecordingIsDown: while the store is unreachable the
// deal's clock keeps running — the reminder fires on time and shows in the
// live state — and once the store is back every event is recorded once.
func TestDeadlinesFireWhileRecordingIsDown(t *testing.T) {
	h := newHarness(t)
	// Three minutes down around the reminder: the test environment gives up
	// retrying after ten attempts (~4 minutes), a real server never does.
	h.at(5*day-time.Minute, func() {
		h.rec.down.Store(true)
		// A change whose recording is now stuck in flight.
		h.do(UpdateBuyerStage, plan.BuyerStageAction{Acting: plan.Acting{Actor: "cora"}, Stage: plan.BuyerContactAdded})
	})
	h.at(5*day+time.Minute, func() {
		m := h.state().Milestone("prospect")
		if m.Escalation != 1 || len(m.Escalated) != 1 || !m.Escalated[0].At.Equal(start.Add(5*day)) {
			t.Errorf("with the store down, the reminder did not fire on time: %+v", m.Escalated)
		}
		if slices.Contains(h.rec.kinds(), plan.EventEscalation) {
			t.Error("the reminder was recorded while the store was down")
		}
	})
	h.at(5*day+2*time.Minute, func() { h.rec.down.Store(false) })
	h.at(6*day, func() {
		if !slices.Contains(h.rec.kinds(), plan.EventEscalation) {
			t.Error("the reminder was not recorded once the store came back")
		}
		h.do(UpdateClose, closeDeal(plan.DealLost))
	})
	h.run(spec(t, "project")) // checks every event was recorded exactly once, in order
}
