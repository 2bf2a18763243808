package deal

import (
	"slices"
	"testing"
	"time"
)

// toDesign drives a project deal to solution-design: prospect done at
// t0+1d, needs-analysis done at t0+2d, so solution-design is active from
// t0+2d.
func toDesign(t *testing.T, d *Deal) {
	t.Helper()
	complete(t, d, "prospect", at("1d"))
	complete(t, d, "needs-analysis", at("2d"))
}

func TestSubmitWithoutReview(t *testing.T) {
	d := projectDeal(t)
	evs := mustApply(t, d, submission(d, "prospect", "cora"), at("1d"))
	want := []EventKind{EventMilestoneSubmitted, EventMilestoneDone, EventSellerAhead, EventMilestoneActivated}
	if !slices.Equal(kinds(evs), want) {
		t.Fatalf("events %v, want %v", kinds(evs), want)
	}
	p := d.Milestone("prospect")
	if p.State != StateDone || !p.DoneAt.Equal(at("1d")) || p.Submission == nil || p.Submission.By != "cora" || len(p.Submission.Evidence) != 1 {
		t.Errorf("prospect %s done %s submission %+v", p.State, p.DoneAt, p.Submission)
	}
	if e := evs[1]; e.Milestone != "prospect" || e.Actor != "cora" || e.Data["round"] != "1" || e.Message != "Prospect identified is done (round 1)" {
		t.Errorf("done event %+v", e)
	}
	na := d.Milestone("needs-analysis")
	if na.State != StateActive || !na.ActivatedAt.Equal(at("1d")) || !na.DueAt.Equal(at("15d")) || na.Round != 1 {
		t.Errorf("needs-analysis %s activated %s due %s round %d; want active at t0+1d due t0+15d", na.State, na.ActivatedAt, na.DueAt, na.Round)
	}
	if e := evs[3]; e.Milestone != "needs-analysis" || !slices.Equal(e.Notify, []string{"cora"}) {
		t.Errorf("activation event %+v", e)
	}
	if !slices.Equal(d.ActiveKeys(), []string{"needs-analysis"}) {
		t.Errorf("active %v", d.ActiveKeys())
	}
}

func TestSubmitWithReview(t *testing.T) {
	d := projectDeal(t)
	toDesign(t, d)
	evs := mustApply(t, d, submission(d, "solution-design", "sol"), at("5d"))
	m := d.Milestone("solution-design")
	if m.State != StateSubmitted || !slices.Equal(m.Reviewers, []string{"ann", "abe"}) || m.Round != 1 {
		t.Fatalf("solution-design %s reviewers %v round %d", m.State, m.Reviewers, m.Round)
	}
	if len(evs) != 1 {
		t.Fatalf("events %v", kinds(evs))
	}
	if e := evs[0]; e.Kind != EventMilestoneSubmitted || !slices.Equal(e.Notify, []string{"ann", "abe"}) || e.Data["round"] != "1" ||
		e.Message != "sol submitted Solution design for review (round 1); reviewers: ann, abe" {
		t.Errorf("submitted event %+v", e)
	}
	if d.Milestone("solution-submission").State != StateBlocked {
		t.Error("solution-submission activated before the review passed")
	}
	// Submitting again while it waits for review is a conflict.
	wantRefused(t, d, submission(d, "solution-design", "sol"), at("5d"), CodeConflict, "solution-design round 1 is already submitted")
}

// TestRoundReviewers: nobody reviews their own work unless nobody else is
// listed.
func TestRoundReviewers(t *testing.T) {
	tests := []struct {
		name      string
		approvers []string
		submitter string
		want      []string
	}{
		{"owner submits", []string{"ann", "abe"}, "sol", []string{"ann", "abe"}},
		{"owner is an approver", []string{"sol", "ann"}, "sol", []string{"ann"}},
		{"owner is the only approver", []string{"sol"}, "sol", []string{"sol"}},
		{"PMO submits for the owner", []string{"pat", "ann", "sol"}, "pat", []string{"ann"}},
		{"PMO and owner are the only approvers", []string{"pat", "sol"}, "pat", []string{"pat", "sol"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := projectSpec(t)
			s.Team.Approvers = tt.approvers
			d := startDeal(t, s)
			toDesign(t, d)
			mustApply(t, d, submission(d, "solution-design", tt.submitter), at("5d"))
			if got := d.Milestone("solution-design").Reviewers; !slices.Equal(got, tt.want) {
				t.Errorf("reviewers %v, want %v", got, tt.want)
			}
		})
	}
}

func TestApproveUnderAny(t *testing.T) {
	d := projectDeal(t)
	toDesign(t, d)
	mustApply(t, d, submission(d, "solution-design", "sol"), at("5d"))
	evs := mustApply(t, d, approve("solution-design", "abe"), at("6d"))
	if want := []EventKind{EventReviewApproved, EventMilestoneDone, EventMilestoneActivated}; !slices.Equal(kinds(evs), want) {
		t.Fatalf("events %v, want %v", kinds(evs), want)
	}
	if e := evs[0]; e.Actor != "abe" || e.Data["decision"] != "approve" || e.Data["round"] != "1" || e.Message != "abe approved Solution design round 1" {
		t.Errorf("approved event %+v", e)
	}
	m := d.Milestone("solution-design")
	if m.State != StateDone || !m.DoneAt.Equal(at("6d")) || len(m.Reviews) != 1 || m.Reviews[0] != (Review{Round: 1, By: "abe", Decision: Approve, At: at("6d")}) {
		t.Errorf("solution-design %s done %s reviews %+v", m.State, m.DoneAt, m.Reviews)
	}
	if d.Milestone("solution-submission").State != StateActive {
		t.Error("solution-submission not activated")
	}
	// The other reviewer is too late: the milestone is done.
	wantRefused(t, d, approve("solution-design", "ann"), at("6d"), CodeConflict, "solution-design is done; there is nothing to review")
}

func TestApproveUnderAll(t *testing.T) {
	s := projectSpec(t)
	s.Plan.Milestones[2].Review.Policy = PolicyAll
	d := startDeal(t, s)
	toDesign(t, d)
	mustApply(t, d, submission(d, "solution-design", "sol"), at("5d"))
	m := d.Milestone("solution-design")

	evs := mustApply(t, d, approve("solution-design", "ann"), at("6d"))
	if !slices.Equal(kinds(evs), []EventKind{EventReviewApproved}) || m.State != StateInReview {
		t.Fatalf("after one of two approvals: %s, events %v", m.State, kinds(evs))
	}
	wantRefused(t, d, approve("solution-design", "ann"), at("6d"), CodeConflict, "ann already reviewed solution-design round 1")
	wantRefused(t, d, submission(d, "solution-design", "sol"), at("6d"), CodeConflict, "already submitted")

	evs = mustApply(t, d, approve("solution-design", "abe"), at("7d"))
	if m.State != StateDone || !m.DoneAt.Equal(at("7d")) || evs[1].Kind != EventMilestoneDone || evs[1].Actor != "abe" {
		t.Errorf("after both approvals: %s done %s events %v", m.State, m.DoneAt, kinds(evs))
	}
}

func TestRejectSendsWorkBack(t *testing.T) {
	s := projectSpec(t)
	s.Plan.Milestones[2].Review.Policy = PolicyAll
	d := startDeal(t, s)
	toDesign(t, d)
	mustApply(t, d, submission(d, "solution-design", "sol"), at("5d"))
	mustApply(t, d, approve("solution-design", "ann"), at("5d"))
	m := d.Milestone("solution-design")

	wantRefused(t, d, reject("solution-design", "abe", "  "), at("6d"), CodeInvalid, "comment is required when rejecting")
	evs := mustApply(t, d, reject("solution-design", "abe", "pricing scope missing"), at("6d"))
	if !slices.Equal(kinds(evs), []EventKind{EventReviewRejected}) {
		t.Fatalf("events %v", kinds(evs))
	}
	if e := evs[0]; !slices.Equal(e.Notify, []string{"sol"}) || e.Data["comment"] != "pricing scope missing" || e.Data["round"] != "1" ||
		e.Message != "abe rejected Solution design round 1: pricing scope missing" {
		t.Errorf("rejected event %+v", e)
	}
	if m.State != StateActive || m.Round != 2 || m.Submission != nil || m.Reviewers != nil || len(m.Reviews) != 2 {
		t.Fatalf("after rejection: %s round %d submission %v reviewers %v reviews %d", m.State, m.Round, m.Submission, m.Reviewers, len(m.Reviews))
	}
	wantRefused(t, d, approve("solution-design", "ann"), at("6d"), CodeConflict, "solution-design is active; there is nothing to review")

	// Round 2: both reviewers vote afresh, the rejecting one included.
	evs = mustApply(t, d, submission(d, "solution-design", "sol"), at("8d"))
	if evs[0].Data["round"] != "2" || m.State != StateSubmitted || !slices.Equal(m.Reviewers, []string{"ann", "abe"}) {
		t.Fatalf("round 2 submission: %s reviewers %v data %v", m.State, m.Reviewers, evs[0].Data)
	}
	mustApply(t, d, approve("solution-design", "abe"), at("9d"))
	evs = mustApply(t, d, approve("solution-design", "ann"), at("9d"))
	if m.State != StateDone || eventOf(t, evs, EventMilestoneDone).Data["round"] != "2" {
		t.Errorf("after round 2: %s, events %v", m.State, kinds(evs))
	}
	if got := len(m.approvals()); got != 2 {
		t.Errorf("round 2 approvals %d, want 2", got)
	}
}

func TestRefusedActions(t *testing.T) {
	// design returns a project deal with solution-design submitted by sol at t0+5d.
	design := func(t *testing.T) *Deal {
		d := projectDeal(t)
		toDesign(t, d)
		mustApply(t, d, submission(d, "solution-design", "sol"), at("5d"))
		return d
	}
	fresh := projectDeal
	tests := []struct {
		name   string
		deal   func(t *testing.T) *Deal
		action func(d *Deal) Action
		code   ErrorCode
		want   []string
	}{
		{"no actor", fresh, func(d *Deal) Action { return submission(d, "prospect", " ") },
			CodeInvalid, []string{"the acting user is missing"}},
		{"unknown milestone", fresh, func(d *Deal) Action { return submission(d, "nope", "cora") },
			CodeNotFound, []string{`no milestone "nope" in this deal`, "prospect, needs-analysis, solution-design"}},
		{"wrong user submits", fresh, func(d *Deal) Action { return submission(d, "prospect", "sol") },
			CodeForbidden, []string{"only the owner of prospect (cora) or the PMO (pat) can submit it"}},
		{"blocked milestone", fresh, func(d *Deal) Action { return submission(d, "needs-analysis", "cora") },
			CodeConflict, []string{"needs-analysis is blocked: it waits for prospect"}},
		{"missing checklist item", fresh, func(d *Deal) Action {
			s := submission(d, "prospect", "cora")
			s.Checklist = s.Checklist[:1]
			return s
		}, CodeInvalid, []string{`checklist incomplete for prospect: confirm "Contact plan agreed with the PMO"`}},
		{"unknown checklist item", fresh, func(d *Deal) Action {
			s := submission(d, "prospect", "cora")
			s.Checklist = append(s.Checklist, "Lunch booked")
			return s
		}, CodeInvalid, []string{`checklist item "Lunch booked" is not part of prospect's output standard`, `"Customer background researched"`}},
		{"empty evidence", fresh, func(d *Deal) Action {
			s := submission(d, "prospect", "cora")
			s.Evidence = []string{" "}
			return s
		}, CodeInvalid, []string{"evidence links cannot be empty"}},
		{"done milestone", design, func(d *Deal) Action { return submission(d, "prospect", "cora") },
			CodeConflict, []string{"prospect is done; only an active milestone can be submitted"}},
		{"review without a gate", fresh, func(d *Deal) Action { return approve("prospect", "ann") },
			CodeConflict, []string{"prospect has no review gate"}},
		{"review before submission", func(t *testing.T) *Deal {
			d := projectDeal(t)
			toDesign(t, d)
			return d
		}, func(d *Deal) Action { return approve("solution-design", "ann") },
			CodeConflict, []string{"solution-design is active; there is nothing to review until it is submitted"}},
		{"non-reviewer reviews", design, func(d *Deal) Action { return approve("solution-design", "dina") },
			CodeForbidden, []string{"dina is not a reviewer of solution-design round 1; its reviewers are ann, abe"}},
		{"owner reviews own work", design, func(d *Deal) Action { return approve("solution-design", "sol") },
			CodeForbidden, []string{"sol is not a reviewer of solution-design"}},
		{"unknown decision", design, func(d *Deal) Action {
			return ReviewAction{Acting: Acting{"ann"}, Milestone: "solution-design", Decision: "maybe"}
		}, CodeInvalid, []string{`decision "maybe" is not approve or reject`}},
		{"review of an unknown milestone", design, func(d *Deal) Action { return approve("nope", "ann") },
			CodeNotFound, []string{`no milestone "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.deal(t)
			wantRefused(t, d, tt.action(d), at("6d"), tt.code, tt.want...)
		})
	}
}

func TestPMOSubmitsForOwner(t *testing.T) {
	d := projectDeal(t)
	mustApply(t, d, submission(d, "prospect", "pat"), at("1d"))
	if p := d.Milestone("prospect"); p.State != StateDone || p.Submission.By != "pat" {
		t.Errorf("prospect %s submitted by %s", p.State, p.Submission.By)
	}
}

func TestCompletingThePlanWinsTheDeal(t *testing.T) {
	d := projectDeal(t)
	keys := []string{"prospect", "needs-analysis", "solution-design", "solution-submission", "quotation"}
	for i, k := range keys {
		complete(t, d, k, at("1d").Add(time.Duration(i)*Day))
		if d.Status != DealActive {
			t.Fatalf("deal %s after %s", d.Status, k)
		}
	}
	evs := mustApply(t, d, submission(d, "contract", "pat"), at("10d"))
	last := evs[len(evs)-1]
	if last.Kind != EventDealClosed || last.Actor != SystemActor || last.Data["outcome"] != "won" ||
		!slices.Equal(last.Notify, []string{"pat", "cora", "sol", "dina", "ann", "abe"}) {
		t.Errorf("last event %+v", last)
	}
	if d.Status != DealWon || d.Outcome == nil || *d.Outcome != (Outcome{Status: DealWon, Reason: "every milestone of the plan is done", By: SystemActor, At: at("10d")}) {
		t.Errorf("status %s outcome %+v", d.Status, d.Outcome)
	}
	if d.Next != nil || len(d.ActiveKeys()) != 0 {
		t.Errorf("closed deal has next %+v, active %v", d.Next, d.ActiveKeys())
	}
}

func TestClose(t *testing.T) {
	refused := []struct {
		name   string
		action CloseAction
		code   ErrorCode
		want   string
	}{
		{"not the PMO", CloseAction{Acting{"cora"}, DealLost, "budget cut"}, CodeForbidden, "only the deal's PMO (pat) can close the deal"},
		{"no reason", CloseAction{Acting{"pat"}, DealLost, " "}, CodeInvalid, "reason is required: say why you close the deal"},
		{"not a final outcome", CloseAction{Acting{"pat"}, DealPaused, "x"}, CodeInvalid, `outcome "paused" is not won, lost or cancelled`},
		{"no outcome", CloseAction{Acting{"pat"}, "", "x"}, CodeInvalid, `outcome "" is not won`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			wantRefused(t, projectDeal(t), tt.action, at("1d"), tt.code, tt.want)
		})
	}

	for _, outcome := range []DealStatus{DealWon, DealLost, DealCancelled} {
		t.Run(string(outcome), func(t *testing.T) {
			d := projectDeal(t)
			mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "customer freeze"}, at("1d"))
			evs := mustApply(t, d, CloseAction{Acting{"pat"}, outcome, "customer decided"}, at("2d"))
			if !slices.Equal(kinds(evs), []EventKind{EventDealClosed}) || evs[0].Data["reason"] != "customer decided" {
				t.Fatalf("events %+v", evs)
			}
			if d.Status != outcome || d.Pause != nil || *d.Outcome != (Outcome{Status: outcome, Reason: "customer decided", By: "pat", At: at("2d")}) {
				t.Errorf("status %s pause %v outcome %+v", d.Status, d.Pause, d.Outcome)
			}
			if d.Next != nil {
				t.Errorf("closed deal has a next deadline %+v", d.Next)
			}
			closed := "the deal is closed (" + string(outcome) + "); nothing can change"
			after := []Action{
				submission(d, "prospect", "cora"),
				approve("prospect", "ann"),
				CloseAction{Acting{"pat"}, DealWon, "again"},
				PauseAction{Acting: Acting{"pat"}, Reason: "again"},
				ResumeAction{Acting{"pat"}},
				BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerEvaluating},
				changePlan("pat", PlanOp{Op: OpSkip, Key: "prospect", Reason: "x"}),
			}
			for _, a := range after {
				wantRefused(t, d, a, at("3d"), CodeConflict, closed)
			}
			before := dealJSON(t, d)
			if evs := d.Advance(at("100d")); len(evs) != 0 || dealJSON(t, d) != before {
				t.Errorf("Advance on a closed deal fired %v", kinds(evs))
			}
		})
	}
}

// TestCheckNeverMutates: a passing Check leaves the deal byte for byte as it
// was, for every action kind (refusals are checked by wantRefused).
func TestCheckNeverMutates(t *testing.T) {
	d := projectDeal(t)
	toDesign(t, d)
	mustApply(t, d, submission(d, "solution-design", "sol"), at("5d"))
	actions := []Action{
		approve("solution-design", "ann"),
		reject("solution-design", "abe", "redo"),
		PauseAction{Acting: Acting{"pat"}, Reason: "freeze", Until: at("9d")},
		BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerEvaluating},
		CloseAction{Acting{"pat"}, DealLost, "lost to a competitor"},
		changePlan("pat",
			PlanOp{Op: OpAdd, Milestone: &MilestoneSpec{Key: "pilot", Title: "Pilot", Role: RoleSolution, Due: Due{After: dur("5d")}}},
			PlanOp{Op: OpRedate, Key: "quotation", Due: &Due{After: dur("20d")}},
			PlanOp{Op: OpReassign, Key: "solution-design", Owner: "sam"},
			PlanOp{Op: OpSkip, Key: "solution-submission", Reason: "presented with the design"}),
	}
	for _, a := range actions {
		before := dealJSON(t, d)
		if err := d.Check(a, at("6d")); err != nil {
			t.Errorf("Check(%T): %v", a, err)
		}
		if after := dealJSON(t, d); after != before {
			t.Errorf("Check(%T) changed the deal", a)
		}
	}
	// A paused deal, for resume.
	mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "freeze"}, at("6d"))
	before := dealJSON(t, d)
	if err := d.Check(ResumeAction{Acting{"pat"}}, at("7d")); err != nil || dealJSON(t, d) != before {
		t.Errorf("Check(resume) = %v or changed the deal", err)
	}
}

func TestActionErrorMessage(t *testing.T) {
	err := refuse(CodeConflict, "%s is %s", "a", "done")
	if ae, ok := err.(*ActionError); !ok || ae.Code != CodeConflict || ae.Error() != "a is done" {
		t.Errorf("refuse = %#v", err)
	}
}

func TestStateHelpers(t *testing.T) {
	for _, s := range []MilestoneState{StateBlocked, StateActive, StateSubmitted, StateInReview, StateDone, StateSkipped} {
		open := s == StateActive || s == StateSubmitted || s == StateInReview
		closed := s == StateDone || s == StateSkipped
		if s.Open() != open || s.Closed() != closed {
			t.Errorf("%s: Open %v Closed %v", s, s.Open(), s.Closed())
		}
	}
	for _, s := range []DealStatus{DealActive, DealPaused, DealWon, DealLost, DealCancelled} {
		if final := s != DealActive && s != DealPaused; s.Final() != final {
			t.Errorf("%s: Final %v", s, s.Final())
		}
	}
}
