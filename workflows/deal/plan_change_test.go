package deal

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func addOp(key string, due string, deps ...string) PlanOp {
	return PlanOp{Op: OpAdd, Milestone: &MilestoneSpec{Key: key, Title: strings.ToUpper(key[:1]) + key[1:], Role: RoleCommercial,
		Due: Due{After: dur(due)}, DependsOn: deps, Checklist: []string{"done"}}}
}

func TestAddMilestone(t *testing.T) {
	tests := []struct {
		name  string
		op    PlanOp
		state MilestoneState
		kinds []EventKind
	}{
		{"no dependencies: active at once", addOp("site-visit", "5d"), StateActive,
			[]EventKind{EventMilestoneAdded, EventMilestoneActivated}},
		{"dependencies done: active at once", addOp("budget-check", "5d", "prospect"), StateActive,
			[]EventKind{EventMilestoneAdded, EventMilestoneActivated}},
		{"a dependency open: blocked", addOp("reference-call", "5d", "prospect", "needs-analysis"), StateBlocked,
			[]EventKind{EventMilestoneAdded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := projectDeal(t)
			complete(t, d, "prospect", at("1d"))
			evs := mustApply(t, d, changePlan("pat", tt.op), at("2d"))
			if !slices.Equal(kinds(evs), tt.kinds) {
				t.Fatalf("events %v, want %v", kinds(evs), tt.kinds)
			}
			key := tt.op.Milestone.Key
			if e := evs[0]; e.Milestone != key || e.Actor != "pat" || !strings.Contains(e.Message, "added (due 5d)") {
				t.Errorf("added event %+v", e)
			}
			m := d.Milestone(key)
			if m == nil || d.Milestones[len(d.Milestones)-1] != m || m.State != tt.state {
				t.Fatalf("added milestone %+v", m)
			}
			if tt.state == StateActive && (!m.ActivatedAt.Equal(at("2d")) || !m.DueAt.Equal(at("7d")) || m.Round != 1) {
				t.Errorf("activated %s due %s round %d", m.ActivatedAt, m.DueAt, m.Round)
			}
			// It inherits the plan's escalations, sorted, and can be completed.
			if len(m.Escalations) != 3 || m.Escalations[0].Offset != dur("-2d") {
				t.Errorf("escalations %+v", m.Escalations)
			}
			if tt.state == StateActive {
				complete(t, d, key, at("3d"))
			}
		})
	}
}

func TestAddThenDependOnIt(t *testing.T) {
	d := projectDeal(t)
	evs := mustApply(t, d, changePlan("pat", addOp("x", "3d", "prospect"), addOp("y", "2d", "x")), at("1d"))
	if !slices.Equal(kinds(evs), []EventKind{EventMilestoneAdded, EventMilestoneAdded}) {
		t.Fatalf("events %v", kinds(evs))
	}
	complete(t, d, "prospect", at("2d"))
	complete(t, d, "x", at("3d"))
	if y := d.Milestone("y"); y.State != StateActive || !y.DueAt.Equal(at("5d")) {
		t.Errorf("y %s due %s", y.State, y.DueAt)
	}
}

func TestAddRefused(t *testing.T) {
	withReview := addOp("review-x", "5d")
	withReview.Milestone.Review = &ReviewGate{Reviewers: []Party{PartyOwner}}
	withSolution := addOp("pilot", "5d")
	withSolution.Milestone.Role = RoleSolution
	pastDue := addOp("late", "5d")
	pastDue.Milestone.Due = Due{At: at("1d")}
	tests := []struct {
		name string
		team func(*Team)
		ops  []PlanOp
		want []string
	}{
		{"unknown dependency", nil, []PlanOp{addOp("x", "5d", "nope")},
			[]string{`ops[0] (add): milestone.depends_on: unknown milestone "nope"`}},
		// A new milestone can only depend on milestones that already exist,
		// so no change can close a cycle: the second half of one is unknown.
		{"would-be cycle", nil, []PlanOp{addOp("x", "5d", "y"), addOp("y", "5d", "x")},
			[]string{`ops[0] (add): milestone.depends_on: unknown milestone "y"`}},
		{"depends on itself", nil, []PlanOp{addOp("x", "5d", "x")},
			[]string{"milestone.depends_on: a milestone cannot depend on itself", `unknown milestone "x"`}},
		{"duplicate key", nil, []PlanOp{addOp("b", "5d")},
			[]string{`milestone.key: duplicate key "b": the deal already has it`}},
		{"duplicate within the change", nil, []PlanOp{addOp("x", "5d"), addOp("x", "6d")},
			[]string{`ops[1] (add): milestone.key: duplicate key "x"`}},
		{"no milestone", nil, []PlanOp{{Op: OpAdd}}, []string{"ops[0] (add): milestone is required"}},
		{"invalid spec", nil, []PlanOp{addOp("Bad Key", "-1d")},
			[]string{`milestone.key: key "Bad Key" must be lowercase`, "milestone.due: due -1d must be a positive span"}},
		{"owner reviews", nil, []PlanOp{withReview}, []string{"milestone.review.reviewers: the owner cannot review"}},
		{"absolute due already past", nil, []PlanOp{pastDue}, []string{"milestone.due: due 2027-03-02T09:00:00Z is already past"}},
		{"nobody holds the role", func(tm *Team) { tm.Solution = "" }, []PlanOp{withSolution},
			[]string{"milestones[pilot].owner: no owner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(mustTemplate(t, parallelYAML))
			s.Plan.Milestones[1].Owner = "olga" // b stays staffed without team.solution
			if tt.team != nil {
				tt.team(&s.Team)
			}
			wantRefused(t, startDeal(t, s), changePlan("pat", tt.ops...), at("2d"), CodeInvalid, tt.want...)
		})
	}
}

func TestAddTooManyMilestones(t *testing.T) {
	tmpl := Template{Name: "big"}
	for i := range MaxMilestones - 1 {
		tmpl.Milestones = append(tmpl.Milestones, MilestoneSpec{Key: fmt.Sprintf("m%d", i), Title: "M", Role: RolePMO, Due: Due{After: dur("1d")}})
	}
	d := startDeal(t, spec(tmpl))
	wantRefused(t, d, changePlan("pat", addOp("x", "5d"), addOp("y", "5d")), at("1d"), CodeInvalid,
		"ops[1] (add): a plan has at most 500 milestones")
	mustApply(t, d, changePlan("pat", addOp("x", "5d")), at("1d"))
	if len(d.Milestones) != MaxMilestones {
		t.Errorf("%d milestones", len(d.Milestones))
	}
}

func TestRedate(t *testing.T) {
	abs := time.Date(2027, 3, 20, 18, 0, 0, 0, time.FixedZone("", 8*3600))
	tests := []struct {
		name string
		key  string
		due  Due
		want time.Time // the new DueAt; zero for a blocked milestone
		data string
	}{
		{"span counts from activation", "prospect", Due{After: dur("10d")}, at("10d"), "10d"},
		{"absolute time", "prospect", Due{At: abs}, abs, "2027-03-20T18:00:00+08:00"},
		{"blocked milestone", "needs-analysis", Due{After: dur("20d")}, time.Time{}, "20d"},
		{"blocked milestone, absolute", "needs-analysis", Due{At: abs}, time.Time{}, "2027-03-20T18:00:00+08:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := projectDeal(t)
			due := tt.due
			evs := mustApply(t, d, changePlan("pat", PlanOp{Op: OpRedate, Key: tt.key, Due: &due}), at("3d"))
			if len(evs) != 1 || evs[0].Kind != EventMilestoneRedated || evs[0].Data["due"] != tt.data || evs[0].Milestone != tt.key {
				t.Fatalf("events %+v", evs)
			}
			m := d.Milestone(tt.key)
			if !m.DueAt.Equal(tt.want) || m.Due.String() != tt.data {
				t.Errorf("due %s (%s), want %s", m.DueAt, m.Due, tt.want)
			}
			if m.State == StateBlocked {
				// The new due applies when it activates.
				complete(t, d, "prospect", at("4d"))
				if want := tt.due.From(at("4d")); !m.DueAt.Equal(want) {
					t.Errorf("activated due %s, want %s", m.DueAt, want)
				}
			}
		})
	}
}

func TestRedateRefused(t *testing.T) {
	tests := []struct {
		name string
		op   PlanOp
		code ErrorCode
		want string
	}{
		{"span already past", PlanOp{Op: OpRedate, Key: "prospect", Due: &Due{After: dur("2d")}}, CodeInvalid,
			"ops[0] (redate): the new due time 2027-03-03T09:00:00Z for prospect is already past"},
		{"span ending now", PlanOp{Op: OpRedate, Key: "prospect", Due: &Due{After: dur("3d")}}, CodeInvalid, "for prospect is already past"},
		{"absolute time past", PlanOp{Op: OpRedate, Key: "prospect", Due: &Due{At: at("1d")}}, CodeInvalid,
			"the new due time 2027-03-02T09:00:00Z for prospect is already past"},
		{"blocked milestone, absolute time past", PlanOp{Op: OpRedate, Key: "contract", Due: &Due{At: at("2d")}}, CodeInvalid,
			"the new due time 2027-03-03T09:00:00Z for contract is already past"},
		{"no due", PlanOp{Op: OpRedate, Key: "prospect"}, CodeInvalid, "due is required to re-date prospect"},
		{"zero due", PlanOp{Op: OpRedate, Key: "prospect", Due: &Due{}}, CodeInvalid, "due is required to re-date prospect"},
		{"negative span", PlanOp{Op: OpRedate, Key: "prospect", Due: &Due{After: dur("-1d")}}, CodeInvalid, "due -1d must be a positive span"},
		{"unknown milestone", PlanOp{Op: OpRedate, Key: "nope", Due: &Due{After: dur("1d")}}, CodeNotFound, `ops[0] (redate): no milestone "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefused(t, projectDeal(t), changePlan("pat", tt.op), at("3d"), tt.code, tt.want)
		})
	}
}

func TestReassign(t *testing.T) {
	d := projectDeal(t)
	evs := mustApply(t, d, changePlan("pat", PlanOp{Op: OpReassign, Key: "prospect", Owner: "rita"}), at("1d"))
	if len(evs) != 1 || evs[0].Kind != EventMilestoneReassign || !slices.Equal(evs[0].Notify, []string{"rita"}) ||
		evs[0].Data["from"] != "cora" || evs[0].Data["to"] != "rita" || evs[0].Message != "Prospect identified reassigned from cora to rita" {
		t.Fatalf("events %+v", evs)
	}
	wantRefused(t, d, submission(d, "prospect", "cora"), at("2d"), CodeForbidden, "only the owner of prospect (rita) or the PMO (pat)")
	// Escalations addressed to the owner now reach the new owner.
	checkFirings(t, d.Advance(at("5d")), []firing{{"5d", EventEscalation, "prospect", []string{"rita"}, "1"}})
	mustApply(t, d, submission(d, "prospect", "rita"), at("5d"))
	// The next milestone still goes to the role holder.
	if na := d.Milestone("needs-analysis"); d.owner(na) != "cora" {
		t.Errorf("needs-analysis owner %s", d.owner(na))
	}

	wantRefused(t, d, changePlan("pat", PlanOp{Op: OpReassign, Key: "needs-analysis", Owner: " "}), at("6d"), CodeInvalid,
		"ops[0] (reassign): owner is required to reassign needs-analysis")
	wantRefused(t, d, changePlan("pat", PlanOp{Op: OpReassign, Key: "prospect", Owner: "cora"}), at("6d"), CodeConflict,
		"ops[0] (reassign): prospect is done; only milestones not yet done can change")
}

func TestSkip(t *testing.T) {
	d := projectDeal(t)
	wantRefused(t, d, changePlan("pat", PlanOp{Op: OpSkip, Key: "prospect"}), at("1d"), CodeInvalid,
		"ops[0] (skip): reason is required to skip prospect")

	evs := mustApply(t, d, changePlan("pat", PlanOp{Op: OpSkip, Key: "prospect", Reason: "existing customer"}), at("1d"))
	if !slices.Equal(kinds(evs), []EventKind{EventMilestoneSkipped, EventMilestoneActivated}) ||
		evs[0].Data["reason"] != "existing customer" || evs[0].Message != "Prospect identified skipped: existing customer" || evs[1].Milestone != "needs-analysis" {
		t.Fatalf("events %+v", evs)
	}
	p := d.Milestone("prospect")
	if p.State != StateSkipped || p.SkipReason != "existing customer" || !p.DoneAt.Equal(at("1d")) {
		t.Errorf("prospect %s reason %q done %s", p.State, p.SkipReason, p.DoneAt)
	}
	if slices.ContainsFunc(d.Metrics.Milestones, func(m MilestoneMetrics) bool { return m.Key == "prospect" }) {
		t.Error("a skipped milestone counts in the metrics")
	}
	wantRefused(t, d, changePlan("pat", PlanOp{Op: OpSkip, Key: "prospect", Reason: "again"}), at("1d"), CodeConflict,
		"prospect is skipped; only milestones not yet done can change")
	// A blocked milestone can be skipped ahead of time: what depends on it
	// alone starts at once, in parallel with the rest.
	evs = mustApply(t, d, changePlan("pat", PlanOp{Op: OpSkip, Key: "solution-submission", Reason: "presented with the design"}), at("2d"))
	if !slices.Equal(kinds(evs), []EventKind{EventMilestoneSkipped, EventMilestoneActivated}) || evs[1].Milestone != "quotation" {
		t.Fatalf("events %+v", evs)
	}
	if q := d.Milestone("quotation"); q.State != StateActive || !q.ActivatedAt.Equal(at("2d")) {
		t.Errorf("quotation %s activated %s", q.State, q.ActivatedAt)
	}
	if got := d.ActiveKeys(); !slices.Equal(got, []string{"needs-analysis", "quotation"}) {
		t.Errorf("active %v", got)
	}
}

func TestSkippingTheLastOpenMilestoneWins(t *testing.T) {
	d := projectDeal(t)
	var ops []PlanOp
	for _, m := range d.Milestones[1:] {
		ops = append(ops, PlanOp{Op: OpSkip, Key: m.Key, Reason: "signed on the spot"})
	}
	mustApply(t, d, changePlan("pat", ops...), at("1d"))
	if d.Status != DealActive {
		t.Fatalf("status %s with prospect open", d.Status)
	}
	evs := mustApply(t, d, changePlan("pat", PlanOp{Op: OpSkip, Key: "prospect", Reason: "signed on the spot"}), at("2d"))
	if !slices.Equal(kinds(evs), []EventKind{EventMilestoneSkipped, EventDealClosed}) || d.Status != DealWon || d.Outcome.By != SystemActor {
		t.Errorf("events %v status %s outcome %+v", kinds(evs), d.Status, d.Outcome)
	}
}

func TestPlanChangeAllOrNothing(t *testing.T) {
	d := projectDeal(t)
	change := changePlan("pat",
		PlanOp{Op: OpReassign, Key: "prospect", Owner: "rita"},
		PlanOp{Op: OpRedate, Key: "nope", Due: &Due{After: dur("10d")}},
		PlanOp{Op: OpSkip, Key: "needs-analysis", Reason: "x"},
	)
	wantRefused(t, d, change, at("1d"), CodeNotFound, `ops[1] (redate): no milestone "nope" in this deal`)
	if d.owner(d.Milestone("prospect")) != "cora" {
		t.Error("op 0 of a refused change was applied")
	}
}

func TestPlanChangeRefused(t *testing.T) {
	many := make([]PlanOp, MaxPlanOps+1)
	for i := range many {
		many[i] = PlanOp{Op: OpReassign, Key: "prospect", Owner: "rita"}
	}
	tests := []struct {
		name   string
		change PlanChange
		code   ErrorCode
		want   string
	}{
		{"not the PMO", changePlan("cora", PlanOp{Op: OpSkip, Key: "prospect", Reason: "x"}), CodeForbidden, "only the deal's PMO (pat) can change the plan"},
		{"no ops", changePlan("pat"), CodeInvalid, "ops is empty: give at least one of add, redate, reassign, skip"},
		{"too many ops", changePlan("pat", many...), CodeInvalid, "ops: has 101 items; the limit is 100"},
		{"unknown op", changePlan("pat", PlanOp{Op: "move", Key: "prospect"}), CodeInvalid, `ops[0] (move): unknown op "move": use add, redate, reassign or skip`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefused(t, projectDeal(t), tt.change, at("1d"), tt.code, tt.want)
		})
	}
}

// TestReassignDuringReviewDropsNewOwnerFromReviewers: handing a milestone
// under review to one of its reviewers must not let them approve their own
// work.
func TestReassignDuringReviewDropsNewOwnerFromReviewers(t *testing.T) {
	d := projectDeal(t)
	now := t0
	for _, step := range []struct{ who, key string }{{"cora", "prospect"}, {"cora", "needs-analysis"}, {"sol", "solution-design"}} {
		mustApply(t, d, submission(d, step.key, step.who), now)
	}
	if got := d.Milestone("solution-design").Reviewers; !slices.Equal(got, []string{"ann", "abe"}) {
		t.Fatalf("reviewers %v", got)
	}
	mustApply(t, d, PlanChange{Acting: Acting{Actor: "pat"}, Ops: []PlanOp{{Op: OpReassign, Key: "solution-design", Owner: "ann"}}}, now)
	if got := d.Milestone("solution-design").Reviewers; !slices.Equal(got, []string{"abe"}) {
		t.Errorf("reviewers after reassigning to ann: %v", got)
	}
	wantRefused(t, d, approve("solution-design", "ann"), now, CodeForbidden, "not a reviewer")
}
