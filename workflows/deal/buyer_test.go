package deal

import (
	"slices"
	"strings"
	"testing"
)

func TestBuyerStageRank(t *testing.T) {
	for i, s := range BuyerStages {
		if s.Rank() != i+1 || s.check() != nil {
			t.Errorf("%s: rank %d, check %v", s, s.Rank(), s.check())
		}
	}
	if len(BuyerStages) != 10 || BuyerStages[0] != BuyerContactAdded || BuyerStages[9] != BuyerRepurchase {
		t.Errorf("stages %v", BuyerStages)
	}
	for _, s := range []BuyerStage{"", "signed"} {
		if s.Rank() != 0 || s.check() == nil {
			t.Errorf("%q: rank %d, check %v", s, s.Rank(), s.check())
		}
	}
}

func TestRecordBuyerStage(t *testing.T) {
	d := projectDeal(t)
	evs := mustApply(t, d, BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerContactAdded, Note: "first call"}, at("1d"))
	if len(evs) != 1 || evs[0].Kind != EventBuyerStage || evs[0].Data["stage"] != "contact_added" || evs[0].Data["note"] != "first call" ||
		evs[0].Message != "buyer reached contact_added (1 of 10): first call" {
		t.Fatalf("events %+v", evs)
	}
	// The solution lead and the PMO record stages too, even during a pause.
	mustApply(t, d, BuyerStageAction{Acting: Acting{"sol"}, Stage: BuyerMetDecisionMaker}, at("2d"))
	mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "freeze"}, at("3d"))
	evs = mustApply(t, d, BuyerStageAction{Acting: Acting{"pat"}, Stage: BuyerMetNonDecisionMaker}, at("4d"))
	if evs[0].Message != "buyer reached met_non_decision_maker (2 of 10)" {
		t.Errorf("message %q", evs[0].Message)
	}
	if d.BuyerStage != BuyerMetNonDecisionMaker {
		t.Errorf("buyer stage %s", d.BuyerStage)
	}
	want := []BuyerEntry{
		{Stage: BuyerContactAdded, Note: "first call", By: "cora", At: at("1d")},
		{Stage: BuyerMetDecisionMaker, By: "sol", At: at("2d")},
		{Stage: BuyerMetNonDecisionMaker, By: "pat", At: at("4d")},
	}
	if !slices.Equal(d.Buyer, want) {
		t.Errorf("history %+v\nwant    %+v", d.Buyer, want)
	}
}

func TestRecordBuyerStageRefused(t *testing.T) {
	tests := []struct {
		name  string
		actor string
		stage BuyerStage
		code  ErrorCode
		want  string
	}{
		{"unknown stage", "cora", "signed", CodeInvalid, `unknown buyer stage "signed": use one of contact_added`},
		{"no stage", "cora", "", CodeInvalid, `unknown buyer stage ""`},
		{"same stage twice", "cora", BuyerNeedsConfirmed, CodeConflict, "the buyer is already at needs_confirmed"},
		{"viewer not on the team", "vic", BuyerEvaluating, CodeForbidden, "only the deal's PMO, commercial or solution lead can record the buyer's stage"},
		{"approver", "ann", BuyerEvaluating, CodeForbidden, "only the deal's PMO, commercial or solution lead"},
		{"director", "dina", BuyerEvaluating, CodeForbidden, "only the deal's PMO, commercial or solution lead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := projectDeal(t)
			mustApply(t, d, BuyerStageAction{Acting: Acting{"sol"}, Stage: BuyerNeedsConfirmed}, at("1d"))
			wantRefused(t, d, BuyerStageAction{Acting: Acting{tt.actor}, Stage: tt.stage}, at("2d"), tt.code, tt.want)
		})
	}
}

// quotationDeal is a project deal whose first four milestones were skipped
// at t0+1d, so quotation (buyer stage evaluating) is the active milestone.
func quotationDeal(t *testing.T) *Deal {
	t.Helper()
	d := projectDeal(t)
	var ops []PlanOp
	for _, k := range []string{"prospect", "needs-analysis", "solution-design", "solution-submission"} {
		ops = append(ops, PlanOp{Op: OpSkip, Key: k, Reason: "done before the deal was opened"})
	}
	mustApply(t, d, changePlan("pat", ops...), at("1d"))
	if !slices.Equal(d.ActiveKeys(), []string{"quotation"}) {
		t.Fatalf("active %v", d.ActiveKeys())
	}
	return d
}

func TestSellerAheadOfBuyer(t *testing.T) {
	d := quotationDeal(t)
	mustApply(t, d, BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerMetNonDecisionMaker}, at("1d"))
	evs := mustApply(t, d, submission(d, "quotation", "cora"), at("2d"))
	if want := []EventKind{EventMilestoneSubmitted, EventMilestoneDone, EventSellerAhead, EventMilestoneActivated}; !slices.Equal(kinds(evs), want) {
		t.Fatalf("events %v, want %v", kinds(evs), want)
	}
	e := evs[2]
	if e.Milestone != "quotation" || e.Actor != SystemActor || !slices.Equal(e.Notify, []string{"pat"}) ||
		e.Data["expected"] != "evaluating" || e.Data["actual"] != "met_non_decision_maker" ||
		e.Message != "seller ahead of buyer: Quotation is done but the buyer is at met_non_decision_maker, not yet evaluating" {
		t.Errorf("warning event %+v", e)
	}
	want := Warning{Milestone: "quotation", Expected: BuyerEvaluating, Actual: BuyerMetNonDecisionMaker, At: at("2d")}
	if len(d.Warnings) != 1 || d.Warnings[0] != want {
		t.Fatalf("warnings %+v, want %+v", d.Warnings, want)
	}
	// A stage short of evaluating leaves it open; reaching it resolves it.
	mustApply(t, d, BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerNeedsConfirmed}, at("3d"))
	if d.Warnings[0].Resolved {
		t.Error("needs_confirmed resolved a warning expecting evaluating")
	}
	mustApply(t, d, BuyerStageAction{Acting: Acting{"cora"}, Stage: BuyerNegotiating}, at("4d"))
	if !d.Warnings[0].Resolved {
		t.Error("negotiating did not resolve the warning")
	}
}

func TestSellerAheadDependsOnBuyerStage(t *testing.T) {
	tests := []struct {
		buyer  BuyerStage // recorded before quotation is done; "" for none
		warn   bool
		actual string
	}{
		{"", true, "the buyer is at none recorded, not yet evaluating"},
		{BuyerContactAdded, true, "the buyer is at contact_added"},
		{BuyerNeedsConfirmed, true, "the buyer is at needs_confirmed"},
		{BuyerEvaluating, false, ""},
		{BuyerNegotiating, false, ""},
		{BuyerRepurchase, false, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.buyer), func(t *testing.T) {
			d := quotationDeal(t)
			if tt.buyer != "" {
				mustApply(t, d, BuyerStageAction{Acting: Acting{"cora"}, Stage: tt.buyer}, at("1d"))
			}
			evs := mustApply(t, d, submission(d, "quotation", "cora"), at("2d"))
			warned := slices.Contains(kinds(evs), EventSellerAhead)
			if warned != tt.warn || len(d.Warnings) != len(evs)-3 {
				t.Fatalf("warned %v, want %v; warnings %+v", warned, tt.warn, d.Warnings)
			}
			if warned {
				if msg := eventOf(t, evs, EventSellerAhead).Message; !strings.Contains(msg, tt.actual) {
					t.Errorf("message %q does not say %q", msg, tt.actual)
				}
				if d.Warnings[0].Actual != tt.buyer || d.Warnings[0].Resolved {
					t.Errorf("warning %+v", d.Warnings[0])
				}
			}
		})
	}
}
