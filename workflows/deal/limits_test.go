package deal

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"dealflow/workflows/problem"
)

// TestActionInputLimits: every text and list a person writes in an action
// is bounded and must be text; ValidateAction names the field and the
// limit, and Check refuses the same input as invalid, changing nothing.
func TestActionInputLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	pat := Acting{"pat"}
	manyLinks := make([]string, MaxEvidence+1)
	for i := range manyLinks {
		manyLinks[i] = fmt.Sprintf("https://docs.example/%d", i)
	}
	manyOps := make([]PlanOp, MaxPlanOps+1)
	for i := range manyOps {
		manyOps[i] = PlanOp{Op: OpSkip, Key: "prospect", Reason: "x"}
	}
	tests := []struct {
		name   string
		a      Action
		field  string
		substr string
	}{
		{"NUL in a buyer note", BuyerStageAction{Acting: pat, Stage: BuyerContactAdded, Note: "x\x00y"}, "note", "U+0000"},
		{"C1 control in a buyer note", BuyerStageAction{Acting: pat, Stage: BuyerContactAdded, Note: "x\u0085y"}, "note", "U+0085"},
		{"invalid UTF-8 in a buyer note", BuyerStageAction{Acting: pat, Stage: BuyerContactAdded, Note: "x\xffy"}, "note", "not valid UTF-8"},
		{"buyer note over the limit", BuyerStageAction{Acting: pat, Stage: BuyerContactAdded, Note: long(problem.MaxText + 1)}, "note", "4001 characters long; the limit is 4000"},
		{"600 KB buyer note", BuyerStageAction{Acting: pat, Stage: BuyerContactAdded, Note: strings.Repeat("<", 600<<10)}, "note", "the limit is 4000"},
		{"stage not a word", BuyerStageAction{Acting: pat, Stage: BuyerStage(long(100))}, "stage", "the limit is 40"},
		{"submit note", Submit{Acting: pat, Milestone: "prospect", Note: "a\x1bb"}, "note", "U+001B"},
		{"submit evidence with a newline", Submit{Acting: pat, Milestone: "prospect", Evidence: []string{"https://a\nb"}}, "evidence[0]", "one line"},
		{"submit evidence too long", Submit{Acting: pat, Milestone: "prospect", Evidence: []string{"https://" + strings.Repeat("a", problem.MaxLink)}}, "evidence[0]", "the limit is 2048"},
		{"submit too many links", Submit{Acting: pat, Milestone: "prospect", Evidence: manyLinks}, "evidence", "21 items; the limit is 20"},
		{"submit checklist item too long", Submit{Acting: pat, Milestone: "prospect", Checklist: []string{long(problem.MaxName + 1)}}, "checklist[0]", "the limit is 200"},
		{"submit too many checklist items", Submit{Acting: pat, Milestone: "prospect", Checklist: make([]string, MaxChecklist+1)}, "checklist", "the limit is 50"},
		{"milestone key not a line", Submit{Acting: pat, Milestone: "a\x00"}, "milestone", "U+0000"},
		{"review comment", ReviewAction{Acting: pat, Milestone: "prospect", Decision: Reject, Comment: long(problem.MaxText + 1)}, "comment", "the limit is 4000"},
		{"review comment with NUL", ReviewAction{Acting: pat, Milestone: "prospect", Decision: Reject, Comment: "\x00"}, "comment", "U+0000"},
		{"pause reason", PauseAction{Acting: pat, Reason: "stop\x07"}, "reason", "U+0007"},
		{"pause until past year 9999", PauseAction{Acting: pat, Reason: "x", Until: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "until", "year 1 to 9999"},
		{"close reason", CloseAction{Acting: pat, Outcome: DealLost, Reason: long(problem.MaxText + 1)}, "reason", "the limit is 4000"},
		{"close outcome", CloseAction{Acting: pat, Outcome: "\x00", Reason: "x"}, "outcome", "U+0000"},
		{"plan change: too many ops", PlanChange{Acting: pat, Ops: manyOps}, "ops", "101 items; the limit is 100"},
		{"plan change: skip reason", changePlan("pat", PlanOp{Op: OpSkip, Key: "prospect", Reason: "a\x00"}), "ops[0].reason", "U+0000"},
		{"plan change: owner", changePlan("pat", PlanOp{Op: OpReassign, Key: "prospect", Owner: "bob\x00"}), "ops[0].owner", "U+0000"},
		{"plan change: key", changePlan("pat", PlanOp{Op: OpSkip, Key: long(65), Reason: "x"}), "ops[0].key", "the limit is 64"},
		{"plan change: added title", changePlan("pat", PlanOp{Op: OpAdd, Milestone: &MilestoneSpec{Key: "x", Title: "X\tY", Role: RolePMO, Due: Due{After: dur("1d")}}}), "ops[0].milestone.title", "one line"},
		{"plan change: added checklist", changePlan("pat", PlanOp{Op: OpAdd, Milestone: &MilestoneSpec{Key: "x", Title: "X", Role: RolePMO, Due: Due{After: dur("1d")}, Checklist: make([]string, MaxChecklist+1)}}), "ops[0].milestone.checklist", "the limit is 50"},
		{"plan change: added escalation message", changePlan("pat", PlanOp{Op: OpAdd, Milestone: &MilestoneSpec{Key: "x", Title: "X", Role: RolePMO, Due: Due{After: dur("1d")},
			Escalations: []EscalationStep{{Target: PartyPMO, Message: "\x00"}}}}), "ops[0].milestone.escalations[0].message", "U+0000"},
		{"plan change: redate beyond 100 years", changePlan("pat", PlanOp{Op: OpRedate, Key: "prospect", Due: &Due{After: Duration(MaxDuration + time.Second)}}), "ops[0].due", "100 years"},
		{"plan change: redate beyond year 9999", changePlan("pat", PlanOp{Op: OpRedate, Key: "prospect", Due: &Due{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}), "ops[0].due", "year 1 to 9999"},
		{"plan change: undecodable due", changePlan("pat", PlanOp{Op: OpRedate, Key: "prospect", Due: &Due{bad: `bad due "soon"`}}), "ops[0].due", `bad due "soon"`},
		{"actor not a line", BuyerStageAction{Acting: Acting{"pat\n"}, Stage: BuyerContactAdded}, "actor", "one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateAction(tt.a)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ValidateAction = %v, want a *ValidationError", err)
			}
			found := false
			for _, p := range ve.Problems {
				found = found || p.Field == tt.field && strings.Contains(p.Message, tt.substr)
			}
			if !found {
				t.Fatalf("problems %v, want %s: …%s…", ve.Problems, tt.field, tt.substr)
			}
			if len(ve.Error()) > 10000 {
				t.Errorf("message of %d bytes: the input must not be echoed", len(ve.Error()))
			}
			d := projectDeal(t)
			wantCheckRefused(t, d, tt.a, at("1h"), CodeInvalid, tt.field+":")
		})
	}
}

// TestTextRulesAllowWhatPeopleWrite: tabs, line breaks (CRLF from browsers)
// and any script pass; the limits count characters, not bytes.
func TestTextRulesAllowWhatPeopleWrite(t *testing.T) {
	d := projectDeal(t)
	note := "第一行\r\n\tsecond line — ✓ " + strings.Repeat("字", problem.MaxText-22)
	mustApply(t, d, BuyerStageAction{Acting: Acting{"pat"}, Stage: BuyerContactAdded, Note: note}, at("1h"))
	if got := d.Buyer[len(d.Buyer)-1].Note; got != note {
		t.Errorf("note changed: %q", got)
	}
}

// TestSpecLimits: what a deal starts from is bounded like what it is sent.
func TestSpecLimits(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *DealSpec)
		field  string
		substr string
	}{
		{"id with NUL", func(s *DealSpec) { s.ID = "a\x00b" }, "id", "may hold only"},
		{"id with ?", func(s *DealSpec) { s.ID = "a?b" }, "id", "may hold only"},
		{"id with #", func(s *DealSpec) { s.ID = "a#b" }, "id", "may hold only"},
		{"id ..", func(s *DealSpec) { s.ID = ".." }, "id", "must start with a letter or digit"},
		{"id with ..", func(s *DealSpec) { s.ID = "a..b" }, "id", `must not contain ".."`},
		{"id escaped slash", func(s *DealSpec) { s.ID = "a%2Fb" }, "id", "may hold only"},
		{"id too long", func(s *DealSpec) { s.ID = strings.Repeat("a", problem.MaxKey+1) }, "id", "the limit is 64"},
		{"name too long", func(s *DealSpec) { s.Name = strings.Repeat("n", problem.MaxName+1) }, "name", "the limit is 200"},
		{"name two lines", func(s *DealSpec) { s.Name = "a\nb" }, "name", "one line"},
		{"customer with NUL", func(s *DealSpec) { s.Customer = "ACME\x00" }, "customer", "U+0000"},
		{"amount NaN", func(s *DealSpec) { s.Amount = math.NaN() }, "amount", "finite"},
		{"amount +Inf", func(s *DealSpec) { s.Amount = math.Inf(1) }, "amount", "finite"},
		{"amount 1e308", func(s *DealSpec) { s.Amount = 1e308 }, "amount", "the limit is 1e+15"},
		{"too many approvers", func(s *DealSpec) { s.Team.Approvers = make([]string, MaxApprovers+1) }, "team.approvers", "the limit is 50"},
		{"approver with NUL", func(s *DealSpec) { s.Team.Approvers = []string{"ann\x00"} }, "team.approvers[0]", "U+0000"},
		{"director too long", func(s *DealSpec) { s.Team.Director = strings.Repeat("d", 65) }, "team.director", "the limit is 64"},
		{"template title", func(s *DealSpec) { s.Plan.Title = "x\x00" }, "title", "U+0000"},
		{"template description", func(s *DealSpec) { s.Plan.Description = strings.Repeat("d", problem.MaxText+1) }, "description", "the limit is 4000"},
		{"template name", func(s *DealSpec) { s.Plan.Name = "a/b" }, "name", "may hold only"},
		{"default escalations", func(s *DealSpec) { s.Plan.Escalations = make([]EscalationStep, MaxEscalationSteps+1) }, "escalations", "the limit is 10"},
		{"escalation offset beyond 100 years", func(s *DealSpec) {
			s.Plan.Escalations = []EscalationStep{{Offset: Duration(MaxDuration + time.Second), Target: PartyPMO}}
		}, "escalations[0].offset", "100 years"},
		{"milestone title", func(s *DealSpec) { s.Plan.Milestones[0].Title = strings.Repeat("t", problem.MaxName+1) }, "milestones[prospect].title", "the limit is 200"},
		{"checklist item", func(s *DealSpec) { s.Plan.Milestones[0].Checklist[0] = "x\x00" }, "milestones[prospect].checklist[0]", "U+0000"},
		{"reviewers", func(s *DealSpec) {
			s.Plan.Milestones[0].Review = &ReviewGate{Reviewers: make([]Party, MaxReviewers+1)}
		}, "milestones[prospect].review.reviewers", "the limit is 20"},
		{"reviewer user id", func(s *DealSpec) {
			s.Plan.Milestones[0].Review = &ReviewGate{Reviewers: []Party{UserParty("a\x00")}}
		}, "milestones[prospect].review.reviewers[0]", "U+0000"},
		{"depends_on", func(s *DealSpec) { s.Plan.Milestones[1].DependsOn = make([]string, MaxDependsOn+1) }, "depends_on", "the limit is 50"},
		{"owner", func(s *DealSpec) { s.Plan.Milestones[0].Owner = "bob\n" }, "milestones[prospect].owner", "one line"},
		{"due year 10000", func(s *DealSpec) {
			s.Plan.Milestones[0].Due = Due{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
		}, "milestones[prospect].due", "year 1 to 9999"},
		{"due in year 9999", func(s *DealSpec) {
			s.Plan.Milestones[0].Due = Due{At: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
		}, "milestones[prospect].due", "more than 100 years from now"},
		{"due in year 1", func(s *DealSpec) {
			s.Plan.Milestones[0].Due = Due{At: time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)}
		}, "milestones[prospect].due", "more than 100 years from now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := projectSpec(t)
			tt.change(&s)
			err := CheckSpec(s, t0)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("CheckSpec = %v, want a *ValidationError", err)
			}
			for _, p := range ve.Problems {
				if strings.HasSuffix(p.Field, tt.field) && strings.Contains(p.Message, tt.substr) {
					return
				}
			}
			t.Fatalf("problems %v, want %s: …%s…", ve.Problems, tt.field, tt.substr)
		})
	}
}

// TestTemplateListsEveryProblem: a bad duration does not stop decoding; it
// is one problem among the others (issue 11), and a number of seconds is
// bounded like a string (issue 3).
func TestTemplateListsEveryProblem(t *testing.T) {
	var tmpl Template
	in := `{"name": "t", "title": "a\u0000", "escalations": [{"offset": 4000000000, "target": "pmo"}],
		"milestones": [{"key": "a", "title": "A", "role": "pmo", "due": "ten days"},
		               {"key": "b", "title": "B", "role": "boss", "due": "1d", "escalations": [{"offset": "1.5d", "target": "pmo"}, {"offset": true, "target": "pmo"}]}]}`
	if err := json.Unmarshal([]byte(in), &tmpl); err != nil {
		t.Fatalf("decoding refused a template with bad durations: %v", err)
	}
	wantProblems(t, tmpl.Validate(),
		Problem{Field: "title", Message: "U+0000"},
		Problem{Field: "escalations[0].offset", Message: "is longer than the longest span a plan takes (100 years)"},
		Problem{Field: "milestones[a].due", Message: `bad due "ten days"`},
		Problem{Field: "milestones[b].role", Message: `unknown role "boss"`},
		Problem{Field: "milestones[b].escalations[0].offset", Message: `bad duration "1.5d"`},
		Problem{Field: "milestones[b].escalations[1].offset", Message: "bad duration true"},
	)
	// Malformed JSON and unknown fields still fail decoding.
	if err := json.Unmarshal([]byte(`{"name": "t", "escalations": [{"offset": "1d", "colour": "red"}]}`), &tmpl); err == nil || !strings.Contains(err.Error(), `unknown field "colour"`) {
		t.Errorf("unknown field in a step: %v", err)
	}
	if _, err := ParseTemplate([]byte("name: t\nescalations: [{offset: 1d, colour: red}]\nmilestones: []\n")); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown field in a YAML step: %v", err)
	}
	// Numbers of seconds within bounds are read, and written back as spans.
	var step EscalationStep
	if err := json.Unmarshal([]byte(`{"offset": -172800, "target": "owner"}`), &step); err != nil || step.Offset != Duration(-2*Day) || step.Problem() != "" {
		t.Fatalf("offset -172800: %v %v %q", err, step.Offset, step.Problem())
	}
	b, _ := json.Marshal(step)
	if string(b) != `{"offset":"-2d","target":"owner"}` {
		t.Errorf("marshal: %s", b)
	}
	max := int64(MaxDuration / time.Second)
	for _, secs := range []int64{max, -max} {
		var d Duration
		if err := json.Unmarshal([]byte(fmt.Sprint(secs)), &d); err != nil {
			t.Errorf("%d seconds: %v", secs, err)
		}
	}
	// Past 100 years a number reads (as a string would) and validation
	// refuses it; past what a Duration holds it does not read at all.
	for _, secs := range []int64{max + 1, -max - 1} {
		var tm Template
		in := fmt.Sprintf(`{"name": "t", "escalations": [{"offset": %d, "target": "pmo"}], "milestones": [{"key": "a", "title": "A", "role": "pmo", "due": "1d"}]}`, secs)
		if err := json.Unmarshal([]byte(in), &tm); err != nil {
			t.Fatal(err)
		}
		wantProblems(t, tm.Validate(), Problem{Field: "escalations[0].offset", Message: "100 years"})
	}
	for _, in := range []string{"9223372036854775807", "9223372037", "1.5", "1e3", `"` + strings.Repeat("1d", 100) + `"`, `"106752d"`} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s read as %v", in, d)
		}
	}
}

// TestStateBoundBuyerHistory: recording the buyer's stage again and again,
// each with the longest note of the most expensive character to encode, is
// refused as too large before the deal passes MaxStateBytes (issue 2); the
// refused deal still works and can be closed.
func TestStateBoundBuyerHistory(t *testing.T) {
	d := projectDeal(t)
	note := strings.Repeat("<", problem.MaxText) // 6 bytes each in JSON
	stages := []BuyerStage{BuyerContactAdded, BuyerMetNonDecisionMaker}
	now := at("1h")
	var refused error
	for i := 0; i < 1000 && refused == nil; i++ {
		now = now.Add(time.Minute)
		a := BuyerStageAction{Acting: Acting{"cora"}, Stage: stages[i%2], Note: note}
		if refused = d.Check(a, now); refused == nil {
			mustApply(t, d, a, now)
			if n := d.StateBytes(); n > MaxStateBytes {
				t.Fatalf("after %d notes the deal holds %d bytes", i+1, n)
			}
		}
	}
	var ae *ActionError
	if !errors.As(refused, &ae) || ae.Code != CodeTooLarge || !strings.Contains(ae.Message, fmt.Sprint(MaxStateBytes)) {
		t.Fatalf("never refused as too large: %v", refused)
	}
	if len(dealJSON(t, d)) > MaxStateBytes {
		t.Errorf("encoded deal over the bound")
	}
	wantCheckRefused(t, d, BuyerStageAction{Acting: Acting{"cora"}, Stage: d.Buyer[len(d.Buyer)-2].Stage, Note: note}, now, CodeTooLarge, "MaxStateBytes")
	// Short notes, other actions and closing still work.
	mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "budget"}, now)
	mustApply(t, d, ResumeAction{Acting: Acting{"pat"}}, now.Add(time.Hour))
	mustApply(t, d, CloseAction{Acting: Acting{"pat"}, Outcome: DealLost, Reason: strings.Repeat("<", problem.MaxText)}, now.Add(2*time.Hour))
}

// TestStateBoundReviewRounds: rework rounds with the longest comments grow
// the deal until refused, never past the bound.
func TestStateBoundReviewRounds(t *testing.T) {
	d := startDeal(t, spec(Template{Name: "rev", Milestones: []MilestoneSpec{{Key: "a", Title: "A", Role: RoleCommercial,
		Due: Due{After: dur("10d")}, Review: &ReviewGate{Reviewers: []Party{PartyApprovers}}}}}))
	key := "a"
	comment := strings.Repeat("&", problem.MaxText)
	now := at("1h")
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("never refused")
		}
		now = now.Add(time.Minute)
		sub := submission(d, key, "cora")
		sub.Note = comment
		if err := d.Check(sub, now); err != nil {
			wantCheckRefused(t, d, sub, now, CodeTooLarge, "MaxStateBytes")
			break
		}
		mustApply(t, d, sub, now)
		m := d.Milestone(key)
		if m.State == StateDone {
			t.Fatal("no review gate on prospect")
		}
		rej := reject(key, m.Reviewers[0], comment)
		if err := d.Check(rej, now); err != nil {
			wantCheckRefused(t, d, rej, now, CodeTooLarge, "MaxStateBytes")
			break
		}
		mustApply(t, d, rej, now)
		if n := d.StateBytes(); n > MaxStateBytes {
			t.Fatalf("round %d: %d bytes", i, n)
		}
	}
}

// TestStateBoundCountsEscalations: escalations fire without any action, so
// the bound reserves room for every step that can still fire; re-dating
// re-arms them and is measured with the reservation. Time passing never
// takes the deal past what StateBytes promised.
func TestStateBoundCountsEscalations(t *testing.T) {
	steps := make([]EscalationStep, MaxEscalationSteps)
	for i := range steps {
		steps[i] = EscalationStep{Offset: Duration(time.Duration(i+1) * time.Hour), Target: PartyApprovers, Message: strings.Repeat(">", 1000)}
	}
	tmpl := Template{Name: "esc", Milestones: []MilestoneSpec{
		{Key: "a", Title: "A", Role: RolePMO, Due: Due{After: dur("1d")}, Escalations: steps},
		{Key: "b", Title: "B", Role: RolePMO, Due: Due{After: dur("1d")}, DependsOn: []string{"a"}},
	}}
	d := startDeal(t, spec(tmpl))
	now := t0
	redates := 0
	for i := 0; i < 100; i++ {
		promised := d.StateBytes()
		now = now.Add(30 * Day)
		d.Advance(now)
		if n := len(dealJSON(t, d)); n > promised {
			t.Fatalf("round %d: time took the deal to %d bytes, StateBytes promised %d", i, n, promised)
		}
		if n := d.StateBytes(); n > promised {
			t.Fatalf("round %d: StateBytes grew from %d to %d without an action", i, promised, n)
		}
		redate := changePlan("pat", PlanOp{Op: OpRedate, Key: "a", Due: &Due{After: Duration(now.Sub(d.Milestone("a").ActivatedAt) + Day)}})
		if err := d.Check(redate, now); err != nil {
			wantCheckRefused(t, d, redate, now, CodeTooLarge, "MaxStateBytes")
			if redates == 0 || len(d.Milestone("a").Escalated) < 2*MaxEscalationSteps {
				t.Fatalf("refused after %d re-dates and %d escalations", redates, len(d.Milestone("a").Escalated))
			}
			return
		}
		mustApply(t, d, redate, now)
		redates++
	}
	t.Fatal("re-dating never refused")
}

// TestNewDealTooLarge: a plan whose deal would start over the bound is
// refused at start with CodeTooLarge, naming the limit.
func TestNewDealTooLarge(t *testing.T) {
	tmpl := Template{Name: "huge", Escalations: []EscalationStep{{Target: PartyPMO, Message: strings.Repeat("<", problem.MaxText)}}}
	for i := range 40 {
		tmpl.Milestones = append(tmpl.Milestones, MilestoneSpec{Key: fmt.Sprintf("m%d", i), Title: "M", Role: RolePMO, Due: Due{After: dur("1d")}})
	}
	if err := tmpl.Validate(); err != nil {
		t.Fatalf("the template itself is fine: %v", err)
	}
	err := CheckSpec(spec(tmpl), t0)
	var ae *ActionError
	if !errors.As(err, &ae) || ae.Code != CodeTooLarge || !strings.Contains(ae.Message, "MaxStateBytes") {
		t.Fatalf("CheckSpec = %v, want CodeTooLarge", err)
	}
}

// TestBuiltinsFarBelowTheBound: the built-in plans start small deals.
func TestBuiltinsFarBelowTheBound(t *testing.T) {
	for _, tmpl := range Builtins() {
		d := startDeal(t, spec(tmpl))
		if n := d.StateBytes(); n > MaxStateBytes/8 {
			t.Errorf("%s starts at %d bytes", tmpl.Name, n)
		}
	}
}

// TestJSONStringLen matches encoding/json on every kind of character.
func TestJSONStringLen(t *testing.T) {
	for _, s := range []string{"", "plain", `"\`, "\n\r\t\b\f", "\x00\x1f", "<>&", "é字🙂", "\u2028\u2029", "\xff\xfe", "a\x7fb", "\u0085"} {
		b, _ := json.Marshal(s)
		if got := jsonStringLen(s); got != len(b) {
			t.Errorf("jsonStringLen(%q) = %d, encoding/json writes %d", s, got, len(b))
		}
	}
}

// bigDeal is a deal of n milestones with notes, all active: a large real deal.
func bigDeal(b testing.TB, n int) *Deal {
	tmpl := Template{Name: "big", Escalations: []EscalationStep{{Offset: dur("-1d"), Target: PartyOwner, Message: "due tomorrow"}, {Target: PartyPMO, Message: "due today"}}}
	for i := range n {
		tmpl.Milestones = append(tmpl.Milestones, MilestoneSpec{Key: fmt.Sprintf("m%03d", i), Title: fmt.Sprintf("Milestone %d of the rollout", i),
			Role: Roles[i%3], Due: Due{After: dur("90d")}, Checklist: []string{"Output checked", "Customer signed off"}})
	}
	d, _, err := NewDeal(spec(tmpl), t0)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkCheck is the cost of the state bound: what an update's validator
// (and again its handler) pays, on a 200-milestone deal. Compare with
// BenchmarkCheckRules, the rules without the size check.
func BenchmarkCheck(b *testing.B) {
	d := bigDeal(b, 200)
	b.Logf("deal of %d bytes, StateBytes %d", len(dealJSONB(b, d)), d.StateBytes())
	a := BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerEvaluating, Note: "met the CFO"}
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Check(a, at("1h")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckRules is Check without the size bound, for comparison.
func BenchmarkCheckRules(b *testing.B) {
	d := bigDeal(b, 200)
	a := BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerEvaluating, Note: "met the CFO"}
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateAction(a); err != nil {
			b.Fatal(err)
		}
		if err := a.check(d, at("1h")); err != nil {
			b.Fatal(err)
		}
	}
}

func dealJSONB(b testing.TB, d *Deal) []byte {
	out, err := json.Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// TestOversizeDealCanShrinkAndClose: a deal already over the bound (started
// under older rules) refuses what grows it but can still be closed.
func TestOversizeDealCanShrinkAndClose(t *testing.T) {
	d := projectDeal(t)
	for i := 0; d.StateBytes() <= MaxStateBytes+closeHeadroom; i++ {
		d.Buyer = append(d.Buyer, BuyerEntry{Stage: BuyerContactAdded, Note: strings.Repeat("<", problem.MaxText), By: "cora", At: t0})
	}
	wantCheckRefused(t, d, BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerEvaluating, Note: "more"}, at("1h"), CodeTooLarge, "MaxStateBytes")
	mustApply(t, d, CloseAction{Acting: Acting{"pat"}, Outcome: DealCancelled, Reason: "moved to a new deal"}, at("2h"))
}

// TestGrowthBoundHolds: the cheap path of the state check trusts
// growthBound; on random runs of every action but plan changes, no action
// grows StateBytes or writes events by more than its bound.
func TestGrowthBoundHolds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	long := func() string {
		return pick(r, []string{"", "ok", strings.Repeat("<", problem.MaxText), strings.Repeat("字", problem.MaxText)})
	}
	applied := map[string]int{}
	defer func() { t.Logf("applied: %v", applied) }()
	for run := range 40 {
		var d *Deal
		if run%2 == 0 {
			d = projectDeal(t)
		} else {
			d = parallelDeal(t)
		}
		now := t0
		for step := 0; step < 60 && !d.Status.Final(); step++ {
			now = now.Add(time.Duration(r.IntN(72)) * time.Hour)
			d.Advance(now)
			var a Action
			open := d.ActiveKeys()
			switch k := r.IntN(10); {
			case k < 4 && len(open) > 0:
				m := d.Milestone(pick(r, open))
				switch m.State {
				case StateActive:
					sub := submission(d, m.Key, m.Owner)
					sub.Note, sub.Evidence = long(), []string{"https://e.example/" + strings.Repeat("x", r.IntN(2000))}
					a = sub
				default:
					var waiting []string
					for _, u := range m.Reviewers {
						if !slices.ContainsFunc(m.Reviews, func(v Review) bool { return v.Round == m.Round && v.By == u }) {
							waiting = append(waiting, u)
						}
					}
					if len(waiting) == 0 {
						continue
					}
					a = ReviewAction{Acting: Acting{pick(r, waiting)}, Milestone: m.Key, Decision: pick(r, []ReviewDecision{Approve, Reject}), Comment: long() + "x"}
				}
			case k < 7:
				a = BuyerStageAction{Acting: Acting{"cora"}, Stage: pick(r, BuyerStages), Note: long()}
			case k < 9 && d.Status == DealPaused:
				a = ResumeAction{Acting: Acting{"pat"}}
			case k < 9:
				a = PauseAction{Acting: Acting{"pat"}, Reason: long() + "x"}
			default:
				a = CloseAction{Acting: Acting{"pat"}, Outcome: DealLost, Reason: long() + "x"}
			}
			if a == nil || d.Check(a, now) != nil {
				continue
			}
			g, ok := growthBound(d, a)
			if !ok {
				t.Fatalf("%T has no bound", a)
			}
			before := d.StateBytes()
			evs := mustApply(t, d, a, now)
			applied[fmt.Sprintf("%T", a)]++
			if grew := d.StateBytes() - before; grew > g {
				t.Fatalf("run %d step %d: %T grew the deal by %d bytes, bound %d", run, step, a, grew, g)
			}
			if eb := len(dealJSONB(t, d)); eb > d.StateBytes() {
				t.Fatalf("encoded deal %d over StateBytes %d", eb, d.StateBytes())
			}
			b, _ := json.Marshal(evs)
			if len(b) > g {
				t.Fatalf("run %d step %d: %T wrote %d bytes of events, bound %d", run, step, a, len(b), g)
			}
		}
	}
}

// BenchmarkCheckPlanChange is the exact path: a plan change is always tried
// on a copy of the deal and measured.
func BenchmarkCheckPlanChange(b *testing.B) {
	d := bigDeal(b, 200)
	a := changePlan("pat", PlanOp{Op: OpRedate, Key: "m007", Due: &Due{After: dur("120d")}})
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Check(a, at("1h")); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLimitsSpareRecordedHistory: the limits are Check's and CheckSpec's;
// Apply and NewDeal, which a replay runs, keep the rules deals were recorded
// under, so a deal started or changed before a limit existed replays as it
// ran instead of failing its workflow task.
func TestLimitsSpareRecordedHistory(t *testing.T) {
	s := projectSpec(t)
	s.ID, s.Name = "华为:ERP-2026", strings.Repeat("n", problem.MaxName+1)
	if err := CheckSpec(s, t0); err == nil {
		t.Fatal("CheckSpec accepted an id and a name over the limits")
	}
	d, _, err := NewDeal(s, t0)
	if err != nil {
		t.Fatalf("NewDeal refused a start recorded under the old rules: %v", err)
	}
	note := BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerContactAdded, Note: strings.Repeat("x", problem.MaxText+1)}
	wantCheckRefused(t, d, note, at("1h"), CodeInvalid, "note:")
	mustApply(t, d, note, at("1h"))
	// The rules of the deal's state still hold in Apply.
	wantRefused(t, d, CloseAction{Acting: Acting{"cora"}, Outcome: DealLost, Reason: "x"}, at("2h"), CodeForbidden)
}

// TestLongDealFits: the load of the long-deal fault test
// (workflows.TestLongDealContinuesAsNew: 200 milestones, 1,300 buyer stages,
// 200 submissions) fits the state bound with room to spare.
func TestLongDealFits(t *testing.T) {
	if testing.Short() {
		t.Skip("1,500 checks on a large deal")
	}
	p := Template{Name: "big"}
	for i := range 200 {
		p.Milestones = append(p.Milestones, MilestoneSpec{
			Key: fmt.Sprintf("m%03d", i), Title: fmt.Sprintf("Milestone %d", i), Role: Roles[i%3],
			Due: Due{After: Duration(90 * Day)}, Checklist: []string{"Output checked"},
			Escalations: []EscalationStep{{Offset: 0, Target: PartyPMO, Message: "due"}},
		})
	}
	s := spec(p)
	if err := CheckSpec(s, t0); err != nil {
		t.Fatal(err)
	}
	d := startDeal(t, s)
	stages := []BuyerStage{BuyerContactAdded, BuyerMetNonDecisionMaker}
	now := t0
	act := func(a Action) {
		now = now.Add(time.Second)
		if err := d.Check(a, now); err != nil {
			t.Fatalf("%T refused at %d bytes: %v", a, d.StateBytes(), err)
		}
		mustApply(t, d, a, now)
	}
	for i := range 1300 {
		act(BuyerStageAction{Acting: Acting{"cora"}, Stage: stages[i%2]})
	}
	for i := range 200 {
		owner := map[Role]string{RolePMO: "pat", RoleCommercial: "cora", RoleSolution: "sol"}[Roles[i%3]]
		act(Submit{Acting: Acting{owner}, Milestone: fmt.Sprintf("m%03d", i), Checklist: []string{"Output checked"}})
	}
	if d.Status != DealWon {
		t.Errorf("deal %s", d.Status)
	}
	t.Logf("StateBytes %d of %d", d.StateBytes(), MaxStateBytes)
}
