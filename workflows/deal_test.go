package workflows

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dealflow/workflows/deal"
)

// TestProjectDealToWon drives the six milestones of the project template over
// simulated weeks, with one rejection of the solution design.
func TestProjectDealToWon(t *testing.T) {
	h := newHarness(t)
	s := spec(t, "project")
	h.at(2*day, func() {
		h.do(UpdateSubmit, submit("cora", "prospect", h.state()), func(d *deal.Deal) {
			if got := d.ActiveKeys(); !slices.Equal(got, []string{"needs-analysis"}) {
				t.Errorf("after prospect, active = %v", got)
			}
			if m := d.Milestone("needs-analysis"); !m.DueAt.Equal(start.Add(2*day + 14*day)) {
				t.Errorf("needs-analysis due %s, want activation + 14d", m.DueAt)
			}
		})
	})
	h.at(day, func() {
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerContactAdded})
	})
	h.at(3*day, func() {
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerMetDecisionMaker})
	})
	h.at(7*day, func() {
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "pat"}, Stage: deal.BuyerNeedsConfirmed})
	})
	h.at(8*day, func() { h.do(UpdateSubmit, submit("cora", "needs-analysis", h.state())) })
	h.at(15*day, func() {
		h.do(UpdateSubmit, submit("sol", "solution-design", h.state()), func(d *deal.Deal) {
			m := d.Milestone("solution-design")
			if m.State != deal.StateSubmitted || !slices.Equal(m.Reviewers, []string{"ann", "abe"}) {
				t.Errorf("solution-design %s reviewers %v", m.State, m.Reviewers)
			}
		})
	})
	h.at(16*day, func() {
		h.do(UpdateReview, review("ann", "solution-design", deal.Reject, "price the integration work"), func(d *deal.Deal) {
			if m := d.Milestone("solution-design"); m.State != deal.StateActive || m.Round != 2 {
				t.Errorf("after rejection: %s round %d", m.State, m.Round)
			}
		})
	})
	h.at(18*day, func() { h.do(UpdateSubmit, submit("sol", "solution-design", h.state())) })
	h.at(19*day, func() { h.do(UpdateReview, review("abe", "solution-design", deal.Approve, "")) })
	h.at(21*day, func() { h.do(UpdateSubmit, submit("sol", "solution-submission", h.state())) })
	h.at(22*day, func() {
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerEvaluating})
	})
	h.at(30*day, func() { h.do(UpdateSubmit, submit("cora", "quotation", h.state())) })
	h.at(31*day, func() {
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerNegotiating})
	})
	h.at(40*day, func() { h.do(UpdateSubmit, submit("pat", "contract", h.state())) })

	d := h.run(s)
	if d.Status != deal.DealWon || d.Outcome == nil || !d.Outcome.At.Equal(start.Add(40*day)) {
		t.Fatalf("status %s outcome %+v", d.Status, d.Outcome)
	}
	if got := h.env.Now(); !got.Equal(start.Add(40 * day)) {
		t.Errorf("workflow ended at %s, want start + 40d", got)
	}
	for _, m := range d.Milestones {
		if m.State != deal.StateDone {
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
	if n := count(kinds, deal.EventMilestoneDone); n != 6 {
		t.Errorf("%d milestone_done events, want 6", n)
	}
	if n := count(kinds, deal.EventReviewRejected); n != 1 {
		t.Errorf("%d review_rejected events, want 1", n)
	}
	if kinds[len(kinds)-1] != deal.EventDealClosed {
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
	h.at(12*day, func() { h.do(UpdateClose, closeDeal(deal.DealLost)) })
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
		if e.Kind == deal.EventMilestoneOverdue {
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
		h.do(UpdateClose, closeDeal(deal.DealCancelled))
	})
	d := h.run(spec(t, "project"))
	if slices.Contains(h.rec.kinds(), deal.EventEscalation) {
		t.Errorf("escalation fired: %v", h.rec.kinds())
	}
	if d.Status != deal.DealCancelled {
		t.Errorf("status %s", d.Status)
	}
}

// TestParallelMilestones: the solution template runs the proof of concept
// and the stakeholder map side by side; the business case waits for both.
func TestParallelMilestones(t *testing.T) {
	h := newHarness(t)
	h.at(1*day, func() {
		h.do(UpdateSubmit, submit("cora", "discovery", h.state()), func(d *deal.Deal) {
			if got := d.ActiveKeys(); !slices.Equal(got, []string{"stakeholder-map", "proof-of-concept"}) {
				t.Errorf("active after discovery = %v", got)
			}
		})
	})
	h.at(3*day, func() {
		h.do(UpdateSubmit, submit("sol", "proof-of-concept", h.state()), func(d *deal.Deal) {
			if got := d.Milestone("business-case").State; got != deal.StateBlocked {
				t.Errorf("business-case %s while stakeholder-map is open", got)
			}
		})
		h.refused(UpdateSubmit, submit("sol", "business-case", h.state()), deal.CodeConflict, "stakeholder-map")
	})
	h.at(4*day, func() {
		h.do(UpdateSubmit, submit("cora", "stakeholder-map", h.state()), func(d *deal.Deal) {
			if got := d.ActiveKeys(); !slices.Equal(got, []string{"business-case"}) {
				t.Errorf("active = %v", got)
			}
		})
	})
	h.at(5*day, func() {
		h.do(UpdateSubmit, submit("sol", "business-case", h.state()))
		h.do(UpdateReview, review("ann", "business-case", deal.Approve, ""), func(d *deal.Deal) {
			if got := d.Milestone("business-case").State; got != deal.StateInReview {
				t.Errorf("policy all after one approval: %s", got)
			}
		})
		h.do(UpdateReview, review("abe", "business-case", deal.Approve, "good"), func(d *deal.Deal) {
			if got := d.Milestone("business-case").State; got != deal.StateDone {
				t.Errorf("policy all after both approvals: %s", got)
			}
		})
		h.do(UpdateClose, closeDeal(deal.DealWon))
	})
	h.run(spec(t, "solution"))
}

// TestPauseShiftsDeadlines: a three-day pause moves every open due time, and
// the escalation that would have fired during it fires three days later.
func TestPauseShiftsDeadlines(t *testing.T) {
	h := newHarness(t)
	pauseAt, resumeAt := 2*day, 5*day
	h.at(pauseAt, func() {
		h.do(UpdatePause, deal.PauseAction{Acting: deal.Acting{Actor: "pat"}, Reason: "customer budget freeze"}, func(d *deal.Deal) {
			if d.Status != deal.DealPaused || d.Next != nil {
				t.Errorf("paused: status %s next %+v", d.Status, d.Next)
			}
		})
		h.refused(UpdateSubmit, submit("cora", "prospect", h.state()), deal.CodeConflict, "paused")
	})
	h.at(resumeAt, func() {
		h.do(UpdateResume, deal.ResumeAction{Acting: deal.Acting{Actor: "pat"}}, func(d *deal.Deal) {
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
	h.at(9*day, func() { h.do(UpdateClose, closeDeal(deal.DealLost)) })
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
		h.do(UpdatePause, deal.PauseAction{Acting: deal.Acting{Actor: "pat"}, Until: start.Add(4 * day), Reason: "holiday"})
	})
	h.at(4*day+time.Minute, func() {
		d := h.state()
		if d.Status != deal.DealActive {
			t.Errorf("status %s after the pause's end", d.Status)
		}
		if m := d.Milestone("prospect"); !m.DueAt.Equal(start.Add(10 * day)) {
			t.Errorf("due %s, want start+10d", m.DueAt)
		}
		h.do(UpdateClose, closeDeal(deal.DealCancelled))
	})
	h.run(spec(t, "project"))
	if !slices.Contains(h.rec.kinds(), deal.EventDealResumed) {
		t.Errorf("no resume recorded: %v", h.rec.kinds())
	}
}

// TestPlanChangeMidDeal adds a milestone, re-dates and reassigns others and
// skips one, all in one change.
func TestPlanChangeMidDeal(t *testing.T) {
	h := newHarness(t)
	h.at(day, func() { h.do(UpdateSubmit, submit("cora", "prospect", h.state())) })
	h.at(2*day, func() {
		newDue := deal.Due{At: start.Add(30 * day)}
		h.do(UpdatePlan, deal.PlanChange{Acting: deal.Acting{Actor: "pat"}, Ops: []deal.PlanOp{
			{Op: deal.OpAdd, Milestone: &deal.MilestoneSpec{Key: "site-visit", Title: "Site visit", Role: deal.RoleSolution,
				DependsOn: []string{"prospect"}, Due: deal.Due{After: deal.Duration(5 * day)}, Checklist: []string{"Visit report"}}},
			{Op: deal.OpRedate, Key: "needs-analysis", Due: &newDue},
			{Op: deal.OpReassign, Key: "needs-analysis", Owner: "carl"},
			{Op: deal.OpSkip, Key: "quotation", Reason: "framework agreement price applies"},
		}}, func(d *deal.Deal) {
			if m := d.Milestone("site-visit"); m == nil || m.State != deal.StateActive || !m.DueAt.Equal(start.Add(7*day)) {
				t.Errorf("site-visit %+v", m)
			}
			if m := d.Milestone("needs-analysis"); !m.DueAt.Equal(start.Add(30*day)) || m.Owner != "carl" {
				t.Errorf("needs-analysis due %s owner %s", m.DueAt, m.Owner)
			}
			if d.Milestone("quotation").State != deal.StateSkipped {
				t.Error("quotation not skipped")
			}
		})
		h.refused(UpdateSubmit, submit("cora", "needs-analysis", h.state()), deal.CodeForbidden, "carl")
		h.do(UpdateSubmit, submit("carl", "needs-analysis", h.state()))
		h.refused(UpdatePlan, deal.PlanChange{Acting: deal.Acting{Actor: "pat"}, Ops: []deal.PlanOp{
			{Op: deal.OpAdd, Milestone: &deal.MilestoneSpec{Key: "loop", Title: "Loop", Role: deal.RolePMO,
				DependsOn: []string{"nope"}, Due: deal.Due{After: deal.Duration(day)}}},
		}}, deal.CodeInvalid, "nope")
		h.refused(UpdatePlan, deal.PlanChange{Acting: deal.Acting{Actor: "cora"}, Ops: []deal.PlanOp{
			{Op: deal.OpSkip, Key: "contract", Reason: "x"},
		}}, deal.CodeForbidden, "PMO")
		h.do(UpdateClose, closeDeal(deal.DealCancelled))
	})
	h.run(spec(t, "project"))
	kinds := h.rec.kinds()
	for _, k := range []deal.EventKind{deal.EventMilestoneAdded, deal.EventMilestoneRedated, deal.EventMilestoneReassign, deal.EventMilestoneSkipped} {
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
		h.refused(UpdateSubmit, submit("sol", "prospect", d), deal.CodeForbidden, "owner")
		h.refused(UpdateSubmit, deal.Submit{Acting: deal.Acting{Actor: "cora"}, Milestone: "prospect", Checklist: d.Milestone("prospect").Checklist[:1]},
			deal.CodeInvalid, "Contact plan agreed")
		h.refused(UpdateSubmit, submit("cora", "needs-analysis", d), deal.CodeConflict, "blocked")
		h.refused(UpdateSubmit, submit("cora", "no-such", d), deal.CodeNotFound, "no-such")
		h.refused(UpdateReview, review("ann", "prospect", deal.Approve, ""), deal.CodeConflict, "no review gate")
		h.refused(UpdatePause, deal.PauseAction{Acting: deal.Acting{Actor: "cora"}, Reason: "x"}, deal.CodeForbidden, "PMO")
		h.refused(UpdateClose, deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: "maybe", Reason: "x"}, deal.CodeInvalid, "won, lost or cancelled")
		h.refused(UpdateResume, deal.ResumeAction{Acting: deal.Acting{Actor: "pat"}}, deal.CodeConflict, "not paused")
		h.refused(UpdateSubmit, deal.Submit{Milestone: "prospect"}, deal.CodeInvalid, "acting user")
		h.do(UpdateSubmit, submit("cora", "prospect", d))
		h.do(UpdateSubmit, submit("cora", "needs-analysis", d))
		h.do(UpdateSubmit, submit("sol", "solution-design", d))
		h.refused(UpdateSubmit, submit("sol", "solution-design", d), deal.CodeConflict, "already submitted")
		h.refused(UpdateReview, review("sol", "solution-design", deal.Approve, ""), deal.CodeForbidden, "not a reviewer")
		h.refused(UpdateReview, review("ann", "solution-design", deal.Reject, ""), deal.CodeInvalid, "comment")
		h.do(UpdateReview, review("ann", "solution-design", deal.Reject, "missing costs"))
		h.do(UpdateSubmit, submit("sol", "solution-design", d))
		// A new round: the reviewer who rejected round 1 may approve round 2.
		h.do(UpdateReview, review("ann", "solution-design", deal.Approve, ""), func(d *deal.Deal) {
			if m := d.Milestone("solution-design"); m.State != deal.StateDone || m.Round != 2 {
				t.Errorf("solution-design %s round %d", m.State, m.Round)
			}
		})
	})
	h.at(2*day, func() { h.do(UpdateClose, closeDeal(deal.DealLost)) })
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
		h.do(UpdateReview, review("ann", "business-case", deal.Approve, ""))
		h.refused(UpdateReview, review("ann", "business-case", deal.Approve, ""), deal.CodeConflict, "already reviewed")
		h.do(UpdateClose, closeDeal(deal.DealCancelled))
	})
	h.run(spec(t, "solution"))
}

// TestSellerAheadOfBuyer: a quotation done while the buyer has only met a
// non-decision-maker raises a warning and tells the PMO.
func TestSellerAheadOfBuyer(t *testing.T) {
	h := newHarness(t)
	h.at(day, func() {
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerMetNonDecisionMaker})
		for _, step := range []struct{ who, key string }{{"cora", "prospect"}, {"cora", "needs-analysis"}, {"sol", "solution-design"}} {
			h.do(UpdateSubmit, submit(step.who, step.key, h.state()))
		}
		h.do(UpdateReview, review("ann", "solution-design", deal.Approve, ""))
		h.do(UpdateSubmit, submit("sol", "solution-submission", h.state()))
		h.do(UpdateSubmit, submit("cora", "quotation", h.state()), func(d *deal.Deal) {
			var q *deal.Warning
			for i := range d.Warnings {
				if d.Warnings[i].Milestone == "quotation" {
					q = &d.Warnings[i]
				}
			}
			if q == nil || q.Expected != deal.BuyerEvaluating || q.Actual != deal.BuyerMetNonDecisionMaker || q.Resolved {
				t.Errorf("warnings %+v", d.Warnings)
			}
		})
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerNegotiating}, func(d *deal.Deal) {
			for _, w := range d.Warnings {
				if !w.Resolved {
					t.Errorf("warning %+v not resolved once the buyer negotiates", w)
				}
			}
		})
		h.do(UpdateClose, closeDeal(deal.DealLost))
	})
	h.run(spec(t, "project"))
	var warned []string
	for _, e := range h.rec.events {
		if e.Kind == deal.EventSellerAhead && e.Milestone == "quotation" {
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
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerContactAdded})
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
	if d.Milestone("prospect").State != deal.StateDone || d.BuyerStage != deal.BuyerContactAdded {
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
		}, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerContactAdded})
		h2.do(UpdateClose, closeDeal(deal.DealLost))
	})
	h2.env.ExecuteWorkflow(DealWorkflowName, next)
	var final deal.Deal
	if err := h2.env.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Status != deal.DealLost || final.Milestone("prospect").State != deal.StateDone {
		t.Errorf("final %s, prospect %s", final.Status, final.Milestone("prospect").State)
	}
	// The new run records the carried events first, then its own, with no
	// gap; the retried update is not applied again.
	for i, e := range h2.rec.events {
		if e.Seq != recorded+int64(i)+1 {
			t.Fatalf("new run's event %d has seq %d, want %d", i, e.Seq, recorded+int64(i)+1)
		}
	}
	if n := count(h2.rec.kinds(), deal.EventBuyerStage); n != 1 {
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
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerContactAdded})
	})
	h.at(5*day+time.Minute, func() {
		m := h.state().Milestone("prospect")
		if m.Escalation != 1 || len(m.Escalated) != 1 || !m.Escalated[0].At.Equal(start.Add(5*day)) {
			t.Errorf("with the store down, the reminder did not fire on time: %+v", m.Escalated)
		}
		if slices.Contains(h.rec.kinds(), deal.EventEscalation) {
			t.Error("the reminder was recorded while the store was down")
		}
	})
	h.at(5*day+2*time.Minute, func() { h.rec.down.Store(false) })
	h.at(6*day, func() {
		if !slices.Contains(h.rec.kinds(), deal.EventEscalation) {
			t.Error("the reminder was not recorded once the store came back")
		}
		h.do(UpdateClose, closeDeal(deal.DealLost))
	})
	h.run(spec(t, "project")) // checks every event was recorded exactly once, in order
}
